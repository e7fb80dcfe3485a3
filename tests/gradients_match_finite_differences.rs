//! Claim: the tape's gradients match central finite differences for every op and for graphs
//! that are not a plain chain, and the checker rejects a deliberately wrong derivative.
//!
//! Tolerance: `CheckParams::default()` (rtol 1e-7 on directional derivatives from a
//! Richardson-extrapolated central difference, accurate to ~1e-11 relative here).

use puma::autodiff::{Activation, CheckParams, Mat, Tape, Var, check_grad, value_and_grad};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded values uniform in [−s, s].
fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

/// A scalar probe of a node: Σ_ij c_ij v_ij with fixed seeded c, so that the adjoint
/// reaching the node is not uniform (a uniform ȳ hides transposition mistakes).
fn probe(tape: &mut Tape, v: Var) -> Var {
    let len = tape.value(v).len();
    let c = uniform(len, 1.0, 99);
    tape.weighted_sum(v, &c)
}

/// Asserts that the tape gradient of `f` at `theta` passes the finite-difference check.
fn assert_gradient_ok(f: impl Fn(&mut Tape, Var) -> Var + Copy, theta: &[f64]) {
    let (_, g) = value_and_grad(f, theta);
    let value = |t: &[f64]| value_and_grad(f, t).0;
    let check = check_grad(value, theta, &g, &CheckParams::default());
    assert!(check.passed, "finite differences disagree: {check:?}");
}

#[test]
fn matmul_in_all_four_transpose_cases() {
    // θ = A (3×4 stored, or 4×3 when transposed) then B (4×2, or 2×4).
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
                probe(tape, c)
            };
            assert_gradient_ok(f, &theta);
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
        probe(tape, t)
    };
    assert_gradient_ok(f, &theta);
}

#[test]
fn every_activation() {
    // Values in [−3, 3]; the seeded draw keeps every entry ≥ 1e-2 away from relu's kink.
    let theta = uniform(12, 3.0, 3);
    assert!(theta.iter().all(|v| v.abs() > 1e-2));
    for act in Activation::ALL {
        let f = move |tape: &mut Tape, th: Var| {
            let y = tape.activation(th, act);
            probe(tape, y)
        };
        assert_gradient_ok(f, &theta);
    }
}

#[test]
fn gelu_far_in_the_tails() {
    // x·Φ(x) at |x| up to 9: Φ comes from erfc, so the left tail keeps relative accuracy.
    let theta = vec![-9.0, -6.5, -4.2, 4.2, 6.5, 9.0];
    let f = |tape: &mut Tape, th: Var| {
        let y = tape.gelu(th);
        probe(tape, y)
    };
    assert_gradient_ok(f, &theta);
}

