//! `puma train`: fit an MLP (or, without hidden layers, logistic regression) to a labelled data
//! set by minimising \[J\] to a true optimum, and save it as a safetensors model file.
//!
//! J(θ) = (1/n) Σ_i CE(z_i, θ) + (μ/2)‖θ‖² is minimised by full-batch L-BFGS, followed for
//! logistic regression by a Newton polish, down to ‖∇J‖∞ ≤ `--grad-tol`: influence
//! functions are only meaningful at a converged θ̂, so the report always ends with the
//! ‖∇J‖∞ reached.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use crate::data::{Dataset, Scaler, read_dataset};
use crate::error::{Error, Result};
use crate::io::report::{check_outputs, path_json, write_json};
use crate::io::{ModelFile, save};
use crate::kernels::Activation;
use crate::model::train::{AdamParams, Stop, TrainInfo, TrainParams, adam, inf_norm, train_from};
use crate::model::{Mlp, Samples};
use crate::progress::Progress;

use super::common::{in_pool, write_summary};

/// Worked examples shown after `puma train --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma train --data fixtures/reference/digits_logreg/train.csv --out logreg.safetensors
      logistic regression (no --hidden), μ = 1e-3, to ‖∇J‖∞ ≤ 1e-12; prints
        model       [64, 10], logistic regression, μ = 1e-3, p = 650
        training    189 iterations, 198 evaluations, 0.27 s, stop: converged
        ‖∇J‖∞       1.910e-17
  puma train --data fixtures/digits/digits.csv --hidden 32,16 --act tanh --standardise \\
             --test-fraction 0.2 --out digits_mlp.safetensors --report train.json
      an MLP [64, 32, 16, 10]; 20% of the rows (seeded) held out and reported, not trained on
  puma train --data big.csv --hidden 64 --epochs 5 --lr 1e-3 --out m.safetensors
      5 epochs of mini-batch Adam as a warm start, then L-BFGS and the Newton polish

The model file holds tensors 0.weight, 0.bias, 2.weight, ... (PyTorch nn.Sequential names)
and the metadata activation, l2 and, with --standardise, the feature mean and scale
(scaler_mean, scaler_scale as JSON arrays) that later commands apply to new data.
The result does not depend on --threads.";

/// Arguments of `puma train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training data: CSV with a `label` column (or IDX / NPY with --labels).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Labels file for IDX or NPY data.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Hidden layer widths, comma-separated (none: logistic regression).
    #[arg(long, value_name = "W,W,...", value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Activation of the hidden layers: tanh, sigmoid, relu, softplus, gelu.
    #[arg(long, default_value = "tanh")]
    pub act: String,
    /// Weight decay μ of the objective J, on every parameter including biases.
    #[arg(long, default_value_t = 1e-3)]
    pub l2: f64,
    /// Seed of the initialisation, the Adam shuffles and the held-out split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when ‖∇J‖∞ is at most this.
    #[arg(long, default_value_t = 1e-12)]
    pub grad_tol: f64,
    /// L-BFGS iterations at most.
    #[arg(long, default_value_t = 5000)]
    pub max_iters: usize,
    /// Epochs of mini-batch Adam before L-BFGS (a warm start for large data; 0: none).
    #[arg(long, default_value_t = 0)]
    pub epochs: usize,
    /// Adam's learning rate (with --epochs).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Adam's batch size (with --epochs).
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Standardise features (mean 0, scale 1 on the training rows); stored in the model file.
    #[arg(long)]
    pub standardise: bool,
    /// Fraction of rows held out (seeded) and reported as a test split, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Worker threads (default: all cores); results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Where to write the model (safetensors); never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write a JSON report (sizes, iterations, ‖∇J‖∞, accuracies, timings).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// Runs `puma train`, writing its report to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] for a bad activation, μ, tolerance, fraction, thread count or an
/// output path equal to an input; the readers' errors for malformed data; training's errors;
/// [`Error::Io`] if the model or the report cannot be written.
pub fn run(args: &TrainArgs, out: &mut dyn Write) -> Result<()> {
    check_args(args)?;
    let summary = in_pool(args.threads, || fit(args))?;
    write_summary(out, &summary)
}

