//! Certificate authorities behind one trait. `local` is a file-backed CA (the
//! embedded default, offline), `aws` is AWS Private CA; a new backend implements
//! [`CertificateAuthority`] and is added to [`open`].

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

impl std::str::FromStr for UsageMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let all = [UsageMode::GeneralPurpose, UsageMode::ShortLivedCertificate];
        crate::cli::one_of(s, &all, UsageMode::name, "usage mode")
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

/// Refuses, before anything is sent, a request the CA would refuse as PCA does: a CA
/// that is not ACTIVE, a validity past 7 days in short-lived mode or past the CA's own
/// notAfter, a signing algorithm that does not fit the CA key.
pub fn check_request(
    info: &CaInfo,
    validity: Validity,
    alg: SigningAlgorithm,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let refuse = |why: String| Err(Error::Ca(format!("{}: {why}", info.id)));
    if !info.active {
        return refuse(format!(
            "the CA is {}, not ACTIVE, so it cannot issue",
            info.status
        ));
    }
    if info.usage_mode == UsageMode::ShortLivedCertificate
        && let Err(e) = validity.check_short_lived(now)
    {
        return refuse(e);
    }
    if let Some(end) = info.not_after
        && validity.not_after(now) > end
    {
        return refuse(format!(
            "validity {validity} would end after the CA's own certificate ({end}); choose a shorter --validity"
        ));
    }
    alg.check_fits(info.key_type).or_else(refuse)
}

/// A certificate and the CAs above it.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// Every CA above it, issuer first, ending with the root, DER.
    pub chain: Vec<Vec<u8>>,
}

impl Issued {
    /// Reads a certificate and its chain as a CA hands them out (PEM text; the chain may
    /// be absent); `missing` is the error when there is no certificate at all.
    pub fn from_pem(
        certificate: Option<&str>,
        chain: Option<&str>,
        source: &str,
        missing: impl FnOnce() -> Error,
    ) -> Result<Issued, Error> {
        let certificate = match certificate.filter(|t| !t.trim().is_empty()) {
            Some(t) => crate::pemfile::parse_one_certificate(t, source)?.der,
            None => return Err(missing()),
        };
        let chain = crate::pemfile::parse_chain(chain, &format!("{source} (chain)"))?;
        Ok(Issued { certificate, chain })
    }
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
    /// Revokes the certificate with this serial number (hex, as [`crate::cert::serial_hex`]
    /// gives it) that the CA issued. Revoking twice is an error.
    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<(), Error>;
}

/// Opens the CA named by `spec`: an AWS Private CA ARN (`arn:aws:acm-pca:...`, with
/// `aws` for region, profile, endpoint and wait), or `file:DIR` (or a bare directory path).
pub fn open(spec: &str, aws: &aws::AwsOptions) -> Result<Box<dyn CertificateAuthority>, Error> {
    if let Some(dir) = spec.strip_prefix("file:") {
        return Ok(Box::new(local::LocalCa::open(dir)?));
    }
    if spec.starts_with("arn:") {
        return Ok(Box::new(aws::AwsCa::open(spec, aws)?));
    }
    if std::path::Path::new(spec).is_dir() {
        return Ok(Box::new(local::LocalCa::open(spec)?));
    }
    Err(Error::Argument {
        flag: "--ca",
        reason: format!(
            "{spec:?} is not a CA identifier; expected an AWS Private CA ARN \
             (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID) or file:DIR (a local CA directory)"
        ),
    })
}

/// Why a certificate is revoked, with PCA's names (RFC 5280 CRLReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RevocationReason {
    /// KEY_COMPROMISE: the default, for a compromised cluster.
    #[default]
    KeyCompromise,
    /// UNSPECIFIED
    Unspecified,
    /// CERTIFICATE_AUTHORITY_COMPROMISE
    CertificateAuthorityCompromise,
    /// AFFILIATION_CHANGED
    AffiliationChanged,
    /// SUPERSEDED
    Superseded,
    /// CESSATION_OF_OPERATION
    CessationOfOperation,
    /// PRIVILEGE_WITHDRAWN
    PrivilegeWithdrawn,
    /// A_A_COMPROMISE
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, as PCA lists them.
    pub const ALL: [RevocationReason; 8] = [
        RevocationReason::KeyCompromise,
        RevocationReason::Unspecified,
        RevocationReason::CertificateAuthorityCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// PCA's name, e.g. `KEY_COMPROMISE`.
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::KeyCompromise => "KEY_COMPROMISE",
            RevocationReason::Unspecified => "UNSPECIFIED",
            RevocationReason::CertificateAuthorityCompromise => "CERTIFICATE_AUTHORITY_COMPROMISE",
            RevocationReason::AffiliationChanged => "AFFILIATION_CHANGED",
            RevocationReason::Superseded => "SUPERSEDED",
            RevocationReason::CessationOfOperation => "CESSATION_OF_OPERATION",
            RevocationReason::PrivilegeWithdrawn => "PRIVILEGE_WITHDRAWN",
            RevocationReason::AaCompromise => "A_A_COMPROMISE",
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for RevocationReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::cli::one_of(
            &s.replace('-', "_"),
            &RevocationReason::ALL,
            RevocationReason::name,
            "revocation reason",
        )
    }
}

/// What [`revoke`] did, as pca-revoke reports it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Revocation {
    /// The CA identifier.
    pub ca: String,
    /// The revoked certificate's serial number, colon-separated hex as openssl prints it.
    pub serial: String,
    /// Its subject.
    pub subject: String,
    /// The reason given.
    pub reason: String,
    /// When the revocation was requested (RFC 3339, UTC).
    pub revoked_at: String,
}

/// Revokes `certificate` (DER, with where it came from) at `ca`, after checking that
/// the CA signed it: a serial number alone could name another CA's certificate.
pub fn revoke(
    ca: &dyn CertificateAuthority,
    certificate: &Named,
    reason: RevocationReason,
) -> Result<Revocation, Error> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(&certificate.der).map_err(|e| Error::Pem {
        source_name: certificate.source.clone(),
        reason: format!("does not hold a readable certificate ({e})"),
    })?;
    let serial = crate::cert::serial_hex(&certificate.der).unwrap_or_default();
    let shown = aws::colon_hex(&serial);
    let subject = cert.subject().to_string();
    let ca_cert = ca.ca_certificate()?.certificate;
    let signed = X509Certificate::from_der(&ca_cert).is_ok_and(|(_, issuer)| {
        cert.issuer() == issuer.subject()
            && cert.verify_signature(Some(issuer.public_key())).is_ok()
    });
    if !signed {
        return Err(Error::Ca(format!(
            "{}: the certificate {subject} (serial {shown}) was not issued by {} (whose certificate is {}); \
             nothing was revoked: pass the CA that issued it with --ca",
            certificate.source,
            ca.id(),
            crate::cert::subject_of(&ca_cert)
        )));
    }
    ca.revoke(&serial, reason)?;
    Ok(Revocation {
        ca: ca.id(),
        serial: shown,
        subject,
        reason: reason.name().into(),
        revoked_at: OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
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
