//! Where results go: stdout, as a table or text for people, or with `--json` as the server's result object
//! (one compact JSON document per line, so streams of results are JSON Lines). Progress bars and messages go
//! to stderr. A closed stdout (`camctl … | head`) ends output quietly instead of panicking.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::exit::CliError;
use crate::render::Style;

/// The output mode of one invocation.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// `--json`.
    pub json: bool,
    /// Table style for human output.
    pub style: Style,
}

impl Output {
    /// The mode for this process: tables styled for a terminal when stdout is one.
    pub fn new(json: bool) -> Output {
        Output {
            json,
            style: Style {
                tty: std::io::stdout().is_terminal(),
            },
        }
    }

    /// Prints `value` as JSON, or `human(value)` as text.
    pub fn emit<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) -> Result<(), CliError> {
        if self.json {
            self.json_line(value)
        } else {
            write_stdout(&human(value))
        }
    }

    /// Prints `value` as one JSON line, whatever the mode.
    pub fn json_line<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string(value).map_err(|e| CliError::Other(e.to_string()))?;
        write_stdout(&text)
    }

    /// Prints a line of text in human mode; nothing with `--json`.
    pub fn text(&self, line: &str) -> Result<(), CliError> {
        if self.json { Ok(()) } else { write_stdout(line) }
    }

    /// Prints a message on stderr (human mode only).
    pub fn note(&self, line: &str) {
        if !self.json {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

/// Writes one line to stdout; a broken pipe is not an error.
fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Io(e)),
        _ => Ok(()),
    }
}
