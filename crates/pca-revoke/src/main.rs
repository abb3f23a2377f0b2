//! pca-revoke: revoke a cluster's intermediate CA certificate at the CA that issued it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pca_mesh::bundle::{Bundle, Input};
use pca_mesh::ca::aws::AwsOptions;
use pca_mesh::ca::{self, RevocationReason};
use pca_mesh::pemfile;
use pca_mesh::{Error, cli, fsio, steps};

/// Revoke a cluster's intermediate CA certificate.
///
/// Reads the certificate from CERT_FILE or standard input: PEM holding exactly that one
/// certificate, or the bundle from pca-get (its "certificate" field, and "ca" when --ca
/// is not given). Checks that the CA signed it, so a serial number can never revoke
/// another CA's certificate, then revokes it by serial number (PCA's RevokeCertificate,
/// or the local CA's DIR/revoked.json) and prints what it revoked as JSON.
///
/// The CA is --ca, else $PCA_MESH_CA, else the bundle's "ca": an AWS Private CA ARN, or
/// file:DIR for a local CA. Revoking a certificate twice is an error.
#[derive(Parser, Debug)]
#[command(name = "pca-revoke", version, after_help = cli::EXIT_CODES)]
struct Cli {
    /// Certificate (PEM) or pca-get bundle (JSON) file; default: standard input.
    #[arg(value_name = "CERT_FILE")]
    cert: Option<PathBuf>,
    /// The CA that issued it: an AWS Private CA ARN, or file:DIR (a local CA directory).
    #[arg(long, env = "PCA_MESH_CA", value_name = "CA")]
    ca: Option<String>,
    /// Reason, as PCA names it: KEY_COMPROMISE, CERTIFICATE_AUTHORITY_COMPROMISE, AFFILIATION_CHANGED,
    /// SUPERSEDED, CESSATION_OF_OPERATION, PRIVILEGE_WITHDRAWN, A_A_COMPROMISE, UNSPECIFIED.
    #[arg(long, default_value = "KEY_COMPROMISE", value_name = "REASON")]
    reason: RevocationReason,
    #[command(flatten)]
    aws: AwsOptions,
    #[command(flatten)]
    meta: cli::Meta,
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn run(args: Cli) -> Result<(), Error> {
    let (text, source) = match &args.cert {
        Some(p) => (fsio::read_text(p)?, p.to_string_lossy().into_owned()),
        None => (
            fsio::read_stdin("a certificate (PEM) or a pca-get bundle")?,
            "standard input".to_string(),
        ),
    };
    let (bundle, certificate) = match Input::parse(&text)? {
        Input::Bundle(b) => {
            let pem = Bundle::require(&b.certificate, "certificate", "pca-get")?;
            let cert = pemfile::parse_one_certificate(
                pem,
                &format!("{source}: bundle field \"certificate\""),
            )?;
            (Some(*b), cert)
        }
        Input::Pem(pem) => (None, pemfile::parse_one_certificate(&pem, &source)?),
        Input::Id(id) => {
            return Err(Error::Bundle(format!(
                "expected a certificate (PEM) or a pca-get bundle in {source}, got {id:?}; fetch the certificate \
                 with pca-get first"
            )));
        }
    };
    let ca = ca::open(
        &steps::ca_spec(args.ca.as_deref(), bundle.as_ref())?,
        &args.aws,
    )?;
    let done = ca::revoke(ca.as_ref(), &certificate, args.reason)?;
    let mut out = serde_json::to_value(&done).unwrap_or_default();
    if let (Some(b), Some(obj)) = (&bundle, out.as_object_mut()) {
        for (k, v) in [
            ("cluster", &b.cluster),
            ("certificate_id", &b.certificate_id),
        ] {
            if let Some(v) = v {
                obj.insert(k.into(), v.clone().into());
            }
        }
    }
    fsio::print(&format!("{out}\n"))
}
