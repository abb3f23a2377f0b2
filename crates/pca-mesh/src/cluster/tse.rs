//! Steps 1 and 5 of the guide: stop TSE distributing its own intermediates (a JSON
//! merge patch of the `ManagementPlane`, then of each `ControlPlane`) and remove the
//! `cacerts` secret TSE made, after backing it up to a file.
//!
//! Each run first asks the server what the patch would change (`dryRun=All`): that
//! diff is what `--dry-run` prints, an empty one is "no change" (nothing is written),
//! and since the API server authorises dry runs like real writes, a missing RBAC
//! permission is found before anything has been changed.

use std::path::PathBuf;
use std::sync::LazyLock;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams, Patch};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::{
    Change, Cluster, Obj, Say, Target, block_on, delete_params, diff, install, patch_params,
};
use crate::error::Error;

/// The TSE install API group.
pub const GROUP: &str = "install.tetrate.io";
/// Its version.
pub const VERSION: &str = "v1alpha1";
/// The namespace of the ManagementPlane unless told otherwise.
pub const MANAGEMENT_PLANE_NAMESPACE: &str = "tse";
/// The namespace of the ControlPlane unless told otherwise.
pub const CONTROL_PLANE_NAMESPACE: &str = "istio-system";
/// The name of the ControlPlane unless told otherwise.
pub const CONTROL_PLANE_NAME: &str = "controlplane";
/// The ManagementPlane patch (guide, step 1).
pub static MANAGEMENT_PLANE_PATCH: LazyLock<Value> =
    LazyLock::new(|| json!({"spec": {"certIssuer": {"clusterIntermediateCAs": null}}}));
/// The ControlPlane patch (guide, step 5).
pub static CONTROL_PLANE_PATCH: LazyLock<Value> =
    LazyLock::new(|| json!({"spec": {"components": {"xcp": {"centralProvidedCaCert": false}}}}));

/// What `tse-disable management-plane` is asked for.
#[derive(Clone, Debug)]
pub struct ManagementPlaneOptions {
    /// The cluster.
    pub target: Target,
    /// Namespace of the ManagementPlane ([`MANAGEMENT_PLANE_NAMESPACE`] in the tool).
    pub namespace: String,
    /// Its name; `None`: the single ManagementPlane in the namespace.
    pub name: Option<String>,
    /// Ask the server what would change, change nothing.
    pub dry_run: bool,
}

/// What `tse-disable control-plane` is asked for.
#[derive(Clone, Debug)]
pub struct ControlPlaneOptions {
    /// The cluster.
    pub target: Target,
    /// Namespace of the ControlPlane ([`CONTROL_PLANE_NAMESPACE`] in the tool).
    pub namespace: String,
    /// Its name ([`CONTROL_PLANE_NAME`] in the tool).
    pub name: String,
    /// Ask the server what would change, change nothing.
    pub dry_run: bool,
    /// Leave TSE's `cacerts` in place.
    pub keep_secret: bool,
    /// Where the backup of TSE's `cacerts` goes ([`install::DEFAULT_BACKUP_DIR`] in the tool).
    pub backup_dir: PathBuf,
}

/// The API resource of a TSE custom resource.
fn crd(obj: &Obj) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, obj.kind), obj.plural)
}

/// Patches the ManagementPlane so TSE stops issuing cluster intermediates; returns the
/// JSON report.
pub fn disable_management_plane(o: &ManagementPlaneOptions, say: Say) -> Result<Value, Error> {
    block_on(async {
        let c = Cluster::connect(&o.target).await?;
        let ns = &o.namespace;
        let what = Obj::management_plane(ns, None);
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), ns, &crd(&what));
        let name = match &o.name {
            Some(n) => n.clone(),
            None => {
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| c.fail(e, "list", &what))?;
                let names: Vec<String> = list
                    .items
                    .iter()
                    .filter_map(|o| o.metadata.name.clone())
                    .collect();
                match names.as_slice() {
                    [one] => one.clone(),
                    [] => {
                        return Err(Error::Cluster(format!(
                            "no ManagementPlane in namespace {ns} (context {:?}); point --context at the cluster \
                             that hosts the TSE management plane, or pass --namespace",
                            c.context
                        )));
                    }
                    many => {
                        return Err(Error::Cluster(format!(
                            "namespace {ns} holds several ManagementPlanes ({}); pass --name to choose one",
                            many.join(", ")
                        )));
                    }
                }
            }
        };
        let obj = Obj::management_plane(ns, Some(&name));
        let patch = &*MANAGEMENT_PLANE_PATCH;
        let plan = plan_patch(&c, &api, &obj, patch).await?;
        let step = carry_out(&c, &api, &obj, plan, patch, o.dry_run, say).await?;
        Ok(report(&c, o.dry_run, vec![step]))
    })?
}

