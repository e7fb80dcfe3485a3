//! The dense Hessian H = ∇²J(θ) of a scalar function on the tape (DESIGN.md §1 \[H\]), for
//! small p (up to a few thousand: p² doubles).
//!
//! Two routes that check each other: [`hessian`] takes the p unit vectors in batches of
//! [`HESSIAN_BATCH`] through the batched R-operator ([`super::hvp::hvp_batch`]), so k
//! directions share one forward and one reverse pass; [`hessian_by_columns`] is the oracle,
//! one [`super::hvp()`] per column \[Pearl94\]. Row j of H is H e_j (H is symmetric).
//! Cost: p HVPs, ≈ 2–4 gradients each, less the shared passes of a batch.

use super::hvp::{hvp, hvp_batch};
use super::tape::{Tape, Var};

/// Directions per pass when [`hessian`] assembles H from unit vectors.
pub const HESSIAN_BATCH: usize = 32;

/// The p × p Hessian (row-major) of a scalar function built on a tape from the flat θ,
/// from batches of [`HESSIAN_BATCH`] unit-vector HVPs \[Pearl94\].
///
/// # Panics
/// If the node `f` returns is not `1 × 1`.
///
/// # Examples
/// ```
/// use puma::autodiff::hessian;
/// // J(θ) = (μ/2)‖θ‖² with μ = 2: H = 2I.
/// let h = hessian(|tape, th| tape.l2(th, 2.0), &[1.0, -3.0]);
/// assert_eq!(h, vec![2.0, 0.0, 0.0, 2.0]);
/// ```
pub fn hessian<F>(f: F, theta: &[f64]) -> Vec<f64>
where
    F: Fn(&mut Tape, Var) -> Var,
{
    let p = theta.len();
    let mut h = vec![0.0; p * p];
    for start in (0..p).step_by(HESSIAN_BATCH) {
        let k = HESSIAN_BATCH.min(p - start);
        let mut e = vec![0.0; k * p];
        for j in 0..k {
            e[j * p + start + j] = 1.0; // e_{start+j}
        }
        let block = hvp_batch(&f, theta, &e); // H e_j = row start+j of H
        h[start * p..(start + k) * p].copy_from_slice(&block);
    }
    h
}

/// The p × p Hessian (row-major) one unit-vector [`hvp`] at a time: the oracle for
/// [`hessian`] (p separate forward and reverse passes).
///
/// # Panics
/// If the node `f` returns is not `1 × 1`.
pub fn hessian_by_columns<F>(f: F, theta: &[f64]) -> Vec<f64>
where
    F: Fn(&mut Tape, Var) -> Var,
{
    let p = theta.len();
    let mut h = Vec::with_capacity(p * p);
    let mut e = vec![0.0; p];
    for j in 0..p {
        e[j] = 1.0;
        h.extend(hvp(&f, theta, &e)); // H e_j
        e[j] = 0.0;
    }
    h
}
