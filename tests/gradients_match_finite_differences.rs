//! Claim: the tape's gradients match central finite differences for every op and for graphs
//! that are not a plain chain, and the checker rejects a deliberately wrong derivative.
//!
//! Tolerance: `CheckParams::default()` (rtol 1e-7 on directional derivatives from a
//! Richardson-extrapolated central difference, accurate to ~1e-11 relative here).

mod graphs;

use graphs::{probe, uniform};
use puma::autodiff::{Activation, CheckParams, Mat, Tape, Var, check_grad, value_and_grad};

/// Asserts that the tape gradient of `f` at `theta` passes the finite-difference check.
fn assert_gradient_ok((theta, f): (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy)) {
    let (_, g) = value_and_grad(f, &theta);
    let value = |t: &[f64]| value_and_grad(f, t).0;
    let check = check_grad(value, &theta, &g, &CheckParams::default());
    assert!(check.passed, "finite differences disagree: {check:?}");
}

#[test]
fn matmul_in_all_four_transpose_cases() {
    for ta in [false, true] {
        for tb in [false, true] {
            assert_gradient_ok(graphs::matmul(ta, tb, None));
        }
    }
}

#[test]
fn bias_add_add_and_scale() {
    assert_gradient_ok(graphs::bias_add_add_and_scale(None));
}

#[test]
fn every_activation() {
    for act in Activation::ALL {
        assert_gradient_ok(graphs::activation(act));
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
    assert_gradient_ok((theta, f));
}

#[test]
fn softmax_cross_entropy_and_brier_with_large_logits() {
    // Logits up to ±40: the log-sum-exp must not overflow or lose the gradient.
    for scale in [1.0, 40.0] {
        assert_gradient_ok(graphs::cross_entropy(scale));
        assert_gradient_ok(graphs::brier(scale));
    }
}

#[test]
fn weighted_sum_sum_mean_and_weight_decay() {
    assert_gradient_ok(graphs::weighted_sum_sum_mean_and_weight_decay());
}

#[test]
fn a_skip_connection() {
    assert_gradient_ok(graphs::skip_connection());
}

#[test]
fn a_weight_used_twice() {
    // z = gelu(gelu(x Wᵀ) Wᵀ) Vᵀ with the same square W in both layers.
    assert_gradient_ok(graphs::weight_used_twice(Activation::Gelu));
}

#[test]
fn two_losses_summed_with_sample_weights_and_decay() {
    assert_gradient_ok(graphs::two_losses_summed_with_sample_weights_and_decay());
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
    // n = 600 spans two reduction chunks (CHUNK_ROWS = 512); zero and fractional weights;
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
    assert_gradient_ok(graphs::one_node_as_both_operands(None));
}
