//! How fast is one inverse-HVP solve H_ρ x = b (DESIGN.md §1 [H]), and how accurate?
//!
//! Problems (b = ∇(mean test CE), ρ = 0.01: the s_test of [KL-loss]):
//! - `logreg650`: the reference digits logistic regression (closed-form dense Hessian);
//! - `moons354`: the reference moons MLP [2,16,16,2] (trained fixture);
//! - `digits2410`: [64,32,10] tanh, μ = 1e-3 on fixtures/digits split 1437 train / 360 test
//!   (seed 0, standardised), trained in the setup (L-BFGS to ‖∇J‖∞ ≤ 1e-12, ≈ 3 s);
//! - `mnist101770`: [784,128,10] tanh, μ = 1e-3 on 1000 MNIST training images (seeded
//!   shuffle, pixels/255; test: the next 500), trained in the setup by 300 L-BFGS iterations
//!   (not to convergence: ‖∇J‖∞ is printed), matrix-free only.
//!
//! - `exact/{problem}/build`: the dense H (closed form, or `Mlp::hessian` block by block);
//!   `.../factor`: H_ρ = LLᵀ (with the certificate); `.../solve`: one solve with the cached
//!   factor (two triangular solves + the residual HVP). Their sum is exact's time to 1e-6.
//! - `cg/{problem}/rtol1e-6` and `rtol1e-11` (the default); `hvp/{problem}`: one HVP of the
//!   operator (linearised at θ̂, `solvers::mlp_linearised`). `cg_per_hvp/{problem}` is
//!   printed: (CG time / HVPs spent) as a multiple of one standalone `Mlp::hvp` (forward,
//!   backward and R-passes), from interleaved runs. For MNIST, CG is timed by hand (median of
//!   3), not by criterion (one solve takes about a second).
//! - `cg_many/{problem}/{block8,lockstep8}`: 8 right-hand sides (single test points) by
//!   block CG over batched HVPs versus lockstep CG; `cg_many/moons354/block256`: the 256
//!   columns of one self-influence block.
//! - `lissa/{problem}`: the default LiSSA (Lanczos scale, automatic depth; full HVPs for the
//!   dense operator, batches of 512 for MLPs); not on MNIST (thousands of batch HVPs).
//!
//! - `e2e/digits2410/{exact,cg_rtol1e-6,auto}`: the whole `puma influence` process on the
//!   digits MLP, one thread (target ≤ 0.2 s); the median of 7 runs and each solver's reported
//!   residual are printed.
//!
//! Accuracy against the Cholesky answer (MNIST: against CG at rtol 1e-11) is computed once,
//! outside the timed loops, and printed to stderr: a faster wrong answer is not a win.

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use puma::autodiff::Activation;
use puma::data::Dataset;
use puma::influence::grad_mean_loss;
use puma::model::train::{TrainParams, logistic_hessian, train as train_mlp};
use puma::model::{Mlp, Samples};
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

/// Median wall time of `reps` runs of `f`, in seconds.
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

/// CG's cost per HVP spent (rtol 1e-6, ρ = 0.01) as a multiple of one standalone HVP
/// (`Mlp::hvp`: forward, backward and R-passes) and of one linearised `op.hvp`, from
/// interleaved runs (medians of `reps`), so that load from other processes hits all three
/// alike.
#[allow(clippy::too_many_arguments)]
fn cg_per_hvp(
    name: &str,
    op: &MlpHessian,
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    b: &[f64],
    reps: usize,
) {
    let mut v = vec![0.0; b.len()];
    let mut cg = Cg::new(CgParams {
        rho: RHO,
        rtol: 1e-6,
        ..CgParams::default()
    })
    .unwrap();
    let hvps = cg.solve(op, b).unwrap().1.hvps as f64;
    let (mut alone, mut lin, mut per) = (vec![], vec![], vec![]);
    for _ in 0..reps {
        alone.push(median_secs(1, || {
            mlp.hvp(theta, train, b).unwrap();
        }));
        lin.push(median_secs(1, || op.hvp(b, &mut v).unwrap()));
        per.push(
            median_secs(1, || {
                cg.solve(op, b).unwrap();
            }) / hvps,
        );
    }
    let med = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let (a, l, c) = (med(&mut alone), med(&mut lin), med(&mut per));
    eprintln!(
        "cg_per_hvp/{name}: standalone HVP {:.3} ms, linearised HVP {:.3} ms, CG per HVP spent \
         {:.3} ms = {:.2}× one standalone HVP ({:.2}× linearised), {hvps} HVPs, interleaved \
         medians of {reps}, {} threads",
        a * 1e3,
        l * 1e3,
        c * 1e3,
        c / a,
        c / l,
        rayon::current_num_threads()
    );
}

