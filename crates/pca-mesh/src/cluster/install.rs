//! Step 6 of the guide, done safely: install the `cacerts` Secret `cacerts-build`
//! printed, after validating it again, refusing a root change unless asked, and
//! writing a backup of the secret it replaces; then restart istiod (step 7).
//!
//! Backups are files, not Secrets: `<backup-dir>/<context>-<UTC time>.json`, mode 0600,
//! each a complete Secret manifest (`kubectl apply -f` restores one by hand). A file
//! on the operator's machine keeps the old CA key out of the cluster it was replaced
//! in (a compromised cluster must not keep a usable copy) and needs no extra RBAC.
//! `--rollback` restores the newest one for the context, after backing up what it
//! replaces, so a second rollback undoes the first.

use std::path::{Path, PathBuf};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::restart::{self, Plan, Workload};
use super::{Cluster, Obj, Say, Target, block_on, delete_params, post_params};
use crate::cacerts::{self, Format};
use crate::error::Error;
use crate::fsio::{self, Mode};
use crate::pemfile::{self, Named};
use crate::verify::{Candidate, Verified};

/// The secret istiod reads.
pub const SECRET_NAME: &str = "cacerts";
/// Where istiod reads it.
pub const SECRET_NAMESPACE: &str = "istio-system";
/// The label `cacerts-build` puts on the secrets it makes.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "pca-mesh");
/// Backups go here unless told otherwise (relative to the working directory).
pub const DEFAULT_BACKUP_DIR: &str = "cacerts-backup";

/// What to install.
#[derive(Clone, Debug)]
pub enum Source {
    /// A Secret manifest (JSON or YAML), as `cacerts-build` prints it.
    Manifest(String),
    /// A backup file; `None`: the newest backup for the context.
    Rollback(Option<PathBuf>),
}

/// How `cacerts-apply` runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The cluster.
    pub target: Target,
    /// Ask the server what would happen; change nothing, write no backup.
    pub dry_run: bool,
    /// Backup directory ([`DEFAULT_BACKUP_DIR`] in the tool).
    pub backup_dir: PathBuf,
    /// Install even when the root differs from the one the cluster trusts now.
    pub allow_root_change: bool,
    /// What to restart afterwards.
    pub restart: Plan,
}

/// Whether pca-mesh installed this secret.
pub fn is_ours(s: &Secret) -> bool {
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY.0))
        .map(String::as_str)
        == Some(MANAGED_BY.1)
}

/// A context name made safe for a file name (EKS contexts are ARNs with `:` and `/`).
fn file_safe(context: &str) -> String {
    context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

const STAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
);

/// The secret as a manifest that can be applied again: server-set metadata dropped.
fn clean(s: &Secret) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: s.metadata.name.clone(),
            namespace: s.metadata.namespace.clone(),
            labels: s.metadata.labels.clone(),
            annotations: s.metadata.annotations.clone(),
            ..ObjectMeta::default()
        },
        type_: s.type_.clone(),
        data: s.data.clone(),
        immutable: s.immutable,
        ..Secret::default()
    }
}

/// Writes `s` to `<dir>/<context>-<time>.json`, 0600, never over an existing file.
pub fn write_backup(dir: &Path, context: &str, s: &Secret) -> Result<PathBuf, Error> {
    let stamp = OffsetDateTime::now_utc().format(STAMP).unwrap_or_default();
    let path = dir.join(format!("{}-{stamp}.json", file_safe(context)));
    let text = fsio::pretty_json(&clean(s));
    fsio::write_atomic(&path, text.as_bytes(), Mode::Private, false)?;
    Ok(path)
}

