//! The `puma` command: parses the command line, runs it, and reports an error as one line on
//! stderr with exit status 1 (2 for a usage error: an unknown flag, a missing argument).
//!
//! `--help` and `--version` print to stdout and exit 0, as clap does; every other message is
//! one line on stderr starting `puma: error: `, so scripts can grep for it.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use puma::cli::{Cli, run};

fn main() -> ExitCode {
    // A panic is a bug, never the answer to bad input; still keep it to one line.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!("puma: internal error (a bug, please report it): {msg}{at}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("puma: error: {}", usage_line(&e));
            return ExitCode::from(2);
        }
    };
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

/// clap's message without its usage block, on one line, with a pointer to `--help`: the
/// first paragraph, its indented continuation lines (missing arguments) joined by ", ".
fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("bad command line");
    let first = first.trim().trim_start_matches("error:").trim();
    let rest: Vec<&str> = lines.map(str::trim).collect();
    if rest.is_empty() {
        format!("{first} (see --help)")
    } else {
        format!("{first} {} (see --help)", rest.join(", "))
    }
}
