//! `puma influence`: for a trained model, the influence of every training row on the mean
//! test cross-entropy in the \[remove\] convention of DESIGN.md §1, (1/n) g_iᵀ s_test with
//! s_test = H_ρ⁻¹ ∇L_test, written as `index,influence` CSV (see [`crate::influence`]).
//!
//! A value > 0 means removing the row would raise the test loss (the row is helpful); a value
//! < 0 means removing it would lower the test loss (the row is harmful). Influence is only
//! meaningful at a converged θ̂, so the summary always states ‖∇J(θ̂)‖∞ and warns above
//! [`GRAD_INF_WARN`]; `--polish` runs the Newton polish first.
//!
//! `--test-index i` explains one test point instead of the mean: the values are
//! (1/n) g_jᵀ H_ρ⁻¹ ∇CE(z_i) (one solve), and `--top k` lists the k most helpful and harmful
//! training rows for it (the per-test-point top-k of issue 7). `--curvature gauss-newton`
//! solves with the Gauss-Newton matrix in place of the Hessian
//! ([`crate::influence::Curvature`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::data::{Dataset, read_dataset};
use crate::error::{Error, Result};
use crate::influence::{
    GRAD_INF_WARN, curvature_operator, grad_inf, influence_with_operator, self_influence,
};
use crate::io::load;
use crate::model::Samples;
use crate::model::train::{TrainParams, train_from};
use crate::progress::Progress;

use super::common::{
    CurvatureArg, SolverArg, check_solver_args, in_pool, make_solver, write_summary,
};
use super::train::apply_stored_scaler;

/// Worked examples shown after `puma influence --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma influence --model fixtures/reference/moons_mlp/model.safetensors \\
      --train fixtures/reference/moons_mlp/train.csv --test fixtures/reference/moons_mlp/test.csv \\
      --damping 0.01 --out infl.csv --report infl.json
      exact solver (auto: p ≤ 5,000), one row per training row: index,influence
  puma influence --model m.safetensors --train train.csv --test test.csv --solver cg \\
      --self-influence --top 20 --out infl.csv
      CG on Hessian-vector products, plus a self_influence column; 20 rows of each sign
  puma influence --model m.safetensors --train train.csv --test test.csv --curvature gauss-newton \\
      --solver cg --out infl_gn.csv
      the Gauss-Newton matrix in place of the Hessian: σ_min ≥ μ + ρ even where the Hessian
      is indefinite (an MLP away from its optimum); with μ = 0 give --damping
  puma influence --model m.safetensors --train train.csv --test test.csv --test-index 17 \\
      --top 10 --out infl17.csv
      influence of every training row on the loss of test row 17 alone; its 10 most helpful
      and 10 most harmful training rows

influence = (1/n) g_iᵀ H_ρ⁻¹ ∇(mean test loss): the predicted change of the mean test loss if
row i is removed. > 0: removing the row raises the test loss (helpful); < 0: removing it lowers
the test loss (harmful). The model's stored scaler (train --standardise) is applied to both
files. Influence assumes θ̂ minimises J: the summary warns when ‖∇J‖∞ > 1e-8.";

