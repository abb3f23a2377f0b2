//! Agreement between `pca_mesh::verify` and the real OpenSSL (`openssl verify
//! -x509_strict`), on a corpus of good and bad bundles made at test time with rcgen
//! and, for what rcgen cannot make (SHA-1, RSA-1024, ECDSA with SHA-512), the
//! `openssl` CLI.
//!
//! Two OpenSSL views are recorded: verifying the CA certificate itself (the command
//! the guide's users run), and verifying a workload certificate signed by the CA's
//! key through the whole chain (what Envoy does at runtime). The rules asserted:
//! whenever either OpenSSL view refuses, `verify` refuses; whenever `verify` accepts,
//! both OpenSSL views accept. A table of verdicts is printed to stderr.

use std::path::Path;
use std::process::Command;

use pca_mesh::pemfile::Named;
use pca_mesh::verify::{Candidate, Fault, Judge, Options, verify};
use rcgen::{CustomExtension, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use time::{Duration, OffsetDateTime};

mod fixtures {
    pub mod hierarchy;
}
use fixtures::hierarchy::*;

/// A bundle as files would hold it: DERs and a PKCS#8 key.
struct Case {
    name: String,
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    root: Vec<u8>,
    key: Vec<u8>,
    /// PEM label of `key`: PKCS#8, PKCS#1 or SEC1.
    key_label: String,
    /// What the corpus author intends: `None` for a good bundle.
    expect: Option<Fault>,
}

// ---- rcgen-made hierarchies ------------------------------------------------------

fn case(name: &str, cert: &Ca, chain: &[&Ca], root: &Ca, expect: Option<Fault>) -> Case {
    Case {
        name: name.into(),
        cert: cert.der.clone(),
        chain: chain.iter().map(|c| c.der.clone()).collect(),
        root: root.der.clone(),
        key: cert.key.serialize_der(),
        key_label: "PRIVATE KEY".into(),
        expect,
    }
}

fn rcgen_cases() -> Vec<Case> {
    let mut v = Vec::new();

    let r = root("Root CA");
    let i = issue(params("east-cluster", pathlen(0)), &r);
    v.push(case("good root->cluster(PathLen0)", &i, &[&r], &r, None));
    v.push(case("good, root only in root.pem", &i, &[], &r, None));

    let s = issue(params("Sub CA", pathlen(1)), &r);
    let c = issue(params("east-cluster", pathlen(0)), &s);
    v.push(case(
        "good root->sub(PathLen1)->cluster",
        &c,
        &[&s, &r],
        &r,
        None,
    ));
    v.push(case("chain out of order", &c, &[&r, &s], &r, None));
    v.push(case("duplicate intermediate", &c, &[&s, &s, &r], &r, None));
    v.push(case("cert itself in chain", &c, &[&c, &s, &r], &r, None));
    v.push(case(
        "missing intermediate",
        &c,
        &[&r],
        &r,
        Some(Fault::ChainIncomplete),
    ));

    let other = root("Other Root CA");
    v.push(case(
        "wrong root",
        &c,
        &[&s, &r],
        &other,
        Some(Fault::WrongRoot),
    ));
    v.push(case(
        "wrong root, chain without its root",
        &c,
        &[&s],
        &other,
        Some(Fault::ChainIncomplete),
    ));
    let lookalike = root("Root CA");
    v.push(case(
        "look-alike root (same name, other key)",
        &c,
        &[&s],
        &lookalike,
        Some(Fault::WrongRoot),
    ));
    v.push(case(
        "intermediate as root",
        &c,
        &[&s],
        &s,
        Some(Fault::WrongRoot),
    ));
    let stray = root("Unrelated CA");
    v.push(case(
        "unrelated cert in chain",
        &c,
        &[&s, &stray],
        &r,
        Some(Fault::UnrelatedCertificate),
    ));

    let mut mismatch = case("key mismatch", &i, &[&r], &r, Some(Fault::KeyMismatch));
    mismatch.key = c.key.serialize_der();
    v.push(mismatch);

    let mut p = params("Sub CA", pathlen(1));
    p.not_before = now() - Duration::days(400);
    p.not_after = now() - Duration::days(3);
    let old = issue(p, &r);
    let c2 = issue(params("east-cluster", pathlen(0)), &old);
    v.push(case(
        "expired intermediate",
        &c2,
        &[&old],
        &r,
        Some(Fault::Expired),
    ));

    let mut p = params("east-cluster", pathlen(0));
    p.not_before = now() + Duration::days(2);
    let early = issue(p, &r);
    v.push(case(
        "not yet valid",
        &early,
        &[],
        &r,
        Some(Fault::NotYetValid),
    ));

    let mut p = params("east-cluster", IsCa::ExplicitNoCa);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let ee = issue(p, &r);
    v.push(case("EE used as CA", &ee, &[], &r, Some(Fault::NotCa)));

    let s0 = issue(params("Sub CA", pathlen(0)), &r);
    let c3 = issue(params("east-cluster", pathlen(0)), &s0);
    v.push(case(
        "pathlen: PathLen0 sub with CA under it",
        &c3,
        &[&s0],
        &r,
        Some(Fault::PathLen),
    ));

    let mut p = params("Sub CA", pathlen(1));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let se = issue(p, &r);
    let c4 = issue(params("east-cluster", pathlen(0)), &se);
    v.push(case(
        "intermediate EKU serverAuth only",
        &c4,
        &[&se],
        &r,
        Some(Fault::ExtendedKeyUsage),
    ));

    let mut p = params("east-cluster", pathlen(0));
    p.use_authority_key_identifier_extension = false;
    let noaki = issue(p, &r);
    v.push(case(
        "no authorityKeyIdentifier",
        &noaki,
        &[],
        &r,
        Some(Fault::StrictProfile),
    ));

    // nameConstraints permitting URI host cluster.local: OpenSSL applies it, webpki fails closed.
    let mut p = params("east-cluster", pathlen(0));
    let nc = vec![0x30, 0x13, 0xA0, 0x11, 0x30, 0x0F, 0x86, 0x0D];
    let mut ext = CustomExtension::from_oid_content(
        &[2, 5, 29, 30],
        [nc, b"cluster.local".to_vec()].concat(),
    );
    ext.set_criticality(true);
    p.custom_extensions = vec![ext];
    let ncca = issue(p, &r);
    v.push(case(
        "URI name constraint (trust domain)",
        &ncca,
        &[],
        &r,
        Some(Fault::WorkloadRejected),
    ));

    let mut p = params("east-cluster", pathlen(0));
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions = vec![ext];
    let crit = issue(p, &r);
    v.push(case(
        "unknown critical extension",
        &crit,
        &[],
        &r,
        Some(Fault::UnknownCriticalExtension),
    ));
    v
}

// ---- openssl-made hierarchies ----------------------------------------------------

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[v3_pl1]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_pl0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = critical, URI:spiffe://cluster.local/ns/default/sa/default
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Runs openssl in `dir`; Ok(stdout+stderr) on success, Err(output) otherwise.
fn openssl(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env("OPENSSL_CONF", dir.join("openssl.cnf"))
        .output()
        .expect("openssl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn must(dir: &Path, args: &[&str]) {
    if let Err(e) = openssl(dir, args) {
        panic!("openssl {}: {e}", args.join(" "));
    }
}

/// `spec`: "rsa:2048", "rsa:1024" or "ec".
fn genkey(dir: &Path, name: &str, spec: &str) {
    let out = format!("{name}.key");
    match spec.split_once(':') {
        Some(("rsa", bits)) => {
            let b = format!("rsa_keygen_bits:{bits}");
            must(
                dir,
                &["genpkey", "-algorithm", "RSA", "-pkeyopt", &b, "-out", &out],
            );
        }
        _ => must(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &out,
            ],
        ),
    }
}

fn ossl_root(dir: &Path, name: &str, cn: &str, spec: &str) {
    genkey(dir, name, spec);
    let (k, o, s) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={cn}"),
    );
    must(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &k,
            "-subj",
            &s,
            "-days",
            "365",
            "-sha256",
            "-config",
            "openssl.cnf",
            "-extensions",
            "v3_root",
            "-out",
            &o,
        ],
    );
}

