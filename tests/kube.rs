//! The Kubernetes side, run as users run it: `tse-disable`, the pipeline on the local
//! CA, `cacerts-apply`, against the fixture API server (`support/kube_fixture`), and
//! compared with the guide's own kubectl commands on a second fixture.

use std::path::Path;

use pca_mesh_tests::*;
use serde_json::Value;

/// The pipeline's secret for `cluster`, issued by the local CA in `ca` (created on
/// first use): `<cluster>.bundle.json` (pca-get's bundle), `<cluster>.json` (the
/// manifest cacerts-build prints) and `<cluster>-files/` (the same secret as files).
fn bundle(d: &Path, ca: &str, cluster: &str) {
    sh(
        &format!(
            "[ -d {ca} ] || pca-issue --init-root {ca} >/dev/null
             pca-csr --cluster {cluster} --json | pca-issue --ca file:{ca} | pca-get > {cluster}.bundle.json
             cacerts-build < {cluster}.bundle.json > {cluster}.json
             cacerts-build --output dir={cluster}-files < {cluster}.bundle.json"
        ),
        d,
    )
    .ok();
}

/// A tool with the fixture's kubeconfig in `KUBECONFIG`.
fn tool(name: &str, d: &Path, fx: &KubeFixture) -> Cmd {
    Cmd::tool(name, d).env("KUBECONFIG", fx.kubeconfig())
}

/// A shell pipeline with the fixture's kubeconfig in `KUBECONFIG`.
fn ksh(script: &str, d: &Path, fx: &KubeFixture) -> Run {
    sh(
        &format!(
            "export KUBECONFIG='{}'\n{script}",
            fx.kubeconfig().display()
        ),
        d,
    )
}

/// Everything the server holds, resourceVersions included (so even a no-op write
/// would show), without the test's own deny rules.
fn snapshot(fx: &KubeFixture) -> Value {
    let mut s = fx.raw_state();
    s.as_object_mut().unwrap().remove("deny");
    s
}

#[track_caller]
fn assert_unchanged(fx: &KubeFixture, before: &Value) {
    let after = snapshot(fx);
    if &after != before {
        let changed: Vec<String> = differing("", before, &after);
        panic!("the cluster changed: {changed:?}");
    }
}

/// The paths at which two JSON documents differ (for short failure messages).
fn differing(at: &str, a: &Value, b: &Value) -> Vec<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys().filter(|k| !x.contains_key(*k)))
            .flat_map(|k| {
                differing(
                    &format!("{at}/{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                )
            })
            .collect(),
        _ if a == b => Vec::new(),
        _ => vec![at.to_string()],
    }
}

fn objects(state: &Value) -> &Value {
    &state["objects"]
}

fn secret(state: &Value) -> &Value {
    &state["objects"]["v1/secrets"]["istio-system/cacerts"]
}

