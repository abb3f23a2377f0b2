//! PEM in and out: certificates, CSRs and private keys, each checked for the block
//! type it must hold so a key pasted where a certificate belongs is named as such.

use crate::error::Error;

/// A DER object together with where it came from (a file path or a bundle field),
/// so every later message can name its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// File path or bundle field the object was read from, as the user gave it.
    pub source: String,
    /// The DER bytes.
    pub der: Vec<u8>,
}

/// PEM labels accepted for private keys: PKCS#8, PKCS#1 (RSA) and SEC1 (EC).
pub const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

fn blocks(text: &str, source: &str) -> Result<Vec<pem::Pem>, Error> {
    if text.trim().is_empty() {
        return Err(Error::Pem {
            source_name: source.to_string(),
            reason: "is empty; expected PEM data".into(),
        });
    }
    let parsed = pem::parse_many(text).map_err(|e| Error::Pem {
        source_name: source.to_string(),
        reason: format!("is not valid PEM ({e})"),
    })?;
    if parsed.is_empty() {
        return Err(Error::Pem {
            source_name: source.to_string(),
            reason: "holds no PEM block (no -----BEGIN line found)".into(),
        });
    }
    Ok(parsed)
}

fn wrong_label(source: &str, found: &str, want: &str) -> Error {
    Error::Pem {
        source_name: source.to_string(),
        reason: format!("holds a {found} block where a {want} block was expected"),
    }
}

/// Every certificate in `text`, in order. Any block that is not a certificate is an error.
pub fn parse_certificates(text: &str, source: &str) -> Result<Vec<Named>, Error> {
    blocks(text, source)?
        .into_iter()
        .map(|b| {
            if b.tag() != "CERTIFICATE" {
                return Err(wrong_label(source, b.tag(), "CERTIFICATE"));
            }
            Ok(Named {
                source: source.to_string(),
                der: b.into_contents(),
            })
        })
        .collect()
}

/// A chain as DER: every certificate in `text`, none when it is absent or blank (a
/// root CA has no chain).
pub fn parse_chain(text: Option<&str>, source: &str) -> Result<Vec<Vec<u8>>, Error> {
    match text.filter(|t| !t.trim().is_empty()) {
        Some(t) => Ok(parse_certificates(t, source)?
            .into_iter()
            .map(|n| n.der)
            .collect()),
        None => Ok(Vec::new()),
    }
}

/// Exactly one certificate; more than one is refused with a hint, since a packed
/// certificate + chain used as `ca-cert.pem` is a known way to break Istio.
pub fn parse_one_certificate(text: &str, source: &str) -> Result<Named, Error> {
    let mut certs = parse_certificates(text, source)?;
    if certs.len() != 1 {
        return Err(Error::Pem {
            source_name: source.to_string(),
            reason: format!(
                "holds {} certificates where exactly one was expected: the cluster's intermediate CA \
                 certificate alone (the CAs above it belong in the chain)",
                certs.len()
            ),
        });
    }
    Ok(certs.remove(0))
}

/// The one block in `text`, which must carry one of `labels`; `what` names it in messages.
fn single_block(text: &str, source: &str, what: &str, labels: &[&str]) -> Result<pem::Pem, Error> {
    let mut b = blocks(text, source)?;
    if b.len() != 1 {
        return Err(Error::Pem {
            source_name: source.to_string(),
            reason: format!("holds {} PEM blocks where one {what} was expected", b.len()),
        });
    }
    let b = b.remove(0);
    if !labels.contains(&b.tag()) {
        return Err(wrong_label(source, b.tag(), labels[0]));
    }
    Ok(b)
}

/// The single certificate signing request in `text`.
pub fn parse_csr(text: &str, source: &str) -> Result<Named, Error> {
    let labels = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];
    let b = single_block(text, source, "CERTIFICATE REQUEST", &labels)?;
    Ok(Named {
        source: source.to_string(),
        der: b.into_contents(),
    })
}

/// The single private key in `text`, with its PEM label (see [`KEY_LABELS`]).
pub fn parse_private_key(text: &str, source: &str) -> Result<(Named, String), Error> {
    let b = single_block(text, source, "private key", &KEY_LABELS)?;
    let label = b.tag().to_string();
    let named = Named {
        source: source.to_string(),
        der: b.into_contents(),
    };
    Ok((named, label))
}

/// PEM text for DER blocks with one label, LF line endings, one block after another.
pub fn encode<'a>(label: &str, ders: impl IntoIterator<Item = &'a [u8]>) -> String {
    ders.into_iter()
        .map(|d| {
            pem::encode_config(
                &pem::Pem::new(label, d.to_vec()),
                pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
            )
        })
        .collect()
}

/// PEM text of certificates.
pub fn encode_certificates<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> String {
    encode("CERTIFICATE", ders)
}
