//! cacerts-build: validate a cluster's CA bundle and emit Istio's `cacerts` secret.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::Parser;
use pca_mesh::bundle::Input;
use pca_mesh::cacerts::{self, Format};
use pca_mesh::cluster::install;
use pca_mesh::steps::{self, Parts};
use pca_mesh::{Error, cli, fsio};

/// Validate a cluster's intermediate CA bundle and build Istio's cacerts secret.
///
/// Reads the bundle from pca-get on standard input (its key_file names the key), or
/// the files given with --cert, --chain, --key and --root. Nothing is written unless
/// the bundle passes every check: the key matches the certificate, the certificate is
/// a CA with keyCertSign, the chain is complete and verifies signature by signature to
/// a self-signed root (the root given, if any), every certificate is within its
/// validity window, path lengths hold, keys are RSA >= 2048 or EC >= P-256, and no
/// signature uses SHA-1. A chain given out of order or with duplicates is normalised,
/// and stderr says so. A certificate expiring within --warn-days is a warning.
///
/// Output: the Secret manifest (JSON or YAML, for kubectl apply -f -) on standard
/// output, which is refused when standard output is a terminal since it holds the
/// private key; or --output dir=PATH writes the files (key 0600).
#[derive(Parser, Debug)]
#[command(name = "cacerts-build", version, after_help = cli::EXIT_CODES, after_long_help = cli::BUNDLE_AND_EXIT_CODES)]
struct Cli {
    /// The cluster's intermediate CA certificate (PEM, exactly one).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The CAs above it (PEM, any order).
    #[arg(long, value_name = "FILE")]
    chain: Option<PathBuf>,
    /// The intermediate's private key (PEM).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The root to trust (PEM); default: the self-signed top of the chain.
    #[arg(long, value_name = "FILE")]
    root: Option<PathBuf>,
    /// Secret layout: cacerts (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) or tls (tls.crt, tls.key, ca.crt).
    #[arg(long, value_enum, default_value = "cacerts")]
    format: Format,
    /// Where the result goes: json, yaml, or dir=PATH.
    #[arg(long, default_value = "json", value_name = "json|yaml|dir=PATH")]
    output: OutputArg,
    /// Secret name.
    #[arg(long, default_value = install::SECRET_NAME)]
    name: String,
    /// Secret namespace.
    #[arg(long, default_value = install::SECRET_NAMESPACE)]
    namespace: String,
    /// Warn when a certificate expires within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    warn_days: u32,
    /// With --output dir=PATH: replace an existing key file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    meta: cli::Meta,
}

#[derive(Clone, Debug)]
enum OutputArg {
    Json,
    Yaml,
    Dir(PathBuf),
}

impl FromStr for OutputArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(OutputArg::Json),
            "yaml" => Ok(OutputArg::Yaml),
            _ => match s.strip_prefix("dir=") {
                Some(p) if !p.is_empty() => Ok(OutputArg::Dir(PathBuf::from(p))),
                _ => Err(format!("{s:?}: expected json, yaml or dir=PATH")),
            },
        }
    }
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn run(args: Cli) -> Result<(), Error> {
    let parts = Parts {
        cert: args.cert.clone(),
        chain: args.chain.clone(),
        key: args.key.clone(),
        root: args.root.clone(),
    };
    let bundle = if args.cert.is_some() {
        None
    } else {
        match Input::parse(&fsio::read_stdin(
            "a pca-get bundle (or pass --cert, --chain, --key, --root)",
        )?)? {
            Input::Bundle(b) => Some(*b),
            _ => {
                return Err(Error::Bundle(
                    "expected the JSON bundle from pca-get on standard input (or pass --cert, --chain, --key, --root)"
                        .into(),
                ));
            }
        }
    };
    let format = args.format;
    if !matches!(args.output, OutputArg::Dir(_)) {
        fsio::guard_stdout_secret("a secret holding a private key")?;
    }
    let candidate = steps::candidate(&parts, bundle.as_ref())?;
    let warn_within = time::Duration::days(args.warn_days.into());
    let (verified, entries) = steps::build_cacerts(&candidate, format, warn_within)?;
    for n in &verified.notes {
        cli::note("cacerts-build", n);
    }
    for w in &verified.warnings {
        cli::note("cacerts-build", &format!("warning: {w}"));
    }
    match &args.output {
        OutputArg::Dir(dir) => cacerts::write_dir(dir, &entries, args.force),
        OutputArg::Json => {
            let m = cacerts::manifest(&entries, &args.name, &args.namespace, format);
            fsio::print(&fsio::pretty_json(&m))
        }
        OutputArg::Yaml => {
            let m = cacerts::manifest(&entries, &args.name, &args.namespace, format);
            fsio::print(&cacerts::to_yaml(&m)?)
        }
    }
}
