//! Files and streams: atomic writes (temp file + rename, so a killed writer leaves
//! nothing half-written), private files created 0600, no silent overwrite of keys,
//! and a guard against printing secrets to a terminal.

use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::error::Error;

/// How a file is to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// World-readable (0644 before umask): certificates, manifests.
    Public,
    /// Owner-only (0600): private keys and anything holding one.
    Private,
}

/// Writes `data` to `path` atomically. With `overwrite == false` an existing file is
/// an error and is left as it was; parent directories are created.
pub fn write_atomic(path: &Path, data: &[u8], mode: Mode, overwrite: bool) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating the directory", e))?;
    if !overwrite && path.exists() {
        return Err(Error::WouldOverwrite(path.to_path_buf()));
    }
    // tempfile creates the file 0600 already; public files are widened after the write.
    let mut tmp = tempfile::Builder::new()
        .prefix(".pca-mesh-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "creating a temporary file", e))?;
    tmp.write_all(data)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), "writing", e))?;
    if mode == Mode::Public {
        set_mode(tmp.path(), 0o644)?;
    }
    if overwrite {
        tmp.persist(path)
            .map_err(|e| Error::io(path, "replacing", e.error))?;
    } else {
        // persist_noclobber fails if the file appeared meanwhile, so a race cannot clobber a key.
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite(path.to_path_buf())
            } else {
                Error::io(path, "creating", e.error)
            }
        })?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, "setting permissions", e))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), Error> {
    Ok(())
}

/// Reads a whole file as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))
}

/// Reads all of standard input, refusing to wait on an interactive terminal.
pub fn read_stdin(what: &str) -> Result<String, Error> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Argument {
            flag: "stdin",
            reason: format!(
                "expected {what} on standard input (pipe it in, or pass it as an argument)"
            ),
        });
    }
    let mut s = String::new();
    stdin
        .read_to_string(&mut s)
        .map_err(|e| Error::io("<stdin>", "reading", e))?;
    Ok(s)
}

/// Refuses when standard output is a terminal and `what` is secret.
pub fn guard_stdout_secret(what: &'static str) -> Result<(), Error> {
    if std::io::stdout().is_terminal() {
        return Err(Error::Terminal(what));
    }
    Ok(())
}

/// Indented JSON with a trailing newline, as every tool prints and saves it.
pub fn pretty_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()) + "\n"
}

/// Writes `text` to standard output. A closed pipe (`| head`) is a normal end:
/// the caller exits quietly.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::io("<stdout>", "writing", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_and_not_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/key.pem");
        write_atomic(&p, b"one", Mode::Private, false).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            write_atomic(&p, b"two", Mode::Private, false),
            Err(Error::WouldOverwrite(_))
        ));
        assert_eq!(fs::read(&p).unwrap(), b"one");
        write_atomic(&p, b"two", Mode::Private, true).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let q = dir.path().join("cert.pem");
        write_atomic(&q, b"c", Mode::Public, false).unwrap();
        assert_eq!(
            fs::metadata(&q).unwrap().permissions().mode() & 0o777,
            0o644
        );
        // Nothing but the two files: no temporary left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("sub")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
