//! `puma demo`: the whole job on the bundled digits data, in seconds.
//!
//! 1. Split digits (1,797 rows, 64 features, 10 classes; embedded in the binary) into
//!    train / guard / test (60 / 20 / 20 %, seeded), standardise with the training
//!    statistics, and flip 10 % of the training labels (seeded): the known bad set F.
//! 2. Train an MLP [64, h, 10] on \[J\] to ‖∇J‖∞ ≤ 1e-12 (L-BFGS, then Newton polish).
//! 3. Value every training point for the mean guard loss \[ψ\]: value_i = (1/n) ψ_i, the
//!    predicted change of the mean guard cross-entropy if point i is removed (\[remove\]
//!    convention; < 0 means the point hurts). Detection curves of F for the ψ value and the
//!    baselines (self-influence \[self\], training loss, ‖g_i‖², random).
//! 4. Mark the lowest-valued `flag_fraction` of the training points (M) and patch them out
//!    with PUMA (\[eq9\], \[eq10\]): per-sample guard cross-entropy on the guard split,
//!    one-sided, U = every unmarked point. Naive removal (λ = 0) and \[retrain\] run alongside.
//! 5. One table: original, naive removal, PUMA (one \[eq10\] step), PUMA iterated (steps with
//!    the actual ∇J_w toward \[retrain-w\], w = 0 on M and 1 + λ* on U) and retrained models on
//!    the test split (accuracy, mean loss, hard 15-bin ECE) with their wall times.
//!
//! The library entry point is [`run`]; the command line ([`crate::cli::demo`]) adds the
//! output folder with the JSON report and the SVG plots.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::autodiff::Activation;
use crate::criteria::{LossKind, MeanLoss, PerSampleLoss, Reliability, hard_ece};
use crate::data::Dataset;
use crate::data::csv::parse_csv;
use crate::error::{Error, Result};
use crate::influence::hessian_operator;
use crate::model::train::{TrainParams, train};
use crate::model::{Evaluation, Mlp, Samples};
use crate::progress::Progress;
use crate::puma::{Guard, PatchInput, PatchParams, Sides, patch_with_operator};
use crate::solvers::{Exact, ExactParams};
use crate::valuation::rank::{DetectionCurve, ascending};
use crate::valuation::{Baselines, psi};

/// The digits data set (UCI optical digits, 8×8, see fixtures/PROVENANCE.md), bundled so
/// the demo runs from any directory.
const DIGITS_CSV: &[u8] = include_bytes!("../fixtures/digits/digits.csv");

/// Settings of [`run`].
#[derive(Clone, Debug, PartialEq)]
pub struct DemoParams {
    /// Seed of the split, the label flips, the initialisation and the random baseline.
    pub seed: u64,
    /// Fraction of training labels flipped. Default 0.1.
    pub flip_fraction: f64,
    /// Hidden layer widths. Default `[16]`.
    pub hidden: Vec<usize>,
    /// Weight decay μ of \[J\]. Default 1e-2.
    pub l2: f64,
    /// Use only this many digits rows (a reduced setting for tests). Default all 1,797.
    pub rows: Option<usize>,
    /// Fraction of the training points marked for removal (lowest ψ value first). Default 0.1.
    pub flag_fraction: f64,
    /// δ of the guard group \[eq5\], nats of mean guard cross-entropy. Default 0.05.
    pub delta: f64,
    /// Steps of iterated patching after the first \[eq10\] step (0: only the one-step
    /// patch). Default 10.
    pub iterate: usize,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams {
            seed: 0,
            flip_fraction: 0.1,
            hidden: vec![16],
            l2: 1e-2,
            rows: None,
            flag_fraction: 0.1,
            delta: 0.05,
            iterate: 10,
        }
    }
}

