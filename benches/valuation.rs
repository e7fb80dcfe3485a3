//! What does ψ for m criterion rows cost, and how does it split between the solves and the
//! per-example products (DESIGN.md §2: S = H_ρ⁻¹ J_Cᵀ is m solves; Ψ = Sᵀ G one GEMM per
//! layer, never the p × n matrix G)?
//!
//! Problem: the digits MLP [64,32,10] (tanh, μ = 1e-3, p = 2410) trained in setup (L-BFGS,
//! seeded) on 1437 standardised UCI digits; criterion rows: the per-sample cross-entropy of
//! the first m of 360 held-out rows, m = 1, 32, 360. Exact solver, ρ = 0.01 (the dense H
//! assembled block by block and factored once, outside the timed loops).
//! `valuation/{threads}t/{phase}/{m}` with phase
//! - `jacobian`: J_Cᵀ (m small reverse passes);
//! - `solves`: S = H_ρ⁻¹ J_Cᵀ, `solve_many` with the cached factor (two triangular solves);
//! - `products`: Ψ = Sᵀ g_i for all n rows (`Mlp::per_example_grad_dots`);
//! - `grad` (m = 0): one full-batch gradient of [J], the unit of the ratio below.
//!
//! Target (issue #7): products ≤ 1/3 of one full-batch gradient per criterion row; 2-thread
//! speedup ≥ 1.7× with the other core idle. Printed once outside criterion's loops: the
//! median of 5 timed runs of each phase per m and thread count, products per row / grad, and
//! /proc/loadavg before and after (how busy the machine was).
//! Run: `cargo bench --bench valuation`.

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use puma::autodiff::Activation;
use puma::criteria::{Criterion as _, LossKind, PerSampleLoss};
use puma::model::train::{LbfgsParams, TrainParams, train};
use puma::model::{Mlp, Samples};
use puma::solvers::{DenseHessian, Exact, ExactParams, InverseHvp};
use rand::SeedableRng;
use rand::seq::SliceRandom;

const ROWS: [usize; 3] = [1, 32, 360];

struct Problem {
    mlp: Mlp,
    theta: Vec<f64>,
    x: Vec<f64>,
    y: Vec<usize>,
    ex: Vec<f64>,
    ey: Vec<usize>,
    op: DenseHessian,
}

fn setup() -> Problem {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/digits/digits.csv");
    let mut ds = puma::data::csv::read_csv(path).unwrap();
    ds.standardise_in_place();
    let mut idx: Vec<usize> = (0..ds.n()).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    let (tr, ev) = idx.split_at(ds.n() - 360);
    let (x, y) = ds.subset(tr).unwrap().into_parts();
    let (ex, ey) = ds.subset(ev).unwrap().into_parts();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap();
    let params = TrainParams {
        seed: 1,
        lbfgs: LbfgsParams {
            grad_tol: 1e-6,
            max_iters: 3000,
            ..Default::default()
        },
        polish: None,
    };
    let s = Samples::new(&x, 64, &y).unwrap();
    let (theta, info) = train(&mlp, &s, &params).unwrap();
    let h = mlp.hessian(&theta, &s).unwrap(); // block by block
    let op = DenseHessian::new(mlp.n_params(), h).unwrap();
    eprintln!(
        "setup: p = {}, n = {}, trained to ‖∇J‖∞ = {:.1e} in {} iterations",
        mlp.n_params(),
        y.len(),
        info.grad_inf,
        info.iters
    );
    Problem {
        mlp,
        theta,
        x,
        y,
        ex,
        ey,
        op,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn median_secs(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[2]
}

fn valuation(c: &mut Criterion) {
    let pb = setup();
    let train = Samples::new(&pb.x, 64, &pb.y).unwrap();
    let eval = Samples::new(&pb.ex, 64, &pb.ey).unwrap();
    let mut solver = Exact::new(ExactParams {
        rho: 0.01,
        ..ExactParams::default()
    })
    .unwrap();
    solver.factor(&pb.op).unwrap();
    let (mlp, theta) = (&pb.mlp, &pb.theta);
    let crit: Vec<PerSampleLoss> = ROWS
        .iter()
        .map(|&m| PerSampleLoss::new(eval.rows(0..m), LossKind::CrossEntropy).unwrap())
        .collect();
    let jts: Vec<Vec<f64>> = crit
        .iter()
        .map(|c| c.jacobian_t(mlp, theta).unwrap())
        .collect();
    let ss: Vec<Vec<f64>> = ROWS
        .iter()
        .zip(&jts)
        .map(|(&m, jt)| solver.solve_many(&pb.op, m, jt).unwrap().0)
        .collect();

    // Medians outside criterion's loops, for the closing note.
    eprintln!("loadavg before: {}", loadavg());
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let grad = median_secs(|| {
                black_box(mlp.value_and_grad(theta, &train).unwrap());
            });
            eprintln!(
                "{threads} thread(s): one full-batch gradient {:.3} ms",
                grad * 1e3
            );
            for (k, &m) in ROWS.iter().enumerate() {
                let jac = median_secs(|| {
                    black_box(crit[k].jacobian_t(mlp, theta).unwrap());
                });
                let solve = median_secs(|| {
                    black_box(solver.solve_many(&pb.op, m, &jts[k]).unwrap());
                });
                let prod = median_secs(|| {
                    black_box(mlp.per_example_grad_dots(theta, &train, &ss[k], m).unwrap());
                });
                eprintln!(
                    "  m = {m:>3}: jacobian {:.3} ms, solves {:.3} ms, products {:.3} ms; \
                     products per row / gradient = {:.3}",
                    jac * 1e3,
                    solve * 1e3,
                    prod * 1e3,
                    prod / m as f64 / grad
                );
            }
        });
    }
    eprintln!("loadavg after: {}", loadavg());

    let mut group = c.benchmark_group("valuation");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let t = format!("{threads}t");
        group.bench_function(BenchmarkId::new(format!("{t}/grad"), 0), |b| {
            b.iter(|| pool.install(|| black_box(mlp.value_and_grad(theta, &train).unwrap())))
        });
        for (k, &m) in ROWS.iter().enumerate() {
            group.bench_function(BenchmarkId::new(format!("{t}/jacobian"), m), |b| {
                b.iter(|| pool.install(|| black_box(crit[k].jacobian_t(mlp, theta).unwrap())))
            });
            group.bench_function(BenchmarkId::new(format!("{t}/solves"), m), |b| {
                b.iter(|| {
                    pool.install(|| black_box(solver.solve_many(&pb.op, m, &jts[k]).unwrap()))
                })
            });
            group.bench_function(BenchmarkId::new(format!("{t}/products"), m), |b| {
                b.iter(|| {
                    pool.install(|| {
                        black_box(mlp.per_example_grad_dots(theta, &train, &ss[k], m).unwrap())
                    })
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, valuation);
criterion_main!(benches);