/// Columns of single-test-point gradients ∇CE(z_j), j < m, as a p × m row-major block.
fn test_point_block(mlp: &Mlp, theta: &[f64], test: &Samples, m: usize) -> Vec<f64> {
    let p = mlp.n_params();
    let mut bm = vec![0.0; p * m];
    for j in 0..m {
        let gj = grad_mean_loss(mlp, theta, &test.rows(j..j + 1)).unwrap();
        for (i, g) in gj.iter().enumerate() {
            bm[i * m + j] = *g;
        }
    }
    bm
}

/// Exact (build / factor / solve), CG, block CG and LiSSA on an MLP, or CG alone when
/// `dense` is false.
fn mlp_problem(
    c: &mut Criterion,
    name: &str,
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    test: &Samples,
    dense: bool,
) {
    let op = MlpHessian::new(mlp, theta, *train).unwrap();
    let b = grad_mean_loss(mlp, theta, test).unwrap();
    let p = op.dim();
    let mut v = vec![0.0; p];
    op.hvp(&b, &mut v).unwrap(); // builds the linearisation once, outside the timings
    cg_per_hvp(name, &op, mlp, theta, train, &b, if dense { 21 } else { 3 });
    if !dense {
        c.bench_function(&format!("hvp/{name}"), |bench| {
            bench.iter(|| op.hvp(black_box(&b), &mut v).unwrap())
        }); // the dense problems time it in `iterative`
        let mut cg = Cg::new(CgParams {
            rho: RHO,
            rtol: 1e-11,
            ..CgParams::default()
        })
        .unwrap();
        let (x_ref, _) = cg.solve(&op, &b).unwrap();
        for (tag, rtol) in [("rtol1e-6", 1e-6), ("rtol1e-11", 1e-11)] {
            let mut cg = Cg::new(CgParams {
                rho: RHO,
                rtol,
                ..CgParams::default()
            })
            .unwrap();
            let mut rep = None;
            let t = median_secs(3, || rep = Some(cg.solve(&op, &b).unwrap()));
            let (x, rep) = rep.unwrap();
            eprintln!(
                "cg/{name}/{tag}: median {t:.3} s, {} iterations, {} HVPs, rel residual {:.2e}, \
                 max rel error vs CG 1e-11 {:.2e}",
                rep.iterations,
                rep.hvps,
                rep.rel_residual,
                rel_max_err(&x, &x_ref),
            );
        }
        return;
    }
    c.bench_function(&format!("exact/{name}/build"), |bench| {
        bench.iter(|| mlp.hessian(theta, black_box(train)).unwrap())
    });
    op.dense().expect("MlpHessian stores its dense H"); // built once, cached in op
    let params = ExactParams {
        rho: RHO,
        ..ExactParams::default()
    };
    c.bench_function(&format!("exact/{name}/factor"), |bench| {
        bench.iter(|| Exact::new(params.clone()).unwrap().factor(&op).unwrap())
    });
    let mut exact = Exact::new(params.clone()).unwrap();
    let (x_exact, rep) = exact.solve(&op, &b).unwrap();
    eprintln!(
        "exact/{name}: rel residual {:.2e}, σ bound {:?}",
        rep.rel_residual, rep.sigma
    );
    c.bench_function(&format!("exact/{name}/solve"), |bench| {
        bench.iter(|| exact.solve(&op, black_box(&b)).unwrap())
    });
    iterative(c, name, &op, &b, &x_exact);
    // 8 single-test-point right-hand sides: block CG against lockstep CG.
    let m = 8;
    let bm = test_point_block(mlp, theta, test, m);
    let mut cg = Cg::new(CgParams {
        rho: RHO,
        ..CgParams::default()
    })
    .unwrap();
    let (xb, rb) = cg.solve_many(&op, m, &bm).unwrap();
    let (xl, rl) = cg.solve_many_lockstep(&op, m, &bm).unwrap();
    let (xe, _) = exact.solve_many(&op, m, &bm).unwrap();
    eprintln!(
        "cg_many/{name}: block CG {} passes / {} HVP columns (error vs exact {:.2e}), \
         lockstep {} passes / {} HVP columns (error {:.2e})",
        rb.iter().map(|r| r.iterations).max().unwrap(),
        rb.iter().map(|r| r.hvps).sum::<usize>(),
        rel_max_err(&xb, &xe),
        rl.iter().map(|r| r.iterations).max().unwrap(),
        rl.iter().map(|r| r.hvps).sum::<usize>(),
        rel_max_err(&xl, &xe)
    );
    c.bench_function(&format!("cg_many/{name}/block8"), |bench| {
        bench.iter(|| cg.solve_many(&op, m, black_box(&bm)).unwrap())
    });
    c.bench_function(&format!("cg_many/{name}/lockstep8"), |bench| {
        bench.iter(|| cg.solve_many_lockstep(&op, m, black_box(&bm)).unwrap())
    });
}

