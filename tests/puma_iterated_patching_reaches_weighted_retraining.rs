//! The oracle of the PUMA patch on a convex model (DESIGN.md §1 [eq10], [retrain-w]): on the
//! digits logistic regression, iterated patching reaches the minimiser of J_w (w = 0 on M,
//! 1 + λ* on U) to 1e-8 in parameters, and the first-order step's error shrinks
//! quadratically with the marked set.

mod common;

use common::{fixture, inf_norm};
use puma::criteria::{LossKind, PerSampleLoss};
use puma::data::csv::read_csv;
use puma::io::load;
use puma::model::Samples;
use puma::model::train::{TrainParams, train_from};
use puma::puma::{Guard, PatchInput, PatchParams, patch, patch_weights};
use puma::solvers::{Exact, ExactParams};

/// ‖a − b‖₂.
fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

struct Problem {
    model: puma::io::ModelFile,
    train: puma::data::Dataset,
    test: puma::data::Dataset,
}

fn digits() -> Problem {
    let mut model = load(fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train = read_csv(fixture("reference/digits_logreg/train.csv")).unwrap();
    let mu = 0.1; // well conditioned: H ⪰ 0.1·I, so one removal is a small perturbation
    model.mlp.l2 = mu;
    let (theta, info) = train_from(
        &model.mlp,
        model.theta.clone(),
        &Samples::of(&train),
        &TrainParams::default(),
    )
    .unwrap();
    assert!(info.grad_inf < 1e-12);
    model.theta = theta;
    Problem {
        model,
        train,
        test: read_csv(fixture("reference/digits_logreg/test.csv")).unwrap(),
    }
}

/// The `k` training rows of class `c` nearest the class mean: typical points with similar
/// gradients, so Σ_M g_k grows like |M| and the sets are nested.
fn rows_of_class(ds: &puma::data::Dataset, c: usize, k: usize) -> Vec<usize> {
    let rows: Vec<usize> = (0..ds.n()).filter(|&i| ds.labels()[i] == c).collect();
    let d = ds.d();
    let mut centre = vec![0.0; d];
    for &i in &rows {
        for (m, x) in centre.iter_mut().zip(ds.row(i)) {
            *m += x / rows.len() as f64;
        }
    }
    let mut by_dist: Vec<(f64, usize)> = rows
        .iter()
        .map(|&i| (dist(ds.row(i), &centre), i))
        .collect();
    by_dist.sort_by(|a, b| a.0.total_cmp(&b.0));
    by_dist.iter().take(k).map(|e| e.1).collect()
}

/// argmin J_w from θ̂ ([retrain-w]: L-BFGS, then the closed-form Newton polish).
fn retrain_w(mlp: &puma::model::Mlp, theta: &[f64], train: &Samples, w: &[f64]) -> Vec<f64> {
    let s = train.with_weights(w).unwrap();
    let (t, info) = train_from(mlp, theta.to_vec(), &s, &TrainParams::default()).unwrap();
    assert!(info.grad_inf < 1e-11, "‖∇J_w‖∞ = {:e}", info.grad_inf);
    t
}

#[test]
fn iterated_patching_reaches_weighted_retraining() {
    let pr = digits();
    let (mlp, theta) = (&pr.model.mlp, &pr.model.theta);
    let train = Samples::of(&pr.train);
    let guard_set = Samples::of(&pr.test).rows(0..120);
    let guard = PerSampleLoss::new(guard_set, LossKind::CrossEntropy).unwrap();
    let marked = rows_of_class(&pr.train, 0, 30);
    let mut input = PatchInput::new(mlp, theta, train, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 1.0,
    });
    let params = PatchParams {
        iterate: 60,
        iterate_tol: 1e-13,
        shrink: false,
        ..PatchParams::default()
    };
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let out = patch(&input, &params, &mut solver).unwrap();
    assert!(
        out.report.lambda_nnz > 0,
        "the Lasso must up-weight some points"
    );
    let target = retrain_w(mlp, theta, &train, &out.weights);
    let it = out.report.iterate.as_ref().unwrap();
    let err = inf_norm(
        &out.theta_iterated
            .as_ref()
            .unwrap()
            .iter()
            .zip(&target)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
    );
    println!(
        "iterated: {} steps, ‖∇J_w‖∞ {:?}, ‖θ − θ_w‖∞ = {err:e}",
        it.steps, it.grad_inf_history
    );
    println!(
        "first step ‖θ_mod − θ_w‖ = {:e}, ‖θ̂ − θ_w‖ = {:e}",
        dist(&out.theta_mod, &target),
        dist(theta, &target)
    );
    assert!(err < 1e-8, "iterated patch is {err:e} from [retrain-w]");
    assert!(it.grad_inf < 1e-11);
}

#[test]
fn first_order_error_shrinks_quadratically_with_the_marked_set() {
    let pr = digits();
    let (mlp, theta) = (&pr.model.mlp, &pr.model.theta);
    let train = Samples::of(&pr.train);
    let guard_set = Samples::of(&pr.test).rows(0..120);
    let guard = PerSampleLoss::new(guard_set, LossKind::CrossEntropy).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let params = PatchParams {
        shrink: false,
        ..PatchParams::default()
    };
    let sizes = [64usize, 32, 16, 8, 4];
    let mut errs = vec![];
    for &k in &sizes {
        let marked = rows_of_class(&pr.train, 0, k);
        let mut input = PatchInput::new(mlp, theta, train, &marked);
        input.guards.push(Guard {
            criterion: &guard,
            delta: 1.0,
        });
        let out = patch(&input, &params, &mut solver).unwrap();
        let target = retrain_w(mlp, theta, &train, &out.weights); // [retrain-w], w = 1 + λ* on U
        let naive_w = patch_weights(train.n(), &marked, &[], &[]);
        let naive_target = retrain_w(mlp, theta, &train, &naive_w); // [retrain]
        let (e, e0) = (
            dist(&out.theta_mod, &target),
            dist(&out.theta_naive, &naive_target),
        );
        println!(
            "|M| = {k:2}: ‖θ_mod − θ_w‖ = {e:.3e} (‖θ̂ − θ_w‖ = {:.3e}), naive {e0:.3e}",
            dist(&target, theta)
        );
        errs.push((e, e0));
    }
    // Second-order remainder: halving |M| divides the error by about 4 (linear would be 2).
    for (w, k) in errs.windows(2).zip(&sizes) {
        let (r, r0) = (w[0].0 / w[1].0, w[0].1 / w[1].1);
        println!(
            "|M| {k} → {}: error ratio puma {r:.2}, naive {r0:.2}",
            k / 2
        );
        assert!(
            r > 2.8 && r0 > 2.8,
            "halving |M| = {k} divides the error by {r:.2} (puma), {r0:.2} (naive)"
        );
    }
    let slope = |e: &dyn Fn(usize) -> f64| -> f64 {
        // least-squares slope of log error against log |M|
        let xs: Vec<f64> = sizes.iter().map(|&k| (k as f64).ln()).collect();
        let ys: Vec<f64> = (0..sizes.len()).map(|i| e(i).ln()).collect();
        let (mx, my) = (xs.iter().sum::<f64>() / 5.0, ys.iter().sum::<f64>() / 5.0);
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        sxy / sxx
    };
    let (s, s0) = (slope(&|i| errs[i].0), slope(&|i| errs[i].1));
    println!("log-log slope: puma {s:.2}, naive {s0:.2}");
    assert!(
        s > 1.7 && s0 > 1.7,
        "error ∝ |M|^{s:.2} (puma), |M|^{s0:.2} (naive); expected ≈ 2"
    );
}