/// The newest backup of `context` in `dir`.
pub fn newest_backup(dir: &Path, context: &str) -> Result<PathBuf, Error> {
    let prefix = format!("{}-", file_safe(context));
    let none = || {
        Error::Cluster(format!(
            "no backup for context {context:?} in {}; nothing to roll back to (pass --backup-dir, or --rollback-from FILE)",
            dir.display()
        ))
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(none()),
        Err(e) => return Err(Error::io(dir, "listing", e)),
    };
    // Names sort by time: the stamp is fixed-width; it must follow the prefix at once,
    // so context "a" does not pick up the backups of context "a-b".
    let newest = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
                .is_some_and(|stamp| {
                    stamp.len() == 20 && stamp.starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .max();
    newest.map(|n| dir.join(n)).ok_or_else(none)
}

/// Reads a Secret manifest (JSON or YAML); `source` names it in messages.
pub fn parse_manifest(text: &str, source: &str) -> Result<Secret, Error> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str(text).map_err(|e| {
            manifest_error(
                source,
                format!(
                    "not a JSON or YAML Secret manifest ({e}); pipe in what cacerts-build prints"
                ),
            )
        })?,
    };
    if v["kind"] != "Secret" || v["apiVersion"] != "v1" {
        return Err(manifest_error(
            source,
            format!(
                "expected a v1 Secret manifest (as cacerts-build prints), got kind {} apiVersion {}",
                v["kind"], v["apiVersion"]
            ),
        ));
    }
    let mut s: Secret = serde_json::from_value(v)
        .map_err(|e| manifest_error(source, format!("not a valid Secret ({e})")))?;
    // stringData is write-only on the server: fold it into data as the API server does.
    if let Some(sd) = s.string_data.take() {
        let data = s.data.get_or_insert_with(Default::default);
        for (k, v) in sd {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
    Ok(s)
}

fn manifest_error(source: &str, reason: String) -> Error {
    Error::Manifest {
        source_name: source.to_string(),
        reason,
    }
}

fn text<'a>(s: &'a Secret, key: &str, source: &str) -> Result<&'a str, Error> {
    let b = s.data.as_ref().and_then(|d| d.get(key)).ok_or_else(|| {
        manifest_error(
            source,
            format!(
                "the secret has no {key}; istiod needs {}; rebuild it with cacerts-build",
                match key {
                    "tls.crt" | "tls.key" | "ca.crt" => "tls.crt, tls.key and ca.crt",
                    _ => "ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem",
                }
            ),
        )
    })?;
    std::str::from_utf8(&b.0)
        .map_err(|_| manifest_error(source, format!("{key} is not UTF-8 PEM text")))
}

fn ders(v: &[Named]) -> Vec<&[u8]> {
    v.iter().map(|n| n.der.as_slice()).collect()
}

/// The secret's type, as the API server defaults it.
fn secret_type(s: &Secret) -> &str {
    s.type_.as_deref().unwrap_or("Opaque")
}

/// Validates the secret's content with the library's judge, and checks its entries
/// are laid out as istiod reads them (the chain in order, the root alone): the chain
/// entry must hold what `cacerts-build` would write for the validated bundle.
pub fn check_secret(s: &Secret, source: &str) -> Result<Verified, Error> {
    let has = |k: &str| s.data.as_ref().is_some_and(|d| d.contains_key(k));
    let at = |k: &str| format!("{source} key {k}");
    let format = if has("tls.crt") || s.type_.as_deref() == Some("kubernetes.io/tls") {
        Format::Tls
    } else {
        Format::Cacerts
    };
    let chain_key = match format {
        Format::Tls => "tls.crt",
        Format::Cacerts => "cert-chain.pem",
    };
    // The key's PEM text (cacerts::entries carries it as is) and the key itself.
    let key = |k: &str| -> Result<_, Error> {
        let pem = text(s, k, source)?;
        Ok((pem, pemfile::parse_private_key(pem, &at(k))?))
    };
    let (cert, chain_above, root, (key_pem, key), listed) = match format {
        Format::Tls => {
            let crt = pemfile::parse_certificates(text(s, "tls.crt", source)?, &at("tls.crt"))?;
            let root = pemfile::parse_one_certificate(text(s, "ca.crt", source)?, &at("ca.crt"))?;
            let mut above: Vec<Named> = crt[1..].to_vec();
            above.push(root.clone());
            (crt[0].clone(), above, root, key("tls.key")?, crt)
        }
        Format::Cacerts => {
            let cert = pemfile::parse_one_certificate(
                text(s, "ca-cert.pem", source)?,
                &at("ca-cert.pem"),
            )?;
            let key = key("ca-key.pem")?;
            let root = pemfile::parse_one_certificate(
                text(s, "root-cert.pem", source)?,
                &at("root-cert.pem"),
            )?;
            let chain = pemfile::parse_certificates(
                text(s, "cert-chain.pem", source)?,
                &at("cert-chain.pem"),
            )?;
            let above: Vec<Named> = chain
                .iter()
                .filter(|c| c.der != cert.der)
                .cloned()
                .collect();
            (cert, above, root, key, chain)
        }
    };
    let v = crate::steps::validate(
        &Candidate {
            cert,
            chain: chain_above,
            root: Some(root),
            key: Some(key),
        },
        time::Duration::days(30),
    )?;
    let wanted = cacerts::entries(&v, key_pem, format)
        .into_iter()
        .find(|e| e.name == chain_key)
        .map(|e| pemfile::parse_certificates(&e.pem, chain_key))
        .transpose()?
        .unwrap_or_default();
    if ders(&listed) != ders(&wanted) {
        return Err(manifest_error(
            &at(chain_key),
            format!(
                "not the CA certificate followed by each issuer {}, in order, once each; \
                 istiod would hand out a broken chain. Rebuild the manifest with cacerts-build",
                match format {
                    Format::Tls => "below the root",
                    Format::Cacerts => "up to the root",
                }
            ),
        ));
    }
    Ok(v)
}