fn moons(c: &mut Criterion) {
    let model = puma::io::load(fixture("reference/moons_mlp/model.safetensors")).unwrap();
    let train = puma::data::csv::read_csv(fixture("reference/moons_mlp/train.csv")).unwrap();
    let test = puma::data::csv::read_csv(fixture("reference/moons_mlp/test.csv")).unwrap();
    let (mlp, theta) = (&model.mlp, &model.theta);
    let (tr, te) = (Samples::of(&train), Samples::of(&test));
    mlp_problem(c, "moons354", mlp, theta, &tr, &te, true);
    // One self-influence block: 256 training gradients by block CG (lockstep is ≈ 256×
    // the iterations of one solve in HVP columns).
    let op = MlpHessian::new(mlp, theta, tr).unwrap();
    let m = 256;
    let g = puma::influence::per_example_grads(mlp, theta, &tr.rows(0..m)).unwrap();
    let mut cg = Cg::new(CgParams {
        rho: RHO,
        ..CgParams::default()
    })
    .unwrap();
    let (_, reps) = cg.solve_many(&op, m, &g).unwrap();
    let (_, reps_l) = cg.solve_many_lockstep(&op, m, &g).unwrap();
    eprintln!(
        "cg_many/moons354/256 self-influence columns: block {} passes / {} HVP columns, \
         lockstep {} passes / {} HVP columns",
        reps.iter().map(|r| r.iterations).max().unwrap(),
        reps.iter().map(|r| r.hvps).sum::<usize>(),
        reps_l.iter().map(|r| r.iterations).max().unwrap(),
        reps_l.iter().map(|r| r.hvps).sum::<usize>()
    );
    let t_block = median_secs(3, || {
        cg.solve_many(&op, m, &g).unwrap();
    });
    let t_lock = median_secs(3, || {
        cg.solve_many_lockstep(&op, m, &g).unwrap();
    });
    eprintln!("cg_many/moons354/256: block {t_block:.3} s, lockstep {t_lock:.3} s (median of 3)");
}

/// [64,32,10] on the 1437/360 digits split, trained here (seeded).
fn digits_mlp(c: &mut Criterion) {
    let ds = puma::data::csv::read_csv(fixture("digits/digits.csv")).unwrap();
    let split = ds.train_test_split(360.0 / 1797.0, 0).unwrap();
    let (mut train, mut test) = (split.train, split.test);
    let scaler = train.standardise_in_place();
    scaler.apply_in_place(&mut test).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap();
    let (theta, info) = train_mlp(&mlp, &Samples::of(&train), &TrainParams::default()).unwrap();
    eprintln!(
        "digits2410: trained, ‖∇J‖∞ = {:.2e}, n = {} train / {} test",
        info.grad_inf,
        train.n(),
        test.n()
    );
    mlp_problem(
        c,
        "digits2410",
        &mlp,
        &theta,
        &Samples::of(&train),
        &Samples::of(&test),
        true,
    );
}

