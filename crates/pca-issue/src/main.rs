//! pca-issue: issue a cluster intermediate CA certificate from a CA, or create a local CA.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use pca_mesh::bundle::Input;
use pca_mesh::ca::aws::AwsOptions;
use pca_mesh::ca::local::{InitOptions, LocalCa};
use pca_mesh::ca::{self, CertificateAuthority, UsageMode};
use pca_mesh::csr::Subject;
use pca_mesh::key::KeyType;
use pca_mesh::steps::{self, IssueOptions};
use pca_mesh::template::{SigningAlgorithm, Template};
use pca_mesh::validity::Validity;
use pca_mesh::{Error, cli, fsio};

/// Issue a cluster's intermediate CA certificate from a CA.
///
/// Reads a CSR on standard input (PEM, or the bundle from pca-csr --json) or from
/// CSR_FILE, issues it with a PCA template (default SubordinateCACertificate_PathLen0/V1:
/// CA:TRUE, pathlen 0) and prints the bundle with ca, certificate_id and template set.
///
/// The CA is --ca, else $PCA_MESH_CA, else the bundle's "ca": an AWS Private CA ARN
/// (arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID), or file:DIR for a local CA.
/// Before issuing, the CA must be ACTIVE; the signing algorithm must fit its key; a CA in
/// SHORT_LIVED_CERTIFICATE mode takes at most 7 days. A retried run with the same CSR and
/// parameters returns the same certificate (PCA's idempotency token), never a second one.
///
/// --init-root DIR creates a local root CA; --init-subordinate DIR creates a local
/// CA signed by --ca, for root -> subordinate -> cluster hierarchies.
#[derive(Parser, Debug)]
#[command(name = "pca-issue", version, after_help = cli::EXIT_CODES, after_long_help = cli::BUNDLE_AND_EXIT_CODES)]
struct Cli {
    /// CSR file (PEM); default: standard input.
    #[arg(value_name = "CSR_FILE")]
    csr: Option<PathBuf>,
    /// The issuing CA: an AWS Private CA ARN, or file:DIR (a local CA directory).
    #[arg(long, env = "PCA_MESH_CA", value_name = "CA")]
    ca: Option<String>,
    /// PCA template name or ARN: SubordinateCACertificate_PathLen0/V1 .. PathLen3/V1, EndEntityCertificate/V1
    /// [default: SubordinateCACertificate_PathLen0/V1; PathLen1 for --init-subordinate].
    #[arg(long, value_name = "TEMPLATE")]
    template: Option<Template>,
    /// Validity: 30d, 12m, 1y or an RFC 3339 end date [default: 1y; 10y for --init-root, 5y for --init-subordinate].
    #[arg(long, value_name = "SPAN")]
    validity: Option<Validity>,
    /// Signing algorithm (default: the one matching the CA key, e.g. SHA256WITHRSA).
    #[arg(long, value_name = "ALG")]
    signing_algorithm: Option<SigningAlgorithm>,
    /// What to print: the bundle, or only the certificate id.
    #[arg(long, value_enum, default_value = "bundle")]
    output: Output,
    /// Create a local root CA in DIR and exit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["csr", "init_subordinate"])]
    init_root: Option<PathBuf>,
    /// Create a local subordinate CA in DIR, signed by --ca, and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "csr")]
    init_subordinate: Option<PathBuf>,
    /// Key type of a new local CA.
    #[arg(long, default_value = "rsa4096", value_name = "TYPE")]
    key_type: KeyType,
    /// Common name of a new local CA.
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// Organisation of a new local CA.
    #[arg(long, value_name = "O", default_value = "pca-mesh")]
    org: String,
    /// Make the new local CA short-lived mode (validity at most 7 days), as PCA's SHORT_LIVED_CERTIFICATE.
    #[arg(long)]
    short_lived: bool,
    /// Replace an existing local CA in DIR.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    aws: AwsOptions,
    #[command(flatten)]
    meta: cli::Meta,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    /// The JSON bundle.
    Bundle,
    /// The certificate identifier alone.
    Id,
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn init_options(args: &Cli, cn: &str, validity: Validity) -> InitOptions {
    InitOptions {
        key_type: args.key_type,
        subject: Subject {
            org: Some(args.org.clone()),
            common_name: Some(args.cn.clone().unwrap_or_else(|| cn.to_string())),
            ..Subject::default()
        },
        validity,
        usage_mode: if args.short_lived {
            UsageMode::ShortLivedCertificate
        } else {
            UsageMode::GeneralPurpose
        },
        force: args.force,
    }
}

fn run(args: Cli) -> Result<(), Error> {
    if let Some(dir) = &args.init_root {
        let opts = init_options(
            &args,
            "pca-mesh Root CA",
            args.validity.unwrap_or(Validity::Years(10)),
        );
        let ca = LocalCa::init_root(dir, &opts)?;
        return fsio::print(&format!("{}\n", ca.id()));
    }
    if let Some(dir) = &args.init_subordinate {
        let parent = ca::open(&steps::ca_spec(args.ca.as_deref(), None)?, &args.aws)?;
        let opts = init_options(
            &args,
            "pca-mesh Subordinate CA",
            args.validity.unwrap_or(Validity::Years(5)),
        );
        let template = args.template.unwrap_or(Template::SubordinateCa(1));
        let ca = LocalCa::init_subordinate(dir, &opts, parent.as_ref(), template)?;
        return fsio::print(&format!("{}\n", ca.id()));
    }
    let input = match &args.csr {
        Some(p) => Input::Pem(fsio::read_text(p)?),
        None => Input::parse(&fsio::read_stdin("a CSR or a pca-csr bundle")?)?,
    };
    let from_bundle = match &input {
        Input::Bundle(b) => Some(b.as_ref()),
        _ => None,
    };
    let ca = ca::open(&steps::ca_spec(args.ca.as_deref(), from_bundle)?, &args.aws)?;
    let opts = IssueOptions {
        template: args.template.unwrap_or_default(),
        validity: args.validity.unwrap_or_default(),
        signing_algorithm: args.signing_algorithm,
    };
    let bundle = steps::issue(ca.as_ref(), input, &opts)?;
    match args.output {
        Output::Bundle => fsio::print(&bundle.to_json()),
        Output::Id => fsio::print(&format!("{}\n", bundle.certificate_id.unwrap_or_default())),
    }
}
