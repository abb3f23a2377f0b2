//! Bundle validation: the one judge every writer calls before anything is written.
//!
//! A bundle (CA certificate, the chain above it, the root, the CA's key) is refused
//! when any of the verifiers the mesh runs would reject it, or the certificates it
//! issues, later: OpenSSL/BoringSSL in Envoy (`openssl verify -x509_strict`),
//! rustls-webpki in ztunnel, and Go's crypto/x509 in istiod. Each refusal names the
//! file or bundle field at fault and the verifier it stands for.
//!
//! Order of the checks (the first fault found is reported): parsing; building the
//! path from the certificate to a self-signed root; key and signature algorithm
//! strength; the private key; signatures; validity windows; CA profile (basic
//! constraints, key usage, EKU, critical extensions, the RFC 5280 rules
//! `-x509_strict` enforces, path lengths); and last, when a key is given, a
//! synthetic workload certificate verified with rustls-webpki as ztunnel would.

use std::fmt;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, SignatureVerificationAlgorithm, UnixTime};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509Error, X509Version};
use x509_parser::public_key::PublicKey;

use crate::pemfile::Named;

#[cfg(test)]
mod tests;

/// Which verifier a refusal stands for: the tool refuses what any of them would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judge {
    /// OpenSSL/BoringSSL as Envoy uses it (`openssl verify -x509_strict`).
    OpenSsl,
    /// rustls-webpki, as ztunnel uses it.
    Webpki,
    /// istiod loading `cacerts`.
    Istiod,
}

impl fmt::Display for Judge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Judge::OpenSsl => "OpenSSL/Envoy",
            Judge::Webpki => "rustls-webpki/ztunnel",
            Judge::Istiod => "istiod",
        })
    }
}

/// The kind of fault found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The private key does not belong to the certificate.
    KeyMismatch,
    /// A DER object is not a well-formed X.509 certificate.
    Unparsable,
    /// The private key does not parse (or is of a kind istiod cannot use).
    KeyUnparsable,
    /// A certificate that must sign certificates lacks basicConstraints CA:TRUE.
    NotCa,
    /// A CA certificate whose keyUsage lacks keyCertSign (or is missing).
    NoKeyCertSign,
    /// No path from the certificate to a self-signed root through the certificates given.
    ChainIncomplete,
    /// A signature does not verify with its issuer's public key.
    BadSignature,
    /// The root given is not the root of the chain (or is not self-signed).
    WrongRoot,
    /// A chain certificate that is not on the path from the certificate to the root.
    UnrelatedCertificate,
    /// A certificate on the path has expired.
    Expired,
    /// A certificate on the path is not valid yet.
    NotYetValid,
    /// A CA has more CAs below it than its pathLenConstraint allows.
    PathLen,
    /// A key weaker than RSA 2048 or EC P-256.
    WeakKey,
    /// A signature made with SHA-1 or MD5.
    WeakSignature,
    /// A key type or signature algorithm outside what every verifier supports.
    UnsupportedAlgorithm,
    /// An extendedKeyUsage on a CA that excludes serverAuth or clientAuth.
    ExtendedKeyUsage,
    /// A critical extension the verifier does not understand.
    UnknownCriticalExtension,
    /// An RFC 5280 profile rule that `openssl verify -x509_strict` enforces.
    StrictProfile,
    /// rustls-webpki rejected a workload certificate signed by the CA.
    WorkloadRejected,
}

/// A bundle refused by validation.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{source_name}: {detail} (refused: {judge} would reject it)")]
pub struct Refusal {
    /// The file or bundle field at fault.
    pub source_name: String,
    /// The kind of fault.
    pub fault: Fault,
    /// Which verifier the refusal stands for.
    pub judge: Judge,
    /// What is wrong, as a sentence fragment.
    pub detail: String,
}

/// What is to be validated.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The CA certificate to install (`ca-cert.pem`).
    pub cert: Named,
    /// Certificates above it, in any order, possibly with the root and duplicates.
    pub chain: Vec<Named>,
    /// The root the user says to trust; `None` means the top of the chain.
    pub root: Option<Named>,
    /// The private key of `cert` (DER, with its PEM label), when there is one.
    pub key: Option<(Named, String)>,
}

/// Tunables.
#[derive(Clone, Debug)]
pub struct Options {
    /// The time to judge validity at.
    pub now: time::OffsetDateTime,
    /// Warn when a certificate expires within this span.
    pub warn_within: time::Duration,
}

impl Options {
    /// Judge at the current time, warning 30 days ahead of expiry.
    pub fn now() -> Self {
        Options {
            now: OffsetDateTime::now_utc(),
            warn_within: time::Duration::days(30),
        }
    }
}