/// The root a `cacerts` secret makes the mesh trust (`root-cert.pem`, or `ca.crt`).
pub fn trusted_root(s: &Secret) -> Option<Vec<u8>> {
    let data = s.data.as_ref()?;
    let b = data.get("root-cert.pem").or_else(|| data.get("ca.crt"))?;
    let t = std::str::from_utf8(&b.0).ok()?;
    pemfile::parse_certificates(t, "root")
        .ok()?
        .into_iter()
        .next()
        .map(|n| n.der)
}

/// "CN=…, SHA-256 ab:cd:…" for messages.
fn describe_cert(der: &[u8]) -> String {
    format!(
        "{}, SHA-256 {}",
        crate::cert::subject_of(der),
        fingerprint(der)
    )
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Installs the secret (from a manifest, or a backup for a rollback) and restarts;
/// returns the JSON report.
pub fn apply(src: Source, o: &Options, say: Say) -> Result<Value, Error> {
    block_on(apply_async(src, o, say))?
}

async fn apply_async(src: Source, o: &Options, say: Say) -> Result<Value, Error> {
    let c = Cluster::connect(&o.target).await?;
    let dir = &o.backup_dir;
    let (desired, source) = match &src {
        Source::Manifest(text) => {
            let s = parse_manifest(text, "standard input")?;
            let v = check_secret(&s, "standard input")?;
            for n in &v.notes {
                say.note(n);
            }
            for w in &v.warnings {
                say.note(&format!("warning: {w}"));
            }
            for cp in super::tse::still_central_ca(&c, SECRET_NAMESPACE).await {
                say.note(&format!(
                    "warning: {cp} still has spec.components.xcp.centralProvidedCaCert on, so TSE may put \
                     its own cacerts back over this one; run `tse-disable control-plane` first"
                ));
            }
            (s, "standard input".to_string())
        }
        Source::Rollback(file) => {
            let path = match file {
                Some(p) => p.clone(),
                None => newest_backup(dir, &c.context)?,
            };
            let shown = path.display().to_string();
            let s = parse_manifest(&fsio::read_text(&path)?, &shown)?;
            // A backup is restored as it was, even if it would not pass today's checks
            // (it may be TSE's own): say so rather than refuse the way back.
            if let Err(e) = check_secret(&s, &shown) {
                say.note(&format!(
                    "warning: the backup does not pass validation ({e}); restoring it as it was"
                ));
            }
            say.note(&format!("rolling back to {shown}"));
            (s, shown)
        }
    };
    let name = desired
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| SECRET_NAME.into());
    let ns = desired
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| SECRET_NAMESPACE.into());
    if name != SECRET_NAME || ns != SECRET_NAMESPACE {
        say.note(&format!(
            "warning: istiod reads {SECRET_NAMESPACE}/{SECRET_NAME}; this secret is {ns}/{name}"
        ));
    }
    let mut desired = clean(&desired);
    desired.metadata.name = Some(name.clone());
    desired.metadata.namespace = Some(ns.clone());
    let obj = Obj::secret(&ns, &name);
    let api: Api<Secret> = Api::namespaced(c.client.clone(), &ns);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(|e| c.fail(e, "get", &obj))?;
    let new_root = trusted_root(&desired);
    let old_root = existing.as_ref().map(trusted_root);
    let mut report = json!({
        "context": c.context,
        "server": c.server,
        "dry_run": o.dry_run,
        "changed": false,
        "source": source,
        "secret": {
            "object": obj.to_string(),
            "root_sha256": new_root.as_deref().map(fingerprint),
            "previous_root_sha256": old_root.clone().flatten().as_deref().map(fingerprint),
        },
        "backup": null,
        "restarted": [],
    });

    if let Some(e) = &existing
        && secret_type(e) == secret_type(&desired)
        && e.data == desired.data
    {
        say.note(&format!(
            "{obj}: no change (it already holds this CA); nothing restarted"
        ));
        report["secret"]["action"] = "unchanged".into();
        return Ok(report);
    }

    // A new root: workloads here would stop trusting every other cluster's certificates.
    if let Some(old) = &old_root
        && old.as_deref() != new_root.as_deref()
        && !o.allow_root_change
    {
        let was = match old {
            Some(der) => format!(
                "the root the cluster trusts now ({} in {obj}: {})",
                root_key(existing.as_ref()),
                describe_cert(der)
            ),
            None => format!("the cluster's current {obj}, whose root cannot be read"),
        };
        let now = new_root
            .as_deref()
            .map(describe_cert)
            .unwrap_or_else(|| "none".into());
        return Err(Error::Cluster(format!(
            "refusing to change the root: the new secret's root ({now}) differs from {was}; a new root breaks \
             cross-cluster trust until every cluster has it. Pass --allow-root-change once every cluster is \
             moving to the new root; nothing was changed"
        )));
    }

    // Dry runs of every write first: RBAC or validation refusals come before any change.
    write_secret(&c, &api, &obj, existing.as_ref(), &desired, true).await?;
    let istiods = if o.restart.istiod {
        restart::istiods(&c, SECRET_NAMESPACE).await?
    } else {
        Vec::new()
    };
    let workloads = if o.restart.workloads {
        restart::mesh_workloads(&c).await?
    } else {
        Vec::new()
    };
    let stamp = restart::now_stamp();
    for w in istiods.iter().chain(&workloads) {
        restart::restart(&c, w, &stamp, true).await?;
    }
    let names = |ws: &[Workload]| ws.iter().map(ToString::to_string).collect::<Vec<_>>();
    let action_word = |a: &str| {
        if existing.is_some() {
            format!("{a}replace")
        } else {
            format!("{a}create")
        }
    };
    if o.dry_run {
        report["secret"]["action"] = action_word("would ").into();
        if existing.is_some() {
            report["backup_dir"] = json!(dir);
        }
        report["would_restart"] = json!([names(&istiods), names(&workloads)].concat());
        say.note(&format!(
            "{obj}: would {}{}; would restart {}",
            action_word(""),
            if existing.is_some() {
                format!(" (after a backup in {})", dir.display())
            } else {
                String::new()
            },
            if istiods.is_empty() && workloads.is_empty() {
                "nothing".into()
            } else {
                [names(&istiods), names(&workloads)].concat().join(", ")
            }
        ));
        return Ok(report);
    }

    if let Some(e) = &existing {
        let path = write_backup(dir, &c.context, e)?;
        say.note(&format!(
            "{obj}: backed up to {} (0600: it holds the CA key)",
            path.display()
        ));
        report["backup"] = json!(path);
    }
    let action = write_secret(&c, &api, &obj, existing.as_ref(), &desired, false).await?;
    say.note(&format!("{obj}: {action}"));
    report["secret"]["action"] = action.into();
    report["changed"] = true.into();

    if !istiods.is_empty() {
        for w in &istiods {
            restart::restart(&c, w, &stamp, false).await?;
            say.note(&format!("{w}: restarted"));
        }
        report["restarted"] = json!(names(&istiods));
        restart::wait(&c, &istiods, o.restart.wait, say).await?;
    } else if !o.restart.istiod {
        say.note("istiod not restarted (--no-restart); it picks up the new CA only when restarted");
    }
    if !workloads.is_empty() {
        // After istiod is up with the new CA, so the new pods get certificates from it.
        let stamp = restart::now_stamp();
        for w in &workloads {
            restart::restart(&c, w, &stamp, false).await?;
            say.note(&format!("{w}: restarted"));
        }
        report["restarted"] = json!([names(&istiods), names(&workloads)].concat());
        restart::wait(&c, &workloads, o.restart.wait, say).await?;
    }
    Ok(report)
}

