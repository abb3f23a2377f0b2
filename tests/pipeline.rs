//! The offline pipeline on the local CA, run as a user runs it: processes, pipes,
//! files, exit codes and messages.

use std::fs;
use std::path::Path;

use pca_mesh_tests::*;

/// A root CA and an issuing CA under it, in `d`.
fn cas(d: &Path) {
    sh(
        "pca-issue --init-root root-ca --cn 'Test Root' --key-type ecdsa-p256 >/dev/null
         pca-issue --init-subordinate sub-ca --ca file:root-ca --cn 'Test Issuing CA' --key-type ecdsa-p256 >/dev/null",
        d,
    )
    .ok();
}

fn count_certs(pem: &str) -> usize {
    pem.matches("-----BEGIN CERTIFICATE-----").count()
}

fn openssl_verify(d: &Path, root: &str, untrusted: &str, cert: &str) -> Run {
    Cmd::program("openssl", d)
        .args([
            "verify",
            "-x509_strict",
            "-CAfile",
            root,
            "-untrusted",
            untrusted,
            cert,
        ])
        .run()
}

#[test]
fn three_clusters_through_pipes() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    for (cluster, ca, depth) in [
        ("c1", "root-ca", 2),
        ("c2", "root-ca", 2),
        ("c3", "sub-ca", 3),
    ] {
        sh(
            &format!(
                "pca-csr --cluster {cluster} --json | pca-issue --ca file:{ca} | pca-get \
                 | cacerts-build --output dir={cluster}/cacerts"
            ),
            d,
        )
        .ok();
        let c = d.join(cluster).join("cacerts");
        let ca_cert = fs::read_to_string(c.join("ca-cert.pem")).unwrap();
        let chain = fs::read_to_string(c.join("cert-chain.pem")).unwrap();
        let root = fs::read_to_string(c.join("root-cert.pem")).unwrap();
        assert_eq!(
            count_certs(&ca_cert),
            1,
            "ca-cert.pem holds the intermediate alone"
        );
        assert_eq!(
            count_certs(&chain),
            depth,
            "cert-chain.pem: intermediate .. root"
        );
        assert!(
            chain.starts_with(&ca_cert),
            "cert-chain.pem starts with ca-cert.pem"
        );
        assert!(chain.ends_with(&root), "cert-chain.pem ends with the root");
        assert_eq!(
            root,
            fs::read_to_string(d.join("root-ca/ca-cert.pem")).unwrap()
        );
        assert_eq!(mode(&c.join("ca-key.pem")), 0o600);
        assert_eq!(mode(&d.join(cluster).join("ca-key.pem")), 0o600);
        assert_eq!(mode(&c.join("ca-cert.pem")), 0o644);
        // The key in the bundle is the key pca-csr made.
        assert_eq!(
            fs::read_to_string(c.join("ca-key.pem")).unwrap(),
            fs::read_to_string(d.join(cluster).join("ca-key.pem")).unwrap()
        );

        // OpenSSL agrees, with the chain minus the certificate itself as untrusted.
        let rest: String = chain[ca_cert.len()..].to_string();
        fs::write(d.join("untrusted.pem"), rest).unwrap();
        let c_str = c.to_str().unwrap();
        openssl_verify(
            d,
            &format!("{c_str}/root-cert.pem"),
            "untrusted.pem",
            &format!("{c_str}/ca-cert.pem"),
        )
        .ok();
        let text = Cmd::program("openssl", d)
            .args([
                "x509",
                "-noout",
                "-ext",
                "basicConstraints,keyUsage",
                "-subject",
                "-in",
            ])
            .arg_path(&c.join("ca-cert.pem"))
            .run()
            .ok()
            .stdout;
        assert!(
            text.contains("critical") && text.contains("CA:TRUE, pathlen:0"),
            "{text}"
        );
        assert!(text.contains("Certificate Sign"), "{text}");
        assert!(
            text.contains(&format!("CN = {cluster}-cluster")) && text.contains("O = Tetrateio"),
            "{text}"
        );
    }
}

