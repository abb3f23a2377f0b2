//! Certificate signing requests for cluster intermediate CAs: the subject the guide
//! uses, optional SANs, and reading a CSR back for signing.

use rcgen::{
    CertificateParams, CertificateSigningRequestParams, DistinguishedName, DnType, KeyPair, SanType,
};
use rustls_pki_types::CertificateSigningRequestDer;

use crate::error::Error;
use crate::pemfile::Named;

/// The subject of a cluster's intermediate CA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    /// C
    pub country: Option<String>,
    /// ST
    pub state: Option<String>,
    /// L
    pub locality: Option<String>,
    /// O
    pub org: Option<String>,
    /// OU
    pub org_unit: Option<String>,
    /// CN
    pub common_name: Option<String>,
}

impl Subject {
    /// The guide's subject for a cluster: `/C=US/ST=CA/O=Tetrateio/CN=<cluster>-cluster`.
    pub fn for_cluster(cluster: &str) -> Subject {
        Subject {
            country: Some("US".into()),
            state: Some("CA".into()),
            locality: None,
            org: Some("Tetrateio".into()),
            org_unit: None,
            common_name: Some(format!("{cluster}-cluster")),
        }
    }

    /// This subject with every field set in `other` taking its place.
    pub fn overridden_by(mut self, other: Subject) -> Subject {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(country, state, locality, org, org_unit, common_name);
        self
    }

    pub(crate) fn distinguished_name(&self) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        let fields = [
            (DnType::CountryName, &self.country),
            (DnType::StateOrProvinceName, &self.state),
            (DnType::LocalityName, &self.locality),
            (DnType::OrganizationName, &self.org),
            (DnType::OrganizationalUnitName, &self.org_unit),
            (DnType::CommonName, &self.common_name),
        ];
        for (ty, v) in fields {
            if let Some(v) = v {
                dn.push(ty, v.as_str());
            }
        }
        dn
    }
}

/// Subject alternative names to request.
#[derive(Clone, Debug, Default)]
pub struct Sans {
    /// DNS names.
    pub dns: Vec<String>,
    /// URIs, e.g. a SPIFFE trust-domain id `spiffe://cluster.local`.
    pub uri: Vec<String>,
}

/// Builds a PKCS#10 CSR (PEM) for `key`.
pub fn build(subject: &Subject, sans: &Sans, key: &KeyPair) -> Result<String, Error> {
    if subject.common_name.as_deref().is_none_or(str::is_empty) {
        return Err(Error::Argument {
            flag: "--cn",
            reason: "the subject needs a common name; pass --cluster NAME or --cn".into(),
        });
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = subject.distinguished_name();
    for d in &sans.dns {
        let name = d.clone().try_into().map_err(|_| Error::Argument {
            flag: "--dns",
            reason: format!("{d:?} is not a valid DNS name"),
        })?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for u in &sans.uri {
        if !u.contains(':') {
            return Err(Error::Argument {
                flag: "--uri",
                reason: format!("{u:?} is not a URI (expected e.g. spiffe://cluster.local)"),
            });
        }
        let uri = u.clone().try_into().map_err(|_| Error::Argument {
            flag: "--uri",
            reason: format!("{u:?} is not a valid URI"),
        })?;
        params.subject_alt_names.push(SanType::URI(uri));
    }
    let csr = params.serialize_request(key).map_err(|e| Error::Crypto {
        what: "building the CSR".into(),
        reason: e.to_string(),
    })?;
    csr.pem().map_err(|e| Error::Crypto {
        what: "encoding the CSR".into(),
        reason: e.to_string(),
    })
}

/// Parses a CSR and checks its self-signature, as PCA does before issuing.
pub fn parse(csr: &Named) -> Result<CertificateSigningRequestParams, Error> {
    CertificateSigningRequestParams::from_der(&CertificateSigningRequestDer::from(csr.der.as_slice())).map_err(|e| {
        Error::Pem {
            source_name: csr.source.clone(),
            reason: match e {
                rcgen::Error::InvalidCertificationRequestSignature => {
                    "holds a CSR whose signature does not verify (was it edited after signing?)".into()
                }
                rcgen::Error::UnsupportedExtension => {
                    "holds a CSR with an extension the local CA does not copy (only SAN, key usage, extended key \
                     usage and basic constraints are accepted)"
                        .into()
                }
                other => format!("does not hold a readable CSR ({other})"),
            },
        }
    })
}
