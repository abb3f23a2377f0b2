//! Istio's `cacerts` secret: the files istiod reads, built only from a validated
//! bundle, as a Kubernetes manifest or as files in a directory.

use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::error::Error;
use crate::fsio::{self, Mode};
use crate::pemfile;
use crate::verify::Verified;

/// The secret's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Generic secret with `ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`.
    #[default]
    Cacerts,
    /// `kubernetes.io/tls` secret with `tls.crt` (intermediate + CAs below the root),
    /// `tls.key` and `ca.crt` (the root); istiod appends `ca.crt` itself.
    Tls,
}

/// One file of the secret.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key in the secret's `data` (and the file name in a directory).
    pub name: &'static str,
    /// The PEM content.
    pub pem: String,
    /// Whether it holds the private key.
    pub private: bool,
}

/// The secret's entries for a validated bundle and the key's PEM.
pub fn entries(v: &Verified, key_pem: &str, format: Format) -> Vec<Entry> {
    let cert = pemfile::encode_certificates([v.cert.as_slice()]);
    let root = pemfile::encode_certificates([v.root.as_slice()]);
    let entry = |name, pem, private| Entry { name, pem, private };
    match format {
        Format::Cacerts => {
            let chain = pemfile::encode_certificates(
                std::iter::once(v.cert.as_slice()).chain(v.chain.iter().map(Vec::as_slice)),
            );
            vec![
                entry("ca-cert.pem", cert, false),
                entry("ca-key.pem", key_pem.to_string(), true),
                entry("root-cert.pem", root, false),
                entry("cert-chain.pem", chain, false),
            ]
        }
        Format::Tls => {
            // Everything but the root: istiod builds the chain as tls.crt + ca.crt.
            let below_root = &v.chain[..v.chain.len().saturating_sub(1)];
            let crt = pemfile::encode_certificates(
                std::iter::once(v.cert.as_slice()).chain(below_root.iter().map(Vec::as_slice)),
            );
            vec![
                entry("tls.crt", crt, false),
                entry("tls.key", key_pem.to_string(), true),
                entry("ca.crt", root, false),
            ]
        }
    }
}

/// The Secret manifest (`kubectl apply -f -` accepts it).
pub fn manifest(entries: &[Entry], name: &str, namespace: &str, format: Format) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: serde_json::Map<String, Value> = entries
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                Value::String(b64.encode(e.pem.as_bytes())),
            )
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": { "app.kubernetes.io/managed-by": "pca-mesh" },
        },
        "type": match format { Format::Cacerts => "Opaque", Format::Tls => "kubernetes.io/tls" },
        "data": data,
    })
}

/// Writes the entries as files in `dir`: the key 0600 and never over an existing
/// file unless `force`; the certificates 0644.
pub fn write_dir(dir: &Path, entries: &[Entry], force: bool) -> Result<(), Error> {
    // Check first so a refusal leaves the directory exactly as it was.
    if !force {
        for e in entries.iter().filter(|e| e.private) {
            if dir.join(e.name).exists() {
                return Err(Error::WouldOverwrite(dir.join(e.name)));
            }
        }
    }
    for e in entries {
        let mode = if e.private {
            Mode::Private
        } else {
            Mode::Public
        };
        fsio::write_atomic(
            &dir.join(e.name),
            e.pem.as_bytes(),
            mode,
            force || !e.private,
        )?;
    }
    Ok(())
}

/// The manifest as YAML.
pub fn to_yaml(manifest: &Value) -> Result<String, Error> {
    serde_yaml::to_string(manifest).map_err(|e| Error::Bundle(format!("cannot render YAML ({e})")))
}
