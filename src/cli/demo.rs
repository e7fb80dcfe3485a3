//! `puma demo`: the whole job on the bundled digits data ([`crate::demo`]), with the JSON
//! report and the SVG plots written to a new folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::common::in_pool;
use crate::criteria::Reliability;
use crate::demo::{Demo, DemoParams, run as run_demo};
use crate::error::{Error, Result};
use crate::io::plots::{detection_curves, reliability_diagram};
use crate::io::report::{create_fresh_dir, write_json};

/// Worked examples shown after `puma demo --help`.
pub const EXAMPLES: &str = "\
Examples:
  cargo run --release -- demo
      digits with 10% of training labels flipped: train, value, flag, patch, compare
  puma demo --out results --seed 3 --threads 1
      another seed, one thread (same numbers with any thread count), files in results/

Writes report.json, detection.svg and reliability.svg to --out (default: a new folder
puma-demo, or puma-demo-2, ... if it exists). A folder given with --out is created if
missing and refused if it already holds any of those files: nothing is overwritten.";

/// Arguments of `puma demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Folder for report.json and the plots (created; default puma-demo, puma-demo-2, ...).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed of the split, the flipped labels and the initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Hidden layer widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16")]
    pub hidden: Vec<usize>,
    /// Use only this many digits rows (faster; default all 1,797).
    #[arg(long)]
    pub rows: Option<usize>,
    /// Steps of iterated patching after the one-step PUMA patch (toward retraining with
    /// the compensating weights).
    #[arg(long, default_value_t = 10)]
    pub iterate: usize,
}

/// Runs `puma demo`.
///
/// # Errors
/// As [`crate::demo::run`]; [`Error::Io`] if the output folder cannot be created or written.
pub fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<()> {
    let params = DemoParams {
        seed: args.seed,
        hidden: args.hidden.clone(),
        rows: args.rows,
        iterate: args.iterate,
        ..DemoParams::default()
    };
    let dir = match &args.out {
        Some(dir) => fresh(dir)?,
        None => create_fresh_dir(Path::new("puma-demo"))?,
    };
    let demo = match args.threads {
        None => run_demo(&params, out)?,
        Some(_) => {
            // A pool's closure must be Send: print what the demo wrote once it is done.
            let mut buf = Vec::new();
            let demo = in_pool(args.threads, || run_demo(&params, &mut buf))?;
            out.write_all(&buf)
                .map_err(|e| Error::io(Path::new("<stdout>"), &e))?;
            demo
        }
    };
    write_outputs(&demo, &dir)?;
    writeln!(
        out,
        "\nwrote {0}/report.json, {0}/detection.svg, {0}/reliability.svg",
        dir.display()
    )
    .map_err(|e| Error::io(Path::new("<stdout>"), &e))
}

/// `dir` created if missing; refused if it already holds one of the demo's outputs.
fn fresh(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    for name in ["report.json", "detection.svg", "reliability.svg"] {
        let path = dir.join(name);
        if path.exists() {
            return Err(Error::InvalidParam {
                name: "out",
                reason: format!(
                    "{} exists; choose a new folder (the demo never overwrites)",
                    path.display()
                ),
            });
        }
    }
    Ok(dir.to_path_buf())
}

/// report.json, the detection curves and the reliability diagrams (original vs patched).
fn write_outputs(demo: &Demo, dir: &Path) -> Result<()> {
    write_json(&dir.join("report.json"), &demo.report)?;
    detection_curves(
        &dir.join("detection.svg"),
        "flipped digits labels found",
        &demo.curves,
    )?;
    // Before (the original) and after (the model PUMA ships: the iterated one if any).
    let shipped = demo
        .models
        .iter()
        .rev()
        .find(|m| m.name.starts_with("PUMA"));
    let panels: Vec<(&str, &Reliability)> = demo
        .models
        .first()
        .into_iter()
        .chain(shipped)
        .map(|m| (m.name, &m.reliability))
        .collect();
    reliability_diagram(&dir.join("reliability.svg"), &panels)
}
