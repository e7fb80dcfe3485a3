//! `puma patch`: remove the influence of the training rows listed in an index file from a
//! trained model without retraining, keeping the per-sample cross-entropy of an evaluation
//! set unchanged (the PUMA patch of [`crate::puma`]: \[eq9\], \[eq10\], \[eq5\]).
//!
//! The patched model keeps the input's tensor names, dtype and metadata; only θ changes.
//! The report puts PUMA next to naive removal (λ = 0) and, with `--compare retrain`, next to
//! retraining without the rows: accuracy and mean loss on the marked rows, the up-weighted
//! rows, the rest of training, the evaluation (guard) set and `--test`; predicted vs actual
//! change of every criterion; ‖θ − θ_retrain‖/‖θ̂ − θ_retrain‖; wall times.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::common::{SolverArg, check_solver_args, make_solver};
use super::common::{in_pool, read_for_model, write_summary};
use crate::criteria::{Criterion, LossKind, PerSampleLoss, SoftEce};
use crate::data::indices::read_indices;
use crate::error::{Error, Result};
use crate::influence::hessian_operator;
use crate::io::plots::{Points, RegionGrid, decision_regions, padded_bounds};
use crate::io::report::{check_outputs, path_json, write_json};
use crate::io::{load, save};
use crate::model::Samples;
use crate::model::loss::argmax_rows;
use crate::progress::Progress;
use crate::puma::{Guard, PatchInput, PatchParams, Sides, UpWeight, patch_with_operator};

/// Worked examples shown after `puma patch --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma patch --model fixtures/reference/moons_mlp/model.safetensors \\
      --train fixtures/reference/moons_mlp/train.csv --eval fixtures/reference/moons_mlp/test.csv \\
      --remove fixtures/reference/moons_mlp/flipped.txt --compare retrain \\
      --out patched.safetensors --report patch.json
      remove the listed rows; guard: per-sample cross-entropy on the evaluation set
  puma patch --model m.safetensors --train train.csv --eval guard.csv --remove idx.txt \\
      --one-sided --target ece --iterate 50 --out patched.safetensors
      cancel only predicted guard degradations, measure the soft ECE, iterate toward
      retraining with the compensating weights

M = the rows in --remove (one 0-based row per line). U = every other row, or with
--upweight-k K the first K rows along the Lasso path. λ* = argmin ½‖Ψ_U λ − b‖² + α‖λ‖₁ on
the box [--lower, --upper], α = --alpha · α_max. θ_mod = θ̂ + η H⁻¹(Σ_M g − Σ_U λ* g),
η = 1/n; η is halved while the mean guard loss moves more than --delta (unless --no-shrink).";

/// A target criterion measured on the evaluation set (`--target`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// The soft calibration error \[ece\] (ŷ held at θ̂).
    Ece,
}

/// A comparison to run (`--compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareArg {
    /// Retrain without the marked rows, warm-started from θ̂ (\[retrain\]).
    Retrain,
}

/// Arguments of `puma patch`.
#[derive(Debug, Clone, Args)]
pub struct PatchArgs {
    /// Trained model (safetensors).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Training data the model was fitted on (CSV with a `label` column).
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Guard set: its per-sample cross-entropy is kept unchanged.
    #[arg(long, value_name = "FILE")]
    pub eval: PathBuf,
    /// Marked training rows to remove: one 0-based row index per line.
    #[arg(long, value_name = "FILE")]
    pub remove: PathBuf,
    /// Test data, only evaluated for the report.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// α as a fraction of α_max (0 = least squares on the box).
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// δ of the guard group \[eq5\], in nats of mean cross-entropy.
    #[arg(long, default_value_t = 0.01)]
    pub delta: f64,
    /// Cancel only predicted guard degradations (keep improvements).
    #[arg(long)]
    pub one_sided: bool,
    /// Lower end ℓ of the box of λ (−1 ≤ ℓ ≤ 0; below 0 allows down-weighting).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub lower: f64,
    /// Upper end u of the box of λ (u ≥ 0; 1 at most doubles a row).
    #[arg(long, default_value_t = 1.0)]
    pub upper: f64,
    /// Up-weight only the first K rows along the Lasso path (default: every unmarked row).
    #[arg(long, value_name = "K")]
    pub upweight_k: Option<usize>,
    /// η of \[eq10\] (default 1/n).
    #[arg(long)]
    pub eta: Option<f64>,
    /// Keep η even when the guard moves more than --delta.
    #[arg(long)]
    pub no_shrink: bool,
    /// Steps of iterated patching toward retraining with the compensating weights.
    #[arg(long, default_value_t = 0)]
    pub iterate: usize,
    /// Also run a comparison (retrain).
    #[arg(long, value_enum)]
    pub compare: Option<CompareArg>,
    /// A target criterion on the evaluation set, measured, never compensated.
    #[arg(long, value_enum)]
    pub target: Option<TargetArg>,
    /// Inverse-HVP solver.
    #[arg(long, value_enum, default_value = "auto")]
    pub solver: SolverArg,
    /// Damping ρ ≥ 0 of H_ρ = ∇²J + ρI.
    #[arg(long, default_value_t = 0.0)]
    pub damping: f64,
    /// Weight decay μ of \[J\]; overrides the model file's `l2` for the computation (the
    /// patched file keeps the input's metadata).
    #[arg(long)]
    pub l2: Option<f64>,
    /// Seed of LiSSA's batch sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where to write the patched model; never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the JSON report.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// For data with 2 features: an SVG of the decision regions before and after the patch,
    /// with the training points and the marked rows (the blog post's Figure 6).
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
}

