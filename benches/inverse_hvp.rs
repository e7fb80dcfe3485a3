//! How fast is one inverse-HVP solve H_ρ x = b (DESIGN.md §1 [H]), and how accurate?
//!
//! Problems: the reference digits logistic regression (p = 650, closed-form dense Hessian,
//! `logreg650`) and the reference moons MLP [2,16,16,2] (p = 354, matrix-free autodiff HVPs
//! through `MlpHessian`, `moons354`); b = ∇(mean test CE), ρ = 0.01 (the s_test of [KL-loss]).
//!
//! - `exact/{problem}/build`: the dense H (closed form, or p HVPs for the MLP);
//!   `.../factor`: H_ρ = LLᵀ with and without the 1/‖L⁻¹‖_F² certificate;
//!   `.../solve`: one solve with the cached factor (two triangular solves + the residual HVP).
//! - `cg/{problem}/rtol1e-6` and `rtol1e-11` (the default); `hvp/{problem}`: one HVP, so CG
//!   per iteration can be read as a multiple of it.
//! - `cg_many/moons354/{lockstep8,separate8}`: 8 right-hand sides by lockstep CG over
//!   batched HVPs versus 8 separate CG solves.
//! - `lissa/{problem}`: the default LiSSA (Lanczos scale, automatic depth; full HVPs for the dense
//!   operator, batches of 256 for the MLP).
//!
//! Accuracy against the Cholesky answer is computed once, outside the timed loops, and
//! printed to stderr: a faster wrong answer is not a win.

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use puma::model::Samples;
use puma::model::train::logistic_hessian;
use puma::solvers::{
    Cg, CgParams, DenseHessian, Exact, ExactParams, HessianOperator, InverseHvp, Lissa,
    LissaParams, MlpHessian,
};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

const RHO: f64 = 0.01;