/// Reads, trains, writes the model and the report; returns the summary.
fn fit(args: &TrainArgs) -> Result<String> {
    let start = Instant::now();
    let ds = read_dataset(&args.data, args.labels.as_deref(), None)?;
    let (mut train_ds, mut test_ds) = if args.test_fraction > 0.0 {
        let split = ds.train_test_split(args.test_fraction, args.seed)?;
        (split.train, Some(split.test))
    } else {
        (ds, None)
    };
    let scaler = if args.standardise {
        let s = train_ds.standardise_in_place();
        if let Some(t) = test_ds.as_mut() {
            s.apply_in_place(t)?;
        }
        Some(s)
    } else {
        None
    };

    let activation = parse_activation(&args.act)?;
    let mut sizes = vec![train_ds.d()];
    sizes.extend(&args.hidden);
    sizes.push(train_ds.k());
    let mlp = Mlp::new(&sizes, activation, args.l2)?;
    let samples = Samples::of(&train_ds);

    let mut params = TrainParams {
        seed: args.seed,
        ..TrainParams::default()
    };
    params.lbfgs.max_iters = args.max_iters;
    params.lbfgs.grad_tol = params.lbfgs.grad_tol.max(args.grad_tol);
    if let Some(polish) = params.polish.as_mut() {
        polish.grad_tol = args.grad_tol;
    }
    let progress = Progress::spinner("training");
    let _current = progress.as_current(); // L-BFGS reports its iterations to it
    let train_start = Instant::now();
    let mut theta = mlp.init(args.seed);
    let warm = if args.epochs > 0 {
        progress.set_message(format!("Adam, {} epochs", args.epochs));
        let adam_params = AdamParams {
            lr: args.lr,
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            ..AdamParams::default()
        };
        let (t, info) = adam(&mlp, theta, &samples, &adam_params)?;
        theta = t;
        Some(info)
    } else {
        None
    };
    progress.set_message("L-BFGS, then the Newton polish");
    let (theta, info) = train_from(&mlp, theta, &samples, &params)?;
    progress.finish();
    let train_seconds = train_start.elapsed().as_secs_f64();
    let grad_inf = inf_norm(&mlp.value_and_grad(&theta, &samples)?.1);

    let mut model = ModelFile::new(mlp.clone(), theta.clone())?;
    if let Some(s) = &scaler {
        model
            .metadata
            .insert("scaler_mean".into(), json_array(&s.mean));
        model
            .metadata
            .insert("scaler_scale".into(), json_array(&s.scale));
    }
    save(&args.out, &model)?;

    let train_eval = mlp.evaluate(&theta, &samples)?;
    let test_eval = match &test_ds {
        Some(t) => Some((mlp.evaluate(&theta, &Samples::of(t))?, t.n())),
        None => None,
    };
    let converged = grad_inf <= args.grad_tol;
    if let Some(path) = &args.report {
        let eval_json = |accuracy: f64, mean_loss: f64, n: usize| serde_json::json!({ "accuracy": accuracy, "mean_loss": mean_loss, "n": n });
        let json = serde_json::json!({
            "command": "train",
            "data": path_json(&args.data),
            "labels": args.labels.as_deref().map(path_json),
            "sizes": sizes,
            "activation": activation.name(),
            "l2": args.l2,
            "p": mlp.n_params(),
            "seed": args.seed,
            "standardise": args.standardise,
            "adam": warm.as_ref().map(|w| serde_json::json!({
                "epochs": args.epochs,
                "lr": args.lr,
                "batch_size": args.batch_size,
                "grad_inf": w.grad_inf,
            })),
            "iterations": info.iters,
            "evaluations": info.evals,
            "stop": stop_name(info.stop),
            "objective": info.objective,
            "grad_inf": grad_inf,
            "grad_tol": args.grad_tol,
            "converged": converged,
            "train": eval_json(train_eval.accuracy, train_eval.mean_loss, train_ds.n()),
            "held_out": test_eval.as_ref().map(|(e, n)| eval_json(e.accuracy, e.mean_loss, *n)),
            "train_seconds": train_seconds,
            "total_seconds": start.elapsed().as_secs_f64(),
            "out": path_json(&args.out),
        });
        write_json(path, &json)?;
    }
    Ok(summary(
        args,
        &Summary {
            sizes: &sizes,
            activation,
            p: mlp.n_params(),
            n: train_ds.n(),
            warm: warm.as_ref(),
            info: &info,
            seconds: train_seconds,
            grad_inf,
            train: (train_eval.accuracy, train_eval.mean_loss),
            test: test_eval.map(|(e, n)| (e.accuracy, e.mean_loss, n)),
        },
    ))
}

/// What the summary reports.
struct Summary<'a> {
    sizes: &'a [usize],
    activation: Activation,
    p: usize,
    n: usize,
    warm: Option<&'a TrainInfo>,
    info: &'a TrainInfo,
    seconds: f64,
    grad_inf: f64,
    train: (f64, f64),
    test: Option<(f64, f64, usize)>,
}