/// Patches the ControlPlane so it stops taking TSE's intermediate, then backs up and
/// deletes TSE's `cacerts` (unless `keep_secret`); returns the JSON report.
pub fn disable_control_plane(o: &ControlPlaneOptions, say: Say) -> Result<Value, Error> {
    block_on(async {
        let c = Cluster::connect(&o.target).await?;
        let obj = Obj::control_plane(&o.namespace, &o.name);
        let api: Api<DynamicObject> =
            Api::namespaced_with(c.client.clone(), &o.namespace, &crd(&obj));
        let patch = &*CONTROL_PLANE_PATCH;
        // Every check and dry run first, so a refusal at any point leaves the cluster as it was.
        let plan = plan_patch(&c, &api, &obj, patch).await?;
        let secrets: Api<Secret> = Api::namespaced(c.client.clone(), install::SECRET_NAMESPACE);
        let sobj = Obj::secret(install::SECRET_NAMESPACE, install::SECRET_NAME);
        let existing = secrets
            .get_opt(install::SECRET_NAME)
            .await
            .map_err(|e| c.fail(e, "get", &sobj))?;
        let doomed = match &existing {
            None => {
                say.note(&format!("{sobj}: absent, nothing to remove"));
                None
            }
            Some(_) if o.keep_secret => {
                say.note(&format!("{sobj}: kept (--keep-secret)"));
                None
            }
            Some(s) if install::is_ours(s) => {
                say.note(&format!("{sobj}: installed by pca-mesh, left in place"));
                None
            }
            Some(s) => {
                secrets
                    .delete(install::SECRET_NAME, &delete_params(&s.metadata, true))
                    .await
                    .map_err(|e| c.fail(e, "delete", &sobj))?;
                Some(s.clone())
            }
        };
        // The backup is written before the first change: a full disk stops us while
        // nothing has been touched yet.
        let dir = &o.backup_dir;
        let backup = match &doomed {
            Some(s) if !o.dry_run => {
                let path = install::write_backup(dir, &c.context, s)?;
                say.note(&format!(
                    "{sobj}: backed up to {} (0600; it holds TSE's CA key)",
                    path.display()
                ));
                Some(path)
            }
            _ => None,
        };
        let mut steps = vec![carry_out(&c, &api, &obj, plan, patch, o.dry_run, say).await?];
        let step = match (doomed, backup) {
            (None, _) => json!({ "object": sobj.to_string(), "action": "unchanged" }),
            (Some(_), None) => {
                say.note(&format!(
                    "{sobj}: would be backed up to {} and deleted",
                    dir.display()
                ));
                json!({ "object": sobj.to_string(), "action": "would delete", "backup_dir": dir })
            }
            (Some(s), Some(path)) => {
                secrets
                    .delete(install::SECRET_NAME, &delete_params(&s.metadata, false))
                    .await
                    .map_err(|e| c.fail(e, "delete", &sobj))?;
                say.note(&format!("{sobj}: deleted"));
                json!({ "object": sobj.to_string(), "action": "deleted", "backup": path })
            }
        };
        steps.push(step);
        Ok(report(&c, o.dry_run, steps))
    })?
}

/// ControlPlanes in `namespace` that still have TSE hand out its own CA
/// (`centralProvidedCaCert` not false): TSE may then put its `cacerts` back over ours.
/// Where TSE is not installed, or the ControlPlanes may not be read, there is nothing to say.
pub(crate) async fn still_central_ca(c: &Cluster, namespace: &str) -> Vec<String> {
    let obj = Obj::control_plane(namespace, CONTROL_PLANE_NAME);
    let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), namespace, &crd(&obj));
    let Ok(list) = api.list(&ListParams::default()).await else {
        return Vec::new();
    };
    list.items
        .iter()
        .filter(|cp| cp.data["spec"]["components"]["xcp"]["centralProvidedCaCert"] != json!(false))
        .map(|cp| {
            format!(
                "ControlPlane {namespace}/{}",
                cp.metadata.name.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

/// What the patch would change, as the server computes it.
async fn plan_patch(
    c: &Cluster,
    api: &Api<DynamicObject>,
    obj: &Obj,
    patch: &Value,
) -> Result<Vec<Change>, Error> {
    let name = obj.name.as_deref().unwrap_or_default();
    let before = api.get(name).await.map_err(|e| c.fail(e, "get", obj))?;
    let after = api
        .patch(name, &patch_params(true), &Patch::Merge(patch))
        .await
        .map_err(|e| c.fail(e, "patch", obj))?;
    Ok(diff("", Some(&before.data), Some(&after.data)))
}

async fn carry_out(
    c: &Cluster,
    api: &Api<DynamicObject>,
    obj: &Obj,
    plan: Vec<Change>,
    patch: &Value,
    dry_run: bool,
    say: Say,
) -> Result<Value, Error> {
    if plan.is_empty() {
        say.note(&format!("{obj}: no change (already disabled)"));
        return Ok(json!({ "object": obj.to_string(), "action": "unchanged", "changes": [] }));
    }
    let changes: Vec<Value> = plan.iter().map(Change::to_json).collect();
    let action = if dry_run {
        "would patch"
    } else {
        api.patch(
            obj.name.as_deref().unwrap_or_default(),
            &patch_params(false),
            &Patch::Merge(patch),
        )
        .await
        .map_err(|e| c.fail(e, "patch", obj))?;
        "patched"
    };
    say.note(&format!("{obj}: {action}"));
    for line in plan.iter().flat_map(Change::diff_lines) {
        say.note(&format!("  {line}"));
    }
    Ok(json!({ "object": obj.to_string(), "action": action, "changes": changes }))
}

fn report(c: &Cluster, dry_run: bool, steps: Vec<Value>) -> Value {
    let changed = !dry_run && steps.iter().any(|s| s["action"] != "unchanged");
    json!({
        "context": c.context,
        "server": c.server,
        "dry_run": dry_run,
        "changed": changed,
        "steps": steps,
    })
}