#[test]
fn plain_forms_and_manifests() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    let csr = Cmd::tool("pca-csr", d)
        .args(["--cluster", "p1", "--key-type", "rsa3072"])
        .run()
        .ok()
        .stdout;
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    fs::write(d.join("p1.csr"), &csr).unwrap();
    let id = Cmd::tool("pca-issue", d)
        .args(["--ca", "file:sub-ca", "p1.csr", "--output", "id"])
        .run()
        .ok()
        .stdout;
    let id = id.trim();
    assert!(
        id.starts_with("file:") && id.contains("/certificate/"),
        "{id}"
    );
    // The same CSR and parameters again: the same certificate, not a second one.
    let again = Cmd::tool("pca-issue", d)
        .args(["--ca", "file:sub-ca", "--output", "id"])
        .stdin(csr.clone())
        .run()
        .ok();
    assert_eq!(again.stdout.trim(), id);
    assert_eq!(fs::read_dir(d.join("sub-ca/issued")).unwrap().count(), 1);

    let pem = Cmd::tool("pca-get", d).args([id]).run().ok().stdout;
    assert_eq!(
        count_certs(&pem),
        3,
        "certificate, issuing CA, root:\n{pem}"
    );
    let root = Cmd::tool("pca-get", d)
        .args([id, "--root"])
        .run()
        .ok()
        .stdout;
    assert_eq!(
        root,
        fs::read_to_string(d.join("root-ca/ca-cert.pem")).unwrap()
    );
    let ca_root = Cmd::tool("pca-get", d)
        .args(["--ca", "file:sub-ca", "--root"])
        .run()
        .ok()
        .stdout;
    assert_eq!(
        ca_root, root,
        "--root walks past the issuing CA to the self-signed top"
    );
    // A closed pipe is a quiet end.
    sh(&format!("pca-get {id} | head -1 >/dev/null"), d).ok();

    // Files in, manifests out.
    let cert_end =
        pem.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----\n".len();
    fs::write(d.join("cert.pem"), &pem[..cert_end]).unwrap();
    fs::write(d.join("chain.pem"), &pem[cert_end..]).unwrap();
    let files = [
        "--cert",
        "cert.pem",
        "--chain",
        "chain.pem",
        "--key",
        "p1/ca-key.pem",
    ];
    let m = json(&Cmd::tool("cacerts-build", d).args(files).run().ok().stdout);
    assert_eq!(m["kind"], "Secret");
    assert_eq!(m["metadata"]["name"], "cacerts");
    assert_eq!(m["metadata"]["namespace"], "istio-system");
    let keys: Vec<_> = m["data"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "ca-cert.pem",
            "ca-key.pem",
            "root-cert.pem",
            "cert-chain.pem"
        ]
    );

    let y = Cmd::tool("cacerts-build", d)
        .args(files)
        .args(["--output", "yaml", "--name", "alt", "--namespace", "mesh"])
        .run()
        .ok()
        .stdout;
    assert!(
        y.contains("kind: Secret") && y.contains("name: alt") && y.contains("namespace: mesh"),
        "{y}"
    );

    let t = json(
        &Cmd::tool("cacerts-build", d)
            .args(files)
            .args(["--format", "tls"])
            .run()
            .ok()
            .stdout,
    );
    assert_eq!(t["type"], "kubernetes.io/tls");
    let tls_crt = decode(&t["data"]["tls.crt"]);
    assert_eq!(
        count_certs(&tls_crt),
        2,
        "tls.crt: intermediate + issuing CA, not the root"
    );
    assert_eq!(decode(&t["data"]["ca.crt"]), root);
}

fn decode(v: &serde_json::Value) -> String {
    let out = Cmd::program("base64", Path::new("/"))
        .args(["-d"])
        .stdin(v.as_str().unwrap())
        .run()
        .ok();
    out.stdout
}

#[test]
fn keys_are_never_overwritten_without_force() {
    let dir = workdir();
    let d = dir.path();
    Cmd::tool("pca-csr", d).args(["--cluster", "k1"]).run().ok();
    let key = d.join("k1/ca-key.pem");
    let before = fs::read(&key).unwrap();
    Cmd::tool("pca-csr", d)
        .args(["--cluster", "k1"])
        .run()
        .fails(1, &["k1/ca-key.pem", "refusing to overwrite", "--force"]);
    assert_eq!(fs::read(&key).unwrap(), before);
    Cmd::tool("pca-csr", d)
        .args(["--cluster", "k1", "--force"])
        .run()
        .ok();
    assert_ne!(fs::read(&key).unwrap(), before);
    assert_eq!(mode(&key), 0o600);

    // cacerts-build --output dir keeps an existing key too.
    cas(d);
    sh(
        "pca-csr --cluster k2 --json | pca-issue --ca file:root-ca | pca-get > k2.json",
        d,
    )
    .ok();
    sh("cacerts-build --output dir=out < k2.json", d).ok();
    let out_key = fs::read(d.join("out/ca-key.pem")).unwrap();
    sh(
        "pca-csr --cluster k3 --json | pca-issue --ca file:root-ca | pca-get > k3.json",
        d,
    )
    .ok();
    Cmd::tool("cacerts-build", d)
        .args(["--output", "dir=out"])
        .stdin(fs::read(d.join("k3.json")).unwrap())
        .run()
        .fails(1, &["out/ca-key.pem", "--force"]);
    assert_eq!(fs::read(d.join("out/ca-key.pem")).unwrap(), out_key);
}