/// The readable summary printed on stdout, one fact per line.
fn summary(args: &TrainArgs, s: &Summary<'_>) -> String {
    use std::fmt::Write as _;
    let mut r = String::new();
    let kind = if s.sizes.len() == 2 {
        "logistic regression".to_string()
    } else {
        format!("activation {}", s.activation.name())
    };
    let _ = writeln!(
        r,
        "model       {:?}, {kind}, μ = {:e}, p = {}",
        s.sizes, args.l2, s.p
    );
    let _ = writeln!(r, "data        {} ({} rows)", args.data.display(), s.n);
    if let Some(w) = s.warm {
        let _ = writeln!(
            r,
            "warm start  Adam, {} epochs ({} steps, lr {:e}, batch {}): ‖∇J‖∞ {:.3e}",
            args.epochs, w.iters, args.lr, args.batch_size, w.grad_inf
        );
    }
    let _ = writeln!(
        r,
        "training    {} iterations, {} evaluations, {:.2} s, stop: {}",
        s.info.iters,
        s.info.evals,
        s.seconds,
        stop_name(s.info.stop)
    );
    let _ = writeln!(r, "objective   J(θ̂) = {:.12}", s.info.objective);
    let _ = writeln!(r, "‖∇J‖∞       {:.3e}", s.grad_inf);
    let _ = writeln!(
        r,
        "train       accuracy {:.4}, mean loss {:.6}",
        s.train.0, s.train.1
    );
    if let Some((accuracy, loss, n)) = s.test {
        let _ = writeln!(
            r,
            "held out    accuracy {accuracy:.4}, mean loss {loss:.6} ({n} rows)"
        );
    }
    let _ = writeln!(r, "wrote       {}", args.out.display());
    if let Some(path) = &args.report {
        let _ = writeln!(r, "report      {}", path.display());
    }
    if s.grad_inf > args.grad_tol {
        let _ = writeln!(
            r,
            "warning     ‖∇J‖∞ = {:.3e} is above --grad-tol {:e}: θ is not a converged \
             optimum, influence values computed at it are unreliable",
            s.grad_inf, args.grad_tol
        );
    }
    r
}

/// The activation named by `--act`.
fn parse_activation(name: &str) -> Result<Activation> {
    Activation::from_name(name).ok_or_else(|| Error::InvalidParam {
        name: "act",
        reason: format!(
            "unknown activation {name:?} (expected tanh, sigmoid, relu, softplus or gelu)"
        ),
    })
}

/// Argument checks done before any file is read.
fn check_args(args: &TrainArgs) -> Result<()> {
    let bad = |name, reason: String| Err(Error::InvalidParam { name, reason });
    if !(args.l2.is_finite() && args.l2 >= 0.0) {
        return bad("l2", format!("must be finite and ≥ 0, got {}", args.l2));
    }
    if !(args.grad_tol.is_finite() && args.grad_tol > 0.0) {
        return bad("grad-tol", format!("must be > 0, got {}", args.grad_tol));
    }
    if args.max_iters == 0 {
        return bad("max-iters", "must be ≥ 1".into());
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return bad("lr", format!("must be finite and > 0, got {}", args.lr));
    }
    if args.batch_size == 0 {
        return bad("batch-size", "must be ≥ 1".into());
    }
    if !(0.0..1.0).contains(&args.test_fraction) {
        return bad(
            "test-fraction",
            format!("must be in [0, 1), got {}", args.test_fraction),
        );
    }
    if let Some(k) = args.hidden.iter().position(|&w| w == 0) {
        return bad("hidden", format!("hidden layer {} has width 0", k + 1));
    }
    if args.threads == Some(0) {
        return bad("threads", "must be ≥ 1".into());
    }
    parse_activation(&args.act)?;
    let mut outputs = vec![("out", args.out.as_path())];
    outputs.extend(args.report.as_deref().map(|r| ("report", r)));
    let inputs: Vec<&Path> = std::iter::once(args.data.as_path())
        .chain(args.labels.as_deref())
        .collect();
    check_outputs(&outputs, &inputs)
}

fn json_array(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", items.join(","))
}

/// A scaler stored by `puma train --standardise` in a model file's metadata, if any.
///
/// # Errors
/// [`Error::InvalidParam`] if the entries are not JSON arrays of numbers of equal length
/// with positive scales.
pub fn stored_scaler(model: &ModelFile) -> Result<Option<Scaler>> {
    let (Some(mean), Some(scale)) = (
        model.metadata.get("scaler_mean"),
        model.metadata.get("scaler_scale"),
    ) else {
        return Ok(None);
    };
    let parse = |s: &str| -> Result<Vec<f64>> {
        serde_json::from_str(s).map_err(|e| Error::InvalidParam {
            name: "scaler metadata",
            reason: format!("not a JSON array of numbers: {e}"),
        })
    };
    Scaler::new(parse(mean)?, parse(scale)?).map(Some)
}

fn stop_name(stop: Stop) -> &'static str {
    match stop {
        Stop::Converged => "converged",
        Stop::MaxIters => "iteration limit",
        Stop::LineSearchFailed => "line search failed",
        Stop::Stalled => "stalled at the rounding floor",
        Stop::EpochsDone => "epochs done",
        Stop::SingularHessian => "singular Hessian (no Newton polish)",
    }
}

/// Applies a stored scaler to a data set read for a model (no-op without one).
///
/// # Errors
/// As [`stored_scaler`] and [`Scaler::apply_in_place`] (a feature-count mismatch).
pub fn apply_stored_scaler(model: &ModelFile, ds: &mut Dataset) -> Result<()> {
    match stored_scaler(model)? {
        Some(s) => s.apply_in_place(ds),
        None => Ok(()),
    }
}
