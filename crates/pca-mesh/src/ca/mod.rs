//! Certificate authorities behind one trait. `local` is a file-backed CA (the
//! embedded default, offline), `aws` is AWS Private CA; a new backend implements
//! [`CertificateAuthority`] and is added to [`open_with`].

pub mod aws;
pub mod local;

use std::fmt;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::Error;
use crate::key::KeyType;
use crate::pemfile::Named;
use crate::template::{SigningAlgorithm, Template};
use crate::validity::Validity;

/// PCA's usage modes; the short-lived mode caps validity at 7 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UsageMode {
    /// GENERAL_PURPOSE
    #[default]
    GeneralPurpose,
    /// SHORT_LIVED_CERTIFICATE
    ShortLivedCertificate,
}

impl UsageMode {
    /// PCA's name for the mode.
    pub fn name(self) -> &'static str {
        match self {
            UsageMode::GeneralPurpose => "GENERAL_PURPOSE",
            UsageMode::ShortLivedCertificate => "SHORT_LIVED_CERTIFICATE",
        }
    }
}

impl fmt::Display for UsageMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a CA says of itself (PCA's DescribeCertificateAuthority).
#[derive(Clone, Debug)]
pub struct CaInfo {
    /// The CA identifier (`file:DIR` or ARN).
    pub id: String,
    /// Its key type.
    pub key_type: KeyType,
    /// Its usage mode.
    pub usage_mode: UsageMode,
    /// Whether it can issue now (PCA status ACTIVE).
    pub active: bool,
    /// Its status as the backend names it.
    pub status: String,
    /// The CA certificate's notAfter, past which nothing may be issued.
    pub not_after: Option<OffsetDateTime>,
}

/// A request to issue one certificate.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The CSR (DER) and where it came from.
    pub csr: Named,
    /// The template to apply.
    pub template: Template,
    /// How long the certificate is valid.
    pub validity: Validity,
    /// The signing algorithm, already checked against the CA key.
    pub signing_algorithm: SigningAlgorithm,
    /// A token that makes a retried request return the same certificate.
    pub idempotency_token: String,
}

/// A certificate and the CAs above it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// Every CA above it, issuer first, ending with the root, DER.
    pub chain: Vec<Vec<u8>>,
}

/// A certificate authority the tools can issue from.
pub trait CertificateAuthority {
    /// The identifier users pass as `--ca`.
    fn id(&self) -> String;
    /// Key type, usage mode, status and lifetime of the CA.
    fn describe(&self) -> Result<CaInfo, Error>;
    /// Issues a certificate and returns its identifier.
    fn issue(&self, request: &IssueRequest) -> Result<String, Error>;
    /// Fetches an issued certificate and the chain above it.
    fn get(&self, certificate_id: &str) -> Result<Issued, Error>;
    /// The CA's own certificate and the chain above it.
    fn ca_certificate(&self) -> Result<Issued, Error>;
}

/// Opens the CA named by `spec`: `file:DIR` (or a bare directory path).
pub fn open(spec: &str) -> Result<Box<dyn CertificateAuthority>, Error> {
    if let Some(dir) = spec.strip_prefix("file:") {
        return Ok(Box::new(local::LocalCa::open(dir)?));
    }
    if spec.starts_with("arn:") {
        return Err(Error::Argument {
            flag: "--ca",
            reason: format!(
                "{spec}: this build has no AWS Private CA backend; use a local CA (file:DIR)"
            ),
        });
    }
    if std::path::Path::new(spec).is_dir() {
        return Ok(Box::new(local::LocalCa::open(spec)?));
    }
    Err(Error::Argument {
        flag: "--ca",
        reason: format!(
            "{spec:?} is not a CA identifier; expected file:DIR (a local CA directory)"
        ),
    })
}

/// The CA identifier a certificate identifier belongs to.
pub fn ca_of_certificate_id(certificate_id: &str) -> Result<String, Error> {
    certificate_id
        .rsplit_once("/certificate/")
        .map(|(ca, _)| ca.to_string())
        .ok_or_else(|| Error::Argument {
            flag: "certificate id",
            reason: format!(
                "{certificate_id:?} is not a certificate identifier (expected file:DIR/certificate/SERIAL or a PCA \
                 certificate ARN)"
            ),
        })
}

/// A stable token for an issue request: the same CSR, CA and parameters give the same
/// token, so a retried run gets the same certificate instead of a second one.
pub fn idempotency_token(
    ca: &str,
    csr_der: &[u8],
    template: Template,
    validity: Validity,
    alg: SigningAlgorithm,
) -> String {
    let mut h = Sha256::new();
    for part in [
        ca.as_bytes(),
        csr_der,
        template.name().as_bytes(),
        validity.to_string().as_bytes(),
        alg.name().as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    // PCA takes at most 36 characters.
    h.finalize()
        .iter()
        .take(18)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The self-signed certificate at the top of `chain`, if the chain reaches one.
pub fn root_of(issued: &Issued) -> Result<Vec<u8>, Error> {
    let top = issued.chain.last().unwrap_or(&issued.certificate);
    if crate::cert::is_self_signed(top) {
        Ok(top.clone())
    } else {
        Err(Error::Ca(format!(
            "the chain returned for this certificate ends at {}, which is not self-signed; the CA's chain is \
             incomplete",
            crate::cert::subject_of(top)
        )))
    }
}
