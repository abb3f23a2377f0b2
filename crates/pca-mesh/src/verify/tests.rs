//! A table of bundles built with rcgen at test time, one per refusal, plus the good
//! shapes. Each refusal asserts the fault, the judge and the source named, so removing
//! the check it exercises makes it fail (another check reports something else, or
//! nothing does).

use rcgen::{
    CustomExtension, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
};
use time::Duration;

use super::*;

#[path = "../../tests/fixtures/hierarchy.rs"]
mod hierarchy;
use hierarchy::*;

const CERT: &str = "ca-cert.pem";
const CHAIN: &str = "chain.pem";
const ROOT: &str = "root-cert.pem";
const KEY: &str = "ca-key.pem";

fn opts() -> Options {
    Options {
        now: now(),
        warn_within: Duration::days(30),
    }
}

fn named(source: &str, der: &[u8]) -> Named {
    Named {
        source: source.to_string(),
        der: der.to_vec(),
    }
}

/// The bundle as `cacerts-build` would hand it over: cert, chain, root, key.
fn bundle(cert: &Ca, chain: &[&Ca], root: Option<&Ca>, with_key: bool) -> Candidate {
    Candidate {
        cert: named(CERT, &cert.der),
        chain: chain.iter().map(|c| named(CHAIN, &c.der)).collect(),
        root: root.map(|r| named(ROOT, &r.der)),
        key: with_key.then(|| {
            (
                named(KEY, &cert.key.serialize_der()),
                "PRIVATE KEY".to_string(),
            )
        }),
    }
}

/// The AWS PCA shape: root → cluster intermediate (PathLen0).
fn two_level() -> (Ca, Ca) {
    let r = root("Root CA");
    let i = issue(params("east-cluster", pathlen(0)), &r);
    (r, i)
}

/// Subordinate-PCA shape: root → Sub CA (PathLen1) → cluster (PathLen0).
fn three_level() -> (Ca, Ca, Ca) {
    let r = root("Root CA");
    let s = issue(params("Sub CA", pathlen(1)), &r);
    let c = issue(params("east-cluster", pathlen(0)), &s);
    (r, s, c)
}

