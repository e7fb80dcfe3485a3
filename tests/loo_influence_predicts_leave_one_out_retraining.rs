//! Claim: first-order influence ([remove], exact solver, ρ = 0) predicts the actual change of
//! the mean test loss under leave-one-out retraining ([retrain-w], w_i = 0, divisor n kept,
//! warm start, L-BFGS + Newton polish to ‖∇J‖∞ ≤ 1e-12), and a Newton step on the
//! leave-one-out objective with its own Hessian predicts it better on the convex problem.
//!
//! 50 points per reference problem: the 25 largest |influence| and 25 more drawn at random
//! (ChaCha8, seed 7). Thresholds from issue #7: Pearson ≥ 0.99 on the moons MLP; ≥ 0.88
//! first-order and ≥ 0.97 Newton-corrected on digits logistic regression (an independent
//! implementation reports 0.998, 0.928 and 0.987). The figures are printed
//! (`--nocapture`), including what the Newton step does on the (non-convex) MLP.

mod common;

use std::time::Instant;

use common::{Table, fixture, read_csv};
use puma::influence::{hessian_operator, influence_with_operator, per_example_grads};
use puma::model::Samples;
use puma::solvers::{Exact, ExactParams, InverseHvp};
use puma::valuation::{NewtonLoo, loo_points, loo_train_params, pearson, retrain_without};

struct Figures {
    first: f64,
    newton: Option<f64>,
    newton_failures: usize,
}

fn run(problem: &str) -> Figures {
    let start = Instant::now();
    let model = puma::io::load(fixture(&format!("reference/{problem}/model.safetensors"))).unwrap();
    let (mlp, theta) = (model.mlp, model.theta);
    let tr: Table = read_csv(&format!("reference/{problem}/train.csv"));
    let te: Table = read_csv(&format!("reference/{problem}/test.csv"));
    let train = Samples::new(&tr.x, tr.d, &tr.y).unwrap();
    let test = Samples::new(&te.x, te.d, &te.y).unwrap();
    let mut solver = Exact::new(ExactParams::default()).unwrap(); // ρ = 0
    let op = hessian_operator(&mlp, &theta, train).unwrap();
    let infl =
        influence_with_operator(&mlp, &theta, &train, &test, &mut solver, op.as_ref()).unwrap();
    let points = loo_points(&infl.remove, 25, 25, 7);
    assert_eq!(points.len(), 50);
    let base = mlp.evaluate(&theta, &test).unwrap().mean_loss;
    let mut newton = NewtonLoo::new(&mlp, &theta, train, test).unwrap();
    let params = loo_train_params(); // L-BFGS to 1e-6, Newton polish to 1e-12
    let (mut first, mut actual, mut corrected) = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = 0;
    let mut worst_grad: f64 = 0.0;
    let mut iters = 0;
    for &i in &points {
        // Warm start at the one-step estimate θ̂ + H⁻¹g_i/n ([KL-params] with w_i: 1 → 0), one
        // solve with the cached factor: the same optimum, reached in fewer iterations.
        let g_i = per_example_grads(&mlp, &theta, &train.rows(i..i + 1)).unwrap();
        let (phi, _) = solver.solve(op.as_ref(), &g_i).unwrap();
        let n = train.n() as f64;
        let start: Vec<f64> = theta.iter().zip(&phi).map(|(t, f)| t + f / n).collect();
        let (theta_i, info) = retrain_without(&mlp, &start, &train, i, &params).unwrap();
        iters += info.iters;
        worst_grad = worst_grad.max(info.grad_inf);
        actual.push(mlp.evaluate(&theta_i, &test).unwrap().mean_loss - base);
        first.push(infl.remove[i]);
        match newton.predicted_change(i) {
            Ok(v) => corrected.push(Some(v)),
            Err(_) => {
                failures += 1;
                corrected.push(None);
            }
        }
    }
    let r_first = pearson(&first, &actual);
    let ok: Vec<(f64, f64)> = corrected
        .iter()
        .zip(&actual)
        .filter_map(|(c, a)| c.map(|c| (c, *a)))
        .collect();
    // First order on the same points where the Newton step exists, for comparison.
    let first_ok: Vec<f64> = corrected
        .iter()
        .zip(&first)
        .filter_map(|(c, f)| c.map(|_| *f))
        .collect();
    let (r_newton, r_first_ok) = if ok.len() >= 3 {
        let (c, a): (Vec<f64>, Vec<f64>) = ok.into_iter().unzip();
        (Some(pearson(&c, &a)), Some(pearson(&first_ok, &a)))
    } else {
        (None, None)
    };
    println!(
        "{problem}: Pearson first-order {r_first:.4}, Newton-corrected {} (first-order on the \
         same points {}), Newton steps failed (H_−i not positive definite) {failures}/50; \
         worst retrain ‖∇J_w‖∞ {worst_grad:.2e} ({iters} iterations in all); {:.2} s",
        r_newton.map_or("n/a".into(), |r| format!("{r:.4}")),
        r_first_ok.map_or("n/a".into(), |r| format!("{r:.4}")),
        start.elapsed().as_secs_f64()
    );
    // [retrain-w] polishes to 1e-12; allow the rounding floor of ‖∇J‖∞ a little above it.
    assert!(
        worst_grad <= 1e-11,
        "a retrain stopped at ‖∇J_w‖∞ = {worst_grad:e}"
    );
    Figures {
        first: r_first,
        newton: r_newton,
        newton_failures: failures,
    }
}

#[test]
fn influence_predicts_leave_one_out_on_the_moons_mlp() {
    let f = run("moons_mlp");
    assert!(f.first >= 0.99, "moons: first-order Pearson {}", f.first);
    // Reported, not asserted: on the MLP the Newton step is only meaningful where H_−i is
    // positive definite; the count of failures and its Pearson are printed above.
    let _ = (f.newton, f.newton_failures);
}

#[test]
fn influence_and_its_newton_correction_predict_leave_one_out_on_digits() {
    let f = run("digits_logreg");
    assert!(f.first >= 0.88, "digits: first-order Pearson {}", f.first);
    assert_eq!(
        f.newton_failures, 0,
        "H_−i of a convex model is positive definite"
    );
    let newton = f.newton.unwrap();
    assert!(newton >= 0.97, "digits: Newton-corrected Pearson {newton}");
}
