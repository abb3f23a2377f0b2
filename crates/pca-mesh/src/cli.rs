//! What every binary shares: the run-and-report wrapper with documented exit codes,
//! and hidden flags that render its man page and shell completions.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory};

use crate::error::Error;

/// Exit status: success.
const EXIT_OK: u8 = 0;

/// Hidden flags every binary accepts, used by `make man` and packagers.
#[derive(Args, Debug, Default)]
pub struct Meta {
    /// Print this tool's man page (roff) and exit.
    #[arg(long, hide = true)]
    pub generate_man: bool,
    /// Print shell completions (bash, zsh, fish, elvish, powershell) and exit.
    #[arg(long, hide = true, value_name = "SHELL")]
    pub generate_completions: Option<clap_complete::Shell>,
}

impl Meta {
    /// Handles the hidden flags for the command `C`; `Some` means exit now.
    pub fn handle<C: CommandFactory>(&self) -> Option<ExitCode> {
        let mut cmd = C::command();
        if self.generate_man {
            let mut out = Vec::new();
            if clap_mangen::Man::new(cmd).render(&mut out).is_err() {
                return Some(ExitCode::FAILURE);
            }
            let _ = std::io::stdout().write_all(&out);
            return Some(ExitCode::SUCCESS);
        }
        if let Some(shell) = self.generate_completions {
            let name = cmd.get_name().to_string();
            clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
            return Some(ExitCode::SUCCESS);
        }
        None
    }
}

/// The whole `main` of a tool: parse the arguments, answer the hidden flags, run the
/// body, and report its error as one line on stderr with the documented exit code.
pub fn main<C: clap::Parser>(meta: fn(&C) -> &Meta, body: fn(C) -> Result<(), Error>) -> ExitCode {
    let args = C::parse();
    if let Some(code) = meta(&args).handle::<C>() {
        return code;
    }
    let name = C::command().get_name().to_string();
    finish(&name, body(args))
}

/// Runs a tool's body and turns its error into one line on stderr and the exit code.
pub fn finish(tool: &str, result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{tool}: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Prints a note (progress, normalisation, warnings) on stderr, prefixed by the tool.
pub fn note(tool: &str, msg: &str) {
    let _ = writeln!(std::io::stderr(), "{tool}: {msg}");
}

// One text for both constants: concat! needs a macro, not a const.
macro_rules! exit_codes {
    () => {
        "Exit status: 0 success; 1 failure (I/O, CA, cluster); 2 usage error; \
3 input refused: malformed PEM, or a bundle that fails validation (nothing written)."
    };
}

/// Help text on exit codes, shared by every tool.
pub const EXIT_CODES: &str = exit_codes!();

/// Long help of the pipeline tools: the bundle's fields, then the exit codes.
pub const BUNDLE_AND_EXIT_CODES: &str = concat!(
    "\
The bundle is one JSON object that flows down the pipe; each tool adds fields and passes \
unknown fields through untouched. Private keys never travel in it, only the key file's path.
  cluster         pca-csr    cluster name
  key_type        pca-csr    rsa2048, rsa3072, rsa4096, ecdsa-p256, ecdsa-p384
  key_file        pca-csr    path of the private key file (0600)
  csr             pca-csr    PEM certificate signing request
  ca              pca-issue  the CA: file:DIR, or an ACM-PCA certificate-authority ARN
  certificate_id  pca-issue  file:DIR/certificate/SERIAL or an ACM-PCA certificate ARN
  template        pca-issue  template ARN used
  certificate     pca-get    PEM of the cluster's intermediate CA alone
  chain           pca-get    PEM of every CA above it, issuer first, ending with the root
  root            pca-get    PEM of the self-signed root at the top

",
    exit_codes!()
);

/// Reads a duration: `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("cannot read duration {s:?}; expected e.g. 500ms, 30s, 2m or a number of seconds")
    })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "cannot read duration {s:?}; the unit must be ms, s, m or h"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration {s:?} is out of range"))
}

/// The value among `all` whose name is `s` (ignoring case), or a message listing the
/// names; `what` names the kind of value ("key type").
pub(crate) fn one_of<T: Copy>(
    s: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            let names: Vec<_> = all.iter().map(|v| name(*v)).collect();
            format!("unknown {what} {s:?}; expected one of {}", names.join(", "))
        })
}

/// A duration as the flags take it, compactly: `500ms`, `90s`, `5m`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        format!("{}m", d.as_secs() / 60)
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3d").is_err());
        for (d, shown) in [
            (1500, "1500ms"),
            (90_000, "90s"),
            (300_000, "5m"),
            (60_000, "1m"),
        ] {
            assert_eq!(show_duration(Duration::from_millis(d)), shown);
            assert_eq!(parse_duration(shown).unwrap(), Duration::from_millis(d));
        }
    }
}
