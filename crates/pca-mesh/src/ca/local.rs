//! The local CA: a directory holding a CA key and certificate that issues with the
//! same templates and validity rules as AWS Private CA. It is the embedded default
//! (offline trials, dev clusters, tests), in the spirit of Istio's `tools/certs`.
//!
//! Layout of a local CA directory:
//!
//! ```text
//! DIR/ca-cert.pem      the CA certificate
//! DIR/ca-key.pem       its private key (0600)
//! DIR/ca-chain.pem     the CAs above it, issuer first, root last (empty for a root)
//! DIR/ca.json          key type and usage mode
//! DIR/issued/SERIAL.pem  every certificate issued, by serial number (hex)
//! DIR/tokens/TOKEN     the serial a request's idempotency token was answered with
//! DIR/revoked.json     revoked serials: {SERIAL: {reason, revoked_at}}
//! ```

use std::path::{Path, PathBuf};

use rcgen::{CertificateParams, Issuer, SerialNumber};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{CaInfo, CertificateAuthority, IssueRequest, Issued, RevocationReason, UsageMode};
use crate::cert;
use crate::csr::{self, Subject};
use crate::error::Error;
use crate::fsio::{self, Mode};
use crate::key::{self, KeyType};
use crate::pemfile;
use crate::template::Template;
use crate::validity::Validity;

const CERT: &str = "ca-cert.pem";
const KEY: &str = "ca-key.pem";
const CHAIN: &str = "ca-chain.pem";
const META: &str = "ca.json";
const REVOKED: &str = "revoked.json";

#[derive(Serialize, Deserialize)]
struct Meta {
    key_type: String,
    usage_mode: String,
}

/// A file-backed CA.
pub struct LocalCa {
    dir: PathBuf,
    key_type: KeyType,
    usage_mode: UsageMode,
}

/// How to create a new local CA.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Its key type (RSA 4096 by default, as Istio's tools/certs).
    pub key_type: KeyType,
    /// Its subject.
    pub subject: Subject,
    /// Its validity (10 years by default for a root).
    pub validity: Validity,
    /// Its usage mode.
    pub usage_mode: UsageMode,
    /// Replace an existing CA in the directory.
    pub force: bool,
}

