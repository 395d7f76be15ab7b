//! `camctl completions <shell>`: prints a completion script generated from the command definitions.

use clap::CommandFactory;

use crate::args::Cli;
use crate::exit::CliError;

/// Writes the script for `shell` to stdout.
pub fn run(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "camctl", &mut buf);
    let text = String::from_utf8(buf).map_err(|e| CliError::Other(e.to_string()))?;
    crate::output::Output::new(false).text(text.trim_end())
}
