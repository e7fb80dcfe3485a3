//! `puma value`: the value of every training row for a chosen criterion on an evaluation
//! set (DESIGN.md §1 \[C\], \[ψ\], \[remove\]), with its self-influence \[self\], written as
//! `index,value,self_influence` CSV (see [`crate::valuation`]).
//!
//! value_i = (1/n)·(1/m) Σ_v ψ_vi: the predicted change of the criterion's mean if row i is
//! removed. All criteria are loss-like, so a value < 0 means removing the row lowers the
//! criterion (the row is harmful) and a value > 0 means it is helpful. `--test-index j`
//! values the rows for the cross-entropy of evaluation row j alone instead. `--bad FILE`
//! (one 0-based row per line, e.g. known mislabelled rows) adds detection curves for the
//! value and every baseline to the report.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};

use super::common::{SolverArg, check_solver_args, make_solver};
use super::common::{in_pool, read_for_model, write_summary};
use crate::criteria::{ClassLoss, Criterion, LossKind, MeanLoss, SoftEce, hard_ece};
use crate::data::indices::read_indices;
use crate::error::Result;
use crate::influence::{GRAD_INF_WARN, grad_inf, hessian_operator};
use crate::io::load;
use crate::io::report::{check_outputs, path_json, write_atomically, write_json};
use crate::model::Samples;
use crate::progress::Progress;
use crate::solvers::SolveReport;
use crate::valuation::{Baselines, TopK, psi, top_k, top_k_for_test_point};

/// Worked examples shown after `puma value --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma value --model fixtures/reference/digits_logreg/model.safetensors \\
      --train fixtures/reference/digits_logreg/train.csv \\
      --eval fixtures/reference/digits_logreg/test.csv --out values.csv --report values.json
      value for the mean evaluation cross-entropy; exact solver for p ≤ 5,000
  puma value --model m.safetensors --train train.csv --eval eval.csv --criterion ece \\
      --bad flipped.txt --out values.csv --report values.json
      value for the soft calibration error; detection curves for the rows in flipped.txt
  puma value --model m.safetensors --train train.csv --eval eval.csv --test-index 12 --top 10 \\
      --out values.csv
      the 10 most helpful and harmful training rows for evaluation row 12

value = (1/n)·mean_v ψ_vi: the predicted change of the criterion's mean if row i is removed.
< 0: removing the row lowers it (harmful; mislabelled rows rank first). > 0: helpful.
self_influence = g_iᵀ H_ρ⁻¹ g_i (large = suspicious).";

/// The criterion valued (`--criterion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CriterionArg {
    /// The mean loss over the evaluation set (one row).
    Loss,
    /// The mean loss of each class (one row per class; the value averages them).
    ClassLoss,
    /// The soft calibration error (15 soft bins, τ = 1/15; ŷ held at the loaded θ̂).
    Ece,
}

/// The per-sample loss of `loss` and `class-loss` (`--loss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LossArg {
    /// Softmax cross-entropy.
    Ce,
    /// Brier score.
    Brier,
}