#[test]
fn softmax_cross_entropy_and_brier_with_large_logits() {
    // Logits up to ±40: the log-sum-exp must not overflow or lose the gradient.
    let labels = [2, 0, 1, 2];
    for scale in [1.0, 40.0] {
        let theta = uniform(12, scale, 4);
        let ce = |tape: &mut Tape, th: Var| {
            let z = tape.slice(th, 0, 4, 3);
            let l = tape.softmax_cross_entropy(z, &labels);
            probe(tape, l)
        };
        assert_gradient_ok(ce, &theta);
        let brier = |tape: &mut Tape, th: Var| {
            let z = tape.slice(th, 0, 4, 3);
            let l = tape.brier(z, &labels);
            probe(tape, l)
        };
        assert_gradient_ok(brier, &theta);
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
    assert_gradient_ok(f, &theta);
}

/// A tiny data set: 5 samples, 3 features, 2 classes, as constants.
fn data(tape: &mut Tape) -> (Var, [usize; 5]) {
    let x = tape.constant(Mat::from_vec(5, 3, uniform(15, 1.5, 6)));
    (x, [0, 1, 1, 0, 1])
}

#[test]
fn a_skip_connection() {
    // h₁ = tanh(x W₁ᵀ + b₁), h₂ = softplus(h₁ W₂ᵀ) + h₁, z = h₂ W₃ᵀ; J = mean CE.
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
    assert_gradient_ok(f, &theta);
}

#[test]
fn a_weight_used_twice() {
    // z = gelu(gelu(x Wᵀ) Wᵀ) Vᵀ with the same square W in both layers.
    let theta = uniform(9 + 6, 0.9, 8);
    let f = |tape: &mut Tape, th: Var| {
        let (x, y) = data(tape);
        let w = tape.slice(th, 0, 3, 3);
        let v = tape.slice(th, 9, 2, 3);
        let z1 = tape.matmul_nt(x, w);
        let h1 = tape.gelu(z1);
        let z2 = tape.matmul_nt(h1, w);
        let h2 = tape.gelu(z2);
        let z = tape.matmul_nt(h2, v);
        let l = tape.softmax_cross_entropy(z, &y);
        tape.sum(l)
    };
    assert_gradient_ok(f, &theta);
}

#[test]
fn two_losses_summed_with_sample_weights_and_decay() {
    // J = (1/n) Σ w_i CE_i + mean Brier + (μ/2)‖θ‖², one logits node feeding both losses.
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
    assert_gradient_ok(f, &theta);
}

#[test]
fn the_checker_rejects_a_deliberately_wrong_derivative() {
    // The classic GELU mistake: d/dx [x Φ(x)] taken as Φ(x), dropping x φ(x).
    let theta = uniform(8, 2.0, 10);
    let f = |tape: &mut Tape, th: Var| {
        let y = tape.gelu(th);
        tape.sum(y)
    };
    let value = |t: &[f64]| value_and_grad(f, t).0;
    let wrong: Vec<f64> = theta
        .iter()
        .map(|&x| puma::autodiff::special::normal_cdf(x))
        .collect();
    let check = check_grad(value, &theta, &wrong, &CheckParams::default());
    assert!(
        !check.passed,
        "the checker accepted a wrong derivative: {check:?}"
    );
    // And a right gradient perturbed by one part in 10⁵ in one coordinate.
    let (_, mut g) = value_and_grad(f, &theta);
    g[5] *= 1.0 + 1e-5;
    assert!(!check_grad(value, &theta, &g, &CheckParams::default()).passed);
}

#[test]
fn constants_get_no_gradient_and_unused_vars_get_zeros() {
    let mut tape = Tape::new();
    let x = tape.constant(Mat::from_vec(1, 2, vec![1.0, 2.0]));
    let w = tape.var(Mat::from_vec(1, 2, vec![3.0, 4.0]));
    let unused = tape.var(Mat::from_vec(2, 2, vec![1.0; 4]));
    let z = tape.matmul_nt(x, w);
    let j = tape.sum(z);
    let mut grads = tape.backward(j);
    assert!(grads.wrt(x).is_none());
    assert_eq!(grads.wrt(w).unwrap().data, vec![1.0, 2.0]);
    assert_eq!(grads.take(&tape, unused), Mat::zeros(2, 2));
}

#[test]
fn the_mlp_objective_with_sample_weights_across_chunk_boundaries() {
    // n = 600 spans three reduction chunks (256 rows each); zero and fractional weights;
    // divisor n whatever the weights, μ on every parameter.
    use puma::model::{Mlp, Samples};
    let (n, d) = (600, 3);
    let x = uniform(n * d, 2.0, 11);
    let y: Vec<usize> = (0..n).map(|i| (i * 7) % 3).collect();
    let w: Vec<f64> = (0..n).map(|i| [0.0, 1.0, 0.5, 2.0][i % 4]).collect();
    for act in [Activation::Gelu, Activation::Softplus] {
        let mlp = Mlp::new(&[d, 5, 4, 3], act, 0.01).unwrap();
        let theta = mlp.init(3);
        let s = Samples::new(&x, d, &y).unwrap().with_weights(&w).unwrap();
        let (j, g) = mlp.value_and_grad(&theta, &s).unwrap();
        assert!((j - mlp.objective(&theta, &s).unwrap()).abs() <= 1e-14 * j.abs());
        let value = |t: &[f64]| mlp.objective(t, &s).unwrap();
        let check = check_grad(value, &theta, &g, &CheckParams::default());
        assert!(check.passed, "{act:?}: {check:?}");
    }
}

#[test]
fn one_node_as_both_operands() {
    // A·Aᵀ and A + A: both adjoint contributions land in the same slot.
    let theta = uniform(6, 1.0, 12);
    let f = |tape: &mut Tape, th: Var| {
        let a = tape.slice(th, 0, 2, 3);
        let gram = tape.matmul_nt(a, a);
        let twice = tape.add(a, a);
        let p1 = probe(tape, gram);
        let p2 = tape.l2(twice, 1.0);
        tape.add(p1, p2)
    };
    assert_gradient_ok(f, &theta);
}