/// Runs `puma patch`, writing its summary to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] for a bad parameter, an output equal to an input, an index file
/// that lists no row or every row; [`Error::Data`] naming the file and line of a malformed,
/// repeated or out-of-range index; the readers', solvers' and Lasso's errors; [`Error::Io`]
/// if an output cannot be written.
pub fn run(args: &PatchArgs, out: &mut dyn Write) -> Result<()> {
    check_args(args)?;
    let progress = Progress::spinner("patch");
    let _current = progress.as_current(); // retraining reports its L-BFGS iterations to it
    let summary = in_pool(args.threads, || compute(args))?;
    progress.finish();
    write_summary(out, &summary)
}

/// Does the work, writes the model and the report, and returns the summary.
fn compute(args: &PatchArgs) -> Result<String> {
    let start = Instant::now();
    let file = load(&args.model)?;
    let mut mlp = file.mlp.clone();
    if let Some(l2) = args.l2 {
        mlp.l2 = l2;
    }
    let train_ds = read_for_model(&args.train, None, &file)?;
    let eval_ds = read_for_model(&args.eval, None, &file)?;
    let test_ds = match &args.test {
        Some(path) => Some(read_for_model(path, None, &file)?),
        None => None,
    };
    let n = train_ds.n();
    let marked = read_indices(&args.remove, n)?; // names file:line:column of a bad index
    if marked.is_empty() {
        return Err(Error::InvalidParam {
            name: "remove",
            reason: format!("{} lists no row: nothing to remove", args.remove.display()),
        });
    }
    if marked.len() == n {
        return Err(Error::InvalidParam {
            name: "remove",
            reason: format!(
                "{} lists all {n} training rows of {}: nothing would remain",
                args.remove.display(),
                args.train.display()
            ),
        });
    }
    if args.plot.is_some() && train_ds.d() != 2 {
        return Err(Error::InvalidParam {
            name: "plot",
            reason: format!(
                "decision regions need 2 features; {} has {}",
                args.train.display(),
                train_ds.d()
            ),
        });
    }
    let (train, eval) = (Samples::of(&train_ds), Samples::of(&eval_ds));
    let theta = &file.theta;

    let guard = PerSampleLoss::new(eval, LossKind::CrossEntropy)?;
    let ece = match args.target {
        Some(TargetArg::Ece) => Some(SoftEce::new(eval, &mlp, theta)?),
        None => None,
    };
    let mut input = PatchInput::new(&mlp, theta, train, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: args.delta,
    });
    if let Some(e) = &ece {
        input.targets.push(e as &dyn Criterion);
    }
    if let Some(k) = args.upweight_k {
        input.upweight = UpWeight::LassoPath { k, path_steps: 50 };
    }
    input.eval_sets.push(("eval".into(), eval));
    if let Some(t) = &test_ds {
        input.eval_sets.push(("test".into(), Samples::of(t)));
    }
    let params = PatchParams {
        alpha_rel: args.alpha,
        bounds: (args.lower, args.upper),
        sides: if args.one_sided {
            Sides::One
        } else {
            Sides::Two
        },
        eta: args.eta,
        shrink: !args.no_shrink,
        iterate: args.iterate,
        retrain: args.compare == Some(CompareArg::Retrain),
        ..PatchParams::default()
    };

    let op = hessian_operator(&mlp, theta, train)?;
    let mut solver = make_solver(args.solver, args.damping, args.seed, None, op.as_ref())?;
    let result = patch_with_operator(&input, &params, solver.as_mut(), op.as_ref())?;

    let mut patched = file.clone(); // tensor names, dtype and metadata kept
    patched.theta = result.patched().to_vec();
    save(&args.out, &patched)?;
    if let Some(path) = &args.plot {
        let regions = |th: &[f64]| -> Result<RegionGrid> {
            let (x, y) = padded_bounds(train.x);
            let (nx, ny) = (120, 90);
            let z = mlp.logits(th, &RegionGrid::centers(x, y, nx, ny));
            RegionGrid::new(x, y, nx, ny, argmax_rows(&z))
        };
        let points = Points {
            xy: train.x,
            labels: train.y,
            marked: &marked,
            axes: match train_ds.feature_names() {
                Some([a, b]) => [a.as_str(), b.as_str()],
                _ => ["x0", "x1"],
            },
        };
        let panels = [
            ("before", &regions(theta)?),
            ("after", &regions(result.patched())?),
        ];
        decision_regions(path, &points, &panels)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let r = &result.report;
    if let Some(path) = &args.report {
        let mut json = r.to_json();
        json["model"] = path_json(&args.model);
        json["train"] = path_json(&args.train);
        json["eval"] = path_json(&args.eval);
        json["remove"] = path_json(&args.remove);
        json["out"] = path_json(&args.out);
        json["written"] = if result.theta_iterated.is_some() {
            "iterated".into()
        } else {
            "puma".into()
        };
        json["total_seconds"] = seconds.into();
        write_json(path, &json)?;
    }
    Ok(summary(args, &result, seconds))
}