/// A validated bundle, normalised.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The CA certificate, DER.
    pub cert: Vec<u8>,
    /// The certificates above it, issuer first, ending with the self-signed root.
    /// Empty when the certificate is itself the (self-signed) root.
    pub chain: Vec<Vec<u8>>,
    /// The self-signed root, DER (the last element of `chain`, or `cert` itself).
    pub root: Vec<u8>,
    /// What normalisation did (reordering, dropped duplicates), for stderr.
    pub notes: Vec<String>,
    /// Non-fatal findings (e.g. expiring soon), for stderr.
    pub warnings: Vec<String>,
}

/// The SPIFFE identity of the synthetic workload certificate used for ztunnel's check.
pub const PROBE_SPIFFE_ID: &str = "spiffe://cluster.local/ns/default/sa/default";

/// Signature algorithms ztunnel verifies with in every build: the algorithms of
/// rustls's *ring* provider (ztunnel's default until it moved to aws-lc-rs in 2025),
/// which are a subset of aws-lc-rs's. Notably absent: ECDSA with SHA-512, ECDSA on
/// P-521, SHA-1 of any kind, and RSA keys under 2048 bits.
static ZTUNNEL_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_3072_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

// Object identifiers, compared in dotted form (clearer than registry constant names).
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const EXT_SKI: &str = "2.5.29.14";
const EXT_KEY_USAGE: &str = "2.5.29.15";
const EXT_SAN: &str = "2.5.29.17";
const EXT_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const EXT_NAME_CONSTRAINTS: &str = "2.5.29.30";
const EXT_CRL_DP: &str = "2.5.29.31";
const EXT_AKI: &str = "2.5.29.35";
const EXT_EKU: &str = "2.5.29.37";

/// Critical extensions rustls-webpki understands; any other critical one is refused.
const WEBPKI_CRITICAL_OK: &[&str] = &[
    EXT_KEY_USAGE,
    EXT_SAN,
    EXT_BASIC_CONSTRAINTS,
    EXT_NAME_CONSTRAINTS,
    EXT_CRL_DP,
    EXT_EKU,
];

/// Critical extensions OpenSSL 3 understands (`X509_supported_extension`).
const OPENSSL_CRITICAL_OK: &[&str] = &[
    "2.16.840.1.113730.1.1", // netscape-cert-type
    EXT_KEY_USAGE,
    EXT_SAN,
    EXT_BASIC_CONSTRAINTS,
    "2.5.29.32", // certificatePolicies
    EXT_CRL_DP,
    EXT_EKU,
    "1.3.6.1.5.5.7.1.7",  // sbgp-ipAddrBlock
    "1.3.6.1.5.5.7.1.8",  // sbgp-autonomousSysNum
    "2.5.29.36",          // policyConstraints
    "1.3.6.1.5.5.7.1.14", // proxyCertInfo
    EXT_NAME_CONSTRAINTS,
    "2.5.29.33", // policyMappings
    "2.5.29.54", // inhibitAnyPolicy
];

/// One parsed certificate and where it came from.
struct Cert<'a> {
    source: &'a str,
    der: &'a [u8],
    x: X509Certificate<'a>,
    /// How messages name it: `CN=…`, or the full subject when it has no CN.
    name: String,
}

impl Cert<'_> {
    fn self_issued(&self) -> bool {
        self.x.subject().as_raw() == self.x.issuer().as_raw()
    }

    /// Self-issued and its own key verifies its signature (or the algorithm is one we
    /// cannot check, which the strength checks report later).
    fn self_signed(&self) -> bool {
        self.self_issued()
            && !matches!(
                self.x.verify_signature(None),
                Err(X509Error::SignatureVerificationError)
            )
    }

    fn ski(&self) -> Option<&[u8]> {
        self.x
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
                _ => None,
            })
    }

    fn aki(&self) -> Option<&[u8]> {
        self.x
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0)
                }
                _ => None,
            })
    }

    fn issuer_name(&self) -> String {
        display_name(self.x.issuer())
    }

    fn not_after(&self) -> OffsetDateTime {
        to_time(self.x.validity().not_after.timestamp())
    }

    fn not_before(&self) -> OffsetDateTime {
        to_time(self.x.validity().not_before.timestamp())
    }
}

fn to_time(ts: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn display_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    if let Some(cn) = name.iter_common_name().next().and_then(|a| a.as_str().ok()) {
        return format!("CN={cn}");
    }
    let full = name.to_string();
    if full.is_empty() {
        "(a certificate with an empty name)".to_string()
    } else {
        full
    }
}

fn day(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(f).unwrap_or_else(|_| t.to_string())
}

fn refuse(source: &str, fault: Fault, judge: Judge, detail: impl Into<String>) -> Refusal {
    Refusal {
        source_name: source.to_string(),
        fault,
        judge,
        detail: detail.into(),
    }
}

