//! pca-get: fetch an issued certificate with the chain above it, or a CA's root.

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use pca_mesh::bundle::{Bundle, Input};
use pca_mesh::ca;
use pca_mesh::ca::aws::AwsOptions;
use pca_mesh::steps;
use pca_mesh::{Error, cli, fsio};

/// Fetch an issued certificate, the chain above it and the root.
///
/// Takes the certificate id as an argument, or on standard input alone or in the
/// bundle from pca-issue. With a bundle it prints the bundle with certificate (the
/// intermediate alone), chain (every CA above it, issuer first, root last) and root
/// set; with a bare id it prints clean PEM: the certificate, then the chain.
///
/// The id is a PCA certificate ARN (arn:aws:acm-pca:...:certificate-authority/ID/certificate/N)
/// or file:DIR/certificate/SERIAL. While AWS Private CA is still issuing the certificate,
/// pca-get waits (with backoff, up to --wait), showing progress when stderr is a terminal.
///
/// --root prints only the self-signed root at the top of the chain (with --ca and no
/// certificate id: the root above that CA). When the issuing CA is itself subordinate,
/// that is the root above it, not the issuing CA.
#[derive(Parser, Debug)]
#[command(name = "pca-get", version, after_help = cli::EXIT_CODES, after_long_help = cli::BUNDLE_AND_EXIT_CODES)]
struct Cli {
    /// Certificate id (a PCA certificate ARN or file:DIR/certificate/SERIAL); default: standard input.
    #[arg(value_name = "CERTIFICATE_ID")]
    certificate_id: Option<String>,
    /// Print only the self-signed root.
    #[arg(long)]
    root: bool,
    /// The CA (an AWS Private CA ARN or file:DIR), when there is no certificate id (with --root).
    #[arg(long, env = "PCA_MESH_CA", value_name = "CA")]
    ca: Option<String>,
    /// Output form [default: bundle for bundle input, pem otherwise].
    #[arg(long, value_enum)]
    output: Option<Output>,
    /// How long to wait for a certificate still being issued: 90s, 2m, 500ms [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = cli::parse_duration)]
    wait: Option<std::time::Duration>,
    #[command(flatten)]
    aws: AwsOptions,
    #[command(flatten)]
    meta: cli::Meta,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    /// The JSON bundle.
    Bundle,
    /// PEM blocks: certificate, then the chain.
    Pem,
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn run(mut args: Cli) -> Result<(), Error> {
    args.aws.wait = args.wait;
    let (bundle, from_bundle) = match &args.certificate_id {
        Some(id) => (
            Bundle {
                certificate_id: Some(id.clone()),
                ..Bundle::default()
            },
            false,
        ),
        None if args.root && args.ca.is_some() => {
            let ca = ca::open(&steps::ca_spec(args.ca.as_deref(), None)?, &args.aws)?;
            return fsio::print(&steps::root_pem(ca.as_ref())?);
        }
        None => match Input::parse(&fsio::read_stdin("a certificate id or a pca-issue bundle")?)? {
            Input::Bundle(b) => (*b, true),
            Input::Id(id) => (
                Bundle {
                    certificate_id: Some(id),
                    ..Bundle::default()
                },
                false,
            ),
            Input::Pem(_) => {
                return Err(Error::Bundle(
                    "expected a certificate id or a pca-issue bundle on standard input, got PEM"
                        .into(),
                ));
            }
        },
    };
    let id = Bundle::require(&bundle.certificate_id, "certificate_id", "pca-issue")?;
    let ca = ca::open(&ca::ca_of_certificate_id(id)?, &args.aws)?;
    let bundle = steps::get(ca.as_ref(), bundle)?;
    if args.root {
        return fsio::print(bundle.root.as_deref().unwrap_or_default());
    }
    let output = args.output.unwrap_or(if from_bundle {
        Output::Bundle
    } else {
        Output::Pem
    });
    match output {
        Output::Bundle => fsio::print(&bundle.to_json()),
        Output::Pem => fsio::print(&format!(
            "{}{}",
            bundle.certificate.as_deref().unwrap_or_default(),
            bundle.chain.as_deref().unwrap_or_default()
        )),
    }
}
