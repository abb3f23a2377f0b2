//! The bundle: one JSON object that flows down a pipeline and gains fields at each
//! step. Unknown fields pass through untouched so later tools can add their own.
//!
//! | field            | set by         | holds                                             |
//! |------------------|----------------|---------------------------------------------------|
//! | `cluster`        | pca-csr        | cluster name                                      |
//! | `key_type`       | pca-csr        | `rsa2048`, `ecdsa-p256`, ...                      |
//! | `key_file`       | pca-csr        | path of the private key (never the key itself)   |
//! | `csr`            | pca-csr        | PEM CSR                                           |
//! | `ca`             | pca-issue      | CA identifier: `file:DIR` or a PCA ARN            |
//! | `certificate_id` | pca-issue      | issued certificate's identifier                   |
//! | `template`       | pca-issue      | template ARN used                                 |
//! | `certificate`    | pca-get        | PEM of the cluster's intermediate alone           |
//! | `chain`          | pca-get        | PEM of every CA above it, issuer first, root last |
//! | `root`           | pca-get        | PEM of the self-signed root at the top            |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;

/// The pipeline's JSON object.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Bundle {
    /// Cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Key type name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// Path of the private key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// PEM CSR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csr: Option<String>,
    /// CA identifier (`file:DIR` or an ACM-PCA certificate-authority ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Issued certificate identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// Template ARN the certificate was issued with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// PEM of the issued certificate alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// PEM of the CAs above the certificate, issuer first, ending with the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// PEM of the self-signed root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Fields this version does not know, kept as they came.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Bundle {
    /// Parses a bundle from JSON text.
    pub fn from_json(text: &str) -> Result<Bundle, Error> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::Bundle(format!("is not valid JSON ({e})")))?;
        if !v.is_object() {
            return Err(Error::Bundle("must be a JSON object".into()));
        }
        serde_json::from_value(v)
            .map_err(|e| Error::Bundle(format!("has a field of the wrong type ({e})")))
    }

    /// The bundle as one line of JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    /// A required field, or an error naming it and the tool that sets it.
    pub fn require<'a>(
        field: &'a Option<String>,
        name: &str,
        set_by: &str,
    ) -> Result<&'a str, Error> {
        field
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::Bundle(format!(
                    "has no \"{name}\" field; it is set by {set_by} earlier in the pipeline"
                ))
            })
    }
}

/// What arrived on standard input: a bundle, PEM text, or a bare identifier.
#[derive(Clone, Debug)]
pub enum Input {
    /// A JSON bundle.
    Bundle(Box<Bundle>),
    /// PEM text (a CSR, certificates).
    Pem(String),
    /// A single token such as a certificate ARN or `file:` id.
    Id(String),
}

impl Input {
    /// Classifies input text by its first non-blank character.
    pub fn parse(text: &str) -> Result<Input, Error> {
        let t = text.trim();
        if t.is_empty() {
            return Err(Error::Bundle(
                "standard input is empty; expected a bundle, PEM or an identifier".into(),
            ));
        }
        if t.starts_with('{') {
            return Ok(Input::Bundle(Box::new(Bundle::from_json(t)?)));
        }
        if t.starts_with("-----BEGIN") {
            return Ok(Input::Pem(text.to_string()));
        }
        if t.lines().count() == 1 && !t.contains(char::is_whitespace) {
            return Ok(Input::Id(t.to_string()));
        }
        Err(Error::Bundle(
            "standard input is neither a JSON bundle, PEM, nor a single identifier".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_pass_through() {
        let b =
            Bundle::from_json(r#"{"cluster":"c1","x_custom":{"a":[1,2]},"zz":"keep"}"#).unwrap();
        assert_eq!(b.cluster.as_deref(), Some("c1"));
        let out: Value = serde_json::from_str(&b.to_json()).unwrap();
        assert_eq!(out["x_custom"]["a"][1], 2);
        assert_eq!(out["zz"], "keep");
    }

    #[test]
    fn input_kinds() {
        assert!(matches!(Input::parse("{}").unwrap(), Input::Bundle(_)));
        assert!(matches!(
            Input::parse("-----BEGIN X-----\n").unwrap(),
            Input::Pem(_)
        ));
        assert!(matches!(
            Input::parse("arn:aws:acm-pca:us-east-1:1:certificate-authority/x\n").unwrap(),
            Input::Id(_)
        ));
        assert!(Input::parse("two words").is_err());
        assert!(Input::parse("  ").is_err());
        assert!(Bundle::from_json("[1]").is_err());
        assert!(Bundle::from_json(r#"{"cluster": 5}"#).is_err());
    }
}