fn parse_cert(n: &Named) -> Result<Cert<'_>, Refusal> {
    match X509Certificate::from_der(&n.der) {
        Ok(([], x)) => {
            let name = display_name(x.subject());
            Ok(Cert {
                source: &n.source,
                der: &n.der,
                x,
                name,
            })
        }
        Ok((rest, _)) => Err(refuse(
            &n.source,
            Fault::Unparsable,
            Judge::OpenSsl,
            format!(
                "a certificate is followed by {} stray bytes inside its PEM block; \
                 re-export it from the CA",
                rest.len()
            ),
        )),
        Err(e) => Err(refuse(
            &n.source,
            Fault::Unparsable,
            Judge::OpenSsl,
            format!(
                "holds a CERTIFICATE block that is not a valid X.509 certificate ({e}); \
                 check the file was not truncated or edited"
            ),
        )),
    }
}

/// Validates a candidate bundle.
///
/// Returns the normalised bundle (chain in issuer order, ending with the root) with
/// notes and warnings for stderr, or the first fault found.
pub fn verify(candidate: &Candidate, options: &Options) -> Result<Verified, Refusal> {
    let cert = parse_cert(&candidate.cert)?;
    let chain = candidate
        .chain
        .iter()
        .map(parse_cert)
        .collect::<Result<Vec<_>, _>>()?;
    let root = candidate.root.as_ref().map(parse_cert).transpose()?;

    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let path = build_path(&cert, &chain, root.as_ref(), &mut notes)?;

    for (i, c) in path.iter().enumerate() {
        check_strength(c, path.get(i + 1).copied(), &mut warnings)?;
    }
    let key = match &candidate.key {
        Some((named, label)) => Some(check_key(&cert, named, label)?),
        None => None,
    };
    check_signatures(&path, root.as_ref())?;
    for c in &path {
        check_validity(c, options, &mut warnings)?;
    }
    check_profile(&path)?;
    check_path_len(&path)?;

    match &key {
        Some((kp, key_source)) => check_workload(&path, kp, key_source, options, &mut notes)?,
        None => notes.push(format!(
            "{}: no private key given, so the rustls-webpki (ztunnel) check, which signs a \
             test workload certificate with it, was skipped",
            cert.source
        )),
    }

    let top = path.last().map_or(cert.der, |c| c.der);
    Ok(Verified {
        cert: cert.der.to_vec(),
        chain: path[1..].iter().map(|c| c.der.to_vec()).collect(),
        root: top.to_vec(),
        notes,
        warnings,
    })
}

/// Builds the path cert → … → self-signed root from the certificates given, in any
/// order, dropping duplicates. Returns it with the cert first and the root last.
fn build_path<'c, 'a>(
    cert: &'c Cert<'a>,
    chain: &'c [Cert<'a>],
    root: Option<&'c Cert<'a>>,
    notes: &mut Vec<String>,
) -> Result<Vec<&'c Cert<'a>>, Refusal> {
    // A "root" that is not self-signed is the guide's classic mistake (it names
    // whichever CA issued the intermediate); OpenSSL finds no trust anchor then.
    if let Some(r) = root
        && !r.self_signed()
    {
        return Err(refuse(
            r.source,
            Fault::WrongRoot,
            Judge::OpenSsl,
            format!(
                "{} is not self-signed (it was issued by {}), so it is not a root; pass \
                 the top of the hierarchy as the root (pca-get fetches it) and keep {} \
                 in the chain",
                r.name,
                r.issuer_name(),
                r.name
            ),
        ));
    }

    // The pool: unique chain certificates, then the root if not already among them.
    let mut pool: Vec<&Cert> = Vec::new();
    let mut chain_unique: Vec<&Cert> = Vec::new();
    for c in chain {
        if c.der == cert.der {
            notes.push(format!(
                "{}: dropped {}, the CA certificate itself (the chain holds only the CAs above it)",
                c.source, c.name
            ));
        } else if pool.iter().any(|p| p.der == c.der) {
            notes.push(format!("{}: dropped a duplicate of {}", c.source, c.name));
        } else {
            pool.push(c);
            chain_unique.push(c);
        }
    }
    if let Some(r) = root
        && !pool.iter().any(|p| p.der == r.der)
    {
        pool.push(r);
    }

    let mut path: Vec<&Cert> = vec![cert];
    let mut used = vec![false; pool.len()];
    while let Some(&cur) = path.last() {
        if cur.self_signed() {
            break;
        }
        let aki = cur.aki();
        let candidates: Vec<usize> = (0..pool.len())
            .filter(|&i| !used[i])
            .filter(|&i| pool[i].x.subject().as_raw() == cur.x.issuer().as_raw())
            .filter(|&i| match (aki, pool[i].ski()) {
                (Some(a), Some(s)) => a == s,
                _ => true,
            })
            .collect();
        // Prefer the candidate whose key verifies the signature; if none does, take the
        // first and let the signature check explain why.
        let pick = candidates
            .iter()
            .copied()
            .find(|&i| cur.x.verify_signature(Some(pool[i].x.public_key())).is_ok())
            .or_else(|| candidates.first().copied());
        match pick {
            Some(i) => {
                used[i] = true;
                path.push(pool[i]);
            }
            None => return Err(stops_at(cur, root, path.len() == 1 && chain.is_empty())),
        }
    }

    let top = path.last().copied().unwrap_or(cert);
    if let Some(r) = root
        && r.der != top.der
    {
        return Err(refuse(
            r.source,
            Fault::WrongRoot,
            Judge::OpenSsl,
            format!(
                "{} is not the root of this chain, which ends at the self-signed {} \
                 (not the same certificate); pass {}'s certificate as the root, or get \
                 the certificate issued under {}",
                r.name, top.name, top.name, r.name
            ),
        ));
    }

    // Anything left over does not belong in cert-chain.pem: istiod hands that file to
    // every workload as its chain.
    if let Some(i) =
        (0..pool.len()).find(|&i| !used[i] && root.is_none_or(|r| r.der != pool[i].der))
    {
        let p = pool[i];
        return Err(refuse(
            p.source,
            Fault::UnrelatedCertificate,
            Judge::Istiod,
            format!(
                "{} is not on the path from {} to the root {}; remove it (the chain must hold \
                 only the CAs above the certificate)",
                p.name, cert.name, top.name
            ),
        ));
    }

    // Report reordering of what the user gave (the root given separately is not a reorder).
    let given: Vec<&[u8]> = chain_unique.iter().map(|c| c.der).collect();
    let ordered: Vec<&[u8]> = path[1..]
        .iter()
        .map(|c| c.der)
        .filter(|d| given.contains(d))
        .collect();
    if given != ordered {
        let moved = given.iter().zip(&ordered).filter(|(a, b)| a != b).count();
        if let Some(first) = chain_unique.first() {
            notes.push(format!(
                "{}: reordered {} certificates into issuer order",
                first.source, moved
            ));
        }
    }
    Ok(path)
}

