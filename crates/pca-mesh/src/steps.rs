//! The pipeline's steps, one function each, as the binaries call them: make a key and
//! CSR, issue, fetch certificate and chain, build `cacerts`. Each takes what arrived on
//! standard input already classified, and returns what the tool prints.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::bundle::{Bundle, Input};
use crate::ca::{self, CertificateAuthority, IssueRequest};
use crate::cacerts::{self, Format};
use crate::csr::{self, Sans, Subject};
use crate::error::Error;
use crate::fsio::{self, Mode};
use crate::key::KeyType;
use crate::pemfile;
use crate::template::{SigningAlgorithm, Template};
use crate::validity::Validity;
use crate::verify::{self, Candidate, Verified};

/// What `pca-csr` is asked for.
#[derive(Clone, Debug, Default)]
pub struct CsrRequest {
    /// Cluster name; gives the default subject and key path.
    pub cluster: Option<String>,
    /// Subject fields given explicitly.
    pub subject: Subject,
    /// SANs.
    pub sans: Sans,
    /// Key type.
    pub key_type: KeyType,
    /// Where the key goes; default `<cluster>/ca-key.pem`.
    pub key_out: Option<PathBuf>,
    /// Replace an existing key file.
    pub force: bool,
}

/// Generates the key (written 0600 to its file) and returns the bundle with the CSR.
pub fn make_csr(req: &CsrRequest) -> Result<Bundle, Error> {
    let subject = match &req.cluster {
        Some(c) => {
            check_cluster_name(c)?;
            Subject::for_cluster(c).overridden_by(req.subject.clone())
        }
        None => req.subject.clone(),
    };
    let key_path = match (&req.key_out, &req.cluster) {
        (Some(p), _) => p.clone(),
        (None, Some(c)) => Path::new(c).join("ca-key.pem"),
        (None, None) => {
            return Err(Error::Argument {
                flag: "--key-out",
                reason: "without --cluster, say where the private key goes with --key-out PATH"
                    .into(),
            });
        }
    };
    // Refuse before generating anything, so the message comes at once.
    if key_path.exists() && !req.force {
        return Err(Error::WouldOverwrite(key_path));
    }
    let key = req.key_type.generate()?;
    let csr_pem = csr::build(&subject, &req.sans, &key)?;
    fsio::write_atomic(
        &key_path,
        key.serialize_pem().as_bytes(),
        Mode::Private,
        req.force,
    )?;
    Ok(Bundle {
        cluster: req.cluster.clone(),
        key_type: Some(req.key_type.name().into()),
        key_file: Some(key_path.to_string_lossy().into_owned()),
        csr: Some(csr_pem),
        ..Bundle::default()
    })
}

fn check_cluster_name(c: &str) -> Result<(), Error> {
    let ok = !c.is_empty()
        && c.len() <= 63
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' || ch == '.')
        && !c.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::Argument {
            flag: "--cluster",
            reason: format!(
                "{c:?} is not a usable cluster name (letters, digits, '-', '_', '.', at most 63)"
            ),
        })
    }
}

/// What `pca-issue` is asked for.
#[derive(Clone, Debug, Default)]
pub struct IssueOptions {
    /// Template.
    pub template: Template,
    /// Validity.
    pub validity: Validity,
    /// Signing algorithm; default: the one matching the CA key.
    pub signing_algorithm: Option<SigningAlgorithm>,
}

/// The CA identifier to use: the flag, else the bundle's.
pub fn ca_spec(flag: Option<&str>, bundle: Option<&Bundle>) -> Result<String, Error> {
    flag.map(str::to_string)
        .or_else(|| bundle.and_then(|b| b.ca.clone()))
        .ok_or_else(|| Error::Argument {
            flag: "--ca",
            reason: "no CA given; pass --ca with an AWS Private CA ARN or file:DIR (a local CA), or set PCA_MESH_CA".into(),
        })
}

/// Issues a certificate for the CSR in `input` (a bundle or a PEM CSR) and returns the
/// bundle with `ca`, `certificate_id` and `template` set.
pub fn issue(
    ca: &dyn CertificateAuthority,
    input: Input,
    opts: &IssueOptions,
) -> Result<Bundle, Error> {
    let (mut bundle, csr) = match input {
        Input::Bundle(b) => {
            let text = Bundle::require(&b.csr, "csr", "pca-csr")?.to_string();
            (*b, pemfile::parse_csr(&text, "bundle field \"csr\"")?)
        }
        Input::Pem(text) => {
            let csr = pemfile::parse_csr(&text, "standard input")?;
            (
                Bundle {
                    csr: Some(text),
                    ..Bundle::default()
                },
                csr,
            )
        }
        Input::Id(id) => {
            return Err(Error::Bundle(format!(
                "expected a CSR (PEM or a pca-csr bundle) on standard input, got {id:?}"
            )));
        }
    };
    // Check the CSR before talking to the CA: a bad one is the user's to fix.
    csr::parse(&csr)?;
    let info = ca.describe()?;
    let alg = opts
        .signing_algorithm
        .unwrap_or(info.key_type.default_signing_algorithm());
    ca::check_request(&info, opts.validity, alg, OffsetDateTime::now_utc())?;
    let token = ca::idempotency_token(&ca.id(), &csr.der, opts.template, opts.validity, alg);
    let id = ca.issue(&IssueRequest {
        csr,
        template: opts.template,
        validity: opts.validity,
        signing_algorithm: alg,
        idempotency_token: token,
    })?;
    bundle.ca = Some(ca.id());
    bundle.certificate_id = Some(id);
    bundle.template = Some(opts.template.arn());
    Ok(bundle)
}

