//! Step 7 of the guide: `kubectl rollout restart` (a pod-template annotation
//! `kubectl.kubernetes.io/restartedAt`, set by strategic merge patch, exactly as
//! kubectl does), and `kubectl rollout status` (the same readiness rules), with a
//! deadline and progress on stderr. Also finds the workloads whose pods carry the
//! Istio sidecar, and the gateways, so their leaf certificates re-issue at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DynamicObject, ListParams, Patch};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Cluster, Obj, Say, patch_params};
use crate::error::Error;

/// The annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// What to restart after `cacerts` changed, and how long to wait.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Restart istiod (`-l app=istiod` in `istio-system`).
    pub istiod: bool,
    /// Also restart every workload with a sidecar, and the gateways.
    pub workloads: bool,
    /// Deadline for each wait (istiod, then the workloads).
    pub wait: Duration,
}

/// The workload kinds `rollout restart` applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet];

    fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
        }
    }

    /// An object of this kind; without a name, those of the namespace (or of all).
    fn obj(self, ns: Option<&str>, name: Option<&str>) -> Obj {
        Obj::new(self.name(), "apps", self.plural(), ns, name)
    }

    fn resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apps", "v1", self.name()),
            self.plural(),
        )
    }
}

/// One workload.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Workload {
    /// Its kind.
    pub kind: Kind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind.name(), self.namespace, self.name)
    }
}

impl Workload {
    fn obj(&self) -> Obj {
        self.kind.obj(Some(&self.namespace), Some(&self.name))
    }

    fn api(&self, c: &Cluster) -> Api<DynamicObject> {
        Api::namespaced_with(c.client.clone(), &self.namespace, &self.kind.resource())
    }
}

/// The Deployments labelled `app=istiod` in `namespace`; none is an error saying so.
pub(crate) async fn istiods(c: &Cluster, namespace: &str) -> Result<Vec<Workload>, Error> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(c.client.clone(), namespace, &Kind::Deployment.resource());
    let what = Kind::Deployment.obj(Some(namespace), None);
    let list = api
        .list(&ListParams::default().labels("app=istiod"))
        .await
        .map_err(|e| c.fail(e, "list", &what))?;
    let found: Vec<Workload> = list
        .items
        .iter()
        .filter_map(|o| o.metadata.name.clone())
        .map(|name| Workload {
            kind: Kind::Deployment,
            namespace: namespace.to_string(),
            name,
        })
        .collect();
    if found.is_empty() {
        return Err(Error::Cluster(format!(
            "no Deployment labelled app=istiod in namespace {namespace} (context {:?}); is Istio installed in \
             this cluster? Pass --no-restart to install the secret without restarting istiod",
            c.context
        )));
    }
    Ok(found)
}

