//! `camctl`: the command line for camera-service, on camera-sdk. See `camctl --help` for commands,
//! configuration and exit codes, and cli/README.md for examples.
//!
//! `main` parses the arguments, builds the runtime, runs the command and turns an error into its message
//! (with the server's suggestion) and exit code.

mod args;
mod commands;
mod config;
mod exit;
mod output;
mod progress;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::output::Output;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    let out = Output::new(cli.global.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(commands::run(cli, out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            if out.json {
                let _ = writeln!(stderr, "{}", e.json());
            } else if !matches!(e, exit::CliError::Interrupted) {
                for line in e.human_lines() {
                    let _ = writeln!(stderr, "{line}");
                }
            }
            ExitCode::from(e.exit_code())
        }
    }
}