fn ossl_issue(dir: &Path, name: &str, cn: &str, spec: &str, issuer: &str, digest: &str, ext: &str) {
    genkey(dir, name, spec);
    let (k, o, s, csr) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={cn}"),
        format!("{name}.csr"),
    );
    must(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &k,
            "-subj",
            &s,
            "-config",
            "openssl.cnf",
            "-out",
            &csr,
        ],
    );
    let (ica, ikey, dg) = (
        format!("{issuer}.pem"),
        format!("{issuer}.key"),
        format!("-{digest}"),
    );
    must(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ica,
            "-CAkey",
            &ikey,
            "-set_serial",
            "0x1234abcd",
            "-days",
            "300",
            &dg,
            "-extfile",
            "openssl.cnf",
            "-extensions",
            ext,
            "-out",
            &o,
        ],
    );
}

fn read_label(dir: &Path, file: &str) -> String {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    pem::parse(text).unwrap().tag().to_string()
}

fn read_der(dir: &Path, file: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    pem::parse(text).unwrap().into_contents()
}

fn openssl_cases(work: &Path) -> Vec<Case> {
    let mut v = Vec::new();
    let mut make = |name: &str, build: &dyn Fn(&Path), chain: &[&str], expect: Option<Fault>| {
        let dir = work.join(format!("gen-{}", v.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        build(&dir);
        v.push(Case {
            name: name.into(),
            cert: read_der(&dir, "cluster.pem"),
            chain: chain
                .iter()
                .map(|c| read_der(&dir, &format!("{c}.pem")))
                .collect(),
            root: read_der(&dir, "root.pem"),
            key: read_der(&dir, "cluster.key"),
            key_label: read_label(&dir, "cluster.key"),
            expect,
        });
    };
    make(
        "openssl-made good (RSA, 3 levels)",
        &|d| {
            ossl_root(d, "root", "Root CA", "rsa:2048");
            ossl_issue(d, "sub", "Sub CA", "rsa:2048", "root", "sha256", "v3_pl1");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "rsa:2048",
                "sub",
                "sha256",
                "v3_pl0",
            );
        },
        &["sub"],
        None,
    );
    make(
        "openssl-made good, PKCS#1 key",
        &|d| {
            ossl_root(d, "root", "Root CA", "rsa:2048");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "rsa:2048",
                "root",
                "sha256",
                "v3_pl0",
            );
            must(
                d,
                &[
                    "rsa",
                    "-in",
                    "cluster.key",
                    "-traditional",
                    "-out",
                    "cluster.key",
                ],
            );
        },
        &[],
        None,
    );
    make(
        "openssl-made good, EC P-256 with SEC1 key",
        &|d| {
            ossl_root(d, "root", "Root CA", "ec");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "ec",
                "root",
                "sha256",
                "v3_pl0",
            );
            must(d, &["ec", "-in", "cluster.key", "-out", "cluster.key"]);
        },
        &[],
        None,
    );
    make(
        "RSA-1024 intermediate",
        &|d| {
            ossl_root(d, "root", "Root CA", "rsa:2048");
            ossl_issue(d, "sub", "Sub CA", "rsa:1024", "root", "sha256", "v3_pl1");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "rsa:2048",
                "sub",
                "sha256",
                "v3_pl0",
            );
        },
        &["sub"],
        Some(Fault::WeakKey),
    );
    make(
        "SHA-1-signed intermediate",
        &|d| {
            ossl_root(d, "root", "Root CA", "rsa:2048");
            ossl_issue(d, "sub", "Sub CA", "rsa:2048", "root", "sha1", "v3_pl1");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "rsa:2048",
                "sub",
                "sha256",
                "v3_pl0",
            );
        },
        &["sub"],
        Some(Fault::WeakSignature),
    );
    make(
        "EC P-256 CA signing with SHA-512",
        &|d| {
            ossl_root(d, "root", "Root CA", "ec");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "ec",
                "root",
                "sha512",
                "v3_pl0",
            );
        },
        &[],
        Some(Fault::UnsupportedAlgorithm),
    );
    make(
        "EC P-256 sub signing SHA-512, 3 levels",
        &|d| {
            ossl_root(d, "root", "Root CA", "ec");
            ossl_issue(d, "sub", "Sub CA", "ec", "root", "sha512", "v3_pl1");
            ossl_issue(
                d,
                "cluster",
                "east-cluster",
                "ec",
                "sub",
                "sha256",
                "v3_pl0",
            );
        },
        &["sub"],
        Some(Fault::UnsupportedAlgorithm),
    );
    v
}