/// The self-signed root above `ca`, as PEM: the top of its chain, which is not `ca`
/// itself when `ca` is subordinate.
pub fn root_pem(ca: &dyn CertificateAuthority) -> Result<String, Error> {
    let root = ca::root_of(&ca.ca_certificate()?)?;
    Ok(pemfile::encode_certificates([root.as_slice()]))
}

/// Fetches the certificate, its chain and the root into the bundle.
pub fn get(ca: &dyn CertificateAuthority, mut bundle: Bundle) -> Result<Bundle, Error> {
    let id = Bundle::require(&bundle.certificate_id, "certificate_id", "pca-issue")?.to_string();
    let issued = ca.get(&id)?;
    let root = ca::root_of(&issued)?;
    bundle.certificate = Some(pemfile::encode_certificates([issued
        .certificate
        .as_slice()]));
    bundle.chain = Some(pemfile::encode_certificates(
        issued.chain.iter().map(Vec::as_slice),
    ));
    bundle.root = Some(pemfile::encode_certificates([root.as_slice()]));
    Ok(bundle)
}

/// Where `cacerts-build` takes its parts from: files given as flags win over the bundle.
#[derive(Clone, Debug, Default)]
pub struct Parts {
    /// `--cert`
    pub cert: Option<PathBuf>,
    /// `--chain`
    pub chain: Option<PathBuf>,
    /// `--key`
    pub key: Option<PathBuf>,
    /// `--root`
    pub root: Option<PathBuf>,
}

/// Reads the candidate bundle (certificate, chain, root, key) from files and/or the bundle.
pub fn candidate(parts: &Parts, bundle: Option<&Bundle>) -> Result<Candidate, Error> {
    let from_file = |p: &Path| -> Result<(String, String), Error> {
        Ok((fsio::read_text(p)?, p.to_string_lossy().into_owned()))
    };
    let field = |v: &Option<String>, name: &str, set_by: &str| -> Result<(String, String), Error> {
        if bundle.is_none() {
            return Err(Error::Argument {
                flag: "--cert",
                reason: format!(
                    "no bundle on standard input and no file for {name}; pass --cert, --chain, --key and --root"
                ),
            });
        }
        Ok((
            Bundle::require(v, name, set_by)?.to_string(),
            format!("bundle field \"{name}\""),
        ))
    };
    let empty = Bundle::default();
    let b = bundle.unwrap_or(&empty);
    let (cert_text, cert_src) = match &parts.cert {
        Some(p) => from_file(p)?,
        None => field(&b.certificate, "certificate", "pca-get")?,
    };
    let cert = pemfile::parse_one_certificate(&cert_text, &cert_src)?;
    let mut chain = Vec::new();
    match &parts.chain {
        Some(p) => {
            let (t, s) = from_file(p)?;
            chain = pemfile::parse_certificates(&t, &s)?;
        }
        None => {
            if let Some(t) = b.chain.as_deref().filter(|t| !t.trim().is_empty()) {
                chain = pemfile::parse_certificates(t, "bundle field \"chain\"")?;
            }
        }
    }
    let root = match &parts.root {
        Some(p) => {
            let (t, s) = from_file(p)?;
            Some(pemfile::parse_one_certificate(&t, &s)?)
        }
        None => match b.root.as_deref() {
            Some(t) => Some(pemfile::parse_one_certificate(t, "bundle field \"root\"")?),
            None => None,
        },
    };
    let key_path = match &parts.key {
        Some(p) => p.clone(),
        None => PathBuf::from(field(&b.key_file, "key_file", "pca-csr")?.0),
    };
    let key_text = fsio::read_text(&key_path)?;
    let key = pemfile::parse_private_key(&key_text, &key_path.to_string_lossy())?;
    Ok(Candidate {
        cert,
        chain,
        root,
        key: Some(key),
    })
}

/// Validates a candidate as every writer must before writing.
pub fn validate(c: &Candidate, warn_within: time::Duration) -> Result<Verified, Error> {
    let options = verify::Options {
        warn_within,
        ..verify::Options::now()
    };
    Ok(verify::verify(c, &options)?)
}

/// Validates and returns the secret's entries.
pub fn build_cacerts(
    c: &Candidate,
    format: Format,
    warn_within: time::Duration,
) -> Result<(Verified, Vec<cacerts::Entry>), Error> {
    let v = validate(c, warn_within)?;
    // The key is written back as PEM under the label it came with (PKCS#8, PKCS#1 or SEC1).
    let key_pem = c
        .key
        .as_ref()
        .map(|(k, label)| pemfile::encode(label, [k.der.as_slice()]))
        .unwrap_or_default();
    let entries = cacerts::entries(&v, &key_pem, format);
    Ok((v, entries))
}
