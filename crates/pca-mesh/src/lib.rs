//! pca-mesh: put an enterprise PKI (AWS Private CA, or a local file-backed CA) under an
//! Istio service mesh. This crate holds all the logic; the `pca-*` and `cacerts-*`
//! binaries are argument parsing and I/O over it.

pub mod bundle;
pub mod ca;
pub mod cacerts;
pub mod cert;
pub mod cli;
pub mod cluster;
pub mod csr;
pub mod error;
pub mod fsio;
pub mod key;
pub mod pemfile;
pub mod steps;
pub mod template;
pub mod validity;
pub mod verify;

pub use error::{Error, Result};