/// Replaces every occurrence of `from` (a DER-encoded OID) in `der` with `to` (same
/// length). The signature no longer verifies, which is fine for checks that run
/// before signature verification and must fire first.
fn patch(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = der.to_vec();
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0, "OID to patch not found");
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match content.len() {
        n if n < 0x80 => v.push(n as u8),
        n if n < 0x100 => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

/// A 1024-bit RSA SubjectPublicKeyInfo (the modulus need not factor: only its size matters).
fn rsa1024_spki() -> rcgen::SubjectPublicKeyInfo {
    let mut modulus = vec![0x00, 0xC3];
    modulus.extend(std::iter::repeat_n(0x5A, 126));
    modulus.push(0x01);
    let rsa_key = tlv(0x30, &[tlv(0x02, &modulus), tlv(0x02, &[1, 0, 1])].concat());
    let mut bits = vec![0];
    bits.extend(rsa_key);
    let alg = tlv(
        0x30,
        &[
            tlv(
                0x06,
                &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let spki = tlv(0x30, &[alg, tlv(0x03, &bits)].concat());
    rcgen::SubjectPublicKeyInfo::from_der(&spki).expect("spki")
}

fn assert_refused(
    name: &str,
    c: &Candidate,
    fault: Fault,
    judge: Judge,
    source: &str,
    mentions: &str,
) {
    let r = match verify(c, &opts()) {
        Ok(v) => panic!(
            "{name}: accepted, expected {fault:?} by {judge:?}; notes {:?}",
            v.notes
        ),
        Err(r) => r,
    };
    let msg = r.to_string();
    assert_eq!(r.fault, fault, "{name}: {msg}");
    assert_eq!(r.judge, judge, "{name}: {msg}");
    assert_eq!(r.source_name, source, "{name}: {msg}");
    assert!(msg.starts_with(&format!("{source}: ")), "{name}: {msg}");
    assert!(
        msg.contains(mentions),
        "{name}: expected {mentions:?} in {msg}"
    );
    assert!(msg.contains("would reject it"), "{name}: {msg}");
}

#[test]
fn good_two_level_bundle() {
    let (r, i) = two_level();
    let v = verify(&bundle(&i, &[&r], None, true), &opts()).expect("accepted");
    assert_eq!(v.cert, i.der);
    assert_eq!(v.chain, vec![r.der.clone()]);
    assert_eq!(v.root, r.der);
    assert!(v.notes.is_empty(), "{:?}", v.notes);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);

    // The root given separately and absent from the chain: same result.
    let v = verify(&bundle(&i, &[], Some(&r), true), &opts()).expect("accepted");
    assert_eq!(v.chain, vec![r.der.clone()]);
}

#[test]
fn good_three_level_bundle() {
    let (r, s, c) = three_level();
    let v = verify(&bundle(&c, &[&s, &r], Some(&r), true), &opts()).expect("accepted");
    assert_eq!(v.chain, vec![s.der.clone(), r.der.clone()]);
    assert_eq!(v.root, r.der);
    assert!(v.notes.is_empty(), "{:?}", v.notes);
}

#[test]
fn normalises_order_and_duplicates() {
    let (r, s, c) = three_level();
    // Root first, a duplicate of the Sub CA, and the cert itself (cert-chain.pem style).
    let v = verify(&bundle(&c, &[&c, &r, &s, &s], None, true), &opts()).expect("accepted");
    assert_eq!(v.chain, vec![s.der.clone(), r.der.clone()]);
    let notes = v.notes.join("\n");
    assert!(
        notes.contains("chain.pem: reordered 2 certificates into issuer order"),
        "{notes}"
    );
    assert!(
        notes.contains("chain.pem: dropped a duplicate of CN=Sub CA"),
        "{notes}"
    );
    assert!(
        notes.contains("CN=east-cluster, the CA certificate itself"),
        "{notes}"
    );
}

#[test]
fn no_key_skips_webpki_with_a_note() {
    let (r, i) = two_level();
    let v = verify(&bundle(&i, &[&r], None, false), &opts()).expect("accepted");
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("rustls-webpki (ztunnel) check") && n.contains("skipped"))
    );
}

#[test]
fn warns_when_expiring_soon() {
    let r = root("Root CA");
    let mut p = params("east-cluster", pathlen(0));
    p.not_after = now() + Duration::days(12) + Duration::hours(1);
    let i = issue(p, &r);
    let v = verify(&bundle(&i, &[&r], None, true), &opts()).expect("accepted");
    assert!(
        v.warnings
            .iter()
            .any(|w| w.starts_with("ca-cert.pem: CN=east-cluster expires in 12 days, on ")),
        "{:?}",
        v.warnings
    );
}

#[test]
fn refusals() {
    let mut cases: Vec<(&str, Candidate, Fault, Judge, &str, &str)> = Vec::new();

    // Parsing.
    {
        let (r, i) = two_level();
        let mut c = bundle(&i, &[&r], None, true);
        c.chain[0].der.truncate(40);
        cases.push((
            "garbage chain DER",
            c,
            Fault::Unparsable,
            Judge::OpenSsl,
            CHAIN,
            "not a valid X.509",
        ));
        let mut c = bundle(&i, &[&r], None, true);
        if let Some((k, _)) = c.key.as_mut() {
            k.der = vec![0x30, 0x03, 0x02, 0x01, 0x00];
        }
        cases.push((
            "garbage key",
            c,
            Fault::KeyUnparsable,
            Judge::Istiod,
            KEY,
            "does not load",
        ));
    }
    // Key that belongs to another certificate.
    {
        let (r, i) = two_level();
        let other = issue(params("west-cluster", pathlen(0)), &r);
        let mut c = bundle(&i, &[&r], None, true);
        c.key = Some((named(KEY, &other.key.serialize_der()), "PRIVATE KEY".into()));
        cases.push((
            "key mismatch",
            c,
            Fault::KeyMismatch,
            Judge::Istiod,
            KEY,
            "CN=east-cluster",
        ));
    }
    // An end-entity certificate used as the CA.
    {
        let r = root("Root CA");
        let mut p = params("east-cluster", IsCa::ExplicitNoCa);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let ee = issue(p, &r);
        cases.push((
            "EE as CA",
            bundle(&ee, &[&r], None, true),
            Fault::NotCa,
            Judge::OpenSsl,
            CERT,
            "CA:FALSE",
        ));
    }
    // A CA whose keyUsage lacks keyCertSign.
    {
        let r = root("Root CA");
        let mut p = params("east-cluster", pathlen(0));
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
        let i = issue(p, &r);
        cases.push((
            "no keyCertSign",
            bundle(&i, &[&r], None, true),
            Fault::NoKeyCertSign,
            Judge::OpenSsl,
            CERT,
            "keyCertSign",
        ));
    }
    // A chain certificate that is not a CA (an EE certificate that signed the cluster CA).
    {
        let r = root("Root CA");
        let mut p = params("Sub CA", IsCa::ExplicitNoCa);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let s = issue(p, &r);
        let c = issue(params("east-cluster", pathlen(0)), &s);
        cases.push((
            "chain cert not a CA",
            bundle(&c, &[&s, &r], None, true),
            Fault::NotCa,
            Judge::OpenSsl,
            CHAIN,
            "CN=Sub CA",
        ));
    }
    // Missing intermediate.
    {
        let (r, _s, c) = three_level();
        cases.push((
            "missing intermediate",
            bundle(&c, &[&r], None, true),
            Fault::ChainIncomplete,
            Judge::OpenSsl,
            CERT,
            "the chain stops at CN=east-cluster, whose issuer CN=Sub CA",
        ));
        // The root missing, and no root given.
        let (_r, s, c) = three_level();
        cases.push((
            "root missing",
            bundle(&c, &[&s], None, true),
            Fault::ChainIncomplete,
            Judge::OpenSsl,
            CHAIN,
            "the chain stops at CN=Sub CA, whose issuer CN=Root CA is not among the certificates given",
        ));
    }
    // A signature that does not verify: an impostor Sub CA with the same name and key id.
    {
        let (r, s, c) = three_level();
        let mut p = params("Sub CA", pathlen(1));
        let ski = {
            let (_, x) = x509_parser::parse_x509_certificate(&s.der).expect("parse");
            x.extensions()
                .iter()
                .find_map(|e| match e.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                    _ => None,
                })
                .expect("ski")
        };
        p.key_identifier_method = KeyIdMethod::PreSpecified(ski);
        let impostor = issue(p, &r);
        cases.push((
            "bad signature",
            bundle(&c, &[&impostor, &r], None, true),
            Fault::BadSignature,
            Judge::OpenSsl,
            CERT,
            "does not verify",
        ));
    }
    // Wrong root: a different self-signed root given, with and without the real root in the chain.
    {
        let (r, i) = two_level();
        let other = root("Other Root CA");
        cases.push((
            "wrong root (chain has root)",
            bundle(&i, &[&r], Some(&other), true),
            Fault::WrongRoot,
            Judge::OpenSsl,
            ROOT,
            "CN=Other Root CA is not the root",
        ));
        cases.push((
            "wrong root (chain without root)",
            bundle(&i, &[], Some(&other), true),
            Fault::ChainIncomplete,
            Judge::OpenSsl,
            CERT,
            "the root given (root-cert.pem: CN=Other Root CA) did not issue it",
        ));
        // Same name as the real root, different key.
        let lookalike = root("Root CA");
        cases.push((
            "look-alike root",
            bundle(&i, &[], Some(&lookalike), true),
            Fault::WrongRoot,
            Judge::OpenSsl,
            ROOT,
            "CN=Root CA",
        ));
        // An intermediate passed as the root (the guide's mistake with a subordinate PCA).
        let (r, s, c) = three_level();
        cases.push((
            "intermediate as root",
            bundle(&c, &[&s, &r], Some(&s), true),
            Fault::WrongRoot,
            Judge::OpenSsl,
            ROOT,
            "CN=Sub CA is not self-signed",
        ));
    }
    // A certificate that is not on the path.
    {
        let (r, i) = two_level();
        let stray = root("Unrelated CA");
        cases.push((
            "unrelated cert",
            bundle(&i, &[&r, &stray], None, true),
            Fault::UnrelatedCertificate,
            Judge::Istiod,
            CHAIN,
            "CN=Unrelated CA is not on the path",
        ));
    }
    // Validity.
    {
        let r = root("Root CA");
        let mut p = params("Sub CA", pathlen(1));
        p.not_before = now() - Duration::days(400);
        p.not_after = now() - Duration::days(3);
        let s = issue(p, &r);
        let c = issue(params("east-cluster", pathlen(0)), &s);
        cases.push((
            "expired intermediate",
            bundle(&c, &[&s, &r], None, true),
            Fault::Expired,
            Judge::OpenSsl,
            CHAIN,
            "CN=Sub CA expired on",
        ));

        let r = root("Root CA");
        let mut p = params("east-cluster", pathlen(0));
        p.not_before = now() + Duration::days(2);
        let i = issue(p, &r);
        cases.push((
            "not yet valid",
            bundle(&i, &[&r], None, true),
            Fault::NotYetValid,
            Judge::OpenSsl,
            CERT,
            "is not valid until",
        ));
    }
    // pathLenConstraint: a PathLen0 Sub CA with the cluster CA under it.
    {
        let r = root("Root CA");
        let s = issue(params("Sub CA", pathlen(0)), &r);
        let c = issue(params("east-cluster", pathlen(0)), &s);
        cases.push((
            "pathlen violated",
            bundle(&c, &[&s, &r], None, true),
            Fault::PathLen,
            Judge::OpenSsl,
            CHAIN,
            "CN=Sub CA allows 0 CA(s) below it",
        ));
    }
    // Weak key: a 1024-bit RSA cluster CA (no private key needed to show it).
    {
        let r = root("Root CA");
        let p = params("east-cluster", pathlen(0));
        let iss = Issuer::from_params(&r.params, &r.key);
        let der = p
            .signed_by(&rsa1024_spki(), &iss)
            .expect("signed")
            .der()
            .to_vec();
        let c = Candidate {
            cert: named(CERT, &der),
            chain: vec![named(CHAIN, &r.der)],
            root: None,
            key: None,
        };
        cases.push((
            "RSA-1024 CA",
            c,
            Fault::WeakKey,
            Judge::Webpki,
            CERT,
            "1024-bit RSA key",
        ));
    }
    // SHA-1: an RSA hierarchy whose cluster CA signature is relabelled sha1WithRSA.
    {
        let rkey = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            .expect("rsa");
        let rp = params("Root CA", unconstrained());
        let der = rp.self_signed(&rkey).expect("root").der().to_vec();
        let r = Ca {
            params: rp,
            key: rkey,
            der,
        };
        let i = issue(params("east-cluster", pathlen(0)), &r);
        let sha256_rsa = [
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B,
        ];
        let sha1_rsa = [
            0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05,
        ];
        let mut c = bundle(&i, &[&r], None, true);
        c.cert.der = patch(&i.der, &sha256_rsa, &sha1_rsa);
        c.key = None;
        cases.push((
            "SHA-1 signature",
            c,
            Fault::WeakSignature,
            Judge::Istiod,
            CERT,
            "signed with SHA-1",
        ));
    }
    // ECDSA P-256 signing with SHA-512: OpenSSL accepts, ztunnel (ring) does not.
    {
        let (r, i) = two_level();
        let ecdsa_sha256 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
        let ecdsa_sha512 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04];
        let mut c = bundle(&i, &[&r], None, false);
        c.cert.der = patch(&i.der, &ecdsa_sha256, &ecdsa_sha512);
        cases.push((
            "P-256 with SHA-512",
            c,
            Fault::UnsupportedAlgorithm,
            Judge::Webpki,
            CERT,
            "(EC P-256 key) with ECDSA with SHA-512, a combination rustls-webpki",
        ));
    }
    // EKU on an intermediate: without clientAuth (ztunnel), without serverAuth (istiod).
    {
        let r = root("Root CA");
        let mut p = params("Sub CA", pathlen(1));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let s = issue(p, &r);
        let c = issue(params("east-cluster", pathlen(0)), &s);
        cases.push((
            "EKU without clientAuth",
            bundle(&c, &[&s, &r], None, true),
            Fault::ExtendedKeyUsage,
            Judge::Webpki,
            CHAIN,
            "without clientAuth",
        ));

        let mut p = params("east-cluster", pathlen(0));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let i = issue(p, &r);
        cases.push((
            "EKU without serverAuth",
            bundle(&i, &[&r], None, true),
            Fault::ExtendedKeyUsage,
            Judge::Istiod,
            CERT,
            "without serverAuth",
        ));
    }
    // Critical extensions: unknown to everyone (OpenSSL), and known to OpenSSL only (webpki).
    {
        let r = root("Root CA");
        let mut p = params("east-cluster", pathlen(0));
        let mut ext =
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
        let i = issue(p, &r);
        cases.push((
            "unknown critical ext",
            bundle(&i, &[&r], None, true),
            Fault::UnknownCriticalExtension,
            Judge::OpenSsl,
            CERT,
            "1.3.6.1.4.1.99999.1",
        ));

        let mut p = params("east-cluster", pathlen(0));
        // certificatePolicies { anyPolicy }, critical.
        let policies = tlv(0x30, &tlv(0x30, &tlv(0x06, &[0x55, 0x1D, 0x20, 0x00])));
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 32], policies);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
        let i = issue(p, &r);
        cases.push((
            "critical policies",
            bundle(&i, &[&r], None, true),
            Fault::UnknownCriticalExtension,
            Judge::Webpki,
            CERT,
            "2.5.29.32",
        ));
    }
    // -x509_strict profile: no authorityKeyIdentifier below the root.
    {
        let r = root("Root CA");
        let mut p = params("east-cluster", pathlen(0));
        p.use_authority_key_identifier_extension = false;
        let i = issue(p, &r);
        cases.push((
            "no AKI",
            bundle(&i, &[&r], None, true),
            Fault::StrictProfile,
            Judge::OpenSsl,
            CERT,
            "authorityKeyIdentifier",
        ));
    }
    // What only the synthetic workload certificate shows: a URI name constraint for the
    // trust domain, which OpenSSL applies and rustls-webpki fails closed on.
    {
        let r = root("Root CA");
        let mut p = params("east-cluster", pathlen(0));
        let uri = tlv(0x86, b"cluster.local");
        let nc = tlv(0x30, &tlv(0xA0, &tlv(0x30, &uri)));
        let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 30], nc);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
        let i = issue(p, &r);
        cases.push((
            "URI name constraint",
            bundle(&i, &[&r], None, true),
            Fault::WorkloadRejected,
            Judge::Webpki,
            CERT,
            "NameConstraintViolation",
        ));
    }

    let n = cases.len();
    for (name, c, fault, judge, source, mentions) in cases {
        assert_refused(name, &c, fault, judge, source, mentions);
    }
    assert!(n >= 25, "{n} cases");
}
