//! `puma train`: fit an MLP (or, without hidden layers, logistic regression) to a labelled data
//! set by minimising [J] to a true optimum, and save it as a safetensors model file.
//!
//! J(θ) = (1/n) Σ_i CE(z_i, θ) + (μ/2)‖θ‖² is minimised by full-batch L-BFGS, followed for
//! logistic regression by a Newton polish, down to ‖∇J‖∞ ≤ `--grad-tol`: influence
//! functions are only meaningful at a converged θ̂, so the report always ends with the
//! ‖∇J‖∞ reached.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::data::{Dataset, Scaler, read_dataset};
use crate::error::{Error, Result};
use crate::io::{ModelFile, save};
use crate::kernels::Activation;
use crate::model::train::{Stop, TrainParams, inf_norm, train};
use crate::model::{Mlp, Samples};

/// Worked examples shown after `puma train --help`.
pub const EXAMPLES: &str = "\
Examples:
  puma train --data fixtures/reference/digits_logreg/train.csv --out logreg.safetensors
      logistic regression (no --hidden), μ = 1e-3, to ‖∇J‖∞ ≤ 1e-12
  puma train --data fixtures/digits/digits.csv --hidden 32 --act tanh --standardise \\
             --test-fraction 0.2 --out digits_mlp.safetensors
      an MLP [64, 32, 10]; 20% of the rows (seeded) held out and reported, not trained on

The model file holds tensors 0.weight, 0.bias, 2.weight, ... (PyTorch nn.Sequential names)
and the metadata activation, l2 and, with --standardise, the feature mean and scale
(scaler_mean, scaler_scale as JSON arrays) that later commands apply to new data.";

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
    /// Weight decay μ of [J], on every parameter including biases.
    #[arg(long, default_value_t = 1e-3)]
    pub l2: f64,
    /// Seed of the initialisation and of the held-out split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when ‖∇J‖∞ is at most this.
    #[arg(long, default_value_t = 1e-12)]
    pub grad_tol: f64,
    /// L-BFGS iterations at most.
    #[arg(long, default_value_t = 5000)]
    pub max_iters: usize,
    /// Standardise features (mean 0, scale 1 on the training rows); stored in the model file.
    #[arg(long)]
    pub standardise: bool,
    /// Fraction of rows held out (seeded) and reported as a test split, in [0, 1).
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Where to write the model (safetensors); never one of the inputs.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `puma train`, writing its report to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] for a bad activation, μ, tolerance, fraction or an output path equal
/// to an input; the readers' errors for malformed data; training's errors; [`Error::Io`] if the
/// model cannot be written.
pub fn run(args: &TrainArgs, out: &mut dyn Write) -> Result<()> {
    check_args(args)?;
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

    let activation = Activation::from_name(&args.act).ok_or_else(|| Error::InvalidParam {
        name: "act",
        reason: format!(
            "unknown activation {:?} (expected tanh, sigmoid, relu, softplus or gelu)",
            args.act
        ),
    })?;
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
    let start = std::time::Instant::now();
    let (theta, info) = train(&mlp, &samples, &params)?;
    let seconds = start.elapsed().as_secs_f64();
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
    let mut report = String::new();
    {
        use std::fmt::Write as _;
        let r = &mut report;
        let _ = writeln!(
            r,
            "model       {:?}, activation {}, μ = {:e}, p = {}",
            sizes,
            activation.name(),
            args.l2,
            mlp.n_params()
        );
        let _ = writeln!(
            r,
            "data        {} ({} rows)",
            args.data.display(),
            train_ds.n()
        );
        let _ = writeln!(
            r,
            "training    {} iterations, {} evaluations, {:.2} s, stop: {}",
            info.iters,
            info.evals,
            seconds,
            stop_name(info.stop)
        );
        let _ = writeln!(r, "objective   J(θ̂) = {:.12}", info.objective);
        let _ = writeln!(r, "‖∇J‖∞       {grad_inf:.3e}");
        let _ = writeln!(
            r,
            "train       accuracy {:.4}, mean loss {:.6}",
            train_eval.accuracy, train_eval.mean_loss
        );
        if let Some(t) = &test_ds {
            let test_eval = mlp.evaluate(&theta, &Samples::of(t))?;
            let _ = writeln!(
                r,
                "held out    accuracy {:.4}, mean loss {:.6} ({} rows)",
                test_eval.accuracy,
                test_eval.mean_loss,
                t.n()
            );
        }
        let _ = writeln!(r, "wrote       {}", args.out.display());
        if grad_inf > args.grad_tol {
            let _ = writeln!(
                r,
                "warning     ‖∇J‖∞ = {grad_inf:.3e} is above --grad-tol {:e}: θ is not a converged \
                 optimum, influence values computed at it are unreliable",
                args.grad_tol
            );
        }
    }
    out.write_all(report.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", &e))
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
    if !(0.0..1.0).contains(&args.test_fraction) {
        return bad(
            "test-fraction",
            format!("must be in [0, 1), got {}", args.test_fraction),
        );
    }
    if args.hidden.contains(&0) {
        return bad("hidden", "a hidden layer has width 0".into());
    }
    let inputs = std::iter::once(&args.data).chain(args.labels.as_ref());
    for input in inputs {
        if same_file(input, &args.out) {
            return bad(
                "out",
                format!(
                    "{} is an input; write the model to a new file",
                    args.out.display()
                ),
            );
        }
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
