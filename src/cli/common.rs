//! What every subcommand shares: a rayon pool of `--threads` workers, reading a data set for
//! a trained model (checked against it, naming the file and line of a misfit, then
//! standardised as the model was), the `--solver` choice, and writing the summary to stdout.

use std::io::Write;
use std::path::Path;

use crate::data::{Dataset, Format, read_dataset};
use crate::error::{Error, Result};
use crate::io::ModelFile;
use crate::model::Mlp;
use crate::solvers::{
    Cg, CgParams, Exact, ExactParams, HessianOperator, InverseHvp, Lissa, LissaParams, auto,
};

use super::train::apply_stored_scaler;

/// Runs `f` in a rayon pool of `threads` workers (the global pool for `None`). Results do not
/// depend on the count: every reduction runs over fixed chunks in a fixed order.
///
/// # Errors
/// [`Error::InvalidParam`] for 0 threads or a pool that cannot start; whatever `f` returns.
pub fn in_pool<T: Send>(threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    match threads {
        None => f(),
        Some(0) => Err(Error::InvalidParam {
            name: "threads",
            reason: "must be ≥ 1".into(),
        }),
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .map_err(|e| Error::InvalidParam {
                name: "threads",
                reason: e.to_string(),
            })?
            .install(f),
    }
}

/// Reads a data set for `model`: checks that it has the model's number of features and
/// labels below its number of classes, then applies the model's stored standardisation.
///
/// # Errors
/// The readers' errors; [`Error::Data`] naming the file, line and `label` column of the first
/// label the model cannot predict (or the header line, for a feature-count mismatch) for
/// CSV; [`Error::InvalidParam`] naming the file and row for IDX and NPY.
pub fn read_for_model(path: &Path, labels: Option<&Path>, model: &ModelFile) -> Result<Dataset> {
    let mut ds = read_dataset(path, labels, None)?;
    check_fits(&ds, path, labels, &model.mlp)?;
    apply_stored_scaler(model, &mut ds)?;
    Ok(ds)
}

/// Checks a data set read from `path` (labels from `labels` for IDX/NPY) against a model:
/// its feature count and its labels, naming the file and where in it the misfit is.
///
/// # Errors
/// As [`read_for_model`].
pub fn check_fits(ds: &Dataset, path: &Path, labels: Option<&Path>, mlp: &Mlp) -> Result<()> {
    let csv = labels.is_none() && matches!(Format::from_path(path), Ok(Format::Csv));
    let (d, k) = (mlp.n_features(), mlp.n_classes());
    if ds.d() != d {
        let reason = format!(
            "the data have {} features but the model takes {d} inputs (sizes {:?})",
            ds.d(),
            mlp.sizes()
        );
        return Err(if csv {
            Error::Data {
                file: path.to_path_buf(),
                line: 1,
                column: 0,
                reason,
            }
        } else {
            Error::InvalidParam {
                name: "data",
                reason: format!("{}: {reason}", path.display()),
            }
        });
    }
    let Some(row) = ds.labels().iter().position(|&y| y >= k) else {
        return Ok(());
    };
    let y = ds.labels()[row];
    let reason = format!(
        "label {y} (row {row}) is out of range for the model, which has {k} classes (0..={})",
        k - 1
    );
    if csv && let Some((line, column)) = csv_label_position(path, row) {
        return Err(Error::Data {
            file: path.to_path_buf(),
            line,
            column,
            reason,
        });
    }
    let file = labels.unwrap_or(path);
    Err(Error::InvalidParam {
        name: "labels",
        reason: format!("{}: {reason}", file.display()),
    })
}

/// The 1-based line of data row `row` of a CSV file and the 1-based column of its `label`
/// field, found by re-reading the file (only on the error path): the header is the first
/// non-blank line and blank lines hold no row, as in [`crate::data::csv`].
fn csv_label_position(path: &Path, row: usize) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next()?;
    let column = header
        .split(',')
        .position(|c| c.trim().trim_matches('"') == "label")
        .map_or(0, |j| j + 1);
    let (line, _) = lines.nth(row)?;
    Some((line + 1, column))
}

