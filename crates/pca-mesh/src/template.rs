//! AWS Private CA certificate templates and signing algorithms, with the extensions
//! each template puts in a certificate so the local CA issues what PCA would.

use std::fmt;
use std::str::FromStr;

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};

use crate::key::KeyType;

/// Prefix of PCA template ARNs.
pub const TEMPLATE_ARN_PREFIX: &str = "arn:aws:acm-pca:::template/";

/// A PCA certificate template (the subset this project issues with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    /// `RootCACertificate/V1`: self-signed CA, no path length limit.
    RootCa,
    /// `SubordinateCACertificate_PathLenN/V1`: CA with pathLenConstraint N (0..=3).
    SubordinateCa(u8),
    /// `EndEntityCertificate/V1`: not a CA; TLS server and client.
    EndEntity,
}

impl Default for Template {
    /// The guide's template: a cluster intermediate that may only sign workloads.
    fn default() -> Self {
        Template::SubordinateCa(0)
    }
}

impl Template {
    /// The template's name as PCA spells it, e.g. `SubordinateCACertificate_PathLen0/V1`.
    pub fn name(self) -> String {
        match self {
            Template::RootCa => "RootCACertificate/V1".into(),
            Template::SubordinateCa(n) => format!("SubordinateCACertificate_PathLen{n}/V1"),
            Template::EndEntity => "EndEntityCertificate/V1".into(),
        }
    }

    /// The template ARN to pass to IssueCertificate.
    pub fn arn(self) -> String {
        format!("{TEMPLATE_ARN_PREFIX}{}", self.name())
    }

    /// Whether certificates from this template are CAs.
    pub fn is_ca(self) -> bool {
        !matches!(self, Template::EndEntity)
    }

    /// Sets basicConstraints, keyUsage and extendedKeyUsage as PCA's template does.
    pub fn apply(self, params: &mut CertificateParams) {
        let ca_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        match self {
            Template::RootCa => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = ca_usages;
                params.extended_key_usages.clear();
            }
            Template::SubordinateCa(n) => {
                params.is_ca = IsCa::Ca(BasicConstraints::Constrained(n));
                params.key_usages = ca_usages;
                params.extended_key_usages.clear();
            }
            Template::EndEntity => {
                params.is_ca = IsCa::ExplicitNoCa;
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ];
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
            }
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Template {
    type Err = String;
    /// Accepts a template ARN or its name, with or without `/V1`.
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s.strip_prefix(TEMPLATE_ARN_PREFIX).unwrap_or(s);
        let name = name.strip_suffix("/V1").unwrap_or(name);
        match name {
            "RootCACertificate" => Ok(Template::RootCa),
            "EndEntityCertificate" => Ok(Template::EndEntity),
            _ => name
                .strip_prefix("SubordinateCACertificate_PathLen")
                .and_then(|n| n.parse::<u8>().ok())
                .filter(|n| *n <= 3)
                .map(Template::SubordinateCa)
                .ok_or_else(|| {
                    format!(
                        "unknown template {s:?}; expected SubordinateCACertificate_PathLen0/V1 .. PathLen3/V1, \
                         EndEntityCertificate/V1 or RootCACertificate/V1 (name or ARN)"
                    )
                }),
        }
    }
}

/// PCA signing algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// SHA256WITHRSA
    Sha256WithRsa,
    /// SHA384WITHRSA
    Sha384WithRsa,
    /// SHA512WITHRSA
    Sha512WithRsa,
    /// SHA256WITHECDSA
    Sha256WithEcdsa,
    /// SHA384WITHECDSA
    Sha384WithEcdsa,
    /// SHA512WITHECDSA
    Sha512WithEcdsa,
}

impl SigningAlgorithm {
    /// Every algorithm, as PCA lists them.
    pub const ALL: [SigningAlgorithm; 6] = [
        SigningAlgorithm::Sha256WithRsa,
        SigningAlgorithm::Sha384WithRsa,
        SigningAlgorithm::Sha512WithRsa,
        SigningAlgorithm::Sha256WithEcdsa,
        SigningAlgorithm::Sha384WithEcdsa,
        SigningAlgorithm::Sha512WithEcdsa,
    ];

    /// PCA's name, e.g. `SHA256WITHRSA`.
    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::Sha256WithRsa => "SHA256WITHRSA",
            SigningAlgorithm::Sha384WithRsa => "SHA384WITHRSA",
            SigningAlgorithm::Sha512WithRsa => "SHA512WITHRSA",
            SigningAlgorithm::Sha256WithEcdsa => "SHA256WITHECDSA",
            SigningAlgorithm::Sha384WithEcdsa => "SHA384WITHECDSA",
            SigningAlgorithm::Sha512WithEcdsa => "SHA512WITHECDSA",
        }
    }

    /// Whether this is an RSA algorithm.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            SigningAlgorithm::Sha256WithRsa
                | SigningAlgorithm::Sha384WithRsa
                | SigningAlgorithm::Sha512WithRsa
        )
    }

    /// Refuses an algorithm that does not fit the CA key, as PCA does.
    pub fn check_fits(self, ca_key: KeyType) -> Result<(), String> {
        if self.is_rsa() != ca_key.is_rsa() {
            return Err(format!(
                "signing algorithm {} does not match the CA's {} key; use {} (or leave --signing-algorithm out)",
                self.name(),
                ca_key,
                ca_key.default_signing_algorithm().name()
            ));
        }
        Ok(())
    }

    /// The rcgen algorithm that signs with this algorithm using a `key_type` key.
    pub fn rcgen_for(
        self,
        key_type: KeyType,
    ) -> Result<&'static rcgen::SignatureAlgorithm, String> {
        self.check_fits(key_type)?;
        match (self, key_type) {
            (SigningAlgorithm::Sha256WithRsa, _) => Ok(&rcgen::PKCS_RSA_SHA256),
            (SigningAlgorithm::Sha384WithRsa, _) => Ok(&rcgen::PKCS_RSA_SHA384),
            (SigningAlgorithm::Sha512WithRsa, _) => Ok(&rcgen::PKCS_RSA_SHA512),
            (SigningAlgorithm::Sha256WithEcdsa, KeyType::EcdsaP256) => {
                Ok(&rcgen::PKCS_ECDSA_P256_SHA256)
            }
            (SigningAlgorithm::Sha384WithEcdsa, KeyType::EcdsaP384) => {
                Ok(&rcgen::PKCS_ECDSA_P384_SHA384)
            }
            _ => Err(format!(
                "the local CA signs with a {key_type} key only as {}; {} needs AWS Private CA",
                key_type.default_signing_algorithm().name(),
                self.name()
            )),
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::cli::one_of(
            s,
            &SigningAlgorithm::ALL,
            SigningAlgorithm::name,
            "signing algorithm",
        )
    }
}
