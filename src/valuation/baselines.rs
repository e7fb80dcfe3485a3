//! Baselines for finding bad training points, reported next to the ψ value (blog post,
//! Figure 5): each gives a suspicion score, higher = inspect first.
//!
//! ```text
//! self-influence   g_iᵀ H_ρ⁻¹ g_i          \[self\]   n solves (blocked, cached factor)
//! training loss    CE(z_i, y_i)                     one forward pass
//! gradient norm    ‖g_i‖²                   \[g\]      explicit gradients in blocks
//! random           a seeded permutation             ChaCha8, fixed algorithm
//! ψ value          −value_i                 \[ψ\]      harmful (value < 0) first
//! ```

use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::rank::{DetectionCurve, ascending, descending};
use crate::error::Result;
use crate::influence::{SELF_BLOCK, per_example_grads, self_influence};
use crate::model::loss::cross_entropy_rows;
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp};

/// The baseline scores of every training point (higher = more suspicious).
#[derive(Clone, Debug, PartialEq)]
pub struct Baselines {
    /// g_iᵀ H_ρ⁻¹ g_i \[self\].
    pub self_influence: Vec<f64>,
    /// CE(z_i, y_i) at θ̂.
    pub training_loss: Vec<f64>,
    /// ‖g_i‖².
    pub grad_norm_sq: Vec<f64>,
    /// A seeded random inspection order.
    pub random: Vec<usize>,
}

impl Baselines {
    /// All baselines for `train` at θ: n solves for self-influence, one forward pass, n
    /// explicit gradients (in blocks of [`SELF_BLOCK`]), a seeded shuffle.
    ///
    /// # Errors
    /// As [`self_influence`], [`Mlp::check`] and [`per_example_grads`].
    pub fn compute(
        mlp: &Mlp,
        theta: &[f64],
        train: &Samples,
        solver: &mut dyn InverseHvp,
        op: &dyn HessianOperator,
        seed: u64,
    ) -> Result<Self> {
        Ok(Baselines {
            self_influence: self_influence(mlp, theta, train, solver, op)?,
            training_loss: training_loss(mlp, theta, train)?,
            grad_norm_sq: grad_norm_sq(mlp, theta, train)?,
            random: random_order(train.n(), seed),
        })
    }

    /// Detection curves against `bad`: `"psi-value"` first when `values` (\[remove\] values,
    /// ascending = harmful first) is given, then self-influence, training loss, ‖g‖² and
    /// random.
    ///
    /// # Errors
    /// As [`DetectionCurve::new`].
    pub fn curves(&self, values: Option<&[f64]>, bad: &[usize]) -> Result<Vec<DetectionCurve>> {
        let mut out = Vec::with_capacity(5);
        if let Some(v) = values {
            out.push(DetectionCurve::new("psi-value", &ascending(v), bad)?);
        }
        out.push(DetectionCurve::new(
            "self-influence",
            &descending(&self.self_influence),
            bad,
        )?);
        out.push(DetectionCurve::new(
            "training-loss",
            &descending(&self.training_loss),
            bad,
        )?);
        out.push(DetectionCurve::new(
            "grad-norm-sq",
            &descending(&self.grad_norm_sq),
            bad,
        )?);
        out.push(DetectionCurve::new("random", &self.random, bad)?);
        Ok(out)
    }
}

/// CE(z_i, y_i) for every row at θ (no weights, no decay).
///
/// # Errors
/// As [`Mlp::check`].
pub fn training_loss(mlp: &Mlp, theta: &[f64], train: &Samples) -> Result<Vec<f64>> {
    mlp.check(theta, train)?;
    Ok(cross_entropy_rows(&mlp.logits(theta, train.x), train.y))
}

/// ‖g_i‖² for every row, from explicit per-example gradients in blocks of [`SELF_BLOCK`]
/// rows (p × block doubles at a time).
///
/// # Errors
/// As [`per_example_grads`].
pub fn grad_norm_sq(mlp: &Mlp, theta: &[f64], train: &Samples) -> Result<Vec<f64>> {
    mlp.check(theta, train)?;
    let n = train.n();
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + SELF_BLOCK).min(n);
        let m = end - start;
        let g = per_example_grads(mlp, theta, &train.rows(start..end))?; // p × m
        let mut block = vec![0.0; m];
        for gk in g.chunks_exact(m) {
            for (b, v) in block.iter_mut().zip(gk) {
                *b += v * v; // parameters summed in order
            }
        }
        out.extend(block);
        start = end;
    }
    Ok(out)
}

/// A seeded random permutation of 0..n (ChaCha8: stable across dependency upgrades).
pub fn random_order(n: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    idx
}