/// Every Deployment, StatefulSet and DaemonSet whose pods carry the Istio sidecar, and
/// the gateways; istiod itself is left out (it is restarted first, on its own).
pub(crate) async fn mesh_workloads(c: &Cluster) -> Result<Vec<Workload>, Error> {
    let ns_api: Api<Namespace> = Api::all(c.client.clone());
    let namespaces = ns_api.list(&ListParams::default()).await.map_err(|e| {
        c.fail(
            e,
            "list",
            &Obj::new("Namespace", "", "namespaces", None, None),
        )
    })?;
    let injecting: BTreeSet<String> = namespaces
        .items
        .iter()
        .filter(|n| {
            let l = n.metadata.labels.clone().unwrap_or_default();
            l.get("istio-injection").map(String::as_str) == Some("enabled")
                || l.contains_key("istio.io/rev")
        })
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let pod_api: Api<Pod> = Api::all(c.client.clone());
    let pods = pod_api
        .list(&ListParams::default())
        .await
        .map_err(|e| c.fail(e, "list", &Obj::new("Pod", "", "pods", None, None)))?;
    // Pods the injector has processed: (namespace, labels).
    let injected: Vec<(String, BTreeMap<String, String>)> = pods
        .items
        .iter()
        .filter(|p| {
            p.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("sidecar.istio.io/status"))
        })
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.labels.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let api: Api<DynamicObject> = Api::all_with(c.client.clone(), &kind.resource());
        let what = kind.obj(None, None);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| c.fail(e, "list", &what))?;
        for o in list.items {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let name = o.metadata.name.clone().unwrap_or_default();
            let labels = o.metadata.labels.clone().unwrap_or_default();
            if labels.get("app").map(String::as_str) == Some("istiod") {
                continue;
            }
            if in_mesh(&o.data, injecting.contains(&ns), &injected, &ns) {
                out.push(Workload {
                    kind,
                    namespace: ns,
                    name,
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether a workload's pods carry the sidecar or are a gateway, from its pod template,
/// its namespace's injection label, and the pods it selects.
fn in_mesh(
    data: &Value,
    ns_injects: bool,
    injected: &[(String, BTreeMap<String, String>)],
    ns: &str,
) -> bool {
    let md = &data["spec"]["template"]["metadata"];
    let marker = |k: &str| {
        md["annotations"][k]
            .as_str()
            .or_else(|| md["labels"][k].as_str())
    };
    if marker("inject.istio.io/templates")
        .is_some_and(|t| t.split(',').any(|t| t.trim() == "gateway"))
        || md["labels"]["istio"]
            .as_str()
            .is_some_and(|v| v.ends_with("gateway"))
    {
        return true;
    }
    match marker("sidecar.istio.io/inject") {
        Some("false") => return false,
        Some("true") => return true,
        _ => {}
    }
    if ns_injects {
        return true;
    }
    // Pods already carrying the sidecar (injected by a revision label or a webhook we
    // cannot see) count too: matched by the workload's selector.
    let Some(sel) = data["spec"]["selector"]["matchLabels"].as_object() else {
        return false;
    };
    !sel.is_empty()
        && injected.iter().any(|(pns, labels)| {
            pns == ns
                && sel
                    .iter()
                    .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str())
        })
}

/// The annotation value: now, RFC 3339 to the second, as kubectl writes it.
pub(crate) fn now_stamp() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339).unwrap_or_default()
}

/// `kubectl rollout restart` on one workload (a dry run with `dry_run`).
pub(crate) async fn restart(
    c: &Cluster,
    w: &Workload,
    stamp: &str,
    dry_run: bool,
) -> Result<(), Error> {
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}});
    w.api(c)
        .patch(&w.name, &patch_params(dry_run), &Patch::Strategic(&patch))
        .await
        .map_err(|e| c.fail(e, "patch", &w.obj()))?;
    Ok(())
}

/// `None` when the rollout is complete, else what it waits for (kubectl's wording).
/// An error when it can never complete (progress deadline exceeded).
fn rollout_state(kind: Kind, o: &Value) -> Result<Option<String>, String> {
    let generation = o["metadata"]["generation"].as_i64().unwrap_or(0);
    let st = &o["status"];
    let n = |k: &str| st[k].as_i64().unwrap_or(0);
    let observed = n("observedGeneration");
    let spec_replicas = o["spec"]["replicas"].as_i64();
    if observed < generation || (kind == Kind::StatefulSet && observed == 0) {
        return Ok(Some("waiting for the spec update to be observed".into()));
    }
    match kind {
        Kind::Deployment => {
            let timed_out =
                st["conditions"].as_array().into_iter().flatten().any(|c| {
                    c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"
                });
            if timed_out {
                return Err("it exceeded its progress deadline".into());
            }
            let updated = n("updatedReplicas");
            if let Some(want) = spec_replicas
                && updated < want
            {
                return Ok(Some(format!(
                    "{updated} out of {want} new replicas have been updated"
                )));
            }
            if n("replicas") > updated {
                return Ok(Some(format!(
                    "{} old replicas are pending termination",
                    n("replicas") - updated
                )));
            }
            if n("availableReplicas") < updated {
                return Ok(Some(format!(
                    "{} of {updated} updated replicas are available",
                    n("availableReplicas")
                )));
            }
        }
        Kind::StatefulSet => {
            if let Some(want) = spec_replicas
                && n("readyReplicas") < want
            {
                return Ok(Some(format!(
                    "{} of {want} pods are ready",
                    n("readyReplicas")
                )));
            }
            if st["updateRevision"] != st["currentRevision"] {
                return Ok(Some(format!(
                    "{} pods at the new revision",
                    n("updatedReplicas")
                )));
            }
        }
        Kind::DaemonSet => {
            let want = n("desiredNumberScheduled");
            if n("updatedNumberScheduled") < want {
                return Ok(Some(format!(
                    "{} out of {want} new pods have been updated",
                    n("updatedNumberScheduled")
                )));
            }
            if n("numberAvailable") < want {
                return Ok(Some(format!(
                    "{} of {want} updated pods are available",
                    n("numberAvailable")
                )));
            }
        }
    }
    Ok(None)
}

/// The terminal spinner of [`wait`], cleared however the wait ends.
struct Spinner(indicatif::ProgressBar);