/// [784,128,10] on 1000 MNIST images, 300 L-BFGS iterations, matrix-free only.
fn mnist(c: &mut Criterion) {
    let all = puma::data::idx::read_idx(
        fixture("mnist10k/images-idx3-ubyte.gz"),
        fixture("mnist10k/labels-idx1-ubyte.gz"),
    )
    .unwrap();
    let (all, _) = all.shuffled(0); // stored grouped by label
    let scaled = |rows: std::ops::Range<usize>| {
        let ds = all.subset(&rows.collect::<Vec<_>>()).unwrap();
        let (x, y) = ds.into_parts();
        Dataset::new(x.iter().map(|v| v / 255.0).collect(), 784, y).unwrap()
    };
    let (train, test) = (scaled(0..1000), scaled(1000..1500));
    let mlp = Mlp::new(&[784, 128, 10], Activation::Tanh, 1e-3).unwrap();
    let mut params = TrainParams {
        polish: None,
        ..TrainParams::default()
    };
    params.lbfgs.max_iters = 300;
    let (theta, info) = train_mlp(&mlp, &Samples::of(&train), &params).unwrap();
    eprintln!(
        "mnist101770: 300 L-BFGS iterations, ‖∇J‖∞ = {:.2e} (not a minimiser)",
        info.grad_inf
    );
    mlp_problem(
        c,
        "mnist101770",
        &mlp,
        &theta,
        &Samples::of(&train),
        &Samples::of(&test),
        false,
    );
}

/// Writes a data set as CSV (`x0..x{d-1},label`, values printed to round-trip exactly).
fn write_csv(path: &std::path::Path, ds: &Dataset) {
    let d = ds.d();
    let mut text: String = (0..d).map(|j| format!("x{j},")).collect();
    text.push_str("label\n");
    for (row, y) in ds.x().chunks_exact(d).zip(ds.labels()) {
        for v in row {
            text.push_str(&format!("{v:?},"));
        }
        text.push_str(&format!("{y}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// End to end: the `puma influence` process on the digits MLP [64,32,10] (1437 train / 360
/// test, ρ = 0.01), one thread (`--threads 1`, RAYON_NUM_THREADS=1), including reading the
/// model and both CSVs, the Hessian, the solve, the per-example products and writing the CSV.
/// Each solver that meets a relative residual of 1e-6: exact, CG at rtol 1e-6, auto.
fn e2e(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench_e2e_digits");
    std::fs::create_dir_all(&dir).unwrap();
    let ds = puma::data::csv::read_csv(fixture("digits/digits.csv")).unwrap();
    let split = ds.train_test_split(360.0 / 1797.0, 0).unwrap();
    let (mut train, mut test) = (split.train, split.test);
    let scaler = train.standardise_in_place();
    scaler.apply_in_place(&mut test).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap();
    let (theta, _) = train_mlp(&mlp, &Samples::of(&train), &TrainParams::default()).unwrap();
    let (model, tr, te) = (
        dir.join("model.safetensors"),
        dir.join("train.csv"),
        dir.join("test.csv"),
    );
    puma::io::save(&model, &puma::io::ModelFile::new(mlp, theta).unwrap()).unwrap();
    write_csv(&tr, &train);
    write_csv(&te, &test);
    let run = |solver: &[&str]| {
        let out = dir.join("infl.csv");
        let mut args = vec![
            "influence",
            "--model",
            model.to_str().unwrap(),
            "--train",
            tr.to_str().unwrap(),
            "--test",
            te.to_str().unwrap(),
            "--damping",
            "0.01",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(solver);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_puma"))
            .args(&args)
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for (tag, solver) in [
        ("exact", vec!["--solver", "exact"]),
        ("cg_rtol1e-6", vec!["--solver", "cg", "--rtol", "1e-6"]),
        ("auto", vec!["--solver", "auto"]),
    ] {
        let summary = run(&solver);
        let t = median_secs(7, || {
            run(&solver);
        });
        let line = |key: &str| {
            summary
                .lines()
                .find(|l| l.starts_with(key))
                .unwrap_or("")
                .to_string()
        };
        eprintln!(
            "e2e/digits2410/{tag}: median of 7 processes {t:.3} s | {} | {}",
            line("solver"),
            line("accuracy")
        );
        c.bench_function(&format!("e2e/digits2410/{tag}"), |bench| {
            bench.iter(|| run(&solver))
        });
    }
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
    targets = logreg, moons, digits_mlp, mnist, e2e
}
criterion_main!(benches);
