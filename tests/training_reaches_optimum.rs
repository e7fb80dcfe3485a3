//! Claim: training reaches a true optimum. L-BFGS + Newton polish takes digits logistic
//! regression from a random start to ‖∇J‖∞ ≤ 1e-12 (and to the reference θ̂); L-BFGS takes
//! the MLPs to ‖∇J‖∞ ≤ 1e-12 (no exact Hessian needed); an MLP [64, 32, 10] tanh on digits reaches ≥ 95% held-out
//! accuracy; Adam lowers J and reports its final gradient.

mod common;

use common::{inf_norm, read_csv, split, summary, take};
use puma::autodiff::Activation;
use puma::model::train::{AdamParams, Stop, TrainParams, adam, train};
use puma::model::{Mlp, Samples};

#[test]
fn digits_logistic_regression_reaches_the_reference_optimum_from_a_random_start() {
    let t = read_csv("reference/digits_logreg/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let mlp = Mlp::new(&[64, 10], Activation::Tanh, 1e-3).unwrap();
    let (theta, info) = train(
        &mlp,
        &s,
        &TrainParams {
            seed: 42,
            ..Default::default()
        },
    )
    .unwrap();
    println!("digits logreg: {info:?}");
    info.ensure_converged("train", 1e-12).unwrap();
    assert_eq!(info.stop, Stop::Converged);
    assert!(info.grad_inf <= 1e-12, "‖∇J‖∞ = {:e}", info.grad_inf);
    // The reported norm is the true one at the returned θ.
    let (_, g) = mlp.value_and_grad(&theta, &s).unwrap();
    assert_eq!(inf_norm(&g), info.grad_inf);
    // J is μ-strongly convex, so ‖θ − θ̂‖ ≤ ‖∇J(θ)‖₂/μ + ‖∇J(θ̂)‖₂/μ ≤ √p·2e-12/1e-3 ≈ 5e-8;
    // the reference θ̂ is the same point.
    let reference =
        puma::io::load(common::fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let diff = theta
        .iter()
        .zip(&reference.theta)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff <= 5e-8, "‖θ − θ̂_ref‖∞ = {diff:e}");
    let test = read_csv("reference/digits_logreg/test.csv");
    let test = Samples::new(&test.x, test.d, &test.y).unwrap();
    let eval = mlp.evaluate(&theta, &test).unwrap();
    let want = summary("digits_logreg")["test_mean_ce"].as_f64().unwrap();
    assert!(
        (eval.mean_loss - want).abs() <= 1e-9,
        "test CE {} vs {want}",
        eval.mean_loss
    );
}

#[test]
fn moons_mlps_reach_stationary_points_by_lbfgs_from_several_starts() {
    // Smooth activations, several seeds (tanh seeds 2 and 6 once ended in a failed line
    // search at 2e-11 when value comparisons were not rounding-aware). ReLU is left out: J is
    // only piecewise smooth there and ‖∇J‖ need not vanish anywhere.
    let t = read_csv("reference/moons_mlp/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let runs = [
        (Activation::Tanh, 1),
        (Activation::Tanh, 2),
        (Activation::Tanh, 6),
        (Activation::Gelu, 0),
        (Activation::Softplus, 1),
    ];
    for (act, seed) in runs {
        let mlp = Mlp::new(&[2, 16, 16, 2], act, 1e-3).unwrap();
        let (theta, info) = train(
            &mlp,
            &s,
            &TrainParams {
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        println!("moons MLP {act:?} seed {seed}: {info:?}");
        assert_eq!(info.stop, Stop::Converged, "{act:?} seed {seed}");
        assert!(
            info.grad_inf <= 1e-12,
            "{act:?} seed {seed}: ‖∇J‖∞ = {:e}",
            info.grad_inf
        );
        let (j, _) = mlp.value_and_grad(&theta, &s).unwrap();
        assert_eq!(j, info.objective);
    }
}

#[test]
fn an_mlp_on_digits_reaches_95_percent_held_out_accuracy() {
    let all = read_csv("digits/digits.csv");
    let mut all = all;
    all.x.iter_mut().for_each(|v| *v /= 16.0); // counts 0..16 → [0, 1]
    let (train_idx, test_idx) = split(all.y.len(), 0.2, 7);
    let (tr, te) = (take(&all, &train_idx), take(&all, &test_idx));
    let s = Samples::new(&tr.x, tr.d, &tr.y).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, 1e-3).unwrap();
    let (theta, info) = train(
        &mlp,
        &s,
        &TrainParams {
            seed: 3,
            ..Default::default()
        },
    )
    .unwrap();
    println!("digits MLP: {info:?}");
    assert!(info.grad_inf <= 1e-12, "‖∇J‖∞ = {:e}", info.grad_inf);
    let eval = mlp
        .evaluate(&theta, &Samples::new(&te.x, te.d, &te.y).unwrap())
        .unwrap();
    println!("digits MLP held-out: {eval:?}");
    assert!(eval.accuracy >= 0.95, "held-out accuracy {}", eval.accuracy);
}

#[test]
fn adam_lowers_the_objective_and_reports_its_gradient() {
    let t = read_csv("reference/moons_mlp/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let mlp = Mlp::new(&[2, 16, 16, 2], Activation::Relu, 1e-3).unwrap();
    let theta0 = mlp.init(5);
    let j0 = mlp.objective(&theta0, &s).unwrap();
    let params = AdamParams {
        lr: 1e-2,
        epochs: 30,
        batch_size: 100,
        seed: 9,
        ..Default::default()
    };
    let (theta, info) = adam(&mlp, theta0, &s, &params).unwrap();
    println!("adam: J {j0} → {info:?}");
    assert_eq!(info.stop, Stop::EpochsDone);
    assert_eq!(info.iters, 30 * 10);
    assert!(info.objective < 0.65 * j0); // 0.735 → 0.44 here; the optimum is ≈ 0.37
    let (_, g) = mlp.value_and_grad(&theta, &s).unwrap();
    assert_eq!(info.grad_inf, inf_norm(&g));
}

#[test]
fn the_closed_form_logistic_hessian_matches_differences_of_the_gradient() {
    // H e_k ≈ (∇J(θ + h e_k) − ∇J(θ − h e_k)) / 2h: truncation O(h²)·‖∇³J‖ ≈ 1e-10 and
    // rounding ≈ ε/h ≈ 2e-11 for h = 1e-5, so 1e-8 absolute separates a right H from a wrong
    // one (a missing μI is off by 1e-2, a swapped weight/bias index by O(0.1)).
    use puma::model::train::logistic_hessian;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let (n, d, k) = (50, 3, 4);
    let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-2.0..2.0)).collect();
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    let w: Vec<f64> = (0..n).map(|i| [1.0, 0.0, 2.5][i % 3]).collect();
    let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
    let mlp = Mlp::new(&[d, k], Activation::Tanh, 1e-2).unwrap();
    let theta = mlp.init(8);
    let p = mlp.n_params();
    let h_exact = logistic_hessian(&mlp, &theta, &s).unwrap();
    let h = 1e-5;
    for col in 0..p {
        let mut plus = theta.clone();
        plus[col] += h;
        let mut minus = theta.clone();
        minus[col] -= h;
        let (_, gp) = mlp.value_and_grad(&plus, &s).unwrap();
        let (_, gm) = mlp.value_and_grad(&minus, &s).unwrap();
        for row in 0..p {
            let fd = (gp[row] - gm[row]) / (2.0 * h);
            let exact = h_exact[row * p + col];
            assert!(
                (fd - exact).abs() <= 1e-8,
                "H[{row}, {col}] = {exact} vs {fd}"
            );
        }
    }
}

#[test]
fn without_weight_decay_the_singular_logistic_hessian_is_reported_not_fatal() {
    // μ = 0: the softmax's shift invariance (and digits' constant pixel) make H singular, so
    // the Newton polish cannot factor it; training keeps the L-BFGS result and says why.
    let t = read_csv("reference/digits_logreg/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let mlp = Mlp::new(&[64, 10], Activation::Tanh, 0.0).unwrap();
    let (theta, info) = train(&mlp, &s, &TrainParams::default()).unwrap();
    assert_eq!(info.stop, Stop::SingularHessian);
    assert!(matches!(
        info.ensure_converged("train", 1e-12),
        Err(puma::Error::NoConvergence {
            method: "train",
            ..
        })
    ));
    assert!(
        info.grad_inf <= 1e-10,
        "L-BFGS reached its own tolerance: {info:?}"
    );
    let (_, g) = mlp.value_and_grad(&theta, &s).unwrap();
    assert_eq!(inf_norm(&g), info.grad_inf);
}
