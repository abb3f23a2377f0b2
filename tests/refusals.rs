//! Every bundle `cacerts-build` must refuse, built with the tools and with openssl,
//! run as a process: exit status, the message (file, fault, judge), nothing written.

use std::path::Path;

use pca_mesh_tests::*;

/// Test material: local CAs, good bundles, and bad certificates made with openssl.
const MATERIAL: &str = r#"
pca-issue --init-root root-ca --cn 'Test Root' --key-type ecdsa-p256 >/dev/null
pca-issue --init-root other-ca --cn 'Other Root' --key-type ecdsa-p256 >/dev/null
pca-issue --init-subordinate sub-ca --ca file:root-ca --cn 'Test Issuing CA' --key-type ecdsa-p256 >/dev/null
pca-issue --init-subordinate sub0-ca --ca file:root-ca --cn 'PathLen0 CA' --key-type ecdsa-p256 \
  --template SubordinateCACertificate_PathLen0/V1 >/dev/null
split() { jq -r .certificate "$1.json" > "$1-cert.pem"; jq -r .chain "$1.json" > "$1-chain.pem"; jq -r .root "$1.json" > "$1-root.pem"; }
for c in c1 c2; do pca-csr --cluster $c --json | pca-issue --ca file:root-ca | pca-get > $c.json; split $c; done
pca-csr --cluster c3 --json | pca-issue --ca file:sub-ca | pca-get > c3.json; split c3
pca-csr --cluster ee --json | pca-issue --ca file:root-ca --template EndEntityCertificate/V1 | pca-get > ee.json; split ee
pca-csr --cluster deep --json | pca-issue --ca file:sub0-ca | pca-get > deep.json; split deep
printf '%s\n' 'basicConstraints=critical,CA:TRUE,pathlen:0' 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' \
  'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' > ca.ext
jq -r .csr c1.json > c1.csr
sign() { openssl x509 -req -CA root-ca/ca-cert.pem -CAkey root-ca/ca-key.pem -extfile ca.ext "$@" 2>/dev/null; }
sign -in c1.csr -days -1 -out expired-cert.pem
sign -in c1.csr -days 30 -sha1 -out sha1-cert.pem
openssl req -new -newkey rsa:1024 -nodes -keyout weak-key.pem -subj /CN=weak-cluster -out weak.csr 2>/dev/null
sign -in weak.csr -days 30 -out weak-cert.pem
awk 'BEGIN{RS="-----END CERTIFICATE-----\n"} NF{b[n++]=$0 RS} END{for(i=n-1;i>=0;i--) printf "%s", b[i]}' c3-chain.pem > c3-reversed.pem
cat c3-chain.pem c3-root.pem c3-chain.pem > c3-dups.pem
cat c1-cert.pem c1-chain.pem > packed.pem
echo garbage > garbage.pem
: > empty.pem
"#;

fn material() -> tempfile::TempDir {
    let dir = workdir();
    sh(MATERIAL, dir.path()).ok();
    dir
}

fn build(d: &Path, cert: &str, chain: &str, key: &str, extra: &[&str]) -> Run {
    Cmd::tool("cacerts-build", d)
        .args([
            "--cert", cert, "--chain", chain, "--key", key, "--output", "dir=out",
        ])
        .args(extra)
        .run()
}