fn root_key(s: Option<&Secret>) -> &'static str {
    match s.and_then(|s| s.data.as_ref()) {
        Some(d) if !d.contains_key("root-cert.pem") && d.contains_key("ca.crt") => "ca.crt",
        _ => "root-cert.pem",
    }
}

/// Creates the secret, or replaces the one there (a precondition on its
/// resourceVersion: what was backed up is what gets replaced). A type change
/// (Opaque <-> kubernetes.io/tls) is a delete and a create, since the type is immutable.
async fn write_secret(
    c: &Cluster,
    api: &Api<Secret>,
    obj: &Obj,
    existing: Option<&Secret>,
    desired: &Secret,
    dry_run: bool,
) -> Result<&'static str, Error> {
    let pp = post_params(dry_run);
    let name = desired.metadata.name.clone().unwrap_or_default();
    match existing {
        None => {
            api.create(&pp, desired)
                .await
                .map_err(|e| c.fail(e, "create", obj))?;
            Ok("created")
        }
        Some(e) if secret_type(e) == secret_type(desired) => {
            let mut d = desired.clone();
            d.metadata.resource_version = e.metadata.resource_version.clone();
            api.replace(&name, &pp, &d)
                .await
                .map_err(|e| c.fail(e, "update", obj))?;
            Ok("replaced")
        }
        Some(e) => {
            api.delete(&name, &delete_params(&e.metadata, dry_run))
                .await
                .map_err(|e| c.fail(e, "delete", obj))?;
            // In a dry run the old object is still there, so a dry-run create would only
            // report AlreadyExists: the delete's authorisation is what can be checked.
            if !dry_run {
                api.create(&pp, desired)
                    .await
                    .map_err(|e| c.fail(e, "create", obj))?;
            }
            Ok("replaced")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_sort_by_time_and_stay_per_context() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secret {
            metadata: ObjectMeta {
                name: Some("cacerts".into()),
                namespace: Some("istio-system".into()),
                uid: Some("u".into()),
                ..ObjectMeta::default()
            },
            ..Secret::default()
        };
        let a = write_backup(dir.path(), "arn:aws:eks:eu-west-1:1:cluster/a", &s).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = write_backup(dir.path(), "arn:aws:eks:eu-west-1:1:cluster/a", &s).unwrap();
        write_backup(dir.path(), "arn:aws:eks:eu-west-1:1:cluster/a-b", &s).unwrap();
        assert_ne!(a, b);
        assert_eq!(
            newest_backup(dir.path(), "arn:aws:eks:eu-west-1:1:cluster/a").unwrap(),
            b
        );
        assert!(newest_backup(dir.path(), "other").is_err());
        // The uid is not carried into the backup: it is an applyable manifest.
        let back = parse_manifest(&std::fs::read_to_string(&b).unwrap(), "b").unwrap();
        assert_eq!(back.metadata.uid, None);
        assert_eq!(back.metadata.name.as_deref(), Some("cacerts"));
    }
}