/// The readable summary printed on stdout.
fn summary(args: &PatchArgs, result: &crate::puma::Patch, seconds: f64) -> String {
    use std::fmt::Write as _;
    let r = &result.report;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model       {}, p = {}, n = {}, ‖∇J(θ̂)‖∞ = {:.2e}",
        args.model.display(),
        r.p,
        r.n,
        r.grad_inf_theta_hat
    );
    let _ = writeln!(
        s,
        "marked      {} rows from {}; up-weighted {} ({})",
        r.marked,
        args.remove.display(),
        r.upweighted,
        r.upweight_rule
    );
    let _ = writeln!(
        s,
        "lasso       {}, α = {:.3e} ({} α_max), box [{}, {}]: {} non-zero λ, Σλ = {:.4}, residual {:.3}",
        r.sides,
        r.alpha,
        r.alpha_rel,
        r.bounds.0,
        r.bounds.1,
        r.lambda_nnz,
        r.lambda_sum,
        r.compensation_residual
    );
    let _ = writeln!(
        s,
        "step        η = {:.3e} ({} halvings{}), ρ = {:e}",
        r.eta,
        r.halvings,
        if r.shrink { "" } else { ", shrinking off" },
        r.rho
    );
    for g in &r.groups {
        let _ = writeln!(
            s,
            "guard       {}: mean changed {:+.3e}, [eq5] {:.3e} (δ = {}) {}",
            g.name,
            g.change,
            g.moved,
            g.delta,
            if g.within { "ok" } else { "EXCEEDS δ" }
        );
    }
    for c in &r.criteria {
        if let (Some(p), Some(a)) = (c.predicted_of("puma"), c.actual_of("puma")) {
            let naive = c.actual_of("naive").map_or(f64::NAN, |n| n.mean);
            let _ = writeln!(
                s,
                "criterion   {}: predicted {:+.3e}, actual {:+.3e} (naive {:+.3e})",
                c.name, p.mean, a.mean, naive
            );
        }
    }
    if let Some(it) = &r.iterate {
        let _ = writeln!(
            s,
            "iterate     {} steps, ‖∇J_w‖∞ = {:.3e}{}",
            it.steps,
            it.grad_inf,
            if it.converged { "" } else { " (not converged)" }
        );
    }
    let _ = writeln!(
        s,
        "{:<11} {:>8} {:>8} {:>8} {:>8} {:>8}  {:>9}",
        "model", "marked", "upw.", "eval", "test", "seconds", "‖θ−θr‖rel"
    );
    for m in &r.models {
        let acc = |set: &str| {
            m.on(set)
                .map_or("-".to_string(), |e| format!("{:.4}", e.accuracy))
        };
        let rel = m
            .rel_dist_to_retrain
            .map_or("-".to_string(), |d| format!("{d:.3}"));
        let _ = writeln!(
            s,
            "{:<11} {:>8} {:>8} {:>8} {:>8} {:>8.3}  {:>9}",
            m.name,
            acc("marked"),
            acc("upweighted"),
            acc("eval"),
            acc("test"),
            m.seconds,
            rel
        );
    }
    let _ = writeln!(
        s,
        "wrote       {} ({:.3} s total)",
        args.out.display(),
        seconds
    );
    if let Some(path) = &args.report {
        let _ = writeln!(s, "report      {}", path.display());
    }
    s
}

/// Argument checks done before any file is read.
fn check_args(args: &PatchArgs) -> Result<()> {
    check_solver_args(args.l2, args.damping, args.threads)?;
    let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
    if args.upweight_k == Some(0) {
        return bad("upweight-k", "must be ≥ 1".into());
    }
    let mut inputs: Vec<&Path> = vec![&args.model, &args.train, &args.eval, &args.remove];
    if let Some(t) = &args.test {
        inputs.push(t);
    }
    let mut outputs: Vec<(&'static str, &Path)> = vec![("out", &args.out)];
    if let Some(r) = &args.report {
        outputs.push(("report", r));
    }
    if let Some(p) = &args.plot {
        outputs.push(("plot", p));
    }
    check_outputs(&outputs, &inputs)
}