impl Spinner {
    fn start() -> Spinner {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(120));
        Spinner(b)
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Waits until every workload has rolled out, or `deadline` passes; progress on stderr
/// (a spinner on a terminal, a line per change otherwise).
pub(crate) async fn wait(
    c: &Cluster,
    ws: &[Workload],
    limit: Duration,
    say: Say,
) -> Result<(), Error> {
    let deadline = Instant::now() + limit;
    let bar = std::io::stderr().is_terminal().then(Spinner::start);
    let mut pending: Vec<(Workload, Option<String>)> =
        ws.iter().map(|w| (w.clone(), None)).collect();
    let mut delay = Duration::from_millis(200);
    loop {
        let mut still = Vec::new();
        for (w, last) in pending {
            let o = w
                .api(c)
                .get(&w.name)
                .await
                .map_err(|e| c.fail(e, "get", &w.obj()))?;
            let v = serde_json::to_value(&o).unwrap_or_default();
            match rollout_state(w.kind, &v) {
                Err(why) => {
                    return Err(Error::Cluster(format!(
                        "the rollout of {w} failed: {why}; see kubectl -n {} describe {} {}",
                        w.namespace,
                        w.kind.plural(),
                        w.name
                    )));
                }
                Ok(None) => {
                    let msg = format!("{w}: rolled out");
                    match &bar {
                        Some(b) => b.0.println(format!("{}: {msg}", say.0)),
                        None => say.note(&msg),
                    }
                }
                Ok(Some(why)) => {
                    if last.as_deref() != Some(why.as_str()) {
                        let msg = format!("waiting for {w}: {why}");
                        match &bar {
                            Some(b) => b.0.set_message(msg),
                            None => say.note(&msg),
                        }
                    }
                    still.push((w, Some(why)));
                }
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let waiting: Vec<String> = pending
                .iter()
                .map(|(w, why)| format!("{w} ({})", why.as_deref().unwrap_or("not rolled out")))
                .collect();
            return Err(Error::Cluster(format!(
                "the rollout did not finish within {}: {}; cacerts is installed, the restart goes on in the \
                 cluster: follow it with kubectl rollout status, or rerun with a longer --wait",
                crate::cli::show_duration(limit),
                waiting.join(", ")
            )));
        }
        tokio::time::sleep(delay.min(deadline.saturating_duration_since(Instant::now()))).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_rules_follow_kubectl() {
        let done = json!({"metadata": {"generation": 2}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}});
        assert_eq!(rollout_state(Kind::Deployment, &done), Ok(None));
        let unseen = json!({"metadata": {"generation": 3}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}});
        assert!(rollout_state(Kind::Deployment, &unseen).unwrap().is_some());
        let old = json!({"metadata": {"generation": 2}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1}});
        assert_eq!(
            rollout_state(Kind::Deployment, &old).unwrap().unwrap(),
            "1 old replicas are pending termination"
        );
        let stuck = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
            "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}});
        assert!(rollout_state(Kind::Deployment, &stuck).is_err());
        let sts = json!({"metadata": {"generation": 2}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}});
        assert!(rollout_state(Kind::StatefulSet, &sts).unwrap().is_some());
        let ds = json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 1}});
        assert!(rollout_state(Kind::DaemonSet, &ds).unwrap().is_some());
    }

    #[test]
    fn sidecar_and_gateway_detection() {
        let tmpl = |ann: Value, labels: Value| {
            json!({"spec": {"selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {"annotations": ann, "labels": labels}}}})
        };
        let none: Vec<(String, BTreeMap<String, String>)> = Vec::new();
        assert!(in_mesh(
            &tmpl(json!({"sidecar.istio.io/inject": "true"}), json!({})),
            false,
            &none,
            "a"
        ));
        assert!(in_mesh(
            &tmpl(json!({}), json!({"sidecar.istio.io/inject": "true"})),
            false,
            &none,
            "a"
        ));
        assert!(in_mesh(
            &tmpl(json!({"inject.istio.io/templates": "gateway"}), json!({})),
            false,
            &none,
            "a"
        ));
        assert!(!in_mesh(
            &tmpl(json!({"sidecar.istio.io/inject": "false"}), json!({})),
            true,
            &none,
            "a"
        ));
        assert!(in_mesh(&tmpl(json!({}), json!({})), true, &none, "a"));
        assert!(!in_mesh(&tmpl(json!({}), json!({})), false, &none, "a"));
        let pods = vec![(
            "a".to_string(),
            BTreeMap::from([("app".to_string(), "x".to_string())]),
        )];
        assert!(in_mesh(&tmpl(json!({}), json!({})), false, &pods, "a"));
        assert!(!in_mesh(&tmpl(json!({}), json!({})), false, &pods, "b"));
    }
}