/// Arguments of `puma influence`.
#[derive(Debug, Clone, Args)]
pub struct InfluenceArgs {
    /// Trained model (safetensors).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Training data the model was fitted on (CSV with a `label` column).
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Test data whose mean cross-entropy is explained.
    #[arg(long, value_name = "FILE")]
    pub test: PathBuf,
    /// Inverse-HVP solver.
    #[arg(long, value_enum, default_value = "auto")]
    pub solver: SolverArg,
    /// Weight decay μ of \[J\]; overrides the model file's `l2`.
    #[arg(long)]
    pub l2: Option<f64>,
    /// Damping ρ ≥ 0 of H_ρ = ∇²J + ρI.
    #[arg(long, default_value_t = 0.0)]
    pub damping: f64,
    /// The matrix standing for ∇²J: the Hessian, or the Gauss-Newton matrix (σ_min ≥ μ + ρ
    /// at any θ; use it where the Hessian is indefinite).
    #[arg(long, value_enum, default_value = "hessian")]
    pub curvature: CurvatureArg,
    /// CG's relative tolerance on the true residual ‖H_ρs − b‖/‖b‖ (the default agrees with
    /// exact to ≲ 1e-8; 1e-6 is enough for rankings).
    #[arg(long, default_value_t = 1e-11)]
    pub rtol: f64,
    /// Seed of LiSSA's batch sampler.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Polish θ on the training data first (warm L-BFGS, then Newton, to ‖∇J‖∞ ≤ 1e-12).
    #[arg(long)]
    pub polish: bool,
    /// Add a `self_influence` column, g_iᵀ H_ρ⁻¹ g_i (n solves).
    #[arg(long)]
    pub self_influence: bool,
    /// Rows of each sign listed in the summary.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Explain the loss of this one test row (0-based, header excluded) instead of the mean
    /// test loss.
    #[arg(long, value_name = "I")]
    pub test_index: Option<usize>,
    /// Where to write the CSV; never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the JSON report (solver report, ‖∇J‖∞, timings).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `puma influence`, writing its summary to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] for a bad μ, ρ, thread count or an output path equal to an input;
/// the readers' errors; the solvers' errors ([`Error::NotPositiveDefinite`] for an indefinite
/// H_ρ, ...); [`Error::Io`] if an output cannot be written.
pub fn run(args: &InfluenceArgs, out: &mut dyn Write) -> Result<()> {
    check_args(args)?;
    let progress = Progress::spinner("influence");
    let _current = progress.as_current(); // --polish reports its iterations to it
    let summary = in_pool(args.threads, || compute(args))?;
    progress.finish();
    write_summary(out, &summary)
}

/// Does the work, writes the CSV and the report, and returns the summary.
fn compute(args: &InfluenceArgs) -> Result<String> {
    let start = Instant::now();
    let mut model = load(&args.model)?;
    if let Some(l2) = args.l2 {
        model.mlp.l2 = l2;
    }
    let read = |path: &Path| -> Result<Dataset> {
        let mut ds = read_dataset(path, None, None)?;
        apply_stored_scaler(&model, &mut ds)?;
        Ok(ds)
    };
    let (train_ds, test_ds) = (read(&args.train)?, read(&args.test)?);
    let (train, mut test) = (Samples::of(&train_ds), Samples::of(&test_ds));
    if let Some(i) = args.test_index {
        if i >= test.n() {
            return Err(Error::IndexOutOfRange {
                what: "--test-index (test row)",
                index: i,
                len: test.n(),
            });
        }
        test = test.rows(i..i + 1); // ∇CE(z_i): the mean over one row
    }
    let mlp = model.mlp.clone();

    let grad_before = grad_inf(&mlp, &model.theta, &train)?; // ‖∇J(θ̂)‖∞ as loaded
    // --polish: warm-started L-BFGS (a no-op at a converged θ̂), then the exact-Hessian Newton
    // polish to ‖∇J‖∞ ≤ 1e-12 (L-BFGS goes on instead where H is not positive definite).
    let (theta, polish) = if args.polish {
        let (theta, info) = train_from(&mlp, model.theta.clone(), &train, &TrainParams::default())?;
        (theta, Some(info))
    } else {
        (model.theta.clone(), None)
    };

    let op = curvature_operator(&mlp, &theta, train, args.curvature.into())?;
    let mut solver = make_solver(
        args.solver,
        args.damping,
        args.seed,
        Some(args.rtol),
        op.as_ref(),
    )?;
    let solve_start = Instant::now();
    let infl = influence_with_operator(&mlp, &theta, &train, &test, solver.as_mut(), op.as_ref())?;
    let solve_seconds = solve_start.elapsed().as_secs_f64();
    let self_infl = if args.self_influence {
        Some(self_influence(
            &mlp,
            &theta,
            &train,
            solver.as_mut(),
            op.as_ref(),
        )?)
    } else {
        None
    };

    let mut csv = String::from(if self_infl.is_some() {
        "index,influence,self_influence\n"
    } else {
        "index,influence\n"
    });
    for (i, v) in infl.remove.iter().enumerate() {
        match &self_infl {
            Some(s) => csv.push_str(&format!("{i},{v:?},{:?}\n", s[i])),
            None => csv.push_str(&format!("{i},{v:?}\n")),
        }
    }
    write_atomically(&args.out, csv.as_bytes())?;
    let seconds = start.elapsed().as_secs_f64();

    let rep = &infl.report;
    if let Some(path) = &args.report {
        let json = serde_json::json!({
            "model": args.model.display().to_string(),
            "sizes": mlp.sizes(),
            "activation": mlp.activation.name(),
            "l2": mlp.l2,
            "n_train": train.n(),
            "n_test": test_ds.n(),
            "test_index": args.test_index,
            "p": mlp.n_params(),
            "grad_inf": infl.grad_inf,
            "grad_inf_before_polish": polish.as_ref().map(|_| grad_before),
            "meaningful": infl.meaningful(),
            "curvature": format!("{:?}", crate::influence::Curvature::from(args.curvature)),
            "solver": rep.to_json(),
            "solve_seconds": solve_seconds,
            "total_seconds": seconds,
            "out": args.out.display().to_string(),
        });
        let text = serde_json::to_string_pretty(&json).map_err(|e| Error::InvalidParam {
            name: "report",
            reason: e.to_string(),
        })?;
        write_atomically(path, (text + "\n").as_bytes())?;
    }

    let mut s = String::new();
    {
        use std::fmt::Write as _;
        let r = &mut s;
        let _ = writeln!(
            r,
            "model       {} {:?}, {}, μ = {:e}, p = {}",
            args.model.display(),
            mlp.sizes(),
            mlp.activation.name(),
            mlp.l2,
            mlp.n_params()
        );
        let _ = writeln!(
            r,
            "data        n = {} train, {} test",
            train.n(),
            test_ds.n()
        );
        match args.test_index {
            Some(i) => {
                let _ = writeln!(
                    r,
                    "explained   the loss of test row {i} (label {}): influence = (1/n) g_jᵀ H_ρ⁻¹ ∇CE(z_{i})",
                    test.y[0]
                );
            }
            None => {
                let _ = writeln!(
                    r,
                    "explained   the mean test loss: influence = (1/n) g_jᵀ H_ρ⁻¹ ∇L_test"
                );
            }
        }
        if let Some(info) = &polish {
            let _ = writeln!(
                r,
                "‖∇J‖∞       {grad_before:.3e} before polish, {:.3e} after ({} iterations)",
                infl.grad_inf, info.iters
            );
        } else {
            let _ = writeln!(r, "‖∇J‖∞       {:.3e}", infl.grad_inf);
        }
        let _ = writeln!(
            r,
            "solver      {}{}, ρ = {:e}, {} iterations, {} HVPs, stop: {}",
            rep.method.name(),
            match args.curvature {
                CurvatureArg::Hessian => "",
                CurvatureArg::GaussNewton => " on the Gauss-Newton matrix",
            },
            rep.rho,
            rep.iterations,
            rep.hvps,
            rep.stop.name()
        );
        let bound = rep
            .error_bound
            .map_or("none (no certified σ_min)".to_string(), |b| {
                format!("{b:.3e}")
            });
        let _ = writeln!(
            r,
            "accuracy    true relative residual {:.3e}, ‖s − s*‖ ≤ {bound}",
            rep.rel_residual
        );
        let _ = writeln!(
            r,
            "time        {solve_seconds:.3} s solve, {seconds:.3} s total"
        );
        let mut order: Vec<usize> = (0..infl.remove.len()).collect();
        order.sort_by(|&a, &b| infl.remove[a].total_cmp(&infl.remove[b]));
        let k = args.top.min(order.len());
        if k > 0 {
            let _ = writeln!(
                r,
                "harmful     (removing lowers the test loss: influence < 0, most negative first)"
            );
            for &i in order.iter().take(k).filter(|&&i| infl.remove[i] < 0.0) {
                let _ = writeln!(r, "  row {i:>6}  {:+.6e}", infl.remove[i]);
            }
            let _ = writeln!(
                r,
                "helpful     (removing raises the test loss: influence > 0, largest first)"
            );
            for &i in order
                .iter()
                .rev()
                .take(k)
                .filter(|&&i| infl.remove[i] > 0.0)
            {
                let _ = writeln!(r, "  row {i:>6}  {:+.6e}", infl.remove[i]);
            }
        }
        let _ = writeln!(r, "wrote       {}", args.out.display());
        if let Some(path) = &args.report {
            let _ = writeln!(r, "report      {}", path.display());
        }
        if !infl.meaningful() {
            let _ = writeln!(
                r,
                "warning     ‖∇J‖∞ = {:.3e} > {GRAD_INF_WARN:e}: θ̂ is not a minimiser of J, so \
                 influence values are not meaningful; rerun with --polish or retrain",
                infl.grad_inf
            );
        }
    }
    Ok(s)
}

/// Argument checks done before any file is read.
fn check_args(args: &InfluenceArgs) -> Result<()> {
    check_solver_args(args.l2, args.damping, args.threads)?;
    let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
    let outputs = std::iter::once(&args.out).chain(args.report.as_ref());
    for output in outputs {
        for input in [&args.model, &args.train, &args.test] {
            if same_file(input, output) {
                return bad(
                    "out",
                    format!("{} is an input; write to a new file", output.display()),
                );
            }
        }
    }
    if args
        .report
        .as_ref()
        .is_some_and(|r| same_file(r, &args.out))
    {
        return bad("report", "--report and --out name the same file".into());
    }
    Ok(())
}

/// Whether two paths name the same file (by canonical path when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, &e)
        })
}