/// One model of the final table.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    /// "original", "naive removal", "PUMA", "PUMA iterated" (when iterating) or "retrained".
    pub name: &'static str,
    /// Accuracy and mean cross-entropy on the test split.
    pub test: Evaluation,
    /// Mean cross-entropy on the guard split.
    pub guard_loss: f64,
    /// The hard 15-bin reliability diagram on the test split.
    pub reliability: Reliability,
    /// Wall time to produce the model, seconds (training for the original).
    pub seconds: f64,
}

/// What [`run`] found: the table, the detection curves and the full report.
#[derive(Clone, Debug)]
pub struct Demo {
    /// Original, naive removal, PUMA, PUMA iterated (when iterating), retrained.
    pub models: Vec<ModelRow>,
    /// ψ value first, then the baselines.
    pub curves: Vec<DetectionCurve>,
    /// The training rows whose labels were flipped (F).
    pub flipped: Vec<usize>,
    /// The marked rows (M).
    pub marked: Vec<usize>,
    /// Everything, as JSON.
    pub report: Value,
}

/// Runs the demo, printing its progress and tables to `out`.
///
/// # Errors
/// [`Error::InvalidParam`] for fractions outside (0, 1) or fewer than 50 rows; then any
/// error of training, the solver or the patch (none is expected on the bundled data).
pub fn run(params: &DemoParams, out: &mut dyn Write) -> Result<Demo> {
    check(params)?;
    let t_all = Instant::now();
    let (train_ds, guard_ds, test_ds, flipped) = data(params)?;
    let (tr, gd, te) = (
        Samples::of(&train_ds),
        Samples::of(&guard_ds),
        Samples::of(&test_ds),
    );
    let n = tr.n();
    say(
        out,
        format_args!(
            "digits: {n} train ({} labels flipped), {} guard, {} test rows; {} features, {} classes",
            flipped.len(),
            gd.n(),
            te.n(),
            tr.d,
            train_ds.k()
        ),
    )?;

    // 2. Train.
    let mut sizes = vec![tr.d];
    sizes.extend(&params.hidden);
    sizes.push(train_ds.k());
    let mlp = Mlp::new(&sizes, Activation::Tanh, params.l2)?;
    let t = Instant::now();
    let train_params = TrainParams {
        seed: params.seed,
        ..TrainParams::default()
    };
    let bar = Progress::spinner("training");
    let current = bar.as_current(); // L-BFGS reports its iterations to it
    let (theta, info) = train(&mlp, &tr, &train_params)?;
    drop(current);
    bar.finish();
    let t_train = t.elapsed().as_secs_f64();
    say(
        out,
        format_args!(
            "trained MLP {sizes:?} tanh, μ = {}: p = {}, ‖∇J‖∞ = {:.1e} after {} iterations ({t_train:.2} s)",
            params.l2,
            mlp.n_params(),
            info.grad_inf,
            info.iters
        ),
    )?;

    // 3. Value every training point; detection curves.
    let t = Instant::now();
    let bar = Progress::spinner("valuation");
    let op = hessian_operator(&mlp, &theta, tr)?;
    let mut solver = Exact::new(ExactParams::default())?;
    let criterion = MeanLoss::new(gd, LossKind::CrossEntropy)?;
    let psi = psi(&criterion, &mlp, &theta, &tr, &mut solver, op.as_ref())?;
    let values: Vec<f64> = psi.criterion_row(0).iter().map(|v| v / n as f64).collect();
    let baselines = Baselines::compute(&mlp, &theta, &tr, &mut solver, op.as_ref(), params.seed)?;
    let curves = baselines.curves(Some(&values), &flipped)?;
    bar.finish();
    let t_value = t.elapsed().as_secs_f64();
    say(
        out,
        format_args!(
            "\nvalued {n} training points for the mean guard loss ({t_value:.2} s). Flipped labels found after inspecting:"
        ),
    )?;
    say(
        out,
        format_args!("  {:<16} {:>6} {:>6} {:>6}", "order", "5%", "10%", "20%"),
    )?;
    for c in &curves {
        say(
            out,
            format_args!(
                "  {:<16} {:>5.0}% {:>5.0}% {:>5.0}%",
                c.name,
                100.0 * c.found_at(0.05),
                100.0 * c.found_at(0.1),
                100.0 * c.found_at(0.2)
            ),
        )?;
    }
    let order = ascending(&values);
    let is_flipped = |i: usize| flipped.binary_search(&i).is_ok();
    say(
        out,
        format_args!("\nmost suspicious training rows (lowest value first):"),
    )?;
    say(
        out,
        format_args!(
            "  {:>5} {:>11} {:>11} {:>5}  flipped?",
            "row", "value", "self-infl", "label"
        ),
    )?;
    for &i in order.iter().take(8) {
        say(
            out,
            format_args!(
                "  {i:>5} {:>11.3e} {:>11.3e} {:>5}  {}",
                values[i],
                baselines.self_influence[i],
                tr.y[i],
                if is_flipped(i) { "yes" } else { "no" }
            ),
        )?;
    }

    // 4. Mark and patch.
    let k = ((params.flag_fraction * n as f64).round() as usize).clamp(1, n - 1);
    let mut marked: Vec<usize> = order[..k].to_vec();
    marked.sort_unstable();
    let hits = marked.iter().filter(|&&i| is_flipped(i)).count();
    say(
        out,
        format_args!(
            "\nmarked the {k} lowest-valued rows ({hits} of them flipped); patching them out with PUMA"
        ),
    )?;
    let guard = PerSampleLoss::new(gd, LossKind::CrossEntropy)?;
    let mut input = PatchInput::new(&mlp, &theta, tr, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: params.delta,
    });
    input.eval_sets = vec![("guard".into(), gd), ("test".into(), te)];
    let patch_params = PatchParams {
        sides: Sides::One,
        retrain: true,
        iterate: params.iterate,
        retrain_params: train_params,
        ..PatchParams::default()
    };
    let bar = Progress::spinner("patch+retrain");
    let _current = bar.as_current(); // retraining reports its L-BFGS iterations to it
    let patched = patch_with_operator(&input, &patch_params, &mut solver, op.as_ref())?;
    bar.finish();
    let rep = &patched.report;

    // 5. The table.
    let seconds = |name: &str| rep.model(name).map_or(f64::NAN, |m| m.seconds);
    let mut models = Vec::with_capacity(5);
    let mut variants: Vec<(&'static str, &[f64], f64)> = vec![
        ("original", &theta, t_train),
        ("naive removal", &patched.theta_naive, seconds("naive")),
        ("PUMA", &patched.theta_mod, seconds("puma")),
    ];
    if let Some(it) = &patched.theta_iterated {
        variants.push(("PUMA iterated", it, seconds("iterated")));
    }
    if let Some(re) = &patched.theta_retrain {
        variants.push(("retrained", re, seconds("retrain")));
    }
    for (name, th, secs) in variants {
        models.push(ModelRow {
            name,
            test: mlp.evaluate(th, &te)?,
            guard_loss: mlp.evaluate(th, &gd)?.mean_loss,
            reliability: hard_ece(&mlp, th, &te)?,
            seconds: secs,
        });
    }
    say(
        out,
        format_args!(
            "\n  {:<14} {:>9} {:>9} {:>9} {:>10} {:>9}",
            "model", "test acc", "test CE", "test ECE", "guard CE", "seconds"
        ),
    )?;
    for m in &models {
        say(
            out,
            format_args!(
                "  {:<14} {:>8.2}% {:>9.4} {:>9.4} {:>10.4} {:>9.3}",
                m.name,
                100.0 * m.test.accuracy,
                m.test.mean_loss,
                m.reliability.ece,
                m.guard_loss,
                m.seconds
            ),
        )?;
    }
    say(
        out,
        format_args!(
            "\nPUMA: λ* has {} non-zero weights (Σλ = {:.2}), η = {:.3e} after {} halvings; whole demo {:.1} s",
            rep.lambda_nnz,
            rep.lambda_sum,
            rep.eta,
            rep.halvings,
            t_all.elapsed().as_secs_f64()
        ),
    )?;

    let report = json!({
        "params": {
            "seed": params.seed, "flip_fraction": params.flip_fraction, "hidden": params.hidden,
            "l2": params.l2, "rows": params.rows, "flag_fraction": params.flag_fraction,
            "delta": params.delta,
        },
        "data": {"train": n, "guard": gd.n(), "test": te.n(), "flipped": flipped},
        "training": {"seconds": t_train, "iterations": info.iters, "grad_inf": info.grad_inf},
        "valuation": {
            "seconds": t_value,
            "values": values,
            "self_influence": baselines.self_influence,
            "detection": curves.iter().map(|c| json!({
                "name": c.name, "found_at_5": c.found_at(0.05), "found_at_10": c.found_at(0.1),
                "found_at_20": c.found_at(0.2), "area": c.area(),
            })).collect::<Vec<_>>(),
        },
        "marked": marked,
        "models": models.iter().map(|m| json!({
            "name": m.name, "test_accuracy": m.test.accuracy, "test_loss": m.test.mean_loss,
            "test_hard_ece": m.reliability.ece, "guard_loss": m.guard_loss, "seconds": m.seconds,
        })).collect::<Vec<_>>(),
        "patch": rep.to_json(),
    });
    Ok(Demo {
        models,
        curves,
        flipped,
        marked,
        report,
    })
}