/// The refusal for a path that cannot go further up from `cur`.
fn stops_at(cur: &Cert, root: Option<&Cert>, nothing_given: bool) -> Refusal {
    let issuer = cur.issuer_name();
    // The given root is self-signed (checked before). With the issuer's name but not
    // its key identifier it is a look-alike or re-keyed root: the root is wrong.
    if let Some(r) = root
        && r.x.subject().as_raw() == cur.x.issuer().as_raw()
    {
        return refuse(
            r.source,
            Fault::WrongRoot,
            Judge::OpenSsl,
            format!(
                "{} has the name of {}'s issuer but a different key identifier; it is not the \
                 root that issued this chain (a re-keyed or look-alike root?); pass the root of \
                 the CA that issued the certificate",
                r.name, cur.name
            ),
        );
    }
    // Otherwise a CA is missing between the chain and the root, or the root is the
    // wrong one: from the certificates alone the two cannot be told apart, so say both.
    let hint = match root {
        Some(r) => format!(
            ", and the root given ({}: {}) did not issue it; add {}'s certificate to the chain \
             (pca-get prints the full chain), or if {} is itself a root, pass it as the root",
            r.source, r.name, issuer, issuer
        ),
        None if nothing_given => {
            "; give the chain above it (pca-get prints the full chain)".to_string()
        }
        None => "; add the issuing CA's certificate (pca-get prints the full chain)".to_string(),
    };
    refuse(
        cur.source,
        Fault::ChainIncomplete,
        Judge::OpenSsl,
        format!(
            "the chain stops at {}, whose issuer {} is not among the certificates given{}",
            cur.name, issuer, hint
        ),
    )
}

fn rsa_bits(modulus: &[u8]) -> usize {
    let m: Vec<u8> = modulus.iter().copied().skip_while(|&b| b == 0).collect();
    match m.first() {
        Some(&b) => (m.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
        None => 0,
    }
}

/// What kind of key a certificate holds, as far as the checks care.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyKind {
    Rsa(usize),
    P256,
    P384,
    Ed25519,
}

fn key_kind(c: &Cert) -> Result<KeyKind, Refusal> {
    let spki = c.x.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let unsupported = |what: String| {
        refuse(
            c.source,
            Fault::UnsupportedAlgorithm,
            Judge::Webpki,
            format!(
                "{} has a {what} key, which rustls-webpki does not support; use RSA (2048 bits \
                 or more), EC P-256 or EC P-384",
                c.name
            ),
        )
    };
    if alg == OID_RSA {
        let bits = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => rsa_bits(rsa.modulus),
            _ => 0,
        };
        if bits < 2048 {
            return Err(refuse(
                c.source,
                Fault::WeakKey,
                Judge::Webpki,
                format!(
                    "{} has a {bits}-bit RSA key; the minimum is 2048 bits (rustls-webpki \
                     refuses smaller keys); re-issue it with RSA 2048 or EC P-256",
                    c.name
                ),
            ));
        }
        Ok(KeyKind::Rsa(bits))
    } else if alg == OID_EC {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .map(|o| o.to_id_string());
        match curve.as_deref() {
            Some(OID_P256) => Ok(KeyKind::P256),
            Some(OID_P384) => Ok(KeyKind::P384),
            Some("1.2.840.10045.3.1.1") | Some("1.3.132.0.33") => Err(refuse(
                c.source,
                Fault::WeakKey,
                Judge::Webpki,
                format!(
                    "{} has an EC key on a curve below P-256; re-issue it with EC P-256 or P-384",
                    c.name
                ),
            )),
            Some("1.3.132.0.35") => Err(unsupported(
                "EC P-521 (in ztunnel builds using ring)".into(),
            )),
            Some(other) => Err(unsupported(format!("EC (curve {other})"))),
            None => Err(unsupported(
                "EC key with explicit curve parameters (not a named curve)".into(),
            )),
        }
    } else if alg == OID_ED25519 {
        Ok(KeyKind::Ed25519)
    } else {
        Err(unsupported(alg))
    }
}

