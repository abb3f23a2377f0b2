//! The AWS Private CA backend, run as a user runs it (processes, pipes, files) against
//! the ACM-PCA emulator: moto speaking the real JSON protocol, with the project's
//! extension making it behave as AWS documents (tests/support/pca_emulator).
//!
//! Each test starts its own emulator and bootstraps the CAs it needs there, as AWS
//! documents it (create, get CSR, issue, import), with tests/support/pca_emulator/bootstrap.py.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use pca_mesh_tests::*;
use serde_json::Value;

/// An emulator with CAs in it.
struct Pca {
    emu: PcaEmulator,
    cas: Value,
}

impl Pca {
    /// Starts an emulator and creates `cas` (NAME=KIND, see bootstrap.py).
    fn start(cas: &[&str]) -> Pca {
        let emu = PcaEmulator::start(&[]);
        let script = root().join("tests/support/pca_emulator/bootstrap.py");
        let mut cmd = Cmd::program(python(), &root())
            .args([script.as_os_str()])
            .args([emu.url()])
            .args(cas);
        for (k, v) in emu.env() {
            cmd = cmd.env(k, v);
        }
        let run = cmd.run().ok();
        let cas = json(&run.stdout);
        Pca { emu, cas }
    }

    fn arn(&self, name: &str) -> String {
        self.cas[name]
            .as_str()
            .unwrap_or_else(|| panic!("no CA {name} in {}", self.cas))
            .to_string()
    }

    /// Runs a bash pipeline with the tools on PATH and the emulator's AWS environment.
    fn sh(&self, script: &str, dir: &Path) -> Run {
        let mut cmd = Cmd::program("bash", dir)
            .args(["-euo", "pipefail", "-c", script])
            .env("PATH", tool_path());
        for (k, v) in self.emu.env() {
            cmd = cmd.env(k, v);
        }
        cmd.run()
    }

    /// `GET /_emulator/stats`.
    fn stats(&self) -> Value {
        json(&http(self.emu.url(), "GET", "/_emulator/stats", ""))
    }

    /// How many calls of `op` the emulator has answered (throttled ones included).
    fn calls(&self, op: &str) -> u64 {
        self.stats()["calls"][op].as_u64().unwrap_or(0)
    }

    /// Certificates actually issued by the CA named `name`.
    fn issued(&self, name: &str) -> u64 {
        self.stats()["issued"][self.arn(name)].as_u64().unwrap_or(0)
    }

    /// `POST /_emulator/config`.
    fn configure(&self, body: &str) {
        http(self.emu.url(), "POST", "/_emulator/config", body);
    }
}

/// PATH with the built tools first.
fn tool_path() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The number of PEM certificates in `text`.
fn count_certs(text: &str) -> usize {
    text.matches("-----BEGIN CERTIFICATE-----").count()
}

/// `openssl x509` facts about the first certificate in `pem`.
fn x509(pem: &str, dir: &Path, args: &[&str]) -> String {
    Cmd::program("openssl", dir)
        .args(["x509", "-noout"])
        .args(args)
        .stdin(pem)
        .run()
        .ok()
        .stdout
}