impl LocalCa {
    /// Opens an existing local CA directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<LocalCa, Error> {
        let dir = dir.as_ref();
        let dir = dir.canonicalize().map_err(|e| {
            Error::Ca(format!(
                "{}: no local CA there ({e}); create one with `pca-issue --init-root {}`",
                dir.display(),
                dir.display()
            ))
        })?;
        for f in [CERT, KEY] {
            if !dir.join(f).is_file() {
                return Err(Error::Ca(format!(
                    "{}: not a local CA directory (no {f}); create one with `pca-issue --init-root {}`",
                    dir.display(),
                    dir.display()
                )));
            }
        }
        let meta_path = dir.join(META);
        let meta: Meta = serde_json::from_str(&fsio::read_text(&meta_path)?)
            .map_err(|e| Error::Ca(format!("{}: unreadable ({e})", meta_path.display())))?;
        let key_type = meta
            .key_type
            .parse()
            .map_err(|e| Error::Ca(format!("{}: key_type: {e}", meta_path.display())))?;
        let usage_mode = meta
            .usage_mode
            .parse()
            .map_err(|e| Error::Ca(format!("{}: usage_mode: {e}", meta_path.display())))?;
        Ok(LocalCa {
            dir,
            key_type,
            usage_mode,
        })
    }

    /// Creates a self-signed root CA in `dir`.
    pub fn init_root(dir: &Path, opts: &InitOptions) -> Result<LocalCa, Error> {
        check_empty(dir, opts.force)?;
        if opts
            .subject
            .common_name
            .as_deref()
            .is_none_or(str::is_empty)
        {
            return Err(Error::Argument {
                flag: "--cn",
                reason: "a root CA needs a common name".into(),
            });
        }
        let key = opts.key_type.generate()?;
        let now = OffsetDateTime::now_utc();
        let mut params = base_params(&opts.subject, now, opts.validity.not_after(now))?;
        Template::RootCa.apply(&mut params);
        let cert = params
            .self_signed(&key)
            .map_err(|e| crypto("signing the root certificate", e))?;
        write_ca(dir, opts, &key.serialize_pem(), cert.der(), &[])
    }

    /// Creates a subordinate CA in `dir`, its certificate issued by `parent` with
    /// `template` (a `SubordinateCACertificate_PathLenN/V1`).
    pub fn init_subordinate(
        dir: &Path,
        opts: &InitOptions,
        parent: &dyn CertificateAuthority,
        template: Template,
    ) -> Result<LocalCa, Error> {
        check_empty(dir, opts.force)?;
        if !template.is_ca() || template == Template::RootCa {
            return Err(Error::Argument {
                flag: "--template",
                reason: format!(
                    "{template} does not make a subordinate CA; use SubordinateCACertificate_PathLenN/V1"
                ),
            });
        }
        let key = opts.key_type.generate()?;
        let csr_pem = csr::build(&opts.subject, &csr::Sans::default(), &key)?;
        let csr = pemfile::parse_csr(&csr_pem, "subordinate CSR")?;
        let info = parent.describe()?;
        let alg = info.key_type.default_signing_algorithm();
        let token = super::idempotency_token(&parent.id(), &csr.der, template, opts.validity, alg);
        let id = parent.issue(&IssueRequest {
            csr,
            template,
            validity: opts.validity,
            signing_algorithm: alg,
            idempotency_token: token,
        })?;
        let issued = parent.get(&id)?;
        write_ca(
            dir,
            opts,
            &key.serialize_pem(),
            &issued.certificate,
            &issued.chain,
        )
    }

    fn certificate_id(&self, serial: &str) -> String {
        format!("{}/certificate/{serial}", self.id())
    }

    /// What the CA says of itself, read off its certificate (status from its validity).
    fn info(&self, ca: &Issued) -> CaInfo {
        let not_after = cert::not_after(&ca.certificate);
        let now = OffsetDateTime::now_utc();
        let expired = not_after.is_some_and(|t| t <= now);
        CaInfo {
            id: self.id(),
            key_type: self.key_type,
            usage_mode: self.usage_mode,
            active: !expired,
            status: if expired {
                "EXPIRED".into()
            } else {
                "ACTIVE".into()
            },
            not_after,
        }
    }

    fn read_ca(&self) -> Result<Issued, Error> {
        let cert_path = self.dir.join(CERT);
        let certificate = pemfile::parse_one_certificate(
            &fsio::read_text(&cert_path)?,
            &cert_path.to_string_lossy(),
        )?
        .der;
        let chain_path = self.dir.join(CHAIN);
        let chain_text = if chain_path.exists() {
            Some(fsio::read_text(&chain_path)?)
        } else {
            None
        };
        let chain = pemfile::parse_chain(chain_text.as_deref(), &chain_path.to_string_lossy())?;
        Ok(Issued { certificate, chain })
    }
}

impl CertificateAuthority for LocalCa {
    fn id(&self) -> String {
        format!("file:{}", self.dir.display())
    }

    fn describe(&self) -> Result<CaInfo, Error> {
        Ok(self.info(&self.read_ca()?))
    }

    fn issue(&self, req: &IssueRequest) -> Result<String, Error> {
        let token_path = self.dir.join("tokens").join(&req.idempotency_token);
        if let Ok(serial) = std::fs::read_to_string(&token_path) {
            return Ok(self.certificate_id(serial.trim()));
        }
        // PCA enforces its rules server-side whatever the client checked; so does this CA.
        let ca = self.read_ca()?;
        let now = OffsetDateTime::now_utc();
        super::check_request(&self.info(&ca), req.validity, req.signing_algorithm, now)?;
        let key_path = self.dir.join(KEY);
        let ca_key = key::load(
            &fsio::read_text(&key_path)?,
            &key_path.to_string_lossy(),
            Some(req.signing_algorithm),
        )?;
        let issuer = Issuer::from_ca_cert_der(&ca.certificate.as_slice().into(), &ca_key.pair)
            .map_err(|e| crypto("reading the CA certificate", e))?;

        let request = csr::parse(&req.csr)?;
        let mut params = request.params;
        params.not_before = now;
        params.not_after = req.validity.not_after(now);
        params.serial_number = Some(random_serial()?);
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
        req.template.apply(&mut params);
        let cert = params
            .signed_by(&request.public_key, &issuer)
            .map_err(|e| crypto("signing the certificate", e))?;
        let serial = cert::serial_hex(cert.der()).unwrap_or_default();
        fsio::write_atomic(
            &self.dir.join("issued").join(format!("{serial}.pem")),
            cert.pem().as_bytes(),
            Mode::Public,
            false,
        )?;
        fsio::write_atomic(&token_path, serial.as_bytes(), Mode::Public, true)?;
        Ok(self.certificate_id(&serial))
    }