fn rel_max_err(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    x.iter()
        .zip(y)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// Times CG and LiSSA on `op` and prints their accuracy against `x_exact`.
fn iterative(c: &mut Criterion, name: &str, op: &dyn HessianOperator, b: &[f64], x_exact: &[f64]) {
    let mut v = vec![0.0; op.dim()];
    c.bench_function(&format!("hvp/{name}"), |bench| {
        bench.iter(|| op.hvp(black_box(b), &mut v).unwrap())
    });
    for (tag, rtol) in [("rtol1e-6", 1e-6), ("rtol1e-11", 1e-11)] {
        let mut cg = Cg::new(CgParams {
            rho: RHO,
            rtol,
            ..CgParams::default()
        })
        .unwrap();
        let (x, rep) = cg.solve(op, b).unwrap();
        eprintln!(
            "cg/{name}/{tag}: {} iterations, {} HVPs, rel residual {:.2e}, max rel error vs exact {:.2e}",
            rep.iterations,
            rep.hvps,
            rep.rel_residual,
            rel_max_err(&x, x_exact)
        );
        c.bench_function(&format!("cg/{name}/{tag}"), |bench| {
            bench.iter(|| cg.solve(op, black_box(b)).unwrap())
        });
    }
    let mut lissa = Lissa::new(LissaParams {
        rho: RHO,
        ..LissaParams::default()
    })
    .unwrap();
    let (x, rep) = lissa.solve(op, b).unwrap();
    eprintln!(
        "lissa/{name}: {} HVPs, s = {:.4}, rel residual {:.2e}, max rel error vs exact {:.2e}",
        rep.hvps,
        rep.scale.unwrap(),
        rep.rel_residual,
        rel_max_err(&x, x_exact)
    );
    c.bench_function(&format!("lissa/{name}"), |bench| {
        bench.iter(|| lissa.solve(op, black_box(b)).unwrap())
    });
}

fn logreg(c: &mut Criterion) {
    let model = puma::io::load(fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train = puma::data::csv::read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    let test = puma::data::csv::read_csv(fixture("reference/digits_logreg/test.csv")).unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let s = Samples::of(&train);
    let mut mlp0 = mlp.clone();
    mlp0.l2 = 0.0;
    let b = mlp0.value_and_grad(theta, &Samples::of(&test)).unwrap().1;
    let p = mlp.n_params();
    c.bench_function("exact/logreg650/build", |bench| {
        bench.iter(|| logistic_hessian(mlp, theta, black_box(&s)).unwrap())
    });
    let h = logistic_hessian(mlp, theta, &s).unwrap();
    let op = DenseHessian::new(p, h)
        .unwrap()
        .with_convexity(mlp.l2)
        .unwrap();
    for certify in [false, true] {
        let params = ExactParams {
            rho: RHO,
            certify,
            ..ExactParams::default()
        };
        c.bench_function(
            &format!("exact/logreg650/factor_certify{certify}"),
            |bench| bench.iter(|| Exact::new(params.clone()).unwrap().factor(&op).unwrap()),
        );
    }
    let mut exact = Exact::new(ExactParams {
        rho: RHO,
        ..ExactParams::default()
    })
    .unwrap();
    let (x_exact, rep) = exact.solve(&op, &b).unwrap();
    eprintln!(
        "exact/logreg650: rel residual {:.2e}, σ bound {:?}, error bound {:.2e}",
        rep.rel_residual,
        rep.sigma,
        rep.error_bound.unwrap()
    );
    c.bench_function("exact/logreg650/solve", |bench| {
        bench.iter(|| exact.solve(&op, black_box(&b)).unwrap())
    });
    iterative(c, "logreg650", &op, &b, &x_exact);
}

fn moons(c: &mut Criterion) {
    let model = puma::io::load(fixture("reference/moons_mlp/model.safetensors")).unwrap();
    let train = puma::data::csv::read_csv(fixture("reference/moons_mlp/train.csv")).unwrap();
    let test = puma::data::csv::read_csv(fixture("reference/moons_mlp/test.csv")).unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let op = MlpHessian::new(mlp, theta, Samples::of(&train)).unwrap();
    let mut mlp0 = mlp.clone();
    mlp0.l2 = 0.0;
    let b = mlp0.value_and_grad(theta, &Samples::of(&test)).unwrap().1;
    c.bench_function("exact/moons354/build_and_factor", |bench| {
        bench.iter(|| {
            Exact::new(ExactParams {
                rho: RHO,
                ..ExactParams::default()
            })
            .unwrap()
            .factor(&op)
            .unwrap()
        })
    });
    let mut exact = Exact::new(ExactParams {
        rho: RHO,
        ..ExactParams::default()
    })
    .unwrap();
    let (x_exact, _) = exact.solve(&op, &b).unwrap();
    c.bench_function("exact/moons354/solve", |bench| {
        bench.iter(|| exact.solve(&op, black_box(&b)).unwrap())
    });
    iterative(c, "moons354", &op, &b, &x_exact);
    // 8 right-hand sides (gradients of single test points): lockstep CG over batched HVPs
    // against 8 separate solves.
    let m = 8;
    let mut bm = vec![0.0; op.dim() * m];
    for j in 0..m {
        let row = Samples::of(&test).rows(j..j + 1);
        let gj = mlp0.value_and_grad(theta, &row).unwrap().1;
        for (i, g) in gj.iter().enumerate() {
            bm[i * m + j] = *g;
        }
    }
    let mut cg = Cg::new(CgParams {
        rho: RHO,
        ..CgParams::default()
    })
    .unwrap();
    c.bench_function("cg_many/moons354/lockstep8", |bench| {
        bench.iter(|| cg.solve_many(&op, m, black_box(&bm)).unwrap())
    });
    let cols: Vec<Vec<f64>> = (0..m)
        .map(|j| (0..op.dim()).map(|i| bm[i * m + j]).collect())
        .collect();
    c.bench_function("cg_many/moons354/separate8", |bench| {
        bench.iter(|| {
            for col in &cols {
                cg.solve(&op, black_box(col)).unwrap();
            }
        })
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = logreg, moons
}
criterion_main!(benches);