/// Writes a subcommand's summary to `out`; a closed pipe (`puma ... | head`) is not an error.
///
/// # Errors
/// [`Error::Io`] naming `<stdout>` for any other write failure.
pub fn write_summary(out: &mut dyn Write, text: &str) -> Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("<stdout>", &e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_past_the_model_names_its_line_and_column() {
        let dir = std::env::temp_dir().join(format!("puma-cli-common-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.csv");
        std::fs::write(&path, "a,label,b\n1,0,2\n\n3,7,4\n").unwrap();
        let ds = read_dataset(&path, None, None).unwrap();
        let mlp = Mlp::new(&[2, 3], crate::kernels::Activation::Tanh, 0.0).unwrap();
        let err = check_fits(&ds, &path, None, &mlp).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Data {
                    line: 4,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("label 7 (row 1) is out of range"),
            "{err}"
        );
        let wide = Mlp::new(&[3, 8], crate::kernels::Activation::Tanh, 0.0).unwrap();
        let err = check_fits(&ds, &path, None, &wide).unwrap_err();
        assert!(matches!(&err, Error::Data { line: 1, .. }), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Inverse-HVP solver (`--solver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SolverArg {
    /// Cholesky of the dense H_ρ, cached.
    Exact,
    /// Conjugate gradients on Hessian-vector products.
    Cg,
    /// LiSSA on sampled batches (approximate).
    Lissa,
    /// Exact when H fits in memory and p ≤ 5,000, else CG.
    Auto,
}

/// `--curvature`: the matrix the solves invert ([`crate::influence::Curvature`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CurvatureArg {
    /// The Hessian of J.
    Hessian,
    /// The Gauss-Newton matrix: σ_min ≥ μ + ρ at any θ (positive definite when μ + ρ > 0;
    /// = the Hessian for logistic regression).
    GaussNewton,
}

impl From<CurvatureArg> for crate::influence::Curvature {
    fn from(c: CurvatureArg) -> Self {
        match c {
            CurvatureArg::Hessian => Self::Hessian,
            CurvatureArg::GaussNewton => Self::GaussNewton,
        }
    }
}

/// The solver `--solver` names, with damping ρ, LiSSA's sampler `seed` and CG's relative
/// residual tolerance `rtol` (its default when `None`); the other settings are defaults.
///
/// # Errors
/// [`crate::Error::InvalidParam`] for a bad ρ or tolerance (from the solver's constructor).
pub fn make_solver(
    solver: SolverArg,
    rho: f64,
    seed: u64,
    rtol: Option<f64>,
    op: &dyn HessianOperator,
) -> Result<Box<dyn InverseHvp>> {
    Ok(match solver {
        SolverArg::Exact => Box::new(Exact::new(ExactParams {
            rho,
            ..ExactParams::default()
        })?),
        SolverArg::Cg => {
            let defaults = CgParams::default();
            Box::new(Cg::new(CgParams {
                rho,
                rtol: rtol.unwrap_or(defaults.rtol),
                ..defaults
            })?)
        }
        SolverArg::Lissa => Box::new(Lissa::new(LissaParams {
            rho,
            seed,
            ..LissaParams::default()
        })?),
        SolverArg::Auto => auto(op, rho)?,
    })
}

/// The checks every solving command makes before reading a file: μ (`--l2`) and ρ
/// (`--damping`) finite and ≥ 0, at least one thread.
///
/// # Errors
/// [`Error::InvalidParam`] naming the flag.
pub fn check_solver_args(l2: Option<f64>, damping: f64, threads: Option<usize>) -> Result<()> {
    let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
    if let Some(l2) = l2
        && !(l2.is_finite() && l2 >= 0.0)
    {
        return bad("l2", format!("must be finite and ≥ 0, got {l2}"));
    }
    if !(damping.is_finite() && damping >= 0.0) {
        return bad("damping", format!("must be finite and ≥ 0, got {damping}"));
    }
    if threads == Some(0) {
        return bad("threads", "must be ≥ 1".into());
    }
    Ok(())
}
