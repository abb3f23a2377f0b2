//! Kubernetes: the cluster side of the guide (steps 1, 5, 6 and 7): the TSE patches,
//! installing `cacerts` with a backup, and restarting istiod and the workloads.
//!
//! The kube-rs calls are async inside; each public entry point builds its own small
//! tokio runtime so the binaries stay synchronous. Every API failure is turned into
//! one sentence naming the object, the verb and what to do ([`Cluster::fail`]).

pub mod install;
pub mod restart;
pub mod tse;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, PatchParams, PostParams, Preconditions};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

use crate::error::Error;

/// Which cluster to talk to: the usual kubeconfig rules (`--kubeconfig`, else
/// `KUBECONFIG` (a list of files, merged), else `~/.kube/config`; `--context`, else
/// the current context).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Target {
    /// Kubeconfig file [default: $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context [default: the current context].
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
}

/// A connected client and what messages need to name the cluster.
pub struct Cluster {
    pub(crate) client: kube::Client,
    /// The kubeconfig context in use.
    pub context: String,
    /// The API server URL.
    pub server: String,
}

/// Where notes and progress go: stderr, prefixed by the tool's name.
#[derive(Clone, Copy, Debug)]
pub struct Say(pub &'static str);

impl Say {
    /// One line on stderr.
    pub fn note(&self, msg: &str) {
        crate::cli::note(self.0, msg);
    }
}

/// The field manager our writes are recorded under.
pub const FIELD_MANAGER: &str = "pca-mesh";

/// A patch recorded under [`FIELD_MANAGER`] (only asked about with `dry_run`).
pub(crate) fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// A create or replace recorded under [`FIELD_MANAGER`] (only asked about with `dry_run`).
pub(crate) fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

/// Deletion only of the very object we looked at (and backed up): its uid and
/// resourceVersion are preconditions.
pub(crate) fn delete_params(looked_at: &ObjectMeta, dry_run: bool) -> DeleteParams {
    DeleteParams {
        dry_run,
        preconditions: Some(Preconditions {
            uid: looked_at.uid.clone(),
            resource_version: looked_at.resource_version.clone(),
        }),
        ..DeleteParams::default()
    }
}

/// Runs a future to completion on a fresh single-threaded runtime.
pub(crate) fn block_on<F: Future>(f: F) -> Result<F::Output, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(f))
}

impl Cluster {
    /// Reads the kubeconfig and makes a client for the chosen context. No request is
    /// sent yet: an unreachable server shows on the first call, with its URL.
    pub async fn connect(t: &Target) -> Result<Cluster, Error> {
        let (kc, source) = match &t.kubeconfig {
            Some(p) => (
                Kubeconfig::read_from(p)
                    .map_err(|e| kubeconfig_error(&p.display().to_string(), e))?,
                p.display().to_string(),
            ),
            None => {
                let source =
                    std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into());
                (
                    Kubeconfig::read().map_err(|e| kubeconfig_error(&source, e))?,
                    source,
                )
            }
        };
        let names: Vec<String> = kc.contexts.iter().map(|c| c.name.clone()).collect();
        let context = match t.context.clone().or_else(|| kc.current_context.clone()) {
            Some(c) => c,
            None => {
                return Err(Error::Cluster(format!(
                    "kubeconfig {source} has no current context; pass --context (one of: {})",
                    names.join(", ")
                )));
            }
        };
        if !names.contains(&context) {
            return Err(Error::Cluster(format!(
                "kubeconfig {source} has no context {context:?}; pass --context with one of: {}",
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        let opts = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| kubeconfig_error(&source, e))?;
        // No hidden network waits: a server that does not answer fails fast.
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = kube::Client::try_from(config).map_err(|e| {
            Error::Cluster(format!(
                "cannot make a client for {server} (context {context:?}): {e}"
            ))
        })?;
        Ok(Cluster {
            client,
            context,
            server,
        })
    }

    /// Turns a failed call into a sentence: what was being done to which object, why it
    /// failed and what to do about it.
    pub(crate) fn fail(&self, e: kube::Error, verb: &str, obj: &Obj) -> Error {
        let ctx = format!("context {:?}", self.context);
        match e {
            kube::Error::Api(st) => match st.code {
                // A text/plain 404 ("page not found"): the resource type is not served at all.
                404 if st.reason != "NotFound" => {
                    if obj.group == tse::GROUP {
                        Error::Cluster(format!(
                            "TSE does not seem installed in this cluster: no resource {} ({ctx}, {}); \
                             check --context points at the cluster running TSE",
                            obj.resource(),
                            self.server
                        ))
                    } else {
                        Error::Cluster(format!(
                            "the cluster ({ctx}) serves no resource {}",
                            obj.resource()
                        ))
                    }
                }
                404 => Error::Cluster(format!(
                    "{obj} not found ({ctx}); check --context{}",
                    if obj.kind == "Secret" || obj.kind == "Deployment" {
                        ""
                    } else {
                        ", --namespace and --name"
                    }
                )),
                403 => Error::Cluster(format!(
                    "not allowed to {verb} {} in {} ({ctx}): the server said \"{}\"; ask a cluster admin for \
                     RBAC permission to {verb} {}, or use a context that has it; nothing was changed by this step",
                    obj.resource(),
                    obj.scope(),
                    st.message,
                    obj.resource()
                )),
                401 => Error::Cluster(format!(
                    "the API server at {} rejected the credentials of {ctx} (401 Unauthorized); refresh them \
                     (e.g. aws eks update-kubeconfig) and retry",
                    self.server
                )),
                409 => Error::Cluster(format!(
                    "cannot {verb} {obj}: {} ({ctx}); something else changed it meanwhile: run again",
                    st.message
                )),
                _ => Error::Cluster(format!(
                    "cannot {verb} {obj} ({ctx}): {} (HTTP {}{})",
                    st.message,
                    st.code,
                    if st.reason.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", st.reason)
                    }
                )),
            },
            other => Error::Cluster(format!(
                "cannot reach the Kubernetes API server at {} ({ctx}) to {verb} {obj}: {}; check --context and \
                 --kubeconfig, and that the cluster is up",
                self.server,
                crate::error::root_cause(&other)
            )),
        }
    }
}

fn kubeconfig_error(source: &str, e: kube::config::KubeconfigError) -> Error {
    Error::Cluster(format!(
        "cannot use kubeconfig {source}: {e}; pass --kubeconfig FILE or set KUBECONFIG"
    ))
}

/// A Kubernetes object (or, without a name, a kind of object in a namespace), as
/// messages name it: `Secret istio-system/cacerts`.
#[derive(Clone, Debug)]
pub(crate) struct Obj {
    pub kind: &'static str,
    pub group: &'static str,
    pub plural: &'static str,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Obj {
    pub fn new(
        kind: &'static str,
        group: &'static str,
        plural: &'static str,
        ns: Option<&str>,
        name: Option<&str>,
    ) -> Obj {
        Obj {
            kind,
            group,
            plural,
            namespace: ns.map(str::to_string),
            name: name.map(str::to_string),
        }
    }

