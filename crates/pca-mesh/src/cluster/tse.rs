//! Steps 1 and 5 of the guide: stop TSE distributing its own intermediates (a JSON
//! merge patch of the `ManagementPlane`, then of each `ControlPlane`) and remove the
//! `cacerts` secret TSE made, after backing it up to a file.
//!
//! Each run first asks the server what the patch would change (`dryRun=All`): that
//! diff is what `--dry-run` prints, an empty one is "no change" (nothing is written),
//! and since the API server authorises dry runs like real writes, a missing RBAC
//! permission is found before anything has been changed.

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, Preconditions};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::{Change, Cluster, Obj, Say, Target, block_on, diff, install};
use crate::error::Error;

/// The TSE install API group.
pub const GROUP: &str = "install.tetrate.io";
/// Its version.
pub const VERSION: &str = "v1alpha1";
/// The ManagementPlane patch (guide, step 1).
pub const MANAGEMENT_PLANE_PATCH: &str =
    r#"{"spec":{"certIssuer":{"clusterIntermediateCAs":null}}}"#;
/// The ControlPlane patch (guide, step 5).
pub const CONTROL_PLANE_PATCH: &str =
    r#"{"spec":{"components":{"xcp":{"centralProvidedCaCert":false}}}}"#;
/// The field manager our writes are recorded under.
pub const FIELD_MANAGER: &str = "pca-mesh";

/// What `tse-disable` is asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The cluster.
    pub target: Target,
    /// Namespace of the custom resource (default `tse` for the management plane,
    /// `istio-system` for the control plane).
    pub namespace: Option<String>,
    /// Name of the custom resource (default: the single ManagementPlane in its
    /// namespace; `controlplane`).
    pub name: Option<String>,
    /// Ask the server what would change, change nothing.
    pub dry_run: bool,
    /// Control plane: leave TSE's `cacerts` in place.
    pub keep_secret: bool,
    /// Control plane: where the backup of TSE's `cacerts` goes (default `cacerts-backup`).
    pub backup_dir: Option<PathBuf>,
}

fn crd(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, VERSION, kind), plural)
}

/// Patches the ManagementPlane so TSE stops issuing cluster intermediates; returns the
/// JSON report.
pub fn disable_management_plane(o: &Options, say: Say) -> Result<Value, Error> {
    block_on(async {
        let c = Cluster::connect(&o.target).await?;
        let ns = o.namespace.clone().unwrap_or_else(|| "tse".into());
        let ar = crd("ManagementPlane", "managementplanes");
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), &ns, &ar);
        let name = match &o.name {
            Some(n) => n.clone(),
            None => {
                let what = Obj::new(
                    "ManagementPlane",
                    GROUP,
                    "managementplanes",
                    Some(&ns),
                    None,
                );
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
        let obj = Obj::new(
            "ManagementPlane",
            GROUP,
            "managementplanes",
            Some(&ns),
            Some(&name),
        );
        let plan = plan_patch(&c, &api, &obj, MANAGEMENT_PLANE_PATCH).await?;
        let step = carry_out(&c, &api, &obj, plan, MANAGEMENT_PLANE_PATCH, o.dry_run, say).await?;
        Ok(report(&c, o.dry_run, vec![step]))
    })?
}

/// Patches the ControlPlane so it stops taking TSE's intermediate, then backs up and
/// deletes TSE's `cacerts` (unless `keep_secret`); returns the JSON report.
pub fn disable_control_plane(o: &Options, say: Say) -> Result<Value, Error> {
    block_on(async {
        let c = Cluster::connect(&o.target).await?;
        let ns = o.namespace.clone().unwrap_or_else(|| "istio-system".into());
        let name = o.name.clone().unwrap_or_else(|| "controlplane".into());
        let ar = crd("ControlPlane", "controlplanes");
        let api: Api<DynamicObject> = Api::namespaced_with(c.client.clone(), &ns, &ar);
        let obj = Obj::new(
            "ControlPlane",
            GROUP,
            "controlplanes",
            Some(&ns),
            Some(&name),
        );
        // Every check and dry run first, so a refusal at any point leaves the cluster as it was.
        let plan = plan_patch(&c, &api, &obj, CONTROL_PLANE_PATCH).await?;
        let secrets: Api<Secret> = Api::namespaced(c.client.clone(), install::SECRET_NAMESPACE);
        let sobj = Obj::new(
            "Secret",
            "",
            "secrets",
            Some(install::SECRET_NAMESPACE),
            Some(install::SECRET_NAME),
        );
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
                    .delete(install::SECRET_NAME, &delete_params(s, true))
                    .await
                    .map_err(|e| c.fail(e, "delete", &sobj))?;
                Some(s.clone())
            }
        };
        // The backup is written before the first change: a full disk stops us while
        // nothing has been touched yet.
        let dir = install::backup_dir(o.backup_dir.as_deref());
        let backup = match &doomed {
            Some(s) if !o.dry_run => {
                let path = install::write_backup(&dir, &c.context, s)?;
                say.note(&format!(
                    "{sobj}: backed up to {} (0600; it holds TSE's CA key)",
                    path.display()
                ));
                Some(path)
            }
            _ => None,
        };
        let mut steps =
            vec![carry_out(&c, &api, &obj, plan, CONTROL_PLANE_PATCH, o.dry_run, say).await?];
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
                    .delete(install::SECRET_NAME, &delete_params(&s, false))
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

/// Deletion only of the very object we looked at (and backed up).
fn delete_params(s: &Secret, dry_run: bool) -> DeleteParams {
    DeleteParams {
        dry_run,
        preconditions: Some(Preconditions {
            uid: s.metadata.uid.clone(),
            resource_version: s.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    }
}

fn params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// What the patch would change, as the server computes it.
async fn plan_patch(
    c: &Cluster,
    api: &Api<DynamicObject>,
    obj: &Obj,
    patch: &str,
) -> Result<Vec<Change>, Error> {
    let name = obj.name.as_deref().unwrap_or_default();
    let before = api.get(name).await.map_err(|e| c.fail(e, "get", obj))?;
    let p: Value = serde_json::from_str(patch).expect("the patches are JSON");
    let after = api
        .patch(name, &params(true), &Patch::Merge(&p))
        .await
        .map_err(|e| c.fail(e, "patch", obj))?;
    Ok(diff("", Some(&before.data), Some(&after.data)))
}

async fn carry_out(
    c: &Cluster,
    api: &Api<DynamicObject>,
    obj: &Obj,
    plan: Vec<Change>,
    patch: &str,
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
        let p: Value = serde_json::from_str(patch).expect("the patches are JSON");
        api.patch(
            obj.name.as_deref().unwrap_or_default(),
            &params(false),
            &Patch::Merge(&p),
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