#[test]
fn pipeline_root_and_subordinate_issued_bundles_pass_openssl_strict() {
    let pca = Pca::start(&["root=root", "sub=sub:root"]);
    let dir = workdir();
    let d = dir.path();
    for (cluster, ca) in [("c1", "root"), ("c2", "sub")] {
        let script = format!(
            "pca-csr --cluster {cluster} --json | pca-issue --ca {arn} | pca-get | tee {cluster}.json \
             | cacerts-build --output dir={cluster}-cacerts",
            arn = pca.arn(ca)
        );
        pca.sh(&script, d).ok();
        let out = d.join(format!("{cluster}-cacerts"));
        let verify = Cmd::program("openssl", &out)
            .args([
                "verify",
                "-x509_strict",
                "-CAfile",
                "root-cert.pem",
                "-untrusted",
                "cert-chain.pem",
                "ca-cert.pem",
            ])
            .run()
            .ok();
        assert!(
            verify.stdout.contains("ca-cert.pem: OK"),
            "{}",
            verify.stdout
        );
        let ca_cert = std::fs::read_to_string(out.join("ca-cert.pem")).unwrap();
        assert_eq!(
            count_certs(&ca_cert),
            1,
            "ca-cert.pem must hold the intermediate alone"
        );
        let subject = x509(&ca_cert, d, &["-subject", "-ext", "basicConstraints"]);
        assert!(
            subject.contains(&format!("CN = {cluster}-cluster")),
            "{subject}"
        );
        assert!(subject.contains("CA:TRUE, pathlen:0"), "{subject}");
    }

    // Root PCA -> subordinate PCA -> cluster: the chain holds both, and --root is the
    // self-signed root, not the issuing (subordinate) CA.
    let c2 = json(&std::fs::read_to_string(d.join("c2.json")).unwrap());
    let chain = c2["chain"].as_str().unwrap();
    assert_eq!(count_certs(chain), 2, "{chain}");
    assert!(x509(chain, d, &["-subject"]).contains("CN = Test sub CA"));
    let id = c2["certificate_id"].as_str().unwrap();
    for script in [
        format!("pca-get --root {id}"),
        format!("pca-get --root --ca {}", pca.arn("sub")),
    ] {
        let root = pca.sh(&script, d).ok().stdout;
        assert_eq!(count_certs(&root), 1, "{root}");
        let facts = x509(&root, d, &["-subject", "-issuer"]);
        assert!(
            facts.contains("subject=C = US, O = pca-mesh tests, CN = Test root CA"),
            "{facts}"
        );
        assert!(
            facts.contains("issuer=C = US, O = pca-mesh tests, CN = Test root CA"),
            "{facts}"
        );
    }
    // A bare certificate id gives clean PEM: the certificate, then its chain.
    let pem = pca.sh(&format!("pca-get {id}"), d).ok().stdout;
    assert_eq!(count_certs(&pem), 3, "{pem}");
}

#[test]
fn short_lived_ca_refuses_a_year_before_any_issue_call() {
    let pca = Pca::start(&["short=short"]);
    let dir = workdir();
    let d = dir.path();
    let before = pca.calls("IssueCertificate");
    let run = pca.sh(
        &format!(
            "pca-csr --cluster s1 --json | pca-issue --ca {} --validity 1y",
            pca.arn("short")
        ),
        d,
    );
    run.fails(1, &["SHORT_LIVED_CERTIFICATE", "7 days", "--validity 7d"]);
    assert_eq!(
        pca.calls("IssueCertificate"),
        before,
        "the refusal must come before IssueCertificate"
    );
    // Within the limit it issues.
    let ok = pca.sh(
        &format!(
            "pca-csr --cluster s2 --json | pca-issue --ca {} --validity 7d | pca-get",
            pca.arn("short")
        ),
        d,
    );
    let cert = json(&ok.ok().stdout)["certificate"]
        .as_str()
        .unwrap()
        .to_string();
    let in_8_days = Cmd::program("openssl", d)
        .args(["x509", "-noout", "-checkend", "691200"])
        .stdin(cert)
        .run();
    assert!(
        in_8_days.stdout.contains("will expire"),
        "a 7-day certificate: {}",
        in_8_days.stdout
    );
    assert_eq!(
        pca.issued("short"),
        2,
        "the CA's own root certificate, then s2's: {}",
        pca.stats()
    );
}

