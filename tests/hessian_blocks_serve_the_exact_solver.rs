//! Claim: the exact solver on an MLP ([`MlpHessian`]) factors the block-assembled Hessian
//! (`HessianOperator::dense`, no assembly HVPs) and its answer equals the Cholesky solve
//! with the Hessian built from p unit-vector HVPs (the oracle, `Mlp::hessian_with`).
//!
//! Tolerances: `H_TOL` = 1e-12·max|H| between the two Hessians (sums over n samples in
//! different orders, O(nε)); `X_TOL` = 1e-9 relative between the solutions: the H
//! difference (≤ 1e-12‖H‖) is amplified by at most κ(H_ρ) ≈ 1e2 here, plus the Cholesky
//! rounding O(pε·κ).

use puma::autodiff::Activation;
use puma::model::{Mlp, Samples};
use puma::solvers::{DenseHessian, Exact, ExactParams, HessianOperator, InverseHvp, MlpHessian};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const H_TOL: f64 = 1e-12;
const X_TOL: f64 = 1e-9;

fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn exact_solver_on_an_mlp_uses_the_block_hessian_and_matches_the_hvp_oracle() {
    let (n, d) = (700, 4);
    let x = uniform(n * d, 1.5, 3);
    let y: Vec<usize> = (0..n).map(|i| (i * 7 + i / 3) % 3).collect();
    let mlp = Mlp::new(&[d, 6, 5, 3], Activation::Tanh, 0.05).unwrap();
    let theta = mlp.init(4);
    let s = Samples::new(&x, d, &y).unwrap();
    let op = MlpHessian::new(&mlp, &theta, s).unwrap();
    let p = op.dim();

    let oracle = mlp.hessian_with(&theta, &s, 32).unwrap(); // p HVPs
    let dense = op
        .dense()
        .expect("an MLP operator provides its dense Hessian");
    let err = dense
        .iter()
        .zip(&oracle)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err <= H_TOL * inf_norm(&oracle), "{err:e}");

    let rho = 1.0; // keeps H_ρ positive definite away from the optimum
    let params = || ExactParams {
        rho,
        ..ExactParams::default()
    };
    let b = uniform(p, 1.0, 6);
    let (x_mlp, rep) = Exact::new(params()).unwrap().solve(&op, &b).unwrap();
    assert_eq!(rep.hvps, 1); // no assembly HVPs: only the residual check
    let oracle_op = DenseHessian::new(p, oracle).unwrap();
    let (x_ref, _) = Exact::new(params()).unwrap().solve(&oracle_op, &b).unwrap();
    let diff = x_mlp
        .iter()
        .zip(&x_ref)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff <= X_TOL * inf_norm(&x_ref), "{diff:e}");
    assert!(rep.rel_residual < 1e-12, "{}", rep.rel_residual);
}