fn restarted(state: &Value, kind: &str, key: &str) -> bool {
    state["objects"][kind][key]["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
        == "<set>"
}

/// Decoded secret data, `\r` dropped (PEM line endings do not matter to istiod).
fn data(secret: &Value, key: &str) -> String {
    let b64 = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {secret}"));
    let out = Cmd::program("base64", Path::new("/"))
        .args(["-d"])
        .stdin(b64.as_bytes().to_vec())
        .run()
        .ok();
    out.stdout.replace('\r', "")
}

fn backups(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = match std::fs::read_dir(dir) {
        Ok(r) => r.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

#[test]
fn whole_sequence_idempotent_backup_and_rollback() {
    let fx = KubeFixture::start(&[]);
    let dir = workdir();
    let d = dir.path();
    let seeded = fx.state();
    let tse_secret = secret(&seeded).clone();
    bundle(d, "root-ca", "east");

    // The guide's steps 1, 5, 6, 7 as pipelines.
    let run = ksh(
        "tse-disable management-plane > mp.json
         tse-disable control-plane --backup-dir backups > cp.json
         cacerts-apply --backup-dir backups < east.json > apply.json",
        d,
        &fx,
    )
    .ok();
    assert!(
        run.stderr
            .contains("Deployment istio-system/istiod: rolled out"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("centralProvidedCaCert on"),
        "no warning once the ControlPlane is patched: {}",
        run.stderr
    );
    let mp = json(&std::fs::read_to_string(d.join("mp.json")).unwrap());
    assert_eq!(mp["changed"], true);
    assert_eq!(
        mp["steps"][0]["changes"][0]["path"],
        "spec.certIssuer.clusterIntermediateCAs"
    );
    let s = fx.state();
    let issuer = &objects(&s)["install.tetrate.io/v1alpha1/managementplanes"]["tse/managementplane"]
        ["spec"]["certIssuer"];
    assert!(issuer.get("clusterIntermediateCAs").is_none(), "{issuer}");
    assert!(
        issuer.get("selfSigned").is_some(),
        "the rest of certIssuer stays: {issuer}"
    );
    let xcp = &objects(&s)["install.tetrate.io/v1alpha1/controlplanes"]["istio-system/controlplane"]
        ["spec"]["components"]["xcp"];
    assert_eq!(xcp["centralProvidedCaCert"], false);
    assert_eq!(xcp["centralAuthMode"], "JWT");
    // Our secret, with what the pipeline issued.
    let sec = secret(&s);
    assert_eq!(
        sec["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "pca-mesh"
    );
    let files = d.join("east-files");
    for key in [
        "ca-cert.pem",
        "ca-key.pem",
        "root-cert.pem",
        "cert-chain.pem",
    ] {
        let want = std::fs::read_to_string(files.join(key))
            .unwrap()
            .replace('\r', "");
        assert_eq!(data(sec, key), want, "{key}");
    }
    assert_eq!(
        data(sec, "root-cert.pem"),
        std::fs::read_to_string(d.join("root-ca/ca-cert.pem"))
            .unwrap()
            .replace('\r', "")
    );
    assert!(restarted(&s, "apps/v1/deployments", "istio-system/istiod"));
    assert!(
        !restarted(&s, "apps/v1/deployments", "bookinfo/productpage"),
        "workloads only with --restart-workloads"
    );
    // TSE's secret (and its CA key) is in the one backup, 0600.
    let b = backups(&d.join("backups"));
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(mode(&b[0]), 0o600);
    let saved = json(&std::fs::read_to_string(&b[0]).unwrap());
    assert_eq!(saved["data"], tse_secret["data"]);
    assert_eq!(
        saved["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "tsb"
    );

    // Second run: nothing to do, nothing written (not even a no-op write).
    let before = snapshot(&fx);
    let again = ksh(
        "tse-disable management-plane > mp2.json
         tse-disable control-plane --backup-dir backups > cp2.json
         cacerts-apply --backup-dir backups < east.json > apply2.json",
        d,
        &fx,
    )
    .ok();
    assert_eq!(
        again.stderr.matches("no change").count(),
        3,
        "{}",
        again.stderr
    );
    assert!(
        again
            .stderr
            .contains("installed by pca-mesh, left in place"),
        "{}",
        again.stderr
    );
    for f in ["mp2.json", "cp2.json", "apply2.json"] {
        assert_eq!(
            json(&std::fs::read_to_string(d.join(f)).unwrap())["changed"],
            false,
            "{f}"
        );
    }
    assert_unchanged(&fx, &before);
    assert_eq!(backups(&d.join("backups")).len(), 1);

    // A new intermediate from the same root replaces ours after a backup of it, and
    // --restart-workloads restarts the sidecar workloads and the gateway, not the rest.
    bundle(d, "root-ca", "east-b");
    let run = ksh(
        "cacerts-apply --backup-dir backups --restart-workloads < east-b.json > apply3.json",
        d,
        &fx,
    )
    .ok();
    assert!(run.stderr.contains("backed up to"), "{}", run.stderr);
    let s = fx.state();
    assert_eq!(
        data(secret(&s), "ca-cert.pem"),
        std::fs::read_to_string(d.join("east-b-files/ca-cert.pem"))
            .unwrap()
            .replace('\r', "")
    );
    for (kind, key) in [
        ("apps/v1/deployments", "bookinfo/productpage"),
        ("apps/v1/deployments", "istio-system/istio-ingressgateway"),
        ("apps/v1/statefulsets", "bookinfo/mysqldb"),
    ] {
        assert!(restarted(&s, kind, key), "{key} not restarted");
    }
    assert!(
        !restarted(&s, "apps/v1/deployments", "default/plain"),
        "no sidecar: not restarted"
    );
    let b = backups(&d.join("backups"));
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(mode(&b[1]), 0o600);
    let first = json(&std::fs::read_to_string(d.join("east.json")).unwrap());
    assert_eq!(
        json(&std::fs::read_to_string(&b[1]).unwrap())["data"],
        first["data"]
    );

    // --rollback restores the newest backup: the first intermediate again.
    let rb = tool("cacerts-apply", d, &fx)
        .args(["--rollback", "--backup-dir", "backups"])
        .run()
        .ok();
    assert_eq!(
        json(&rb.stdout)["source"],
        b[1].strip_prefix(d).unwrap().to_str().unwrap()
    );
    assert_eq!(secret(&fx.state())["data"], first["data"]);
    assert_eq!(
        backups(&d.join("backups")).len(),
        3,
        "the replaced secret is backed up too"
    );
}

#[test]
fn dry_run_changes_nothing() {
    let fx = KubeFixture::start(&[]);
    let dir = workdir();
    let d = dir.path();
    bundle(d, "root-ca", "east");
    let before = snapshot(&fx);
    let mp = tool("tse-disable", d, &fx)
        .args(["management-plane", "--dry-run"])
        .run()
        .ok();
    assert_eq!(json(&mp.stdout)["steps"][0]["action"], "would patch");
    assert!(
        mp.stderr
            .contains("- spec.certIssuer.clusterIntermediateCAs: {}"),
        "{}",
        mp.stderr
    );
    let cp = tool("tse-disable", d, &fx)
        .args(["control-plane", "--dry-run"])
        .run()
        .ok();
    let r = json(&cp.stdout);
    assert_eq!(r["steps"][0]["changes"][0]["after"], false);
    assert_eq!(r["steps"][1]["action"], "would delete");
    assert!(
        cp.stderr
            .contains("+ spec.components.xcp.centralProvidedCaCert: false"),
        "{}",
        cp.stderr
    );
    let ap = tool("cacerts-apply", d, &fx)
        .args(["--dry-run", "--allow-root-change", "--restart-workloads"])
        .stdin(std::fs::read(d.join("east.json")).unwrap())
        .run()
        .ok();
    let r = json(&ap.stdout);
    assert_eq!(r["secret"]["action"], "would replace");
    assert!(
        ap.stderr
            .contains("ControlPlane istio-system/controlplane still has")
            && ap.stderr.contains("tse-disable control-plane"),
        "TSE would put its cacerts back: {}",
        ap.stderr
    );
    assert!(r["would_restart"].as_array().unwrap().len() >= 4, "{r}");
    // The dry runs did reach the server (so RBAC and validation were checked)...
    let reqs = fx.get("/_fixture/requests");
    assert!(
        reqs.as_array()
            .unwrap()
            .iter()
            .any(|q| q["method"] == "PATCH" && q["query"]["dryRun"] == "All"),
        "{reqs}"
    );
    // ...and changed nothing, not even a resourceVersion; no backup was written.
    assert_unchanged(&fx, &before);
    assert!(!d.join("cacerts-backup").exists());
}

#[test]
fn error_cases_say_what_is_wrong_and_change_nothing() {
    let dir = workdir();
    let d = dir.path();
    bundle(d, "root-ca", "east");
    let manifest = std::fs::read(d.join("east.json")).unwrap();

    let fx = KubeFixture::start(&["--seed", "no-crds"]);
    let before = snapshot(&fx);
    for (plane, res) in [
        ("management-plane", "managementplanes"),
        ("control-plane", "controlplanes"),
    ] {
        tool("tse-disable", d, &fx).args([plane]).run().fails(
            1,
            &[&format!(
                "TSE does not seem installed in this cluster: no resource {res}.install.tetrate.io"
            )],
        );
    }
    assert_unchanged(&fx, &before);

    let fx = KubeFixture::start(&["--seed", "empty"]);
    let before = snapshot(&fx);
    tool("tse-disable", d, &fx)
        .args(["management-plane"])
        .run()
        .fails(1, &["no ManagementPlane in namespace tse"]);
    tool("tse-disable", d, &fx)
        .args(["control-plane"])
        .run()
        .fails(1, &["ControlPlane istio-system/controlplane not found"]);
    tool("tse-disable", d, &fx)
        .args(["management-plane", "--name", "mp"])
        .run()
        .fails(1, &["ManagementPlane tse/mp not found"]);
    // No istiod to restart: said before anything is written.
    tool("cacerts-apply", d, &fx)
        .stdin(manifest.clone())
        .run()
        .fails(
            1,
            &[
                "no Deployment labelled app=istiod in namespace istio-system",
                "--no-restart",
            ],
        );
    assert_unchanged(&fx, &before);

    // RBAC: the refused verb and resource are named; the dry runs come first, so the
    // ControlPlane is not patched and no backup is written either.
    let fx = KubeFixture::start(&["--deny", "delete:secrets"]);
    let before = snapshot(&fx);
    tool("tse-disable", d, &fx)
        .args(["control-plane", "--backup-dir", "b1"])
        .run()
        .fails(
            1,
            &[
                "not allowed to delete secrets in namespace istio-system",
                "cannot delete resource \"secrets\"",
            ],
        );
    assert_unchanged(&fx, &before);
    assert!(!d.join("b1").exists());
    fx.http("DELETE", "/_fixture/deny", "");
    fx.http(
        "POST",
        "/_fixture/deny",
        r#"{"verb":"patch","resource":"deployments"}"#,
    );
    let before = snapshot(&fx);
    tool("cacerts-apply", d, &fx)
        .args(["--allow-root-change", "--backup-dir", "b2"])
        .stdin(manifest.clone())
        .run()
        .fails(
            1,
            &["not allowed to patch deployments.apps in namespace istio-system"],
        );
    assert_unchanged(&fx, &before);
    assert!(!d.join("b2").exists());
    fx.http(
        "POST",
        "/_fixture/deny",
        r#"{"verb":"update","resource":"secrets"}"#,
    );
    tool("cacerts-apply", d, &fx)
        .args(["--allow-root-change", "--no-restart", "--backup-dir", "b2"])
        .stdin(manifest.clone())
        .run()
        .fails(1, &["not allowed to update secrets"]);
    assert_unchanged(&fx, &before);

    // Unreachable cluster (context "other" points at a closed port) and unknown context.
    let fx = KubeFixture::start(&[]);
    let before = snapshot(&fx);
    tool("tse-disable", d, &fx)
        .args(["--context", "other", "management-plane"])
        .run()
        .fails(
            1,
            &[
                "cannot reach the Kubernetes API server at http://127.0.0.1:1",
                "context \"other\"",
            ],
        );
    tool("cacerts-apply", d, &fx)
        .args(["--context", "other"])
        .stdin(manifest.clone())
        .run()
        .fails(
            1,
            &["cannot reach the Kubernetes API server at http://127.0.0.1:1"],
        );
    tool("tse-disable", d, &fx)
        .args(["control-plane", "--context", "nope"])
        .run()
        .fails(1, &["has no context \"nope\"", "fixture, other"]);
    // --kubeconfig wins over KUBECONFIG.
    Cmd::tool("tse-disable", d)
        .env("KUBECONFIG", "/nonexistent")
        .args(["management-plane", "--dry-run", "--kubeconfig"])
        .args([fx.kubeconfig()])
        .run()
        .ok();
    Cmd::tool("tse-disable", d)
        .env("KUBECONFIG", d.join("missing-kubeconfig"))
        .args(["management-plane"])
        .run()
        .fails(1, &["missing-kubeconfig"]);
    assert_unchanged(&fx, &before);

    // A manifest that is not a valid bundle is refused before the cluster is touched.
    let mut bad = json(&String::from_utf8(manifest).unwrap());
    bad["data"]["cert-chain.pem"] = bad["data"]["root-cert.pem"].clone();
    tool("cacerts-apply", d, &fx)
        .args(["--allow-root-change"])
        .stdin(bad.to_string())
        .run()
        .fails(1, &["cert-chain.pem"]);
    bad["data"]
        .as_object_mut()
        .unwrap()
        .remove("cert-chain.pem");
    tool("cacerts-apply", d, &fx)
        .args(["--allow-root-change"])
        .stdin(bad.to_string())
        .run()
        .fails(1, &["has no cert-chain.pem"]);
    assert_unchanged(&fx, &before);
}

#[test]
fn root_change_is_refused_without_the_flag() {
    let fx = KubeFixture::start(&[]);
    let dir = workdir();
    let d = dir.path();
    bundle(d, "root-ca", "east");
    let before = snapshot(&fx);
    let tse = secret(&fx.state()).clone();
    // TSE's cacerts is there, with TSE's root: ours differs.
    let manifest = std::fs::read(d.join("east.json")).unwrap();
    tool("cacerts-apply", d, &fx)
        .stdin(manifest.clone())
        .run()
        .fails(
            1,
            &[
                "refusing to change the root",
                "TSE Fixture Root CA",
                "a new root breaks cross-cluster trust until every cluster has it",
                "--allow-root-change",
            ],
        );
    assert_unchanged(&fx, &before);
    assert!(!d.join("cacerts-backup").exists());
    let ok = tool("cacerts-apply", d, &fx)
        .args(["--allow-root-change"])
        .stdin(manifest)
        .run()
        .ok();
    let r = json(&ok.stdout);
    assert_ne!(
        r["secret"]["root_sha256"],
        r["secret"]["previous_root_sha256"]
    );
    let b = backups(&d.join("cacerts-backup"));
    assert_eq!(b.len(), 1);
    assert_eq!(
        json(&std::fs::read_to_string(&b[0]).unwrap())["data"],
        tse["data"]
    );
    // A bundle from yet another root is refused against ours in turn.
    bundle(d, "root-2", "west");
    tool("cacerts-apply", d, &fx)
        .stdin(std::fs::read(d.join("west.json")).unwrap())
        .run()
        .fails(1, &["refusing to change the root", "pca-mesh Root CA"]);
}

#[test]
fn rollout_wait_shows_progress_and_keeps_a_deadline() {
    let fx = KubeFixture::start(&["--rollout-delay", "30"]);
    let dir = workdir();
    let d = dir.path();
    bundle(d, "root-ca", "east");
    bundle(d, "root-ca", "east-b");
    tool("tse-disable", d, &fx)
        .args(["control-plane"])
        .run()
        .ok();
    let slow = tool("cacerts-apply", d, &fx)
        .args(["--wait", "2s"])
        .stdin(std::fs::read(d.join("east.json")).unwrap())
        .run()
        .fails(
            1,
            &[
                "did not finish within 2s",
                "Deployment istio-system/istiod",
                "cacerts is installed",
            ],
        );
    assert!(
        slow.stderr
            .contains("waiting for Deployment istio-system/istiod"),
        "{}",
        slow.stderr
    );
    assert_eq!(
        secret(&fx.state())["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "pca-mesh"
    );
    fx.http("POST", "/_fixture/config", r#"{"rolloutDelay": 1}"#);
    let run = tool("cacerts-apply", d, &fx)
        .args(["--wait", "30s"])
        .stdin(std::fs::read(d.join("east-b.json")).unwrap())
        .run()
        .ok();
    assert!(
        run.stderr
            .contains("waiting for Deployment istio-system/istiod"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("Deployment istio-system/istiod: rolled out"),
        "{}",
        run.stderr
    );
    let istiod = &fx.state()["objects"]["apps/v1/deployments"]["istio-system/istiod"];
    assert_eq!(
        istiod["status"]["observedGeneration"],
        istiod["metadata"]["generation"]
    );
}

/// Drops what only our tools add, and what differs between any two runs, so the
/// kubectl end state and ours can be compared: our `managed-by` label on the secret
/// (kubectl's `create secret generic` sets none; our backups are files, so there is
/// no backup object to drop), and workload `status` (timestamps and the ReplicaSet
/// name hashed from the real restart time; rollout completion is checked apart).
fn comparable(mut state: Value) -> Value {
    let mut objs = state["objects"].take();
    if let Some(labels) =
        objs["v1/secrets"]["istio-system/cacerts"]["metadata"]["labels"].as_object_mut()
        && labels
            .get("app.kubernetes.io/managed-by")
            .and_then(Value::as_str)
            == Some("pca-mesh")
    {
        labels.remove("app.kubernetes.io/managed-by");
        if labels.is_empty() {
            objs["v1/secrets"]["istio-system/cacerts"]["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("labels");
        }
    }
    for kind in [
        "apps/v1/deployments",
        "apps/v1/statefulsets",
        "apps/v1/daemonsets",
    ] {
        if let Some(m) = objs.get_mut(kind).and_then(Value::as_object_mut) {
            for o in m.values_mut() {
                o.as_object_mut().unwrap().remove("status");
            }
        }
    }
    objs
}

#[test]
fn same_end_state_as_the_guides_kubectl_commands() {
    let kubectl = which_kubectl();
    let dir = workdir();
    let d = dir.path();
    bundle(d, "root-ca", "east");

    // The guide's commands, with the real kubectl (the ManagementPlane patch in its
    // named form: the guide's omits the name, which kubectl refuses; and all four files).
    let guide = KubeFixture::start(&[]);
    let k = kubectl.display();
    ksh(
        &format!(
            "{k} patch managementplane managementplane -n tse \\
               --patch '{{\"spec\":{{\"certIssuer\":{{\"clusterIntermediateCAs\":null}}}}}}' --type merge
             {k} patch ControlPlane controlplane -n istio-system \\
               --patch '{{\"spec\":{{\"components\":{{\"xcp\":{{\"centralProvidedCaCert\":false}}}}}}}}' --type merge
             {k} delete secret cacerts -n istio-system
             {k} create secret generic cacerts -n istio-system \\
               --from-file=ca-cert.pem=east-files/ca-cert.pem \\
               --from-file=ca-key.pem=east-files/ca-key.pem \\
               --from-file=root-cert.pem=east-files/root-cert.pem \\
               --from-file=cert-chain.pem=east-files/cert-chain.pem
             {k} -n istio-system rollout restart deployment -l=app=istiod
             {k} -n istio-system rollout status deployment istiod --timeout=30s"
        ),
        d,
        &guide,
    )
    .ok();

    // Ours, on a fresh fixture, with the same bundle.
    let ours = KubeFixture::start(&[]);
    ksh(
        "tse-disable management-plane >/dev/null
         tse-disable control-plane >/dev/null
         cacerts-apply < east.json >/dev/null",
        d,
        &ours,
    )
    .ok();

    let (g, o) = (guide.state(), ours.state());
    for s in [&g, &o] {
        assert!(restarted(s, "apps/v1/deployments", "istio-system/istiod"));
        let istiod = &s["objects"]["apps/v1/deployments"]["istio-system/istiod"];
        assert_eq!(
            istiod["status"]["observedGeneration"],
            istiod["metadata"]["generation"]
        );
        assert_eq!(secret(s)["type"], "Opaque");
    }
    let (g, o) = (comparable(g), comparable(o));
    let d = differing("", &g, &o);
    assert!(d.is_empty(), "end states differ (kubectl vs ours) at {d:?}");
}

fn which_kubectl() -> std::path::PathBuf {
    let r = Cmd::program("sh", Path::new("/"))
        .args(["-c", "command -v kubectl"])
        .run();
    assert_eq!(
        r.code, 0,
        "kubectl is needed for the fidelity test (Debian: kubernetes-client)"
    );
    std::path::PathBuf::from(r.stdout.trim())
}