    fn get(&self, certificate_id: &str) -> Result<Issued, Error> {
        let (ca, serial) = certificate_id
            .rsplit_once("/certificate/")
            .unwrap_or(("", ""));
        if ca != self.id() || serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Ca(format!(
                "{certificate_id}: not a certificate of the CA {}",
                self.id()
            )));
        }
        let path = self.dir.join("issued").join(format!("{serial}.pem"));
        if !path.exists() {
            return Err(Error::Ca(format!(
                "{certificate_id}: no such certificate was issued by {} (no {})",
                self.id(),
                path.display()
            )));
        }
        let certificate =
            pemfile::parse_one_certificate(&fsio::read_text(&path)?, &path.to_string_lossy())?.der;
        let ca = self.read_ca()?;
        let mut chain = vec![ca.certificate];
        chain.extend(ca.chain);
        Ok(Issued { certificate, chain })
    }

    fn ca_certificate(&self) -> Result<Issued, Error> {
        self.read_ca()
    }

    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<(), Error> {
        let serial = serial.to_ascii_lowercase();
        if serial.is_empty() || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Ca(format!(
                "{}: {serial:?} is not a hex serial number",
                self.id()
            )));
        }
        if !self
            .dir
            .join("issued")
            .join(format!("{serial}.pem"))
            .exists()
        {
            return Err(Error::Ca(format!(
                "{}: no certificate with serial {serial} was issued by this CA (nothing in {}); nothing was revoked",
                self.id(),
                self.dir.join("issued").display()
            )));
        }
        // A JSON map rather than a CRL: revocation is recorded so the trait stays uniform;
        // publishing a CRL is left to whoever serves this CA.
        let path = self.dir.join(REVOKED);
        let mut revoked: serde_json::Map<String, serde_json::Value> = if path.exists() {
            serde_json::from_str(&fsio::read_text(&path)?).map_err(|e| {
                Error::Ca(format!(
                    "{}: unreadable ({e}); fix or remove it",
                    path.display()
                ))
            })?
        } else {
            serde_json::Map::new()
        };
        if let Some(previous) = revoked.get(&serial) {
            return Err(Error::Ca(format!(
                "{}: the certificate with serial {serial} is already revoked ({previous}); nothing to do",
                self.id()
            )));
        }
        let at = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        revoked.insert(
            serial,
            serde_json::json!({ "reason": reason.name(), "revoked_at": at }),
        );
        let text = fsio::pretty_json(&revoked);
        fsio::write_atomic(&path, text.as_bytes(), Mode::Public, true)
    }
}

fn crypto(what: &str, e: rcgen::Error) -> Error {
    Error::Crypto {
        what: what.into(),
        reason: e.to_string(),
    }
}

fn random_serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Crypto {
        what: "drawing a serial number".into(),
        reason: e.to_string(),
    })?;
    // Top bit clear keeps the INTEGER positive; bit 6 set keeps it a full 16 bytes.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

fn base_params(
    subject: &Subject,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.distinguished_name();
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    params.key_identifier_method = rcgen::KeyIdMethod::Sha256;
    Ok(params)
}

fn check_empty(dir: &Path, force: bool) -> Result<(), Error> {
    if dir.join(KEY).exists() && !force {
        return Err(Error::WouldOverwrite(dir.join(KEY)));
    }
    Ok(())
}

fn write_ca(
    dir: &Path,
    opts: &InitOptions,
    key_pem: &str,
    cert_der: &[u8],
    chain: &[Vec<u8>],
) -> Result<LocalCa, Error> {
    fsio::write_atomic(
        &dir.join(KEY),
        key_pem.as_bytes(),
        Mode::Private,
        opts.force,
    )?;
    let meta = Meta {
        key_type: opts.key_type.name().into(),
        usage_mode: opts.usage_mode.name().into(),
    };
    let meta = fsio::pretty_json(&meta);
    fsio::write_atomic(&dir.join(META), meta.as_bytes(), Mode::Public, true)?;
    fsio::write_atomic(
        &dir.join(CHAIN),
        pemfile::encode_certificates(chain.iter().map(Vec::as_slice)).as_bytes(),
        Mode::Public,
        true,
    )?;
    // The certificate goes last: its presence marks the directory as a complete CA.
    fsio::write_atomic(
        &dir.join(CERT),
        pemfile::encode_certificates([cert_der]).as_bytes(),
        Mode::Public,
        true,
    )?;
    LocalCa::open(dir)
}
