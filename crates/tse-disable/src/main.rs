//! tse-disable: stop TSE distributing its own self-signed intermediate CAs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use pca_mesh::cluster::tse::{self, ControlPlaneOptions, ManagementPlaneOptions};
use pca_mesh::cluster::{Say, Target, install};
use pca_mesh::{Error, cli, fsio};

const TOOL: &str = "tse-disable";

/// Stop TSE distributing its own self-signed intermediate CAs (guide steps 1 and 5).
///
/// management-plane: JSON-merge-patches the ManagementPlane (install.tetrate.io/v1alpha1,
/// namespace tse, the single one there unless --name) with
/// {"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}. Run it once, against the
/// cluster hosting the TSE management plane.
///
/// control-plane: merge-patches the ControlPlane controlplane in istio-system with
/// {"spec":{"components":{"xcp":{"centralProvidedCaCert":false}}}}, then deletes the
/// cacerts secret TSE made, after backing it up to a file (0600, it holds TSE's CA key)
/// in --backup-dir, named <context>-<UTC time>.json: a Secret manifest that
/// `kubectl apply -f` or `cacerts-apply --rollback` restores. A cacerts installed by
/// pca-mesh (label app.kubernetes.io/managed-by=pca-mesh) is never deleted.
///
/// Both ask the API server first what the patch would change (dryRun=All): an empty
/// change is "no change" and nothing is written, so a second run is harmless; --dry-run
/// prints that diff on stderr and stops. The JSON report of what changed goes to stdout.
#[derive(Parser, Debug)]
#[command(name = "tse-disable", version, after_help = cli::EXIT_CODES, arg_required_else_help = true)]
struct Cli {
    // Optional only so the hidden --generate-man works without one; required otherwise.
    #[command(subcommand)]
    plane: Option<Plane>,
    #[command(flatten)]
    target: Target,
    /// Show what would change (server-side dry run); change nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    #[command(flatten)]
    meta: cli::Meta,
}

#[derive(Subcommand, Debug)]
enum Plane {
    /// Patch the ManagementPlane (once, on the management-plane cluster).
    ManagementPlane {
        /// Namespace of the ManagementPlane.
        #[arg(long, default_value = tse::MANAGEMENT_PLANE_NAMESPACE)]
        namespace: String,
        /// Its name [default: the single ManagementPlane in the namespace].
        #[arg(long)]
        name: Option<String>,
    },
    /// Patch the ControlPlane and remove TSE's cacerts (on each workload cluster).
    ControlPlane {
        /// Namespace of the ControlPlane.
        #[arg(long, default_value = tse::CONTROL_PLANE_NAMESPACE)]
        namespace: String,
        /// Its name.
        #[arg(long, default_value = tse::CONTROL_PLANE_NAME)]
        name: String,
        /// Leave TSE's cacerts secret in place.
        #[arg(long)]
        keep_secret: bool,
        /// Where the backup of TSE's cacerts goes.
        #[arg(long, value_name = "DIR", default_value = install::DEFAULT_BACKUP_DIR)]
        backup_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Cli::parse();
    if let Some(code) = args.meta.handle::<Cli>() {
        return code;
    }
    let Some(plane) = args.plane else {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "name the plane: management-plane or control-plane",
            )
            .exit()
    };
    cli::finish(TOOL, run(plane, args.target, args.dry_run))
}

fn run(plane: Plane, target: Target, dry_run: bool) -> Result<(), Error> {
    let say = Say(TOOL);
    let report = match plane {
        Plane::ManagementPlane { namespace, name } => tse::disable_management_plane(
            &ManagementPlaneOptions {
                target,
                namespace,
                name,
                dry_run,
            },
            say,
        )?,
        Plane::ControlPlane {
            namespace,
            name,
            keep_secret,
            backup_dir,
        } => tse::disable_control_plane(
            &ControlPlaneOptions {
                target,
                namespace,
                name,
                dry_run,
                keep_secret,
                backup_dir,
            },
            say,
        )?,
    };
    fsio::print(&fsio::pretty_json(&report))
}
