//! Is the PUMA patch faster than retraining, and does it agree with it?
//!
//! Problem: the digits MLP [64, 32, 10] (tanh, μ = 1e-3, p = 2,410) trained to ‖∇J‖∞ ≤ 1e-12
//! on 1,300 standardised UCI digits with 5% of the labels flipped (seeded); M = the flipped
//! rows, the guard = per-sample cross-entropy on 100 held-out rows, U = every unmarked row,
//! two-sided, α = 0.01·α_max, the exact solver (ρ = 0).
//!
//! - `patch/digits_mlp/cold`: the whole patch from θ̂: the dense H (block by block), its
//!   Cholesky factor (no σ_min certificate: the patch does not report error bounds), the
//!   m = 100 guard solves, ψ, the Lasso, the [eq10] step.
//! - `patch/digits_mlp/warm`: the same with the factor already cached (a second request on
//!   the same model: m + 2 triangular solve pairs, ψ, Lasso, step).
//! - `patch/digits_mlp/request`: one removal request once ψ over the guards is prepared
//!   ([`puma::puma::prepare`], independent of M): the Lasso, two weighted gradients and one
//!   two-column solve.
//! - `retrain/digits_mlp/warm_start`: [retrain], L-BFGS from θ̂ on w = 0 on M to ‖∇J_w‖∞ ≤
//!   1e-12 (p > 1,000, so no Newton polish).
//!
//! Printed once outside the timed loops: the speed-up of each against retraining, and the
//! agreement with [retrain] on the 397 test rows where θ̂ and the retrained model predict
//! differently (and ‖θ − θ_retrain‖/‖θ̂ − θ_retrain‖), for the single step and for the
//! iterated patch: a faster wrong answer is not a win.

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use puma::autodiff::Activation;
use puma::criteria::{LossKind, PerSampleLoss};
use puma::data::Dataset;
use puma::influence::hessian_operator;
use puma::model::train::{TrainParams, train, train_from};
use puma::model::{Mlp, Samples};
use puma::puma::{
    Guard, PatchInput, PatchParams, flips, patch_prepared, patch_weights, patch_with_operator,
    prepare,
};
use puma::solvers::{Exact, ExactParams};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

struct Setup {
    mlp: Mlp,
    theta: Vec<f64>,
    train: Dataset,
    guard: Dataset,
    test: Dataset,
    marked: Vec<usize>,
}

fn setup() -> Setup {
    let mut ds = puma::data::csv::read_csv(fixture("digits/digits.csv")).unwrap();
    ds.standardise_in_place();
    let (ds, _) = ds.shuffled(0);
    let idx = |r: std::ops::Range<usize>| r.collect::<Vec<_>>();
    let mut train_ds = ds.subset(&idx(0..1300)).unwrap();
    let marked = train_ds.flip_labels_in_place(0.05, 1).unwrap();
    let guard = ds.subset(&idx(1300..1400)).unwrap();
    let test = ds.subset(&idx(1400..ds.n())).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap();
    let t0 = Instant::now();
    let (theta, info) = train(&mlp, &Samples::of(&train_ds), &TrainParams::default()).unwrap();
    eprintln!(
        "θ̂: p = {}, ‖∇J‖∞ = {:.2e} after {} iterations ({:.1} s)",
        mlp.n_params(),
        info.grad_inf,
        info.iters,
        t0.elapsed().as_secs_f64()
    );
    Setup {
        mlp,
        theta,
        train: train_ds,
        guard,
        test,
        marked,
    }
}

