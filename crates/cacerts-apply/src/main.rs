//! cacerts-apply: install Istio's cacerts secret with a backup, and restart istiod.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use pca_mesh::cluster::install::{self, Options, Source};
use pca_mesh::cluster::restart::Plan;
use pca_mesh::cluster::{Say, Target};
use pca_mesh::{Error, cli, fsio};

const TOOL: &str = "cacerts-apply";

/// Install Istio's cacerts secret from cacerts-build, with a backup, and restart istiod.
///
/// Reads the Secret manifest cacerts-build prints (JSON or YAML) on standard input and
/// validates it again with the same checks (key matches, CA profile, chain complete and
/// in order up to the root, validity, strength). It refuses a root different from the
/// one the cluster trusts now (the root-cert.pem of the cacerts there) unless
/// --allow-root-change: a new root breaks cross-cluster trust until every cluster has it.
/// It warns while a TSE ControlPlane still has centralProvidedCaCert on (TSE could put
/// its own cacerts back): run `tse-disable control-plane` first.
///
/// An existing cacerts is first backed up to a file in --backup-dir, mode 0600, named
/// <context>-<UTC time>.json (a Secret manifest; `kubectl apply -f` restores it too),
/// then replaced. istiod (Deployments -l app=istiod in istio-system) is then restarted
/// as `kubectl rollout restart` does, and the rollout is awaited up to --wait, with
/// progress on stderr. --restart-workloads then restarts every Deployment, StatefulSet
/// and DaemonSet whose pods carry the sidecar, and the gateways, so leaf certificates
/// re-issue at once. A secret already holding the same data is "no change": nothing is
/// written or restarted.
///
/// --rollback restores the newest backup for the context (after backing up the current
/// secret, so a second --rollback undoes the first). Every write is tried first as a
/// server-side dry run, so a refusal (RBAC, validation) leaves the cluster unchanged;
/// --dry-run stops there. The JSON report goes to standard output.
#[derive(Parser, Debug)]
#[command(name = "cacerts-apply", version, after_help = cli::EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    target: Target,
    /// Show what would happen (server-side dry run); change nothing, write no backup.
    #[arg(long)]
    dry_run: bool,
    /// Where backups go.
    #[arg(long, value_name = "DIR", default_value = install::DEFAULT_BACKUP_DIR)]
    backup_dir: PathBuf,
    /// Install even if the root differs from the one the cluster trusts now.
    #[arg(long)]
    allow_root_change: bool,
    /// Do not restart istiod.
    #[arg(long, conflicts_with = "restart_workloads")]
    no_restart: bool,
    /// Also restart the workloads with a sidecar, and the gateways.
    #[arg(long)]
    restart_workloads: bool,
    /// How long to wait for each rollout (istiod, then the workloads): 90s, 5m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = cli::parse_duration)]
    wait: Duration,
    /// Restore the newest backup for this context instead of reading standard input.
    #[arg(long, conflicts_with = "rollback_from")]
    rollback: bool,
    /// Restore this backup file instead of reading standard input.
    #[arg(long, value_name = "FILE")]
    rollback_from: Option<PathBuf>,
    #[command(flatten)]
    meta: cli::Meta,
}

fn main() -> ExitCode {
    cli::main(|c: &Cli| &c.meta, run)
}

fn run(args: Cli) -> Result<(), Error> {
    let source = if args.rollback || args.rollback_from.is_some() {
        Source::Rollback(args.rollback_from.clone())
    } else {
        Source::Manifest(fsio::read_stdin("the Secret manifest from cacerts-build")?)
    };
    let opts = Options {
        target: args.target,
        dry_run: args.dry_run,
        backup_dir: args.backup_dir,
        allow_root_change: args.allow_root_change,
        restart: Plan {
            istiod: !args.no_restart,
            workloads: args.restart_workloads,
            wait: args.wait,
        },
    };
    let report = install::apply(source, &opts, Say(TOOL))?;
    fsio::print(&fsio::pretty_json(&report))
}