// ---- running the judges ------------------------------------------------------------

fn write_pem(path: &Path, label: &str, ders: &[&[u8]]) {
    let text: String = ders
        .iter()
        .map(|d| pem::encode(&pem::Pem::new(label, d.to_vec())))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// `openssl verify -x509_strict -CAfile root.pem [-untrusted chain.pem] target`.
fn openssl_verify(
    dir: &Path,
    target: &str,
    untrusted: &str,
    has_untrusted: bool,
) -> Result<(), String> {
    let mut args = vec!["verify", "-x509_strict", "-CAfile", "root.pem"];
    if has_untrusted {
        args.extend(["-untrusted", untrusted]);
    }
    args.push(target);
    openssl(dir, &args).map(|_| ()).map_err(|e| {
        e.lines()
            .find(|l| l.contains("error "))
            .unwrap_or(e.trim())
            .to_string()
    })
}

/// Envoy's runtime view: a workload certificate signed with the CA key, verified
/// through cert + chain. `None` when OpenSSL cannot even sign it (key mismatch).
fn openssl_leaf_verdict(dir: &Path, has_chain: bool) -> Option<Result<(), String>> {
    must(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "leaf.key",
        ],
    );
    must(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/O=cluster.local",
            "-config",
            "openssl.cnf",
            "-out",
            "leaf.csr",
        ],
    );
    let signed = openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "cert.pem",
            "-CAkey",
            "key.pem",
            "-set_serial",
            "7",
            "-days",
            "1",
            "-sha256",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "v3_leaf",
            "-out",
            "leaf.pem",
        ],
    );
    if signed.is_err() {
        return None;
    }
    let _ = has_chain;
    Some(openssl_verify(dir, "leaf.pem", "leaf-chain.pem", true))
}