/// Key strength of `c`, and the algorithm of the signature on it made by `issuer`
/// (`None` for the root, whose self-signature no verifier checks).
fn check_strength(
    c: &Cert,
    issuer: Option<&Cert>,
    warnings: &mut Vec<String>,
) -> Result<(), Refusal> {
    key_kind(c)?;
    let sig = c.x.signature_algorithm.algorithm.to_id_string();
    let weak = match sig.as_str() {
        "1.2.840.113549.1.1.2" => Some("MD2"),
        "1.2.840.113549.1.1.4" => Some("MD5"),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" | "1.2.840.10045.4.1" | "1.2.840.10040.4.3" => {
            Some("SHA-1")
        }
        _ => None,
    };
    let Some(issuer) = issuer else {
        if let Some(h) = weak {
            warnings.push(format!(
                "{}: the root {} signs itself with {h}; no verifier checks a root's \
                 self-signature, but consider re-issuing the root",
                c.source, c.name
            ));
        }
        return Ok(());
    };
    if let Some(h) = weak {
        // Go's crypto/x509 (istiod) refuses SHA-1 signatures outright; webpki has no
        // SHA-1 algorithms at all.
        return Err(refuse(
            c.source,
            Fault::WeakSignature,
            Judge::Istiod,
            format!(
                "{} is signed with {h} by {}; re-issue it with SHA-256 (e.g. SHA256WITHRSA)",
                c.name, issuer.name
            ),
        ));
    }
    let issuer_key = key_kind(issuer)?;
    let ok = matches!(
        (sig.as_str(), issuer_key),
        (
            "1.2.840.113549.1.1.11"
                | "1.2.840.113549.1.1.12"
                | "1.2.840.113549.1.1.13"
                | "1.2.840.113549.1.1.10",
            KeyKind::Rsa(_),
        ) | (
            "1.2.840.10045.4.3.2" | "1.2.840.10045.4.3.3",
            KeyKind::P256 | KeyKind::P384
        ) | (OID_ED25519, KeyKind::Ed25519)
    );
    if !ok {
        return Err(refuse(
            c.source,
            Fault::UnsupportedAlgorithm,
            Judge::Webpki,
            format!(
                "{} is signed by {} ({} key) with {}, a combination rustls-webpki (ztunnel \
                 built with ring) does not support; re-issue it with {}",
                c.name,
                issuer.name,
                key_name(issuer_key),
                sig_name(&sig),
                match issuer_key {
                    KeyKind::Rsa(_) => "SHA256WITHRSA",
                    KeyKind::P256 => "SHA256WITHECDSA",
                    KeyKind::P384 => "SHA384WITHECDSA",
                    KeyKind::Ed25519 => "Ed25519",
                }
            ),
        ));
    }
    Ok(())
}

fn sig_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.14" => "SHA-224 with RSA".into(),
        "1.2.840.10045.4.3.1" => "ECDSA with SHA-224".into(),
        "1.2.840.10045.4.3.2" => "ECDSA with SHA-256".into(),
        "1.2.840.10045.4.3.3" => "ECDSA with SHA-384".into(),
        "1.2.840.10045.4.3.4" => "ECDSA with SHA-512".into(),
        "1.2.840.113549.1.1.11" => "SHA-256 with RSA".into(),
        "1.2.840.113549.1.1.12" => "SHA-384 with RSA".into(),
        "1.2.840.113549.1.1.13" => "SHA-512 with RSA".into(),
        "1.3.101.112" => "Ed25519".into(),
        other => format!("signature algorithm {other}"),
    }
}

fn key_name(k: KeyKind) -> String {
    match k {
        KeyKind::Rsa(bits) => format!("RSA {bits}"),
        KeyKind::P256 => "EC P-256".into(),
        KeyKind::P384 => "EC P-384".into(),
        KeyKind::Ed25519 => "Ed25519".into(),
    }
}