/// Train, guard and test splits of the bundled digits (60 / 20 / 20 %), standardised with
/// the training statistics, and the flipped training rows (sorted).
fn data(params: &DemoParams) -> Result<(Dataset, Dataset, Dataset, Vec<usize>)> {
    let mut all = parse_csv(DIGITS_CSV, Path::new("fixtures/digits/digits.csv"))?;
    if let Some(rows) = params.rows {
        let (shuffled, _) = all.shuffled(params.seed);
        let keep: Vec<usize> = (0..rows.min(shuffled.n())).collect();
        all = shuffled.subset(&keep)?;
    }
    let split = all.train_test_split(0.4, params.seed)?;
    let rest = split
        .test
        .train_test_split(0.5, params.seed.wrapping_add(1))?;
    let (mut train, mut guard, mut test) = (split.train, rest.train, rest.test);
    let scaler = train.standardise_in_place();
    scaler.apply_in_place(&mut guard)?;
    scaler.apply_in_place(&mut test)?;
    let flipped = train.flip_labels_in_place(params.flip_fraction, params.seed)?;
    Ok((train, guard, test, flipped))
}

/// [`Error::InvalidParam`] for settings the demo cannot run with.
fn check(p: &DemoParams) -> Result<()> {
    let frac = |name: &'static str, v: f64| {
        if v > 0.0 && v < 1.0 {
            Ok(())
        } else {
            Err(Error::InvalidParam {
                name,
                reason: format!("must be in (0, 1), got {v}"),
            })
        }
    };
    frac("flip_fraction", p.flip_fraction)?;
    frac("flag_fraction", p.flag_fraction)?;
    if p.rows.is_some_and(|r| r < 50) {
        return Err(Error::InvalidParam {
            name: "rows",
            reason: format!(
                "the demo needs at least 50 rows, got {}",
                p.rows.unwrap_or(0)
            ),
        });
    }
    if !(p.delta >= 0.0 && p.delta.is_finite()) {
        return Err(Error::InvalidParam {
            name: "delta",
            reason: format!("must be finite and ≥ 0, got {}", p.delta),
        });
    }
    Ok(())
}

/// One line of the demo's printed report.
fn say(out: &mut dyn Write, line: std::fmt::Arguments) -> Result<()> {
    writeln!(out, "{line}").map_err(|e| Error::io(Path::new("<stdout>"), &e))
}
