//! pca-csr: generate a cluster intermediate CA's private key (to a 0600 file) and its CSR.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use pca_mesh::csr::{Sans, Subject};
use pca_mesh::key::KeyType;
use pca_mesh::steps::{self, CsrRequest};
use pca_mesh::{Error, cli, fsio};

/// Generate a private key and a PKCS#10 CSR for a cluster's intermediate CA.
///
/// The key is written to a file created with mode 0600 (default CLUSTER/ca-key.pem),
/// atomically, and never over an existing file without --force. The CSR goes to
/// standard output as PEM, or as the pipeline's JSON bundle with --json.
///
/// The default subject is the guide's: /C=US/ST=CA/O=Tetrateio/CN=CLUSTER-cluster.
#[derive(Parser, Debug)]
#[command(name = "pca-csr", version, after_help = cli::EXIT_CODES, after_long_help = cli::BUNDLE_AND_EXIT_CODES)]
struct Cli {
    /// Cluster name: sets the subject (CN=NAME-cluster) and the key path (NAME/ca-key.pem).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// Key type: rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384.
    #[arg(long, default_value = "rsa2048", value_name = "TYPE")]
    key_type: KeyType,
    /// Where to write the private key (0600).
    #[arg(long, value_name = "PATH")]
    key_out: Option<PathBuf>,
    /// Replace an existing key file.
    #[arg(long)]
    force: bool,
    /// Print the JSON bundle (cluster, key_type, key_file, csr) instead of PEM.
    #[arg(long)]
    json: bool,
    /// Subject country (C).
    #[arg(long, value_name = "C")]
    country: Option<String>,
    /// Subject state or province (ST).
    #[arg(long, value_name = "ST")]
    state: Option<String>,
    /// Subject locality (L).
    #[arg(long, value_name = "L")]
    locality: Option<String>,
    /// Subject organisation (O).
    #[arg(long, value_name = "O")]
    org: Option<String>,
    /// Subject organisational unit (OU).
    #[arg(long, value_name = "OU")]
    org_unit: Option<String>,
    /// Subject common name (CN).
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// DNS subject alternative name (repeatable).
    #[arg(long, value_name = "NAME")]
    dns: Vec<String>,
    /// URI subject alternative name, e.g. a SPIFFE trust domain spiffe://cluster.local (repeatable).
    #[arg(long, value_name = "URI")]
    uri: Vec<String>,
    #[command(flatten)]
    meta: cli::Meta,
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn run(args: Cli) -> Result<(), Error> {
    let req = CsrRequest {
        cluster: args.cluster,
        subject: Subject {
            country: args.country,
            state: args.state,
            locality: args.locality,
            org: args.org,
            org_unit: args.org_unit,
            common_name: args.cn,
        },
        sans: Sans {
            dns: args.dns,
            uri: args.uri,
        },
        key_type: args.key_type,
        key_out: args.key_out,
        force: args.force,
    };
    let bundle = steps::make_csr(&req)?;
    if args.json {
        fsio::print(&bundle.to_json())
    } else {
        fsio::print(bundle.csr.as_deref().unwrap_or_default())
    }
}