fn bench_patch(c: &mut Criterion) {
    let s = setup();
    let train_s = Samples::of(&s.train);
    let guard_s = Samples::of(&s.guard);
    let test_s = Samples::of(&s.test);
    let guard = PerSampleLoss::new(guard_s, LossKind::CrossEntropy).unwrap();
    let mut input = PatchInput::new(&s.mlp, &s.theta, train_s, &s.marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 0.05,
    });
    let params = PatchParams::default();
    let exact = || {
        Exact::new(ExactParams {
            certify: false,
            ..ExactParams::default()
        })
        .unwrap()
    };
    let op = hessian_operator(&s.mlp, &s.theta, train_s).unwrap();
    let w0 = patch_weights(train_s.n(), &s.marked, &[], &[]);
    let retrain = || {
        let sw = train_s.with_weights(&w0).unwrap();
        train_from(&s.mlp, s.theta.clone(), &sw, &TrainParams::default()).unwrap()
    };

    // Once, outside the timed loops: times, agreement with [retrain].
    let t0 = Instant::now();
    let (theta_r, info_r) = retrain();
    let t_retrain = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let cold = {
        let op = hessian_operator(&s.mlp, &s.theta, train_s).unwrap();
        patch_with_operator(&input, &params, &mut exact(), op.as_ref()).unwrap()
    };
    let t_cold = t0.elapsed().as_secs_f64();
    let mut warm_solver = exact();
    let it_params = PatchParams {
        iterate: 100,
        iterate_tol: 1e-10,
        ..PatchParams::default()
    };
    let iterated = patch_with_operator(&input, &it_params, &mut warm_solver, op.as_ref()).unwrap();
    let t0 = Instant::now();
    let _ = patch_with_operator(&input, &params, &mut warm_solver, op.as_ref()).unwrap();
    let t_warm = t0.elapsed().as_secs_f64();
    let prepared = prepare(&input, &mut warm_solver, op.as_ref()).unwrap();
    let t0 = Instant::now();
    let _ = patch_prepared(&input, &params, &prepared, &mut warm_solver, op.as_ref()).unwrap();
    let t_request = t0.elapsed().as_secs_f64();
    let dist = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    };
    let rel = |t: &[f64]| dist(t, &theta_r) / dist(&s.theta, &theta_r);
    eprintln!(
        "retrain: {} L-BFGS iterations to ‖∇J_w‖∞ = {:.1e}, {t_retrain:.3} s; patch cold {t_cold:.3} s ({:.1}×), \
         warm {t_warm:.3} s ({:.1}×), one request on prepared ψ {t_request:.3} s ({:.1}×)",
        info_r.iters,
        info_r.grad_inf,
        t_retrain / t_cold,
        t_retrain / t_warm,
        t_retrain / t_request
    );
    let r = &cold.report.seconds;
    eprintln!(
        "cold patch stages: ψ (H, factor, {} guard solves) {:.3} s, Lasso {:.3} s, step {:.3} s",
        guard_s.n(),
        r.psi,
        r.lasso,
        r.step
    );
    let it = iterated.report.iterate.as_ref().unwrap();
    for (name, t) in [
        ("naive", cold.theta_naive.as_slice()),
        ("puma", cold.theta_mod.as_slice()),
        ("iterated", iterated.theta_iterated.as_deref().unwrap()),
    ] {
        let f = flips(&s.mlp, &s.theta, &theta_r, t, &test_s);
        eprintln!(
            "{name:9} agrees with retrain on {}/{} test rows where θ̂ and θ_retrain differ ({:.0}%), \
             ‖θ − θ_r‖/‖θ̂ − θ_r‖ = {:.3}",
            f.reproduced,
            f.flipped_by_retrain,
            100.0 * f.rate(),
            rel(t)
        );
    }
    eprintln!(
        "iterated: {} steps to ‖∇J_w‖∞ = {:.1e} in {:.3} s",
        it.steps, it.grad_inf, iterated.report.seconds.iterate
    );

    let mut group = c.benchmark_group("patch");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("digits_mlp/cold", |b| {
        b.iter(|| {
            let op = hessian_operator(&s.mlp, &s.theta, train_s).unwrap();
            black_box(patch_with_operator(&input, &params, &mut exact(), op.as_ref()).unwrap())
        })
    });
    group.bench_function("digits_mlp/warm", |b| {
        b.iter(|| {
            black_box(patch_with_operator(&input, &params, &mut warm_solver, op.as_ref()).unwrap())
        })
    });
    group.bench_function("digits_mlp/request", |b| {
        b.iter(|| {
            black_box(
                patch_prepared(&input, &params, &prepared, &mut warm_solver, op.as_ref()).unwrap(),
            )
        })
    });
    group.finish();
    let mut group = c.benchmark_group("retrain");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("digits_mlp/warm_start", |b| b.iter(|| black_box(retrain())));
    group.finish();
}

criterion_group!(benches, bench_patch);
criterion_main!(benches);
