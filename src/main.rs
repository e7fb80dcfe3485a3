//! The `puma` command: parses the command line, runs it, and reports an error as one line on
//! stderr with exit status 1 (2 for a usage error, as clap does).

use std::process::ExitCode;

use clap::Parser;
use puma::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("puma: error: {e}");
            ExitCode::FAILURE
        }
    }
}
