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

use puma::autodiff::{
    Activation, Mat, Tape, Var, hessian, hessian_by_columns, hvp, hvp_batch, value_and_grad,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FD_RTOL: f64 = 1e-7;
const ROUTE_TOL: f64 = 1e-12;

/// Seeded values uniform in [−s, s].
fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// A scalar probe Σ c_ij v_ij with fixed seeded c (a uniform adjoint hides transpositions).
fn probe(tape: &mut Tape, v: Var) -> Var {
    let len = tape.value(v).len();
    let c = uniform(len, 1.0, 99);
    tape.weighted_sum(v, &c)
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
fn assert_hvp_ok(f: impl Fn(&mut Tape, Var) -> Var + Copy, theta: &[f64]) {
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
    let theta = uniform(12 + 8, 1.0, 1);
    for ta in [false, true] {
        for tb in [false, true] {
            let f = move |tape: &mut Tape, th: Var| {
                let a = if ta {
                    tape.slice(th, 0, 4, 3)
                } else {
                    tape.slice(th, 0, 3, 4)
                };
                let b = if tb {
                    tape.slice(th, 12, 2, 4)
                } else {
                    tape.slice(th, 12, 4, 2)
                };
                let c = tape.matmul_t(a, ta, b, tb);
                let c = tape.tanh(c); // so that H has more than the bilinear cross terms
                probe(tape, c)
            };
            assert_hvp_ok(f, &theta);
        }
    }
}

#[test]
fn bias_add_add_and_scale() {
    let theta = uniform(6 + 3 + 6, 1.0, 2);
    let f = |tape: &mut Tape, th: Var| {
        let z = tape.slice(th, 0, 2, 3);
        let b = tape.slice(th, 6, 1, 3);
        let other = tape.slice(th, 9, 2, 3);
        let y = tape.add_bias(z, b);
        let s = tape.add(y, other);
        let t = tape.scale(s, -1.7);
        let t = tape.softplus(t);
        probe(tape, t)
    };
    assert_hvp_ok(f, &theta);
}

#[test]
fn every_activation() {
    // Values in [−3, 3], every entry ≥ 1e-2 from relu's kink (h·|v_i| ≤ 1e-3 never crosses it).
    let theta = uniform(12, 3.0, 3);
    assert!(theta.iter().all(|v| v.abs() > 1e-2));
    for act in Activation::ALL {
        let f = move |tape: &mut Tape, th: Var| {
            let y = tape.activation(th, act);
            probe(tape, y)
        };
        assert_hvp_ok(f, &theta);
    }
}

#[test]
fn softmax_cross_entropy_and_brier() {
    let labels = [2, 0, 1, 2];
    for scale in [1.0, 6.0] {
        let theta = uniform(12, scale, 4);
        let ce = |tape: &mut Tape, th: Var| {
            let z = tape.slice(th, 0, 4, 3);
            let l = tape.softmax_cross_entropy(z, &labels);
            probe(tape, l)
        };
        assert_hvp_ok(ce, &theta);
        let brier = |tape: &mut Tape, th: Var| {
            let z = tape.slice(th, 0, 4, 3);
            let l = tape.brier(z, &labels);
            probe(tape, l)
        };
        assert_hvp_ok(brier, &theta);
    }
}

#[test]
fn weighted_sum_sum_mean_and_weight_decay() {
    let theta = uniform(7, 2.0, 5);
    let f = |tape: &mut Tape, th: Var| {
        let w = [0.0, 1.0, 2.0, 0.5, 1.0, 3.0, 1.0];
        let a = tape.weighted_sum(th, &w);
        let t = tape.tanh(th);
        let b = tape.sum(t);
        let m = tape.mean(t);
        let r = tape.l2(th, 1e-1);
        let ab = tape.add(a, b);
        let mr = tape.add(m, r);
        tape.add(ab, mr)
    };
    assert_hvp_ok(f, &theta);
    // (μ/2)‖θ‖² alone: H = μI exactly.
    let h = hessian(|tape, th| tape.l2(th, 0.25), &theta);
    for i in 0..7 {
        for j in 0..7 {
            assert_eq!(h[i * 7 + j], if i == j { 0.25 } else { 0.0 });
        }
    }
}

/// A tiny data set: 5 samples, 3 features, 2 classes, as constants.
fn data(tape: &mut Tape) -> (Var, [usize; 5]) {
    let x = tape.constant(Mat::from_vec(5, 3, uniform(15, 1.5, 6)));
    (x, [0, 1, 1, 0, 1])
}

#[test]
fn a_skip_connection() {
    let theta = uniform(12 + 4 + 16 + 8, 0.8, 7);
    let f = |tape: &mut Tape, th: Var| {
        let (x, y) = data(tape);
        let w1 = tape.slice(th, 0, 4, 3);
        let b1 = tape.slice(th, 12, 4, 1);
        let w2 = tape.slice(th, 16, 4, 4);
        let w3 = tape.slice(th, 32, 2, 4);
        let z1 = tape.matmul_nt(x, w1);
        let z1 = tape.add_bias(z1, b1);
        let h1 = tape.tanh(z1);
        let z2 = tape.matmul_nt(h1, w2);
        let a2 = tape.softplus(z2);
        let h2 = tape.add(a2, h1); // the skip
        let z = tape.matmul_nt(h2, w3);
        let l = tape.softmax_cross_entropy(z, &y);
        tape.mean(l)
    };
    assert_hvp_ok(f, &theta);
}

#[test]
fn a_weight_used_twice() {
    let theta = uniform(9 + 6, 0.9, 8);
    let f = |tape: &mut Tape, th: Var| {
        let (x, y) = data(tape);
        let w = tape.slice(th, 0, 3, 3);
        let v = tape.slice(th, 9, 2, 3);
        let z1 = tape.matmul_nt(x, w);
        let h1 = tape.gelu(z1);
        let z2 = tape.matmul_nt(h1, w);
        let h2 = tape.sigmoid(z2);
        let z = tape.matmul_nt(h2, v);
        let l = tape.softmax_cross_entropy(z, &y);
        tape.sum(l)
    };
    assert_hvp_ok(f, &theta);
}

#[test]
fn one_node_as_both_operands() {
    // A·Aᵀ (one matmul reading the same node twice) and A + A.
    let theta = uniform(6, 1.0, 12);
    let f = |tape: &mut Tape, th: Var| {
        let a = tape.slice(th, 0, 2, 3);
        let gram = tape.matmul_nt(a, a);
        let gram = tape.tanh(gram);
        let twice = tape.add(a, a);
        let p1 = probe(tape, gram);
        let p2 = tape.l2(twice, 1.0);
        tape.add(p1, p2)
    };
    assert_hvp_ok(f, &theta);
}

#[test]
fn two_losses_summed_with_sample_weights_and_decay() {
    let theta = uniform(6 + 2, 1.0, 9);
    let f = |tape: &mut Tape, th: Var| {
        let (x, y) = data(tape);
        let w = tape.slice(th, 0, 2, 3);
        let b = tape.slice(th, 6, 2, 1);
        let z = tape.matmul_nt(x, w);
        let z = tape.add_bias(z, b);
        let ce = tape.softmax_cross_entropy(z, &y);
        let ce = tape.weighted_sum(ce, &[1.0, 0.0, 2.0, 1.0, 0.5]);
        let ce = tape.scale(ce, 1.0 / 5.0);
        let br = tape.brier(z, &y);
        let br = tape.mean(br);
        let decay = tape.l2(th, 1e-2);
        let j = tape.add(ce, br);
        tape.add(j, decay)
    };
    assert_hvp_ok(f, &theta);
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
