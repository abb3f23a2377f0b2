//! The library's error type. Each variant displays as a sentence that says what is
//! wrong, where (file, field, ARN, object) and, where one exists, what to do next.

use std::path::PathBuf;

/// Everything the pca-mesh tools can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {action} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("reading", "creating", ...).
        action: &'static str,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// Input that should be PEM is not, or holds the wrong kind of block.
    #[error("{source_name} {reason}")]
    Pem {
        /// File path or bundle field.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The JSON bundle on stdin (or in a file) is malformed or lacks a field.
    #[error("bundle: {0}")]
    Bundle(String),
    /// A Kubernetes manifest (a Secret from cacerts-build, a backup) is malformed or incomplete.
    #[error("{source_name}: {reason}")]
    Manifest {
        /// Where it came from (standard input, a backup file).
        source_name: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A command-line value could not be understood.
    #[error("{flag}: {reason}")]
    Argument {
        /// The flag, e.g. `--validity`.
        flag: &'static str,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A private key would be overwritten.
    #[error(
        "{0}: a file already exists there; refusing to overwrite a private key (pass --force to replace it, \
         or choose another path)"
    )]
    WouldOverwrite(PathBuf),
    /// Secret material would be written to a terminal.
    #[error("refusing to write {0} to a terminal; redirect standard output to a file or a pipe")]
    Terminal(&'static str),
    /// A key, CSR or certificate could not be made or read by the crypto layer.
    #[error("{what}: {reason}")]
    Crypto {
        /// What was being made or read.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The CA backend refused or failed.
    #[error("{0}")]
    Ca(String),
    /// The Kubernetes cluster refused, failed or could not be reached.
    #[error("{0}")]
    Cluster(String),
    /// A bundle failed validation; nothing was written.
    #[error(transparent)]
    Refused(#[from] crate::verify::Refusal),
}

impl Error {
    /// Wraps an I/O error with the path and the action that failed.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    /// The process exit status this error maps to (see the README's exit codes).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Refused(_) | Error::Pem { .. } => 3,
            Error::Argument { .. } => 2,
            _ => 1,
        }
    }
}

/// The deepest cause of an error, e.g. "Connection refused (os error 111)": it says
/// more than the wrappers around it.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
