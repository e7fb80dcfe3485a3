//! The `puma` command line: argument parsing (clap) and one module per subcommand.
//!
//! `main.rs` only parses, calls [`run`] and turns an [`Error`](crate::Error) into one line on
//! stderr and a non-zero exit. A subcommand writes its report to the writer it is given, so
//! tests can read it without spawning a process. [`common`] holds what they share: the
//! `--threads` pool, reading data for a model with errors that name the file and line, and
//! writing the summary; [`crate::io::report`] the JSON report and the output-file rules.

pub mod common;
pub mod demo;
pub mod influence;
pub mod info;
pub mod patch;
pub mod train;
pub mod value;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::error::Result;

/// puma: find the training points behind a model's failures and patch their influence away.
#[derive(Debug, Parser)]
#[command(name = "puma", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Shown after `puma --help`.
const EXAMPLES: &str = "\
Examples:
  puma demo                                the whole job on bundled digits data, in seconds
  puma info fixtures/digits/digits.csv     n, d, K, label counts and feature ranges
  puma train --data fixtures/digits/digits.csv --hidden 32 --standardise --out m.safetensors
                                           an MLP trained to ‖∇J‖∞ ≤ 1e-12
  puma influence --model m.safetensors --train train.csv --test test.csv --out infl.csv
                                           each training row's effect on the mean test loss
  puma value --model m.safetensors --train train.csv --eval eval.csv --out value.csv
                                           each training row's value for a criterion (ψ)
  puma patch --model m.safetensors --train train.csv --eval eval.csv --remove rows.txt \\
             --out patched.safetensors     remove rows' influence, guard criteria unchanged
  puma help train                          formats and more examples";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole job on bundled data: train on digits with flipped labels, value every
    /// training point, flag the worst, patch them out with PUMA, compare with retraining.
    #[command(after_long_help = demo::EXAMPLES, after_help = demo::EXAMPLES)]
    Demo(demo::DemoArgs),
    /// Summarise a data set: rows, features, classes, label counts, feature ranges.
    #[command(after_long_help = info::EXAMPLES, after_help = info::EXAMPLES)]
    Info(info::InfoArgs),
    /// Train an MLP or logistic regression to ‖∇J‖∞ ≤ 1e-12 and save it (safetensors).
    #[command(after_long_help = train::EXAMPLES, after_help = train::EXAMPLES)]
    Train(train::TrainArgs),
    /// Influence of every training row on the mean test loss (if removed: (1/n) g_iᵀ H_ρ⁻¹ ∇L_test).
    #[command(after_long_help = influence::EXAMPLES, after_help = influence::EXAMPLES)]
    Influence(influence::InfluenceArgs),
    /// Value of every training row for a criterion on an evaluation set (loss, per-class loss, ECE).
    #[command(after_long_help = value::EXAMPLES, after_help = value::EXAMPLES)]
    Value(value::ValueArgs),
    /// Remove the influence of marked training rows without retraining (PUMA), keeping the
    /// evaluation set's per-sample loss unchanged.
    #[command(after_long_help = patch::EXAMPLES, after_help = patch::EXAMPLES)]
    Patch(patch::PatchArgs),
}

/// Runs a parsed command line, writing its report to `out`.
///
/// # Errors
/// Whatever the subcommand returns: unreadable or malformed files, bad arguments.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(&args, out),
        Command::Info(args) => info::run(&args, out),
        Command::Train(args) => train::run(&args, out),
        Command::Influence(args) => influence::run(&args, out),
        Command::Value(args) => value::run(&args, out),
        Command::Patch(args) => patch::run(&args, out),
    }
}