#[test]
fn every_bad_bundle_is_refused_and_nothing_is_written() {
    let dir = material();
    let d = dir.path();
    // (case, cert, chain, key, extra flags, exit code, what stderr must say)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a [&'a str],
        i32,
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (
            "key mismatch",
            "c1-cert.pem",
            "c1-chain.pem",
            "c2/ca-key.pem",
            &[],
            3,
            &[
                "c2/ca-key.pem",
                "does not belong to CN=c1-cluster",
                "istiod",
            ],
        ),
        (
            "end entity as CA",
            "ee-cert.pem",
            "ee-chain.pem",
            "ee/ca-key.pem",
            &[],
            3,
            &["ee-cert.pem", "CA:FALSE", "OpenSSL/Envoy"],
        ),
        (
            "chain incomplete",
            "c3-cert.pem",
            "c3-root.pem",
            "c3/ca-key.pem",
            &[],
            3,
            &[
                "c3-cert.pem",
                "CN=Test Issuing CA is not among the certificates given",
            ],
        ),
        (
            "wrong root",
            "c1-cert.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &["--root", "other-ca/ca-cert.pem"],
            3,
            &[
                "other-ca/ca-cert.pem",
                "CN=Other Root is not the root of this chain",
            ],
        ),
        (
            "expired",
            "expired-cert.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["expired-cert.pem", "expired on"],
        ),
        (
            "path length",
            "deep-cert.pem",
            "deep-chain.pem",
            "deep/ca-key.pem",
            &[],
            3,
            &["CN=PathLen0 CA", "pathLenConstraint 0"],
        ),
        (
            "weak RSA key",
            "weak-cert.pem",
            "c1-chain.pem",
            "weak-key.pem",
            &[],
            3,
            &["weak-cert.pem", "1024-bit RSA key"],
        ),
        (
            "SHA-1 signature",
            "sha1-cert.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["sha1-cert.pem", "SHA-1"],
        ),
        (
            "unrelated chain certificate",
            "c1-cert.pem",
            "c3-dups.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["c3-dups.pem", "CN=Test Issuing CA is not on the path"],
        ),
        (
            "malformed PEM",
            "garbage.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["garbage.pem", "no PEM block"],
        ),
        (
            "empty file",
            "empty.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["empty.pem", "is empty"],
        ),
        (
            "wrong block type",
            "c1/ca-key.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &[
                "c1/ca-key.pem",
                "PRIVATE KEY block where a CERTIFICATE block",
            ],
        ),
        (
            "certificate and chain packed as ca-cert",
            "packed.pem",
            "c1-chain.pem",
            "c1/ca-key.pem",
            &[],
            3,
            &["packed.pem", "holds 2 certificates"],
        ),
    ];
    for (case, cert, chain, key, extra, code, needles) in cases {
        let r = build(d, cert, chain, key, extra);
        assert_eq!(
            r.code, *code,
            "{case}: exit {} stderr:\n{}",
            r.code, r.stderr
        );
        for n in needles.iter() {
            assert!(
                r.stderr.contains(n),
                "{case}: stderr lacks {n:?}:\n{}",
                r.stderr
            );
        }
        assert!(!d.join("out").exists(), "{case}: something was written");
        assert!(r.stdout.is_empty(), "{case}: printed {:?}", r.stdout);
    }
}

#[test]
fn disordered_and_duplicated_chains_are_normalised_and_said() {
    let dir = material();
    let d = dir.path();
    let r = build(d, "c3-cert.pem", "c3-reversed.pem", "c3/ca-key.pem", &[]).ok();
    assert!(
        r.stderr.contains("c3-reversed.pem: reordered"),
        "{}",
        r.stderr
    );
    // The files came through `jq -r`, which adds a blank line after each field.
    let expect = (std::fs::read_to_string(d.join("c3-cert.pem")).unwrap()
        + &std::fs::read_to_string(d.join("c3-chain.pem")).unwrap())
        .replace("\n\n", "\n");
    assert_eq!(
        std::fs::read_to_string(d.join("out/cert-chain.pem")).unwrap(),
        expect
    );
    std::fs::remove_dir_all(d.join("out")).unwrap();

    let r = build(d, "c3-cert.pem", "c3-dups.pem", "c3/ca-key.pem", &[]).ok();
    assert!(
        r.stderr.contains("c3-dups.pem: dropped a duplicate"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out/cert-chain.pem")).unwrap(),
        expect
    );
}

#[test]
fn expiring_soon_is_a_warning_not_a_refusal() {
    let dir = material();
    let d = dir.path();
    sh("pca-csr --cluster soon --json | pca-issue --ca file:root-ca --validity 10d | pca-get > soon.json", d).ok();
    let r = Cmd::tool("cacerts-build", d)
        .args(["--output", "dir=out"])
        .stdin(std::fs::read(d.join("soon.json")).unwrap())
        .run()
        .ok();
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("expires in"),
        "{}",
        r.stderr
    );
    let r = Cmd::tool("cacerts-build", d)
        .args(["--output", "dir=out2", "--warn-days", "5"])
        .stdin(std::fs::read(d.join("soon.json")).unwrap())
        .run()
        .ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}
