//! Claim: the tape's Hessian-vector products (Pearlmutter's R-operator [Pearl94]) are exact:
//! they match central differences of the exact gradient, are symmetric (uᵀHv = (Hu)ᵀv),
//! agree with the dense Hessian built either way (batched or one column at a time), and a
//! batch of k directions equals k single products, on every op and on graphs that are not
//! a plain chain (a skip connection, a weight used twice, one node as both operands).
//!
//! Tolerances:
//! - finite differences: Richardson-extrapolated central differences of ∇J with h = 1e-3
//!   have truncation error O(h⁴) ≈ 1e-12 and rounding ≈ ε‖∇J‖/h ≈ 1e-13, so
//!   `FD_RTOL` = 1e-7 relative (plus that rounding floor) is loose for a right HVP, while a
//!   missing second-order term (e.g. f″ or ṗ dropped) is off by ≥ 1e-3 relative;
//! - the two Hessian routes and H's symmetry: `ROUTE_TOL` = 1e-12·max|H|, the rounding of a
//!   few dozen flops per entry at O(1) magnitudes (the routes differ only in batching);
//! - uᵀ(Hv) vs (Hu)ᵀv: 64·p·ε·(‖u‖‖Hv‖ + ‖Hu‖‖v‖), the rounding of two length-p dots on
//!   top of O(ε)-accurate products.

mod graphs;

use graphs::uniform;
use puma::autodiff::{
    Activation, Tape, Var, hessian, hessian_by_columns, hvp, hvp_batch, value_and_grad,
};

const FD_RTOL: f64 = 1e-7;
const ROUTE_TOL: f64 = 1e-12;

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Richardson-extrapolated central difference of ∇J along v: (4·D(h/2) − D(h))/3.
fn fd_hvp(f: impl Fn(&mut Tape, Var) -> Var + Copy, theta: &[f64], v: &[f64], h: f64) -> Vec<f64> {
    let d = |h: f64| {
        let plus: Vec<f64> = theta.iter().zip(v).map(|(t, vi)| t + h * vi).collect();
        let minus: Vec<f64> = theta.iter().zip(v).map(|(t, vi)| t - h * vi).collect();
        let (_, gp) = value_and_grad(f, &plus);
        let (_, gm) = value_and_grad(f, &minus);
        gp.iter()
            .zip(&gm)
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect::<Vec<f64>>()
    };
    let (d1, d2) = (d(h), d(h / 2.0));
    d1.iter()
        .zip(&d2)
        .map(|(a, b)| (4.0 * b - a) / 3.0)
        .collect()
}

/// Every claim of this file for one graph `f` at `theta`.
fn assert_hvp_ok((theta, f): (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy)) {
    let theta = theta.as_slice();
    let p = theta.len();
    let (_, g) = value_and_grad(f, theta);
    let h = 1e-3;
    // Finite differences of the exact gradient, in unit random directions.
    for seed in 0..3 {
        let mut v = uniform(p, 1.0, 100 + seed);
        let nv = norm(&v);
        v.iter_mut().for_each(|x| *x /= nv);
        let hv = hvp(f, theta, &v);
        let fd = fd_hvp(f, theta, &v, h);
        let atol = 16.0 * f64::EPSILON * (1.0 + inf_norm(&g)) / h; // rounding floor of D(h)
        let err = hv
            .iter()
            .zip(&fd)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err <= FD_RTOL * inf_norm(&hv).max(inf_norm(&fd)) + atol,
            "HVP vs finite differences: error {err:e}, ‖Hv‖∞ = {:e}",
            inf_norm(&hv)
        );
    }
    // Symmetry in the bilinear form.
    let (u, v) = (uniform(p, 1.0, 200), uniform(p, 1.0, 201));
    let (hu, hv) = (hvp(f, theta, &u), hvp(f, theta, &v));
    let tol = 64.0 * p as f64 * f64::EPSILON * (norm(&u) * norm(&hv) + norm(&hu) * norm(&v));
    assert!(
        (dot(&u, &hv) - dot(&hu, &v)).abs() <= tol,
        "uᵀHv = {:e} vs (Hu)ᵀv = {:e}",
        dot(&u, &hv),
        dot(&hu, &v)
    );
    // The batched Hessian against one HVP per column, and its symmetry.
    let hb = hessian(f, theta);
    let hc = hessian_by_columns(f, theta);
    let scale = inf_norm(&hc).max(f64::MIN_POSITIVE);
    for i in 0..p {
        for j in 0..p {
            let (a, b) = (hb[i * p + j], hc[i * p + j]);
            assert!(
                (a - b).abs() <= ROUTE_TOL * scale,
                "H[{i},{j}]: {a:e} vs {b:e}"
            );
            let t = hc[j * p + i];
            assert!(
                (b - t).abs() <= ROUTE_TOL * scale,
                "H not symmetric at ({i},{j})"
            );
        }
    }
    // A batch of 3 directions equals 3 single products.
    let w = uniform(3 * p, 1.0, 300);
    let batch = hvp_batch(f, theta, &w);
    for j in 0..3 {
        let single = hvp(f, theta, &w[j * p..(j + 1) * p]);
        let got = &batch[j * p..(j + 1) * p];
        let err = got
            .iter()
            .zip(&single)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err <= ROUTE_TOL * inf_norm(&single).max(f64::MIN_POSITIVE),
            "batch {j}: {err:e}"
        );
    }
}

