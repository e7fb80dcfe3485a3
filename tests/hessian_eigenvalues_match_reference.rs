//! Claim: at the reference models (trained independently in PyTorch, float64) the extreme
//! eigenvalues of the exact Hessian of [J] (tape R-operator [Pearl94], Householder
//! tridiagonalisation + bisection) match fixtures/reference/summary.json.
//!
//! Tolerance `TOL` = 1e-9·λ_max, absolute: eigenvalues of a symmetric matrix move by at
//! most ‖ΔH‖₂ (Weyl), and ‖ΔH‖₂ ≤ p·max|ΔH| ≈ 650·O(nε)·max|H| ≈ 1e-10·λ_max between two
//! float64 Hessians summed in different orders, plus the bisection's O(ε λ_max). Relative
//! to the moons λ_min = 2.7e-5 this is 2e-4; a Hessian without the μI term (−1e-3) or
//! with a wrong second-order term is off by far more.

mod common;

use common::{read_csv, summary};
use puma::autodiff::eigen::eigenvalue_range;
use puma::model::Samples;

const TOL: f64 = 1e-9;

fn check(problem: &str) {
    let s = summary(problem);
    let file = puma::io::load(common::fixture(&format!(
        "reference/{problem}/model.safetensors"
    )))
    .unwrap();
    let train = read_csv(&format!("reference/{problem}/train.csv"));
    let samples = Samples::new(&train.x, train.d, &train.y).unwrap();
    let p = file.mlp.n_params();
    let h = file.mlp.hessian(&file.theta, &samples).unwrap();
    let (lo, hi) = eigenvalue_range(&h, p);
    let (want_lo, want_hi) = (
        s["hessian_min_eig"].as_f64().unwrap(),
        s["hessian_max_eig"].as_f64().unwrap(),
    );
    let tol = TOL * want_hi;
    println!("{problem}: λ_min {lo:e} (ref {want_lo:e}), λ_max {hi:e} (ref {want_hi:e})");
    assert!(
        (lo - want_lo).abs() <= tol,
        "{problem}: λ_min {lo:e} vs {want_lo:e}"
    );
    assert!(
        (hi - want_hi).abs() <= tol,
        "{problem}: λ_max {hi:e} vs {want_hi:e}"
    );
}

#[test]
fn moons_mlp_eigenvalue_range() {
    check("moons_mlp");
}

#[test]
fn digits_logreg_eigenvalue_range() {
    check("digits_logreg");
}