    /// A Secret.
    pub fn secret(ns: &str, name: &str) -> Obj {
        Obj::new("Secret", "", "secrets", Some(ns), Some(name))
    }

    /// A TSE ManagementPlane; without a name, those of the namespace.
    pub fn management_plane(ns: &str, name: Option<&str>) -> Obj {
        Obj::new(
            "ManagementPlane",
            tse::GROUP,
            "managementplanes",
            Some(ns),
            name,
        )
    }

    /// A TSE ControlPlane.
    pub fn control_plane(ns: &str, name: &str) -> Obj {
        Obj::new(
            "ControlPlane",
            tse::GROUP,
            "controlplanes",
            Some(ns),
            Some(name),
        )
    }

    /// The resource as RBAC and the API name it: `secrets`, `deployments.apps`.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn scope(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("namespace {ns}"),
            None => "all namespaces".into(),
        }
    }
}

impl fmt::Display for Obj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.namespace, &self.name) {
            (Some(ns), Some(n)) => write!(f, "{} {ns}/{n}", self.kind),
            (None, Some(n)) => write!(f, "{} {n}", self.kind),
            (Some(ns), None) => write!(f, "{} objects in namespace {ns}", self.kind),
            (None, None) => write!(f, "{} objects in all namespaces", self.kind),
        }
    }
}

/// One difference between two JSON documents, at a dotted path.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Dotted path, e.g. `spec.certIssuer.clusterIntermediateCAs`.
    pub path: String,
    /// The value before (`None`: absent).
    pub before: Option<Value>,
    /// The value after (`None`: absent).
    pub after: Option<Value>,
}

impl Change {
    /// As a report entry.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "path": self.path, "before": self.before, "after": self.after })
    }

    /// As two diff lines, `-` before and `+` after.
    pub fn diff_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = &self.before {
            out.push(format!("- {}: {}", self.path, b));
        }
        if let Some(a) = &self.after {
            out.push(format!("+ {}: {}", self.path, a));
        }
        out
    }
}

/// The leaf-level differences from `a` to `b` (objects are descended into; anything
/// else, arrays included, is compared whole).
pub fn diff(prefix: &str, a: Option<&Value>, b: Option<&Value>) -> Vec<Change> {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => x
            .keys()
            .chain(y.keys().filter(|k| !x.contains_key(*k)))
            .flat_map(|k| {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                diff(&p, x.get(k), y.get(k))
            })
            .collect(),
        (x, y) if x == y => Vec::new(),
        (x, y) => vec![Change {
            path: prefix.to_string(),
            before: x.cloned(),
            after: y.cloned(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_finds_removed_and_changed_leaves() {
        let a = json!({"spec": {"certIssuer": {"clusterIntermediateCAs": {}, "selfSigned": {}}, "x": 1}});
        let b = json!({"spec": {"certIssuer": {"selfSigned": {}}, "x": 2, "y": [1]}});
        let d = diff("", Some(&a), Some(&b));
        assert_eq!(
            d,
            vec![
                Change {
                    path: "spec.certIssuer.clusterIntermediateCAs".into(),
                    before: Some(json!({})),
                    after: None
                },
                Change {
                    path: "spec.x".into(),
                    before: Some(json!(1)),
                    after: Some(json!(2))
                },
                Change {
                    path: "spec.y".into(),
                    before: None,
                    after: Some(json!([1]))
                },
            ]
        );
        assert!(diff("", Some(&a), Some(&a)).is_empty());
    }
}
