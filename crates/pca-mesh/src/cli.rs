//! What every binary shares: the run-and-report wrapper with documented exit codes,
//! and hidden flags that render its man page and shell completions.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use crate::error::Error;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;

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

/// Long help text on exit codes, shared by every tool.
pub const EXIT_CODES: &str = "Exit status: 0 success; 1 failure (I/O, CA, cluster); 2 usage error; \
3 input refused: malformed PEM, or a bundle that fails validation (nothing written).";