#[test]
fn secrets_are_not_printed_to_a_terminal() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    sh(
        "pca-csr --cluster t1 --json | pca-issue --ca file:root-ca | pca-get > t1.json",
        d,
    )
    .ok();
    // `script` gives the tool a pseudo-terminal as standard output.
    let r = sh("script -qec 'cacerts-build < t1.json' /dev/null", d);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("refusing to write") && !r.stdout.contains("PRIVATE KEY"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_killed_writer_leaves_no_partial_key() {
    let dir = workdir();
    let d = dir.path();
    // Kill pca-csr at varying moments while it generates and writes an RSA 4096 key:
    // afterwards the key path either does not exist or holds a whole key.
    for i in 0..12u64 {
        let mut child = std::process::Command::new(bin("pca-csr"))
            .current_dir(d)
            .args(["--cluster", &format!("kill{i}"), "--key-type", "rsa4096"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(i * 15));
        let _ = child.kill();
        let _ = child.wait();
        let key = d.join(format!("kill{i}/ca-key.pem"));
        if key.exists() {
            let text = fs::read_to_string(&key).unwrap();
            assert!(
                text.starts_with("-----BEGIN PRIVATE KEY-----")
                    && text.ends_with("-----END PRIVATE KEY-----\n")
            );
            assert_eq!(mode(&key), 0o600);
        }
    }
}

#[test]
fn issue_rules_follow_the_pca_templates() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    let csr = Cmd::tool("pca-csr", d)
        .args(["--cluster", "r1"])
        .run()
        .ok()
        .stdout;
    let issue = |args: &[&str]| {
        Cmd::tool("pca-issue", d)
            .args(["--ca", "file:root-ca"])
            .args(args)
            .stdin(csr.clone())
            .run()
    };

    // A signing algorithm that does not fit the CA key is refused, as PCA does.
    issue(&["--signing-algorithm", "SHA256WITHRSA"])
        .fails(1, &["SHA256WITHRSA", "does not match", "ecdsa-p256"]);
    // Never past the CA's own notAfter.
    issue(&["--validity", "20y"]).fails(1, &["would end after the CA"]);
    // Validity spans are honoured.
    let b = json(&issue(&["--validity", "30d"]).ok().stdout);
    let id = b["certificate_id"].as_str().unwrap();
    let cert = Cmd::tool("pca-get", d).args([id]).run().ok().stdout;
    let end = Cmd::program("openssl", d)
        .args(["x509", "-noout", "-checkend", &(29 * 86400).to_string()])
        .stdin(cert.clone())
        .run();
    assert_eq!(end.code, 0, "valid for 29 more days");
    let end = Cmd::program("openssl", d)
        .args(["x509", "-noout", "-checkend", &(31 * 86400).to_string()])
        .stdin(cert)
        .run();
    assert_eq!(end.code, 1, "but not 31");
    // Unknown template and bad validity are usage errors.
    issue(&["--template", "SubordinateCACertificate_PathLen9/V1"]).fails(2, &["--template"]);
    issue(&["--validity", "1w"]).fails(2, &["--validity"]);

    // A short-lived-mode CA issues 7 days at most.
    sh("pca-issue --init-root short-ca --short-lived --key-type ecdsa-p256 --validity 1y >/dev/null", d).ok();
    let short = |v: &str| {
        Cmd::tool("pca-issue", d)
            .args(["--ca", "file:short-ca", "--validity", v])
            .stdin(csr.clone())
            .run()
    };
    short("1y").fails(1, &["SHORT_LIVED_CERTIFICATE", "7 days"]);
    short("7d").ok();
}

#[test]
fn bad_input_is_named() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    Cmd::tool("pca-issue", d)
        .args(["--ca", "file:root-ca"])
        .stdin("not a csr\nat all\n")
        .run()
        .fails(1, &["neither a JSON bundle"]);
    Cmd::tool("pca-issue", d)
        .args(["--ca", "file:root-ca"])
        .stdin("{\"cluster\":\"x\"}")
        .run()
        .fails(1, &["no \"csr\" field", "pca-csr"]);
    Cmd::tool("pca-issue", d)
        .args(["--ca", "file:nowhere"])
        .stdin(
            Cmd::tool("pca-csr", d)
                .args(["--cluster", "b1"])
                .run()
                .ok()
                .stdout,
        )
        .run()
        .fails(1, &["nowhere", "--init-root"]);
    Cmd::tool("pca-get", d)
        .args(["file:/nope/certificate/00"])
        .run()
        .fails(1, &["/nope"]);
    Cmd::tool("pca-csr", d)
        .args(["--cluster", "bad/name"])
        .run()
        .fails(2, &["--cluster"]);
    Cmd::tool("cacerts-build", d)
        .stdin("{}")
        .run()
        .fails(1, &["no \"certificate\" field", "pca-get"]);
}

#[test]
fn unknown_fields_and_sans_pass_through() {
    let dir = workdir();
    let d = dir.path();
    cas(d);
    let out = sh(
        "pca-csr --cluster s1 --key-type ecdsa-p384 --uri spiffe://cluster.local --dns istiod.istio-system.svc --json \
         | jq -c '. + {\"x_ticket\": \"OPS-42\"}' | pca-issue --ca file:root-ca | pca-get",
        d,
    )
    .ok()
    .stdout;
    let b = json(&out);
    assert_eq!(
        b["x_ticket"], "OPS-42",
        "an unknown field survives every step"
    );
    assert_eq!(b["key_type"], "ecdsa-p384");
    let text = Cmd::program("openssl", d)
        .args(["x509", "-noout", "-ext", "subjectAltName"])
        .stdin(b["certificate"].as_str().unwrap())
        .run()
        .ok()
        .stdout;
    assert!(
        text.contains("URI:spiffe://cluster.local") && text.contains("DNS:istiod.istio-system.svc"),
        "{text}"
    );
}