/// Arguments of `puma value`.
#[derive(Debug, Clone, Args)]
pub struct ValueArgs {
    /// Trained model (safetensors).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Training data the model was fitted on (CSV with a `label` column).
    #[arg(long, value_name = "FILE")]
    pub train: PathBuf,
    /// Evaluation data the criterion is measured on.
    #[arg(long, value_name = "FILE")]
    pub eval: PathBuf,
    /// The criterion whose mean is valued.
    #[arg(long, value_enum, default_value = "loss")]
    pub criterion: CriterionArg,
    /// Per-sample loss for `loss` and `class-loss`.
    #[arg(long, value_enum, default_value = "ce")]
    pub loss: LossArg,
    /// Value for the cross-entropy of this evaluation row alone (0-based) instead.
    #[arg(long, value_name = "ROW")]
    pub test_index: Option<usize>,
    /// Inverse-HVP solver.
    #[arg(long, value_enum, default_value = "auto")]
    pub solver: SolverArg,
    /// Weight decay μ of the objective J; overrides the model file's `l2`.
    #[arg(long)]
    pub l2: Option<f64>,
    /// Damping ρ ≥ 0 of H_ρ = ∇²J + ρI.
    #[arg(long, default_value_t = 0.0)]
    pub damping: f64,
    /// Seed of LiSSA's batch sampler and of the random baseline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Known bad training rows (one 0-based index per line): detection curves in the report.
    #[arg(long, value_name = "FILE")]
    pub bad: Option<PathBuf>,
    /// Rows of each sign listed in the summary.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Where to write the CSV `index,value,self_influence`; never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the JSON report (criterion, solver, timings, top rows, curves).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `puma value`, writing its summary to `out`.
///
/// # Errors
/// [`Error::InvalidParam`](crate::Error::InvalidParam) for a bad μ, ρ, thread count, evaluation row, or an output path
/// equal to an input or to the other output; the readers' errors; the solvers' errors;
/// [`Error::Io`](crate::Error::Io) if an output cannot be written.
pub fn run(args: &ValueArgs, out: &mut dyn Write) -> Result<()> {
    check_args(args)?;
    let progress = Progress::spinner("valuation");
    let _current = progress.as_current();
    let summary = in_pool(args.threads, || compute(args))?;
    progress.finish();
    write_summary(out, &summary)
}

/// Does the work, writes the CSV and the report, and returns the summary.
fn compute(args: &ValueArgs) -> Result<String> {
    let start = Instant::now();
    let mut model = load(&args.model)?;
    if let Some(l2) = args.l2 {
        model.mlp.l2 = l2;
    }
    let train_ds = read_for_model(&args.train, None, &model)?;
    let eval_ds = read_for_model(&args.eval, None, &model)?;
    let (train, eval) = (Samples::of(&train_ds), Samples::of(&eval_ds));
    let bad = match &args.bad {
        Some(path) => Some(read_indices(path, train.n())?),
        None => None,
    };
    let (mlp, theta) = (&model.mlp, &model.theta);
    let grad = grad_inf(mlp, theta, &train)?; // ‖∇J(θ̂)‖∞
    let op = hessian_operator(mlp, theta, train)?;
    let mut solver = make_solver(args.solver, args.damping, args.seed, None, op.as_ref())?;

    let kind = match args.loss {
        LossArg::Ce => LossKind::CrossEntropy,
        LossArg::Brier => LossKind::Brier,
    };
    let solve_start = Instant::now();
    let (name, c_value, values, reports) = match args.test_index {
        Some(j) => {
            let (values, _) = top_k_for_test_point(
                mlp,
                theta,
                &train,
                &eval,
                j,
                args.top,
                solver.as_mut(),
                op.as_ref(),
            )?;
            let ce = mlp.evaluate(theta, &eval.rows(j..j + 1))?.mean_loss;
            (format!("ce[eval row {j}]"), vec![ce], values, Vec::new())
        }
        None => {
            let criterion: Box<dyn Criterion + '_> = match args.criterion {
                CriterionArg::Loss => Box::new(MeanLoss::new(eval, kind)?),
                CriterionArg::ClassLoss => Box::new(ClassLoss::new(eval, kind)?),
                CriterionArg::Ece => Box::new(SoftEce::new(eval, mlp, theta)?),
            };
            let ps = psi(
                criterion.as_ref(),
                mlp,
                theta,
                &train,
                solver.as_mut(),
                op.as_ref(),
            )?;
            let c = criterion.values(mlp, theta)?;
            (criterion.name(), c, ps.values(), ps.reports)
        }
    };
    let solve_seconds = solve_start.elapsed().as_secs_f64();
    let base = Baselines::compute(mlp, theta, &train, solver.as_mut(), op.as_ref(), args.seed)?;
    let seconds_values = start.elapsed().as_secs_f64();

    let mut csv = String::from("index,value,self_influence\n");
    for (i, (v, s)) in values.iter().zip(&base.self_influence).enumerate() {
        csv.push_str(&format!("{i},{v:?},{s:?}\n"));
    }
    write_atomically(&args.out, csv.as_bytes())?;

