//! `puma::influence` reproduces the independent float64 reference values (PyTorch autograd
//! Hessian + Cholesky) of fixtures/reference/{digits_logreg,moons_mlp}/influence.csv with the
//! exact solver: [remove] influence on the mean test loss and [self] self-influence, at ρ = 0
//! and ρ = 0.01, within 1e-9 relative to the largest |value| of each column.

mod common;
mod solvers_support;

use puma::influence::{
    GRAD_INF_WARN, hessian_operator, influence_on_mean_test_loss, influence_per_test_point,
    self_influence, up_params,
};
use puma::model::Samples;
use puma::solvers::{Exact, ExactParams};
use solvers_support::rel_max_err;

/// A column of a fixture CSV by header name.
fn column(rel: &str, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(common::fixture(rel)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header.iter().position(|h| *h == name).expect("column");
    lines
        .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
        .collect()
}

fn exact(rho: f64) -> Exact {
    Exact::new(ExactParams {
        rho,
        ..ExactParams::default()
    })
    .unwrap()
}

/// Exact influence and self-influence of `problem` against its reference columns.
fn reproduces(problem: &str) {
    let dir = format!("reference/{problem}");
    let model = puma::io::load(common::fixture(&format!("{dir}/model.safetensors"))).unwrap();
    let train = common::read_csv(&format!("{dir}/train.csv"));
    let test = common::read_csv(&format!("{dir}/test.csv"));
    let (mlp, theta) = (&model.mlp, &model.theta);
    let s = Samples::new(&train.x, train.d, &train.y).unwrap();
    let st = Samples::new(&test.x, test.d, &test.y).unwrap();
    let op = hessian_operator(mlp, theta, s).unwrap();
    let rel = format!("{dir}/influence.csv");
    let tol = 1e-9; // exact solve of a system with κ ≤ 2.3e5 (moons, ρ = 0): ~1e-11 observed
    for (rho, tag) in [(0.0, "rho0"), (0.01, "rho0.01")] {
        let mut solver = exact(rho);
        let infl = influence_on_mean_test_loss(mlp, theta, &s, &st, &mut solver).unwrap();
        assert!(
            infl.meaningful(),
            "reference θ̂ has ‖∇J‖∞ = {:e}",
            infl.grad_inf
        );
        assert!(infl.grad_inf <= GRAD_INF_WARN);
        assert_eq!(infl.report.rho, rho);
        let err = rel_max_err(&infl.remove, &column(&rel, &format!("influence_{tag}")));
        assert!(err < tol, "{problem} influence {tag}: {err:e}");
        // I_up,loss = −n · remove [KL-loss].
        let n = train.y.len() as f64;
        let up = infl.up_loss();
        assert!((up[3] + n * infl.remove[3]).abs() <= 1e-15 * up[3].abs().max(1e-300));

        let want_self = column(&rel, &format!("self_influence_{tag}"));
        let got_self = self_influence(mlp, theta, &s, &mut solver, op.as_ref()).unwrap();
        let err = rel_max_err(&got_self, &want_self);
        assert!(err < tol, "{problem} self-influence {tag}: {err:e}");

        // [KL-params]: g_iᵀ(−I_up,params(i)) = self-influence of row i.
        let i = 7;
        let (neg_phi, _) = up_params(&mut solver, op.as_ref(), mlp, theta, &s, i).unwrap();
        let gi = puma::influence::per_example_grads(
            mlp,
            theta,
            &Samples::new(
                &train.x[i * train.d..(i + 1) * train.d],
                train.d,
                &train.y[i..=i],
            )
            .unwrap(),
        )
        .unwrap();
        let v: f64 = -gi.iter().zip(&neg_phi).map(|(a, b)| a * b).sum::<f64>();
        let scale = want_self.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(
            (v - want_self[i]).abs() < tol * scale,
            "{problem} up_params {tag}"
        );
    }
}

#[test]
fn digits_logreg_influence_and_self_influence_match_reference() {
    reproduces("digits_logreg");
}

#[test]
fn moons_mlp_influence_and_self_influence_match_reference() {
    reproduces("moons_mlp");
}

/// Per-test-point influence averages to the mean-test-loss influence (linearity of s_test).
#[test]
fn per_test_point_influence_averages_to_the_mean() {
    let dir = "reference/digits_logreg";
    let model = puma::io::load(common::fixture(&format!("{dir}/model.safetensors"))).unwrap();
    let train = common::read_csv(&format!("{dir}/train.csv"));
    let test = common::read_csv(&format!("{dir}/test.csv"));
    let (mlp, theta) = (&model.mlp, &model.theta);
    let s = Samples::new(&train.x, train.d, &train.y).unwrap();
    let t = 40; // the first 40 test rows
    let st = Samples::new(&test.x[..t * test.d], test.d, &test.y[..t]).unwrap();
    let op = hessian_operator(mlp, theta, s).unwrap();
    let mut solver = exact(0.01);
    let (m, reports) =
        influence_per_test_point(mlp, theta, &s, &st, &mut solver, op.as_ref()).unwrap();
    assert_eq!(reports.len(), t);
    let n = train.y.len();
    let mean: Vec<f64> = (0..n)
        .map(|i| m[i * t..(i + 1) * t].iter().sum::<f64>() / t as f64)
        .collect();
    let infl = influence_on_mean_test_loss(mlp, theta, &s, &st, &mut solver).unwrap();
    let err = rel_max_err(&mean, &infl.remove);
    assert!(err < 1e-11, "mean of per-test-point influence: {err:e}");
}
