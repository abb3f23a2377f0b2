//! Private keys: the key types the tools generate and loading keys from PEM with the
//! signature algorithm a CA will use.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PublicKeyData};
use rustls_pki_types::PrivateKeyDer;

use crate::error::Error;
use crate::pemfile::{self, Named};
use crate::template::SigningAlgorithm;

/// Key types offered for new keys; the guide's choice is `rsa2048`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyType {
    /// RSA 2048, the guide's default.
    #[default]
    Rsa2048,
    /// RSA 3072.
    Rsa3072,
    /// RSA 4096, Istio's `tools/certs` default for roots.
    Rsa4096,
    /// ECDSA on P-256.
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
}

impl KeyType {
    /// Every key type, in the order `--help` lists them.
    pub const ALL: [KeyType; 5] = [
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
    ];

    /// The name used on the command line and in the bundle.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa3072 => "rsa3072",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
        }
    }

    /// The signature algorithm a key of this type signs with by default, as PCA picks it.
    pub fn default_signing_algorithm(self) -> SigningAlgorithm {
        match self {
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => {
                SigningAlgorithm::Sha256WithRsa
            }
            KeyType::EcdsaP256 => SigningAlgorithm::Sha256WithEcdsa,
            KeyType::EcdsaP384 => SigningAlgorithm::Sha384WithEcdsa,
        }
    }

    /// Whether this is an RSA key type.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// Generates a fresh key pair of this type.
    pub fn generate(self) -> Result<KeyPair, Error> {
        let made = match self {
            KeyType::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeyType::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)
            }
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
            KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        };
        made.map_err(|e| Error::Crypto {
            what: format!("generating a {} key", self.name()),
            reason: e.to_string(),
        })
    }

    /// The key type of a public key given as SubjectPublicKeyInfo DER, if it is one we know.
    pub fn of_spki(spki_der: &[u8]) -> Option<KeyType> {
        use x509_parser::prelude::FromDer;
        use x509_parser::public_key::PublicKey;
        let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der).ok()?;
        match spki.parsed().ok()? {
            PublicKey::RSA(rsa) => match rsa.key_size() {
                2048 => Some(KeyType::Rsa2048),
                3072 => Some(KeyType::Rsa3072),
                4096 => Some(KeyType::Rsa4096),
                _ => None,
            },
            PublicKey::EC(_) => {
                let curve = spki.algorithm.parameters.as_ref()?.as_oid().ok()?;
                if curve == x509_parser::oid_registry::OID_EC_P256 {
                    Some(KeyType::EcdsaP256)
                } else if curve == x509_parser::oid_registry::OID_NIST_EC_P384 {
                    Some(KeyType::EcdsaP384)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::cli::one_of(s, &KeyType::ALL, KeyType::name, "key type")
    }
}

/// A private key read from PEM, ready to sign with the algorithm asked for.
pub struct LoadedKey {
    /// The key, set up to sign with the requested algorithm.
    pub pair: KeyPair,
    /// Its type.
    pub key_type: KeyType,
}

/// Reads a private key (PKCS#8, PKCS#1 or SEC1 PEM) and prepares it to sign with
/// `alg`, or with its type's default when `alg` is `None`.
pub fn load(text: &str, source: &str, alg: Option<SigningAlgorithm>) -> Result<LoadedKey, Error> {
    let (named, _label) = pemfile::parse_private_key(text, source)?;
    from_der(&named, alg)
}

/// As [`load`], from DER already taken out of PEM.
pub fn from_der(named: &Named, alg: Option<SigningAlgorithm>) -> Result<LoadedKey, Error> {
    let bad = |reason: String| Error::Crypto {
        what: named.source.clone(),
        reason,
    };
    let der = PrivateKeyDer::try_from(named.der.as_slice())
        .map_err(|e| bad(format!("is not a private key ({e})")))?;
    let probe =
        KeyPair::try_from(&der).map_err(|e| bad(format!("is not a usable private key ({e})")))?;
    let key_type = KeyType::of_spki(&probe.subject_public_key_info()).ok_or_else(|| {
        bad(
            "holds a key type the tools do not support (use RSA 2048-4096 or ECDSA P-256/P-384)"
                .into(),
        )
    })?;
    let alg = alg.unwrap_or(key_type.default_signing_algorithm());
    let rcgen_alg = alg.rcgen_for(key_type).map_err(&bad)?;
    let pair = KeyPair::from_der_and_sign_algo(&der, rcgen_alg).map_err(|e| bad(e.to_string()))?;
    Ok(LoadedKey { pair, key_type })
}