#[test]
fn signing_algorithm_follows_the_ca_key() {
    let pca = Pca::start(&["root=root", "ec256=ec256", "ec384=ec384"]);
    let dir = workdir();
    let d = dir.path();
    for (ca, expect) in [
        ("ec256", "ecdsa-with-SHA256"),
        ("ec384", "ecdsa-with-SHA384"),
        ("root", "sha256WithRSAEncryption"),
    ] {
        let out = pca
            .sh(
                &format!(
                    "pca-csr --cluster {ca} --json | pca-issue --ca {} | pca-get",
                    pca.arn(ca)
                ),
                d,
            )
            .ok();
        let text = x509(
            json(&out.stdout)["certificate"].as_str().unwrap(),
            d,
            &["-text"],
        );
        let alg = text
            .lines()
            .find(|l| l.contains("Signature Algorithm"))
            .unwrap_or_default();
        assert!(alg.contains(expect), "{ca}: {alg}");
    }
    // An explicit algorithm for the other key family is refused before IssueCertificate.
    let before = pca.calls("IssueCertificate");
    pca.sh(
        &format!(
            "pca-csr --cluster m1 --json | pca-issue --ca {} --signing-algorithm SHA256WITHRSA",
            pca.arn("ec256")
        ),
        d,
    )
    .fails(1, &["SHA256WITHRSA does not match", "SHA256WITHECDSA"]);
    pca.sh(
        &format!(
            "pca-csr --cluster m2 --json | pca-issue --ca {} --signing-algorithm SHA384WITHECDSA",
            pca.arn("root")
        ),
        d,
    )
    .fails(1, &["does not match", "SHA256WITHRSA"]);
    assert_eq!(pca.calls("IssueCertificate"), before);
}