/// Parses the private key and checks it belongs to the certificate (istiod's
/// `tls.X509KeyPair` check). Returns the key pair for the workload probe.
fn check_key(cert: &Cert, named: &Named, label: &str) -> Result<(rcgen::KeyPair, String), Refusal> {
    let der = match label {
        "PRIVATE KEY" => PrivateKeyDer::Pkcs8(named.der.clone().into()),
        "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(named.der.clone().into()),
        "EC PRIVATE KEY" => PrivateKeyDer::Sec1(named.der.clone().into()),
        other => {
            return Err(refuse(
                &named.source,
                Fault::KeyUnparsable,
                Judge::Istiod,
                format!(
                    "holds a {other} block; expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY \
                     (unencrypted)"
                ),
            ));
        }
    };
    let kp = rcgen::KeyPair::try_from(&der).map_err(|e| {
        refuse(
            &named.source,
            Fault::KeyUnparsable,
            Judge::Istiod,
            format!(
                "the {label} does not load as an RSA (2048 to 8192 bits), EC (P-256/P-384) or \
                 Ed25519 private key ({e}); check the file is the unencrypted key written with \
                 the CSR"
            ),
        )
    })?;
    if kp.public_key_raw() != cert.x.public_key().subject_public_key.data.as_ref() {
        return Err(refuse(
            &named.source,
            Fault::KeyMismatch,
            Judge::Istiod,
            format!(
                "this private key does not belong to {} in {} (their public keys differ); use \
                 the key that was generated with the CSR for this certificate",
                cert.name, cert.source
            ),
        ));
    }
    Ok((kp, named.source.clone()))
}