fn verdict(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "accept".into(),
        Err(e) => {
            // "error 20 at 0 depth lookup: unable to get local issuer certificate" -> the reason.
            let reason = e.rsplit(": ").next().unwrap_or(e);
            format!("refuse ({reason})")
        }
    }
}

#[test]
fn verify_agrees_with_openssl() {
    let work = tempfile::tempdir().unwrap();
    let mut cases = rcgen_cases();
    cases.extend(openssl_cases(work.path()));
    let options = Options {
        now: OffsetDateTime::now_utc(),
        warn_within: Duration::days(30),
    };

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let dir = work.path().join(format!("case-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        write_pem(&dir.join("cert.pem"), "CERTIFICATE", &[&c.cert]);
        let chain: Vec<&[u8]> = c.chain.iter().map(|d| d.as_slice()).collect();
        write_pem(&dir.join("chain.pem"), "CERTIFICATE", &chain);
        let mut leaf_chain = vec![c.cert.as_slice()];
        leaf_chain.extend(&chain);
        write_pem(&dir.join("leaf-chain.pem"), "CERTIFICATE", &leaf_chain);
        write_pem(&dir.join("root.pem"), "CERTIFICATE", &[&c.root]);
        write_pem(&dir.join("key.pem"), &c.key_label, &[&c.key]);

        let ossl_ca = openssl_verify(&dir, "cert.pem", "chain.pem", !c.chain.is_empty());
        let ossl_leaf = openssl_leaf_verdict(&dir, !c.chain.is_empty());

        let candidate = Candidate {
            cert: Named {
                source: "cert.pem".into(),
                der: c.cert.clone(),
            },
            chain: c
                .chain
                .iter()
                .map(|d| Named {
                    source: "chain.pem".into(),
                    der: d.clone(),
                })
                .collect(),
            root: Some(Named {
                source: "root.pem".into(),
                der: c.root.clone(),
            }),
            key: Some((
                Named {
                    source: "key.pem".into(),
                    der: c.key.clone(),
                },
                c.key_label.clone(),
            )),
        };
        let ours = verify(&candidate, &options);
        // With a key given, the rustls-webpki probe must have run, not been skipped.
        if let Ok(v) = &ours
            && let Some(n) = v.notes.iter().find(|n| n.contains("skipped"))
        {
            problems.push(format!("{}: {n}", c.name));
        }

        let openssl_refuses = ossl_ca.is_err() || matches!(ossl_leaf, Some(Err(_)));
        match (&ours, openssl_refuses) {
            (Ok(_), true) => {
                problems.push(format!("{}: OpenSSL refuses but verify accepts", c.name))
            }
            (Ok(_), false) | (Err(_), _) => {}
        }
        match (&ours, c.expect) {
            (Ok(_), None) => {}
            (Err(r), Some(f)) if r.fault == f => {}
            (Ok(_), Some(f)) => problems.push(format!("{}: accepted, expected {f:?}", c.name)),
            (Err(r), _) => problems.push(format!(
                "{}: refused with {:?}, expected {:?}: {r}",
                c.name, r.fault, c.expect
            )),
        }
        let (ours_s, judge) = match &ours {
            Ok(_) => ("accept".to_string(), String::new()),
            Err(r) => (format!("refuse {:?}", r.fault), r.judge.to_string()),
        };
        rows.push([
            c.name.clone(),
            verdict(&ossl_ca),
            ossl_leaf.as_ref().map_or("(cannot sign)".into(), verdict),
            ours_s,
            judge,
        ]);
        if let Err(r) = &ours {
            eprintln!("  {}: {r}", c.name);
        }
    }

    let head = [
        "case",
        "openssl verify ca-cert",
        "openssl verify workload leaf",
        "verify()",
        "judge",
    ];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    eprintln!("\n{}", line(head));
    eprintln!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    for r in &rows {
        eprintln!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let judged = |j: Judge| rows.iter().filter(|r| r[4] == j.to_string()).count();
    eprintln!(
        "\n{} cases; refusals by judge: OpenSSL/Envoy {}, rustls-webpki/ztunnel {}, istiod {}",
        rows.len(),
        judged(Judge::OpenSsl),
        judged(Judge::Webpki),
        judged(Judge::Istiod)
    );
    assert!(
        problems.is_empty(),
        "disagreements:\n{}",
        problems.join("\n")
    );
}
