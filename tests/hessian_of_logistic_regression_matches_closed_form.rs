//! Claim: on the digits logistic regression (the reference model, 1437 samples, p = 650)
//! the exact Hessian from the tape's R-operator [Pearl94] equals the closed form
//! H = (1/n) Σ_i (diag(p_i) − p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ + μI of `logistic_hessian` (x̃ with the
//! bias appended, θ storing all weights before the biases), entry by entry, and single
//! HVPs equal H·v.
//!
//! Tolerance `TOL` = 1e-12·max|H|: each entry is a sum over n = 1437 samples of O(max|H|)
//! terms in two different orders (per-chunk tape products vs one GEMM per class pair), so
//! the difference is O(nε)·max|H| ≈ 3e-13·max|H|; a wrong layout (bias first, transposed
//! W) moves entries by O(max|H|).

mod common;

use common::{inf_norm, read_csv};
use puma::model::Samples;
use puma::model::train::newton::logistic_hessian;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f64 = 1e-12;

#[test]
fn the_tape_hessian_equals_the_closed_form_on_digits() {
    let file =
        puma::io::load(common::fixture("reference/digits_logreg/model.safetensors")).unwrap();
    let train = read_csv("reference/digits_logreg/train.csv");
    let s = Samples::new(&train.x, train.d, &train.y).unwrap();
    let (mlp, theta) = (&file.mlp, &file.theta);
    let p = mlp.n_params();
    let closed = logistic_hessian(mlp, theta, &s).unwrap();
    let tape = mlp.hessian(theta, &s).unwrap();
    let scale = inf_norm(&closed);
    let err = closed
        .iter()
        .zip(&tape)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err <= TOL * scale, "max |ΔH| = {err:e}, max|H| = {scale:e}");

    // A random v: H v from one R-op pass against the closed-form matrix times v.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let v: Vec<f64> = (0..p).map(|_| rng.random_range(-1.0..1.0)).collect();
    let hv = mlp.hvp(theta, &s, &v).unwrap();
    let hv_closed: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| closed[i * p + j] * v[j]).sum())
        .collect();
    let err = hv
        .iter()
        .zip(&hv_closed)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    // p more terms per entry: O(pε)·max|H|·‖v‖∞ on top of TOL.
    assert!(
        err <= TOL * scale * p as f64,
        "‖Hv − H_closed v‖∞ = {err:e}"
    );
}