fn check_signatures(path: &[&Cert], root: Option<&Cert>) -> Result<(), Refusal> {
    for w in path.windows(2) {
        let (c, issuer) = (w[0], w[1]);
        match c.x.verify_signature(Some(issuer.x.public_key())) {
            Ok(()) => {}
            Err(X509Error::SignatureUnsupportedAlgorithm) => {
                return Err(refuse(
                    c.source,
                    Fault::UnsupportedAlgorithm,
                    Judge::Webpki,
                    format!(
                        "{} is signed by {} with {}, which cannot be verified here or by \
                         rustls-webpki; re-issue it with SHA-256",
                        c.name,
                        issuer.name,
                        sig_name(&c.x.signature_algorithm.algorithm.to_id_string())
                    ),
                ));
            }
            Err(_) => {
                // Same name, wrong key: when that key is the root given, the root is wrong.
                let (source, fault) = match root {
                    Some(r) if r.der == issuer.der => (r.source, Fault::WrongRoot),
                    _ => (c.source, Fault::BadSignature),
                };
                return Err(refuse(
                    source,
                    fault,
                    Judge::OpenSsl,
                    format!(
                        "the signature on {} does not verify with the key of {}, the certificate \
                         bearing its issuer's name; {} was signed by a different key (a re-keyed \
                         CA, or a damaged certificate); get the issuing CA's current certificate",
                        c.name, issuer.name, c.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_validity(c: &Cert, options: &Options, warnings: &mut Vec<String>) -> Result<(), Refusal> {
    let (nb, na, now) = (c.not_before(), c.not_after(), options.now);
    if now < nb {
        return Err(refuse(
            c.source,
            Fault::NotYetValid,
            Judge::OpenSsl,
            format!(
                "{} is not valid until {} ({} from now); check the clock, or wait",
                c.name,
                day(nb),
                span(nb - now)
            ),
        ));
    }
    if now > na {
        return Err(refuse(
            c.source,
            Fault::Expired,
            Judge::OpenSsl,
            format!(
                "{} expired on {} ({} ago); renew it before installing",
                c.name,
                day(na),
                span(now - na)
            ),
        ));
    }
    if na - now <= options.warn_within {
        warnings.push(format!(
            "{}: {} expires in {}, on {}",
            c.source,
            c.name,
            span(na - now),
            day(na)
        ));
    }
    Ok(())
}

fn span(d: time::Duration) -> String {
    let days = d.whole_days();
    if days >= 2 {
        format!("{days} days")
    } else if d.whole_hours() >= 2 {
        format!("{} hours", d.whole_hours())
    } else {
        format!("{} minutes", d.whole_minutes().max(1))
    }
}

/// CA-ness, key usage, EKU, critical extensions and the `-x509_strict` profile for
/// every certificate on the path.
fn check_profile(path: &[&Cert]) -> Result<(), Refusal> {
    let last = path.len() - 1;
    for (i, c) in path.iter().enumerate() {
        let is_root = i == last;
        let role = if i == 0 {
            "the cluster CA"
        } else if is_root {
            "the root"
        } else {
            "an intermediate CA"
        };
        let bc = c.x.basic_constraints().ok().flatten();
        if !bc.as_ref().is_some_and(|b| b.value.ca) {
            let why = if c.x.version() != X509Version::V3 {
                "is a v1/v2 certificate, which cannot carry basicConstraints CA:TRUE"
            } else if bc.is_some() {
                "has basicConstraints CA:FALSE (an end-entity certificate)"
            } else {
                "has no basicConstraints extension"
            };
            let (fix, detail_judge) = if i == 0 {
                (
                    "Envoy and ztunnel would reject every workload certificate it signs; issue a \
                     CA certificate (template SubordinateCACertificate_PathLen0)",
                    Judge::OpenSsl,
                )
            } else {
                (
                    "it cannot issue certificates; use the CA's own certificate",
                    Judge::OpenSsl,
                )
            };
            return Err(refuse(
                c.source,
                Fault::NotCa,
                detail_judge,
                format!("{} is used as {role} but {why}; {fix}", c.name),
            ));
        }
        match c.x.key_usage().ok().flatten() {
            Some(ku) if ku.value.key_cert_sign() => {}
            Some(_) => {
                return Err(refuse(
                    c.source,
                    Fault::NoKeyCertSign,
                    Judge::OpenSsl,
                    format!(
                        "{} is used as {role} but its keyUsage lacks keyCertSign, so certificates \
                         it signs are rejected; re-issue it as a CA",
                        c.name
                    ),
                ));
            }
            None => {
                return Err(refuse(
                    c.source,
                    Fault::NoKeyCertSign,
                    Judge::OpenSsl,
                    format!(
                        "{} is used as {role} but has no keyUsage extension (RFC 5280 requires one \
                         with keyCertSign on a CA); re-issue it with keyUsage keyCertSign, cRLSign",
                        c.name
                    ),
                ));
            }
        }
        check_eku(c, is_root)?;
        check_critical(c, is_root)?;
        if path.len() > 1 {
            check_strict(c, is_root)?;
        }
    }
    Ok(())
}

fn check_eku(c: &Cert, is_root: bool) -> Result<(), Refusal> {
    let Some(eku) = c.x.extended_key_usage().ok().flatten() else {
        return Ok(());
    };
    let e = eku.value;
    // istiod verifies its CA chain with Go's default usage (serverAuth, anyEKU counts)
    // including the root; webpki checks serverAuth and clientAuth below the root.
    if !e.server_auth && !e.any {
        return Err(refuse(
            c.source,
            Fault::ExtendedKeyUsage,
            Judge::Istiod,
            format!(
                "{} has an extendedKeyUsage without serverAuth, which restricts every \
                 certificate below it; re-issue it without extendedKeyUsage (or with serverAuth \
                 and clientAuth)",
                c.name
            ),
        ));
    }
    let both = e.server_auth && e.client_auth;
    if !is_root && !both {
        return Err(refuse(
            c.source,
            Fault::ExtendedKeyUsage,
            Judge::Webpki,
            format!(
                "{} has an extendedKeyUsage without {}, so ztunnel rejects mTLS certificates \
                 below it; re-issue it without extendedKeyUsage (or with serverAuth and clientAuth)",
                c.name,
                if e.server_auth {
                    "clientAuth"
                } else {
                    "serverAuth"
                }
            ),
        ));
    }
    Ok(())
}

fn check_critical(c: &Cert, is_root: bool) -> Result<(), Refusal> {
    for ext in c.x.extensions().iter().filter(|e| e.critical) {
        let oid = ext.oid.to_id_string();
        let judge = if !OPENSSL_CRITICAL_OK.contains(&oid.as_str()) {
            Judge::OpenSsl
        } else if !is_root && !WEBPKI_CRITICAL_OK.contains(&oid.as_str()) {
            Judge::Webpki
        } else {
            continue;
        };
        return Err(refuse(
            c.source,
            Fault::UnknownCriticalExtension,
            judge,
            format!(
                "{} carries extension {oid} marked critical, which {judge} does not understand \
                 and so must reject; re-issue it without that extension or with it non-critical",
                c.name
            ),
        ));
    }
    Ok(())
}

/// RFC 5280 rules that `openssl verify -x509_strict` (OpenSSL 3) enforces on every
/// certificate of a chain longer than one.
fn check_strict(c: &Cert, is_root: bool) -> Result<(), Refusal> {
    let fail = |what: String| {
        Err(refuse(
            c.source,
            Fault::StrictProfile,
            Judge::OpenSsl,
            format!(
                "{} {what} (RFC 5280); re-issue it from a CA that follows the profile",
                c.name
            ),
        ))
    };
    let find = |oid: &str| {
        c.x.extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == oid)
    };
    if c.x.version() != X509Version::V3 && !c.x.extensions().is_empty() {
        return fail("has extensions but is not a version 3 certificate".into());
    }
    if find(EXT_BASIC_CONSTRAINTS).is_some_and(|e| !e.critical) {
        return fail("is a CA whose basicConstraints is not marked critical".into());
    }
    if find(EXT_AKI).is_some_and(|e| e.critical) {
        return fail("has its authorityKeyIdentifier marked critical".into());
    }
    if find(EXT_SKI).is_some_and(|e| e.critical) {
        return fail("has its subjectKeyIdentifier marked critical".into());
    }
    if c.x.version() == X509Version::V3 {
        if !is_root && c.aki().is_none() {
            return fail("has no authorityKeyIdentifier key identifier".into());
        }
        if c.ski().is_none() {
            return fail("is a CA without a subjectKeyIdentifier".into());
        }
    }
    if c.x.issuer().iter().next().is_none() {
        return fail("has an empty issuer name".into());
    }
    if c.x.subject().iter().next().is_none() {
        return fail("is a CA with an empty subject name".into());
    }
    if c.x.signature_algorithm != c.x.tbs_certificate.signature {
        return fail(
            "names different signature algorithms inside and outside its signed part".into(),
        );
    }
    Ok(())
}

/// pathLenConstraint: a CA at distance i above the cluster CA has i CAs below it
/// once istiod issues workload certificates (the cluster CA included).
fn check_path_len(path: &[&Cert]) -> Result<(), Refusal> {
    for (i, c) in path.iter().enumerate() {
        let Some(limit) =
            c.x.basic_constraints()
                .ok()
                .flatten()
                .and_then(|b| b.value.path_len_constraint)
        else {
            continue;
        };
        // Self-issued intermediates do not count (RFC 5280 6.1.4 (l)).
        let below = path[..i].iter().filter(|p| !p.self_issued()).count();
        if below > limit as usize {
            return Err(refuse(
                c.source,
                Fault::PathLen,
                Judge::OpenSsl,
                format!(
                    "{} allows {limit} CA(s) below it (pathLenConstraint {limit}) but has {below} \
                     ({}), so Envoy and ztunnel reject the workload certificates at the bottom; \
                     issue {} directly from a CA whose path length allows it",
                    c.name,
                    path[..i]
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    path[0].name
                ),
            ));
        }
    }
    Ok(())
}

/// ztunnel's judge: sign a short-lived workload certificate with the CA's key, as
/// istiod would, and verify it with rustls-webpki for both server and client auth.
fn check_workload(
    path: &[&Cert],
    kp: &rcgen::KeyPair,
    key_source: &str,
    options: &Options,
    notes: &mut Vec<String>,
) -> Result<(), Refusal> {
    let cert = path[0];
    let skipped = |why: String| {
        format!(
            "{}: the rustls-webpki (ztunnel) check was skipped: {why}",
            cert.source
        )
    };
    let leaf = match probe_leaf(cert, kp, options.now) {
        Ok(l) => l,
        Err(e) => {
            notes.push(skipped(format!(
                "could not sign a test workload certificate ({e})"
            )));
            return Ok(());
        }
    };
    // rcgen re-encodes the issuer name; if it cannot reproduce it byte for byte the
    // probe would fail for a reason of ours, not the bundle's.
    let same_issuer = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map(|(_, l)| l.issuer().as_raw() == cert.x.subject().as_raw())
        .unwrap_or(false);
    if !same_issuer {
        notes.push(skipped(format!(
            "the subject of {} could not be reproduced exactly in a test certificate",
            cert.name
        )));
        return Ok(());
    }

    let root_der = CertificateDer::from(path[path.len() - 1].der);
    let intermediates: Vec<CertificateDer> = path[..path.len() - 1]
        .iter()
        .map(|c| CertificateDer::from(c.der))
        .collect();
    let fail = |e: String| {
        refuse(
            cert.source,
            Fault::WorkloadRejected,
            Judge::Webpki,
            format!(
                "a workload certificate signed by {} (with the key in {key_source}) fails \
                 rustls-webpki verification against the root: {e}; ztunnel would refuse every \
                 workload certificate this CA issues",
                cert.name
            ),
        )
    };
    let anchor = webpki::anchor_from_trusted_cert(&root_der).map_err(|e| fail(format!("{e:?}")))?;
    let anchors = [anchor];
    let ee = webpki::EndEntityCert::try_from(&leaf).map_err(|e| fail(format!("{e:?}")))?;
    let secs = u64::try_from(options.now.unix_timestamp()).unwrap_or(0);
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    for usage in [
        webpki::KeyUsage::server_auth(),
        webpki::KeyUsage::client_auth(),
    ] {
        ee.verify_for_usage(
            ZTUNNEL_ALGS,
            &anchors,
            &intermediates,
            at,
            usage,
            None,
            None,
        )
        .map_err(|e| fail(format!("{e:?}")))?;
    }
    Ok(())
}

fn probe_leaf(
    cert: &Cert,
    kp: &rcgen::KeyPair,
    now: OffsetDateTime,
) -> Result<CertificateDer<'static>, rcgen::Error> {
    let issuer = rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(cert.der), kp)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.subject_alt_names = vec![rcgen::SanType::URI(PROBE_SPIFFE_ID.try_into()?)];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::hours(1);
    let leaf_key = rcgen::KeyPair::generate()?;
    Ok(params.signed_by(&leaf_key, &issuer)?.der().clone())
}