    let top = top_k(&values, args.top);
    let ece = hard_ece(mlp, theta, &eval)?;
    let curves = match &bad {
        Some(b) => Some(base.curves(Some(&values), b)?),
        None => None,
    };
    let c_mean = c_value.iter().sum::<f64>() / c_value.len().max(1) as f64;
    if let Some(path) = &args.report {
        let json = serde_json::json!({
            "model": path_json(&args.model),
            "sizes": mlp.sizes(),
            "activation": mlp.activation.name(),
            "l2": mlp.l2,
            "p": mlp.n_params(),
            "n_train": train.n(),
            "n_eval": eval.n(),
            "criterion": name,
            "criterion_rows": c_value,
            "criterion_mean": c_mean,
            "value": "(1/n)·mean over criterion rows of ψ_i: predicted change of the criterion's mean if row i is removed",
            "grad_inf": grad,
            "meaningful": grad <= GRAD_INF_WARN,
            "rho": args.damping,
            "solves": reports.iter().map(SolveReport::to_json).collect::<Vec<_>>(),
            "hard_ece_eval": ece.ece,
            "harmful": pairs_json(&top.harmful),
            "helpful": pairs_json(&top.helpful),
            "detection": curves.as_ref().map(|cs| cs.iter().map(|c| serde_json::json!({
                "name": c.name,
                "found_at_10pct": c.found_at(0.1),
                "found_at_20pct": c.found_at(0.2),
                "found_at_30pct": c.found_at(0.3),
                "area": c.area(),
            })).collect::<Vec<_>>()),
            "solve_seconds": solve_seconds,
            "total_seconds": seconds_values,
            "out": path_json(&args.out),
        });
        write_json(path, &json)?;
    }
    Ok(summary(
        args,
        &model.mlp,
        (train.n(), eval.n()),
        (&name, c_mean, grad, ece.ece),
        &top,
        curves.as_deref(),
        (solve_seconds, seconds_values),
    ))
}

/// The readable summary.
fn summary(
    args: &ValueArgs,
    mlp: &crate::model::Mlp,
    (n, t): (usize, usize),
    (name, c_mean, grad, ece): (&str, f64, f64, f64),
    top: &TopK,
    curves: Option<&[crate::valuation::DetectionCurve]>,
    (solve_seconds, seconds): (f64, f64),
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
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
    let _ = writeln!(r, "data        n = {n} train, {t} eval");
    let _ = writeln!(r, "criterion   {name} = {c_mean:.6} (mean of its rows)");
    let _ = writeln!(r, "hard ECE    {ece:.4} on the evaluation set (15 bins)");
    let _ = writeln!(r, "‖∇J‖∞       {grad:.3e}, ρ = {:e}", args.damping);
    let _ = writeln!(
        r,
        "time        {solve_seconds:.3} s criterion solves and products, {seconds:.3} s in all"
    );
    let _ = writeln!(
        r,
        "harmful     (removing lowers the criterion: value < 0, most negative first)"
    );
    for (i, v) in &top.harmful {
        let _ = writeln!(r, "  row {i:>6}  {v:+.6e}");
    }
    let _ = writeln!(
        r,
        "helpful     (removing raises the criterion: value > 0, largest first)"
    );
    for (i, v) in &top.helpful {
        let _ = writeln!(r, "  row {i:>6}  {v:+.6e}");
    }
    if let Some(cs) = curves {
        let _ = writeln!(r, "detection   bad rows found at 10% / 20% / 30% inspected");
        for c in cs {
            let _ = writeln!(
                r,
                "  {:<15} {:.3} / {:.3} / {:.3}",
                c.name,
                c.found_at(0.1),
                c.found_at(0.2),
                c.found_at(0.3)
            );
        }
    }
    let _ = writeln!(r, "wrote       {}", args.out.display());
    if let Some(path) = &args.report {
        let _ = writeln!(r, "report      {}", path.display());
    }
    if grad > GRAD_INF_WARN {
        let _ = writeln!(
            r,
            "warning     ‖∇J‖∞ = {grad:.3e} > {GRAD_INF_WARN:e}: θ̂ is not a minimiser of J, so \
             values are not meaningful; polish the model (puma influence --polish) or retrain"
        );
    }
    s
}

fn pairs_json(pairs: &[(usize, f64)]) -> serde_json::Value {
    pairs
        .iter()
        .map(|(i, v)| serde_json::json!({ "row": i, "value": v }))
        .collect()
}

/// Argument checks done before any file is read.
fn check_args(args: &ValueArgs) -> Result<()> {
    check_solver_args(args.l2, args.damping, args.threads)?;
    let mut outputs = vec![("out", args.out.as_path())];
    if let Some(r) = &args.report {
        outputs.push(("report", r.as_path()));
    }
    let mut inputs = vec![
        args.model.as_path(),
        args.train.as_path(),
        args.eval.as_path(),
    ];
    if let Some(b) = &args.bad {
        inputs.push(b.as_path());
    }
    check_outputs(&outputs, &inputs)
}
