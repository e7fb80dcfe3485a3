//! On the reference digits logistic regression (fixtures/reference/digits_logreg, p = 650,
//! μ = 1e-3, Hessian eigenvalues in [1e-3, 0.44]), s_test, influence ([remove]) and
//! self-influence ([self]) from the exact and CG solvers reproduce the independent float64
//! values (PyTorch autograd Hessian + Cholesky): exact within 1e-9, CG within 1e-8, relative
//! to the largest value of each column.

mod common;
mod solvers_support;

use puma::model::Samples;
use puma::model::train::logistic_hessian;
use puma::solvers::{Cg, CgParams, DenseHessian, Exact, ExactParams, InverseHvp, Stop};
use solvers_support::rel_max_err;

/// Columns of a fixture CSV by header name.
fn column(rel: &str, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(common::fixture(rel)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let c = header
        .iter()
        .position(|h| *h == name)
        .expect("column present");
    lines
        .map(|l| l.split(',').nth(c).unwrap().parse().unwrap())
        .collect()
}

struct Problem {
    model: puma::io::ModelFile,
    train: common::Table,
    test: common::Table,
}

fn problem() -> Problem {
    Problem {
        model: puma::io::load(common::fixture("reference/digits_logreg/model.safetensors"))
            .unwrap(),
        train: common::read_csv("reference/digits_logreg/train.csv"),
        test: common::read_csv("reference/digits_logreg/test.csv"),
    }
}

impl Problem {
    fn operator(&self) -> DenseHessian {
        let (mlp, theta) = (&self.model.mlp, &self.model.theta);
        let s = Samples::new(&self.train.x, self.train.d, &self.train.y).unwrap();
        let h = logistic_hessian(mlp, theta, &s).unwrap(); // ∇²J, μI included
        DenseHessian::new(mlp.n_params(), h)
            .unwrap()
            .with_convexity(mlp.l2) // CE Hessian ⪰ 0, plus μI
            .unwrap()
    }

    /// ∇(mean test CE), without the μθ term.
    fn grad_test(&self) -> Vec<f64> {
        let mut mlp = self.model.mlp.clone();
        mlp.l2 = 0.0;
        let s = Samples::new(&self.test.x, self.test.d, &self.test.y).unwrap();
        mlp.value_and_grad(&self.model.theta, &s).unwrap().1
    }

    /// Per-example gradients g_i = (p_i − e_{y_i}) ⊗ [x_i; 1] as a p × n row-major matrix
    /// (θ layout: weight of class k, feature j at k·d + j; bias of class k at K·d + k).
    fn per_example_grads(&self) -> Vec<f64> {
        let mlp = &self.model.mlp;
        let (d, k_classes, n, p) = (
            mlp.n_features(),
            mlp.n_classes(),
            self.train.y.len(),
            mlp.n_params(),
        );
        let z = mlp.logits(&self.model.theta, &self.train.x);
        let mut g = vec![0.0; p * n];
        for i in 0..n {
            let row = &z.data[i * k_classes..(i + 1) * k_classes];
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let sum: f64 = e.iter().sum();
            for k in 0..k_classes {
                let err = e[k] / sum - if k == self.train.y[i] { 1.0 } else { 0.0 };
                for j in 0..d {
                    g[(k * d + j) * n + i] = err * self.train.x[i * d + j];
                }
                g[(k_classes * d + k) * n + i] = err;
            }
        }
        g
    }
}

#[test]
fn per_example_gradients_match_autodiff() {
    let pr = problem();
    let g = pr.per_example_grads();
    let n = pr.train.y.len();
    let mut mlp = pr.model.mlp.clone();
    mlp.l2 = 0.0;
    for i in [0, 1, 17, n - 1] {
        let s = Samples::new(
            &pr.train.x[i * pr.train.d..(i + 1) * pr.train.d],
            pr.train.d,
            &pr.train.y[i..=i],
        )
        .unwrap();
        let (_, gi) = mlp.value_and_grad(&pr.model.theta, &s).unwrap();
        let col: Vec<f64> = (0..gi.len()).map(|k| g[k * n + i]).collect();
        assert!(rel_max_err(&col, &gi) < 1e-14, "row {i}");
    }
}

#[test]
fn s_test_matches_reference_exact_and_cg() {
    let pr = problem();
    let op = pr.operator();
    let g_test = pr.grad_test();
    let rel = "reference/digits_logreg/s_test.csv";
    assert!(rel_max_err(&g_test, &column(rel, "grad_test")) < 1e-12);
    let want = column(rel, "s_test_rho0.01");
    let rho = 0.01;
    let mut exact = Exact::new(ExactParams {
        rho,
        ..ExactParams::default()
    })
    .unwrap();
    let (s_exact, rep) = exact.solve(&op, &g_test).unwrap();
    let err = rel_max_err(&s_exact, &want);
    assert!(err < 1e-9, "exact s_test error {err:e}");
    assert!(rep.rel_residual < 1e-13 && rep.error_bound.unwrap() < 1e-9);
    let mut cg = Cg::new(CgParams {
        rho,
        ..CgParams::default()
    })
    .unwrap();
    let (s_cg, rep) = cg.solve(&op, &g_test).unwrap();
    let err = rel_max_err(&s_cg, &want);
    assert!(err < 1e-8, "cg s_test error {err:e}");
    assert_eq!(rep.stop, Stop::Converged);
    assert!(rep.error_bound.unwrap() / s_exact.iter().fold(0.0f64, |m, v| m.max(v.abs())) < 1e-7);
}

#[test]
fn influence_and_self_influence_match_reference() {
    let pr = problem();
    let op = pr.operator();
    let g_test = pr.grad_test();
    let g = pr.per_example_grads();
    let n = pr.train.y.len();
    let p = op_dim(&op);
    let rel = "reference/digits_logreg/influence.csv";
    for (rho, tag) in [(0.0, "rho0"), (0.01, "rho0.01")] {
        let want_infl = column(rel, &format!("influence_{tag}"));
        let want_self = column(rel, &format!("self_influence_{tag}"));
        let s = Samples::new(&pr.train.x, pr.train.d, &pr.train.y).unwrap();
        let influence = |s_test: &[f64]| -> Vec<f64> {
            puma::influence::remove_given_s_test(&pr.model.mlp, &pr.model.theta, &s, s_test)
                .unwrap() // [remove]: (1/n) g_iᵀ s_test
        };
        // Exact: one factor for s_test and all n self-influences.
        let mut exact = Exact::new(ExactParams {
            rho,
            ..ExactParams::default()
        })
        .unwrap();
        let (s_test, _) = exact.solve(&op, &g_test).unwrap();
        let err = rel_max_err(&influence(&s_test), &want_infl);
        assert!(err < 1e-9, "exact influence {tag}: {err:e}");
        let (phi, reps) = exact.solve_many(&op, n, &g).unwrap(); // φ_i = H_ρ⁻¹ g_i
        let self_infl: Vec<f64> = (0..n)
            .map(|i| (0..p).map(|k| g[k * n + i] * phi[k * n + i]).sum())
            .collect();
        let err = rel_max_err(&self_infl, &want_self);
        assert!(err < 1e-9, "exact self-influence {tag}: {err:e}");
        assert!(reps.iter().all(|r| r.rel_residual < 1e-12));
        // CG: s_test, then self-influence of 12 rows.
        let mut cg = Cg::new(CgParams {
            rho,
            ..CgParams::default()
        })
        .unwrap();
        let (s_cg, _) = cg.solve(&op, &g_test).unwrap();
        let err = rel_max_err(&influence(&s_cg), &want_infl);
        assert!(err < 1e-8, "cg influence {tag}: {err:e}");
        let scale = want_self.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in (0..n).step_by(n / 12) {
            let gi: Vec<f64> = (0..p).map(|k| g[k * n + i]).collect();
            let (phi_i, _) = cg.solve(&op, &gi).unwrap();
            let v: f64 = gi.iter().zip(&phi_i).map(|(a, b)| a * b).sum();
            assert!(
                (v - want_self[i]).abs() < 1e-8 * scale,
                "cg self-influence {tag} row {i}"
            );
        }
    }
}

fn op_dim(op: &DenseHessian) -> usize {
    use puma::solvers::HessianOperator;
    op.dim()
}