#[test]
fn throttling_every_other_call_still_issues_exactly_one_certificate_per_cluster() {
    let pca = Pca::start(&["root=root"]);
    let dir = workdir();
    let d = dir.path();
    let arn = pca.arn("root");
    let bootstrap = pca.issued("root"); // the CA's own root certificate
    pca.configure(r#"{"throttle_every": 2}"#);
    let clusters = ["t1", "t2", "t3"];
    for c in clusters {
        pca.sh(
            &format!("pca-csr --cluster {c} --json | pca-issue --ca {arn} | pca-get | tee {c}.json | cacerts-build --output dir={c}-cacerts"),
            d,
        )
        .ok();
    }
    let stats = pca.stats();
    assert!(stats["throttled"].as_u64().unwrap() >= 6, "{stats}");
    assert_eq!(
        pca.issued("root") - bootstrap,
        clusters.len() as u64,
        "{stats}"
    );
    // A rerun of pca-issue on the same CSR (the whole step retried) returns the same
    // certificate: the idempotency token, not luck.
    for c in clusters {
        let first = json(&std::fs::read_to_string(d.join(format!("{c}.json"))).unwrap());
        let again = pca
            .sh(
                &format!(
                    "jq '{{cluster, csr, key_file}}' {c}.json | pca-issue --ca {arn} --output id"
                ),
                d,
            )
            .ok();
        assert_eq!(
            again.stdout.trim(),
            first["certificate_id"].as_str().unwrap()
        );
    }
    assert_eq!(
        pca.issued("root") - bootstrap,
        clusters.len() as u64,
        "{}",
        pca.stats()
    );
}

#[test]
fn a_certificate_still_pending_past_wait_gives_a_timeout_message() {
    let pca = Pca::start(&["root=root"]);
    let dir = workdir();
    let d = dir.path();
    let arn = pca.arn("root");
    pca.configure(r#"{"pending_polls": 1000}"#);
    pca.sh(
        &format!("pca-csr --cluster p1 --json | pca-issue --ca {arn} > p1.issued"),
        d,
    )
    .ok();
    let started = Instant::now();
    let run = pca.sh("pca-get --wait 1500ms < p1.issued", d);
    let took = started.elapsed();
    run.fails(
        1,
        &[
            "still issuing",
            "RequestInProgressException",
            "1500ms",
            "--wait",
        ],
    );
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(8),
        "took {took:?}"
    );
    assert!(
        pca.calls("GetCertificate") >= 4,
        "pca-get should poll with backoff: {}",
        pca.stats()
    );
    // A few polls within the wait: it waits them out and succeeds.
    pca.configure(r#"{"pending_polls": 2}"#);
    let out = pca
        .sh(
            &format!("pca-csr --cluster p2 --json | pca-issue --ca {arn} | pca-get"),
            d,
        )
        .ok();
    assert_eq!(
        count_certs(json(&out.stdout)["certificate"].as_str().unwrap()),
        1
    );
    assert!(
        !out.stderr.contains("waiting"),
        "no progress line when stderr is not a terminal: {}",
        out.stderr
    );
}

#[test]
fn wrong_region_arn_endpoint_and_profile_each_say_what_to_check() {
    let pca = Pca::start(&["root=root", "pending=pending"]);
    let dir = workdir();
    let d = dir.path();
    let arn = pca.arn("root");
    pca.sh("pca-csr --cluster w1 --json > w1.json", d).ok();
    let issue = |flags: &str| pca.sh(&format!("pca-issue {flags} < w1.json"), d);

    issue(&format!("--ca {arn} --region eu-west-1")).fails(
        1,
        &[
            "not found in region eu-west-1",
            "the ARN names region us-east-1",
            "drop --region or set it to us-east-1",
        ],
    );
    let unknown = format!("{}-000000000000", arn.rsplit_once('-').unwrap().0);
    issue(&format!("--ca {unknown}")).fails(
        1,
        &[&unknown, "not found in region us-east-1", "check the ARN"],
    );
    issue("--ca arn:aws:acm-pca:us-east-1:12345:certificate-authority/x").fails(
        1,
        &[
            "not a valid ARN",
            "arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID",
        ],
    );
    issue("--ca arn:aws:acm:us-east-1:123456789012:certificate/x")
        .fails(2, &["not an AWS Private CA ARN", "not acm-pca"]);
    issue(&format!("--ca {arn}/certificate/abc")).fails(2, &["names a certificate, not its CA"]);
    // A CA whose certificate was never imported: refused from Describe before issuing,
    // and PCA's InvalidStateException on its certificate says what state it needs.
    let pending = pca.arn("pending");
    issue(&format!("--ca {pending}")).fails(1, &["PENDING_CERTIFICATE, not ACTIVE"]);
    pca.sh(&format!("pca-get --root --ca {pending}"), d).fails(
        1,
        &[
            "state does not allow GetCertificateAuthorityCertificate",
            "must be ACTIVE",
            "describe-certificate-authority",
        ],
    );
    issue(&format!("--ca {arn} --endpoint-url http://127.0.0.1:9")).fails(
        1,
        &[
            "cannot reach the ACM-PCA endpoint http://127.0.0.1:9",
            "refused",
            "--endpoint-url",
        ],
    );

    // Credentials: a profile that is not defined, and one that cannot give any.
    let home = d.join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/config"),
        "[default]\nregion = us-east-1\n[profile broken]\nrole_arn = arn:aws:iam::123456789012:role/x\n",
    )
    .unwrap();
    let bare = |profile: &str| {
        Cmd::program("env", d)
            .args([
                "-i",
                &format!("PATH={}", tool_path()),
                &format!("HOME={}", home.display()),
            ])
            .args([
                "AWS_EC2_METADATA_DISABLED=true",
                "pca-issue",
                "--ca",
                &arn,
                "--endpoint-url",
                pca.emu.url(),
            ])
            .args(["--profile", profile])
            .stdin(std::fs::read(d.join("w1.json")).unwrap())
            .run()
    };
    bare("nosuch").fails(
        1,
        &[
            "shared config and credentials files",
            "`nosuch` was not defined",
            "--profile/AWS_PROFILE",
        ],
    );
    bare("broken").fails(
        1,
        &[
            "shared config and credentials files",
            "`broken`",
            "--profile/AWS_PROFILE",
        ],
    );
    assert_eq!(
        pca.calls("IssueCertificate"),
        1,
        "only the bootstrap issued: {}",
        pca.stats()
    );
}

#[test]
fn no_credentials_fails_fast_with_what_to_set() {
    let pca = Pca::start(&["root=root"]);
    let dir = workdir();
    let d = dir.path();
    pca.sh("pca-csr --cluster n1 --json > n1.json", d).ok();
    // A laptop: no keys, no ~/.aws, and an instance-metadata address that accepts
    // connections and never answers (the worst case for a probe).
    let imds = TcpListener::bind("127.0.0.1:0").unwrap();
    let imds_url = format!("http://{}", imds.local_addr().unwrap());
    let home = d.join("empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let before = pca.stats()["calls"].clone();
    let started = Instant::now();
    let run = Cmd::program("env", d)
        .args([
            "-i",
            &format!("PATH={}", tool_path()),
            &format!("HOME={}", home.display()),
        ])
        .args([format!("AWS_EC2_METADATA_SERVICE_ENDPOINT={imds_url}")])
        .args([
            "pca-issue",
            "--ca",
            &pca.arn("root"),
            "--endpoint-url",
            pca.emu.url(),
        ])
        .stdin(std::fs::read(d.join("n1.json")).unwrap())
        .run();
    let took = started.elapsed();
    eprintln!("no-credentials failure took {took:?}");
    run.fails(
        1,
        &[
            "no AWS credentials found",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
        ],
    );
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the instance-metadata probe must not hang"
    );
    assert_eq!(
        pca.stats()["calls"],
        before,
        "no ACM-PCA call without credentials"
    );
    drop(imds);
}

#[test]
fn revoke_a_cluster_intermediate_by_bundle_or_pem() {
    let pca = Pca::start(&["root=root", "sub=sub:root"]);
    let dir = workdir();
    let d = dir.path();
    let root = pca.arn("root");
    pca.sh(&format!("for c in r1 r2; do pca-csr --cluster $c --json | pca-issue --ca {root} | pca-get > $c.json; done"), d).ok();

    let out = pca.sh("pca-revoke < r1.json", d).ok();
    let done = json(&out.stdout);
    let serial = x509(
        json(&std::fs::read_to_string(d.join("r1.json")).unwrap())["certificate"]
            .as_str()
            .unwrap(),
        d,
        &["-serial"],
    );
    let serial = serial
        .trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase();
    assert_eq!(
        done["serial"].as_str().unwrap().replace(':', ""),
        serial.trim_start_matches("00")
    );
    assert_eq!(done["reason"], "KEY_COMPROMISE");
    assert_eq!(done["ca"], root.as_str());
    assert_eq!(done["cluster"], "r1");
    assert!(
        done["subject"].as_str().unwrap().contains("CN=r1-cluster"),
        "{done}"
    );
    assert_eq!(pca.calls("RevokeCertificate"), 1);

    pca.sh("pca-revoke < r1.json", d)
        .fails(1, &["already revoked"]);
    // The wrong CA is refused before any RevokeCertificate: a serial alone could name
    // another CA's certificate.
    pca.sh(
        &format!(
            "jq -r .certificate r2.json | pca-revoke --ca {}",
            pca.arn("sub")
        ),
        d,
    )
    .fails(1, &["was not issued by", "nothing was revoked", "--ca"]);
    assert_eq!(pca.calls("RevokeCertificate"), 2);
    // PEM from a file, another reason.
    pca.sh("jq -r .certificate r2.json > r2.pem", d).ok();
    let out = pca
        .sh(
            &format!("pca-revoke r2.pem --ca {root} --reason SUPERSEDED"),
            d,
        )
        .ok();
    assert_eq!(json(&out.stdout)["reason"], "SUPERSEDED");
    pca.sh(
        &format!("pca-revoke r2.pem --ca {root} --reason SOMETIME"),
        d,
    )
    .fails(2, &["unknown revocation reason"]);
    // A chain is not one certificate: refused rather than guessing which to revoke.
    pca.sh(
        &format!("jq -r '.certificate + .chain' r2.json | pca-revoke --ca {root}"),
        d,
    )
    .fails(3, &["holds 2 certificates", "exactly one was expected"]);
}

#[test]
fn revoke_at_a_local_ca_records_it_in_the_ca_directory() {
    let dir = workdir();
    let d = dir.path();
    sh("pca-issue --init-root ca >/dev/null && pca-csr --cluster l1 --json | pca-issue --ca file:ca | pca-get > l1.json", d).ok();
    let out = sh("pca-revoke < l1.json", d).ok();
    let done = json(&out.stdout);
    let recorded = json(&std::fs::read_to_string(d.join("ca/revoked.json")).unwrap());
    let key = done["serial"].as_str().unwrap().replace(':', "");
    assert_eq!(recorded[&key]["reason"], "KEY_COMPROMISE", "{recorded}");
    sh("pca-revoke < l1.json", d).fails(1, &["already revoked"]);
}

#[test]
fn guide_runbook_against_the_same_ca_lacks_the_chain_our_bundle_has() {
    let pca = Pca::start(&["root=root", "sub=sub:root"]);
    let dir = workdir();
    let d = dir.path();
    let runbook = root().join("scripts/guide-runbook.sh");
    for (cluster, ca) in [("g1", "root"), ("g2", "sub")] {
        let arn = pca.arn(ca);
        // The guide's commands, as printed (aws CLI v1 reaches the emulator through AWS_ENDPOINT_URL).
        pca.sh(
            &format!(
                "CLUSTER_NAME={cluster}-guide AWS_REGION=us-east-1 CERT_AUTHORITY={arn} {}",
                runbook.display()
            ),
            d,
        )
        .ok();
        // Ours, on the same CA.
        pca.sh(&format!("pca-csr --cluster {cluster} --json | pca-issue --ca {arn} | pca-get > {cluster}.json"), d).ok();
        pca.sh(
            &format!("cacerts-build --output dir={cluster}-cacerts < {cluster}.json"),
            d,
        )
        .ok();

        let g = d.join(format!("{cluster}-guide"));
        let secret = json(&std::fs::read_to_string(g.join("cacerts-secret.json")).unwrap());
        let keys: Vec<&str> = secret["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["ca-cert.pem", "ca-key.pem", "root-cert.pem"],
            "the guide's secret: no cert-chain.pem"
        );
        for f in [
            "ca-cert.pem",
            "ca-key.pem",
            "root-cert.pem",
            "cert-chain.pem",
        ] {
            assert!(
                d.join(format!("{cluster}-cacerts/{f}")).exists(),
                "ours has {f}"
            );
        }
        let guide_cert =
            std::fs::read_to_string(g.join(format!("{cluster}-guide-cert.pem"))).unwrap();
        let expected = if ca == "root" { 2 } else { 3 };
        assert_eq!(
            count_certs(&guide_cert),
            expected,
            "the sed pipe packs certificate and chain into ca-cert.pem"
        );
        // cacerts-build refuses the guide's files, naming the fault; nothing is written.
        let refused = Cmd::tool("cacerts-build", d)
            .args(["--output", &format!("dir={cluster}-refused")])
            .args([format!("--cert={cluster}-guide/{cluster}-guide-cert.pem")])
            .args([format!(
                "--key={cluster}-guide/{cluster}-guide-priv-key.pem"
            )])
            .run();
        assert_ne!(refused.code, 0);
        assert!(
            refused.stderr.contains(&format!(
                "{cluster}-guide-cert.pem holds {expected} certificates"
            )),
            "{}",
            refused.stderr
        );
        assert!(!d.join(format!("{cluster}-refused")).exists());

        // Same template extensions and issuer on both intermediates.
        let ours = json(&std::fs::read_to_string(d.join(format!("{cluster}.json"))).unwrap());
        let facts = |pem: &str| x509(pem, d, &["-issuer", "-ext", "basicConstraints,keyUsage"]);
        let (theirs, mine) = (
            facts(&guide_cert),
            facts(ours["certificate"].as_str().unwrap()),
        );
        assert_eq!(theirs, mine);
        assert!(
            mine.contains("CA:TRUE, pathlen:0") && mine.contains("Certificate Sign"),
            "{mine}"
        );

        // The guide's "root" is the issuing CA's answer as text: for a subordinate PCA it
        // is the subordinate certificate (then a tab and the chain), not the root.
        let guide_root = std::fs::read_to_string(g.join("root-cert.pem")).unwrap();
        let our_root = ours["root"].as_str().unwrap();
        assert!(x509(our_root, d, &["-subject"]).contains("Test root CA"));
        let guide_root_subject = x509(&guide_root, d, &["-subject"]);
        if ca == "root" {
            assert!(
                guide_root_subject.contains("Test root CA"),
                "{guide_root_subject}"
            );
        } else {
            assert!(
                guide_root_subject.contains("Test sub CA"),
                "{guide_root_subject}"
            );
        }
    }
}
