//! The small test graphs shared by the first-order claim (gradients_match_finite_differences.rs)
//! and the second-order one (hvp_matches_hessian.rs): every op on its own, and graphs that are
//! not a plain chain (a skip connection, a weight used twice, one node as both operands, two
//! losses on one logits node).
//!
//! Each builder returns `(θ, J)`: a seeded θ of the length the graph reads, and the scalar
//! objective J(θ) as a tape closure. Where the second-order test needs curvature the
//! first-order graph lacks (a matmul or a sum is linear, so its Hessian is zero or only
//! bilinear cross terms), the builder takes `curve: Option<Activation>`, applied at one fixed
//! node; `None` is the plain graph.

use puma::autodiff::{Activation, Mat, Tape, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded values uniform in [−s, s].
pub fn uniform(len: usize, s: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random_range(-s..s)).collect()
}

/// A scalar probe of a node: Σ_ij c_ij v_ij with fixed seeded c, so that the adjoint
/// reaching the node is not uniform (a uniform ȳ hides transposition mistakes).
pub fn probe(tape: &mut Tape, v: Var) -> Var {
    let len = tape.value(v).len();
    let c = uniform(len, 1.0, 99);
    tape.weighted_sum(v, &c)
}

/// `act(v)` if there is an `act`, else `v` itself.
fn curved(tape: &mut Tape, v: Var, act: Option<Activation>) -> Var {
    match act {
        Some(act) => tape.activation(v, act),
        None => v,
    }
}

/// A tiny data set: 5 samples, 3 features, 2 classes, as constants.
fn data(tape: &mut Tape) -> (Var, [usize; 5]) {
    let x = tape.constant(Mat::from_vec(5, 3, uniform(15, 1.5, 6)));
    (x, [0, 1, 1, 0, 1])
}

/// probe(curve(op(A)·op(B))) with θ = A (3×4 stored, or 4×3 when transposed) then B (4×2,
/// or 2×4); `ta`, `tb` choose the transposes.
pub fn matmul(
    ta: bool,
    tb: bool,
    curve: Option<Activation>,
) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
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
        let c = curved(tape, c, curve);
        probe(tape, c)
    };
    (uniform(12 + 8, 1.0, 1), f)
}

/// probe(curve(−1.7·((Z + b) + O))) with θ = Z (2×3), b (1×3), O (2×3).
pub fn bias_add_add_and_scale(
    curve: Option<Activation>,
) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let f = move |tape: &mut Tape, th: Var| {
        let z = tape.slice(th, 0, 2, 3);
        let b = tape.slice(th, 6, 1, 3);
        let other = tape.slice(th, 9, 2, 3);
        let y = tape.add_bias(z, b);
        let s = tape.add(y, other);
        let t = tape.scale(s, -1.7);
        let t = curved(tape, t, curve);
        probe(tape, t)
    };
    (uniform(6 + 3 + 6, 1.0, 2), f)
}

/// probe(act(θ)) with θ of 12 values in [−3, 3].
///
/// # Panics
/// If an entry of θ is within 1e-2 of relu's kink at 0 (the seeded draw keeps them all away
/// from it, so that a difference step h·|v_i| ≤ 1e-3 never crosses it).
pub fn activation(act: Activation) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let theta = uniform(12, 3.0, 3);
    assert!(theta.iter().all(|v| v.abs() > 1e-2));
    let f = move |tape: &mut Tape, th: Var| {
        let y = tape.activation(th, act);
        probe(tape, y)
    };
    (theta, f)
}

/// The labels of the 4 × 3 logits read by [`cross_entropy`] and [`brier`].
const LABELS: [usize; 4] = [2, 0, 1, 2];

/// probe(softmax cross-entropy of Z) with θ = Z (4×3), logits uniform in [−scale, scale].
pub fn cross_entropy(scale: f64) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let f = |tape: &mut Tape, th: Var| {
        let z = tape.slice(th, 0, 4, 3);
        let l = tape.softmax_cross_entropy(z, &LABELS);
        probe(tape, l)
    };
    (uniform(12, scale, 4), f)
}

/// probe(Brier score of softmax(Z)) with θ = Z (4×3), logits uniform in [−scale, scale].
pub fn brier(scale: f64) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let f = |tape: &mut Tape, th: Var| {
        let z = tape.slice(th, 0, 4, 3);
        let l = tape.brier(z, &LABELS);
        probe(tape, l)
    };
    (uniform(12, scale, 4), f)
}

/// wᵀθ + Σ tanh(θ) + mean tanh(θ) + (μ/2)‖θ‖², θ of length 7 (one zero weight).
pub fn weighted_sum_sum_mean_and_weight_decay() -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy)
{
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
    (uniform(7, 2.0, 5), f)
}

/// h₁ = tanh(x W₁ᵀ + b₁), h₂ = softplus(h₁ W₂ᵀ) + h₁, z = h₂ W₃ᵀ; J = mean CE.
pub fn skip_connection() -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
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
    (uniform(12 + 4 + 16 + 8, 0.8, 7), f)
}

/// z = outer(gelu(x Wᵀ) Wᵀ) Vᵀ with the same square W in both layers; J = Σ CE.
pub fn weight_used_twice(outer: Activation) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let f = move |tape: &mut Tape, th: Var| {
        let (x, y) = data(tape);
        let w = tape.slice(th, 0, 3, 3);
        let v = tape.slice(th, 9, 2, 3);
        let z1 = tape.matmul_nt(x, w);
        let h1 = tape.gelu(z1);
        let z2 = tape.matmul_nt(h1, w);
        let h2 = tape.activation(z2, outer);
        let z = tape.matmul_nt(h2, v);
        let l = tape.softmax_cross_entropy(z, &y);
        tape.sum(l)
    };
    (uniform(9 + 6, 0.9, 8), f)
}

/// J = (1/n) Σ w_i CE_i + mean Brier + (μ/2)‖θ‖², one logits node feeding both losses.
pub fn two_losses_summed_with_sample_weights_and_decay()
-> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
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
    (uniform(6 + 2, 1.0, 9), f)
}

/// probe(curve(A·Aᵀ)) + (1/2)‖A + A‖² with θ = A (2×3): one matmul reading the same node
/// twice, and one add; both adjoint contributions land in the same slot.
pub fn one_node_as_both_operands(
    curve: Option<Activation>,
) -> (Vec<f64>, impl Fn(&mut Tape, Var) -> Var + Copy) {
    let f = move |tape: &mut Tape, th: Var| {
        let a = tape.slice(th, 0, 2, 3);
        let gram = tape.matmul_nt(a, a);
        let gram = curved(tape, gram, curve);
        let twice = tape.add(a, a);
        let p1 = probe(tape, gram);
        let p2 = tape.l2(twice, 1.0);
        tape.add(p1, p2)
    };
    (uniform(6, 1.0, 12), f)
}
