//! Small facts read off certificates with x509-parser, for messages and lookups.

use x509_parser::prelude::*;

/// The certificate's subject as text, or a placeholder when it does not parse.
pub fn subject_of(der: &[u8]) -> String {
    X509Certificate::from_der(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_else(|_| "<unparsable certificate>".into())
}

/// Whether the certificate names itself as issuer and its signature verifies with its own key.
pub fn is_self_signed(der: &[u8]) -> bool {
    X509Certificate::from_der(der)
        .map(|(_, c)| c.subject() == c.issuer() && c.verify_signature(None).is_ok())
        .unwrap_or(false)
}

/// The serial number in lowercase hex, without separators.
pub fn serial_hex(der: &[u8]) -> Option<String> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| c.raw_serial().iter().map(|b| format!("{b:02x}")).collect())
}

/// notAfter as a time value.
pub fn not_after(der: &[u8]) -> Option<::time::OffsetDateTime> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| c.validity().not_after.to_datetime())
}