#[test]
fn matmul_in_all_four_transpose_cases() {
    for ta in [false, true] {
        for tb in [false, true] {
            // tanh so that H has more than the bilinear cross terms.
            assert_hvp_ok(graphs::matmul(ta, tb, Some(Activation::Tanh)));
        }
    }
}

#[test]
fn bias_add_add_and_scale() {
    assert_hvp_ok(graphs::bias_add_add_and_scale(Some(Activation::Softplus)));
}

#[test]
fn every_activation() {
    for act in Activation::ALL {
        assert_hvp_ok(graphs::activation(act));
    }
}

#[test]
fn softmax_cross_entropy_and_brier() {
    for scale in [1.0, 6.0] {
        assert_hvp_ok(graphs::cross_entropy(scale));
        assert_hvp_ok(graphs::brier(scale));
    }
}

#[test]
fn weighted_sum_sum_mean_and_weight_decay() {
    let (theta, f) = graphs::weighted_sum_sum_mean_and_weight_decay();
    assert_hvp_ok((theta.clone(), f));
    // (μ/2)‖θ‖² alone: H = μI exactly.
    let h = hessian(|tape, th| tape.l2(th, 0.25), &theta);
    for i in 0..7 {
        for j in 0..7 {
            assert_eq!(h[i * 7 + j], if i == j { 0.25 } else { 0.0 });
        }
    }
}

#[test]
fn a_skip_connection() {
    assert_hvp_ok(graphs::skip_connection());
}

#[test]
fn a_weight_used_twice() {
    // z = sigmoid(gelu(x Wᵀ) Wᵀ) Vᵀ: gelu and sigmoid, for two different second derivatives.
    assert_hvp_ok(graphs::weight_used_twice(Activation::Sigmoid));
}

#[test]
fn one_node_as_both_operands() {
    // A·Aᵀ (one matmul reading the same node twice, then tanh) and A + A.
    assert_hvp_ok(graphs::one_node_as_both_operands(Some(Activation::Tanh)));
}

#[test]
fn two_losses_summed_with_sample_weights_and_decay() {
    assert_hvp_ok(graphs::two_losses_summed_with_sample_weights_and_decay());
}

#[test]
fn a_deliberately_wrong_hvp_is_rejected_by_the_finite_difference_oracle() {
    // H of Σ tanh(θ_i) is diag(f″(θ_i)); dropping f″ (the first-order-only mistake) gives 0.
    let theta = uniform(6, 2.0, 13);
    let f = |tape: &mut Tape, th: Var| {
        let y = tape.tanh(th);
        tape.sum(y)
    };
    let v = uniform(6, 1.0, 14);
    let fd = fd_hvp(f, &theta, &v, 1e-3);
    let right = hvp(f, &theta, &v);
    let wrong = vec![0.0; 6];
    let err = |hv: &[f64]| {
        hv.iter()
            .zip(&fd)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    };
    assert!(err(&right) <= FD_RTOL * inf_norm(&fd));
    assert!(err(&wrong) > 1e3 * FD_RTOL * inf_norm(&fd));
}
