//! `puma info`: read a data set (CSV, IDX or NPY) and print n, d, K, label counts and
//! feature ranges: the first thing to look at before training on a file.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::data::{Dataset, Format, npy, read_dataset};
use crate::error::{Error, Result};

use super::common::write_summary;

/// Worked examples shown after `puma info --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma info fixtures/digits/digits.csv
      1797 rows, 64 features, 10 classes; label counts and feature ranges
  puma info fixtures/mnist10k/images-idx3-ubyte.gz --labels fixtures/mnist10k/labels-idx1-ubyte.gz
      10000 rows, 784 features (28 × 28 pixels, 0..255), 10 classes
  puma info x.npy --labels y.npy
      features from one .npy, labels from another (without --labels: features only)

Formats are told apart by the file name: *.csv (a header with a `label` column, every other
column a feature), *.npy, and IDX names containing `idx` or `ubyte` (gzipped or not).
Use --format to override.";

/// File format of the data set (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// CSV with a header and a `label` column.
    Csv,
    /// IDX images (labels from --labels), gzipped or not.
    Idx,
    /// NumPy .npy features (labels from --labels, optional).
    Npy,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Idx => Format::Idx,
            FormatArg::Npy => Format::Npy,
        }
    }
}

/// Arguments of `puma info`.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    /// Data file: CSV, IDX images or NPY features.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Labels file for IDX images (required) or NPY features (optional).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// File format; by default guessed from the file name.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Print the range of every feature, not only the first 20.
    #[arg(long)]
    pub all: bool,
}

/// How many per-feature ranges are printed without `--all`.
const SHOWN_FEATURES: usize = 20;

/// Runs `puma info`, writing the summary to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] if the format cannot be told from the name or `--labels` is missing
/// for IDX or given for CSV; the readers' [`Error::Data`], [`Error::DataAt`] and
/// [`Error::Io`] for unreadable or malformed files; [`Error::Io`] if `out` fails.
pub fn run(args: &InfoArgs, out: &mut dyn Write) -> Result<()> {
    let format = match args.format {
        Some(f) => f.into(),
        None => {
            Format::from_path(&args.file).map_err(|e| with_hint(e, "use --format csv|idx|npy"))?
        }
    };
    let text = match (format, &args.labels) {
        (Format::Npy, None) => {
            let arr = npy::read_npy_features(&args.file)?;
            let (n, d) = (arr.rows(), arr.cols());
            let ds = Dataset::new(arr.data, d, vec![0; n])?.with_source(&args.file);
            summary(&ds, "NPY, features only", args.all)
        }
        (_, labels) => {
            let ds = read_dataset(&args.file, labels.as_deref(), Some(format))
                .map_err(|e| with_hint(e, "give the labels file with --labels FILE"))?;
            summary(&ds, format.name(), args.all)
        }
    };
    // `puma info ... | head` closes the pipe early: not an error of ours.
    write_summary(out, &text)
}

/// `v` with about 6 significant digits, without trailing zeros (`4254`, `0.0008948`,
/// `-1.4617`), in exponent form outside `1e-5 ..= 1e15`.
fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = v.abs().log10().floor();
    if !(-5.0..15.0).contains(&e) {
        return format!("{v:.5e}");
    }
    let decimals = (5.0 - e).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Appends a command-line hint to an [`Error::InvalidParam`] about the arguments.
fn with_hint(e: Error, hint: &str) -> Error {
    match e {
        Error::InvalidParam { name, reason } if name == "format" || name == "labels" => {
            Error::InvalidParam {
                name,
                reason: format!("{reason}; {hint}"),
            }
        }
        other => other,
    }
}

/// The report: one fact per line, label counts with shares, feature ranges.
fn summary(ds: &Dataset, kind: &str, all: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let source = ds.source().map_or("-".into(), |p| p.display().to_string());
    let labelled = kind != "NPY, features only";
    let _ = writeln!(s, "file      {source} ({kind})");
    let _ = writeln!(s, "rows      n = {}", ds.n());
    let _ = writeln!(s, "features  d = {}", ds.d());
    if labelled {
        let _ = writeln!(s, "classes   K = {}", ds.k());
        let _ = writeln!(s, "label counts:");
        for (c, &count) in ds.label_counts().iter().enumerate() {
            let share = 100.0 * count as f64 / ds.n().max(1) as f64;
            let _ = writeln!(s, "  {c:>5}  {count:>8}  ({share:.1}%)");
        }
    }
    let ranges = ds.feature_ranges();
    if ds.n() > 0 && !ranges.is_empty() {
        let lo = ranges.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        let hi = ranges.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max);
        let constant = ranges.iter().filter(|r| r.0 == r.1).count();
        let _ = writeln!(
            s,
            "feature ranges (min .. max): all features {} .. {}, {constant} constant",
            num(lo),
            num(hi)
        );
        let names = ds.feature_names();
        let shown = if all {
            ranges.len()
        } else {
            ranges.len().min(SHOWN_FEATURES)
        };
        let width = (0..shown)
            .map(|j| names.map_or(format!("x{j}").len(), |n| n[j].len()))
            .max()
            .unwrap_or(0);
        for (j, (lo, hi)) in ranges.iter().enumerate().take(shown) {
            let name = names.map_or(format!("x{j}"), |n| n[j].clone());
            let _ = writeln!(s, "  {name:<width$}  {} .. {}", num(*lo), num(*hi));
        }
        if shown < ranges.len() {
            let _ = writeln!(
                s,
                "  ... {} more (--all shows every feature)",
                ranges.len() - shown
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_counts_and_ranges() {
        let ds = Dataset::new(vec![0.0, 5.0, 1.0, 5.0, 2.0, 5.0], 2, vec![0, 1, 1])
            .unwrap()
            .with_source("t.csv");
        let s = summary(&ds, "CSV", false);
        assert!(s.contains("rows      n = 3"), "{s}");
        assert!(s.contains("classes   K = 2"), "{s}");
        assert!(s.contains("      1         2  (66.7%)"), "{s}");
        assert!(s.contains("all features 0 .. 5, 1 constant"), "{s}");
        assert!(s.contains("  x0  0 .. 2"), "{s}");
    }

    #[test]
    fn numbers_print_with_six_significant_digits() {
        assert_eq!(num(4254.0), "4254");
        assert_eq!(num(0.0008948), "0.0008948");
        assert_eq!(num(-1.4617041564487883), "-1.4617");
        assert_eq!(num(2.292193478068497), "2.29219");
        assert_eq!(num(255.0), "255");
        assert_eq!(num(-0.5), "-0.5");
        assert_eq!(num(1.25e-9), "1.25000e-9");
        assert_eq!(num(0.0), "0");
    }
}
