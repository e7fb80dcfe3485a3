//! Mini-batch Adam (Kingma & Ba, ICLR 2015, Alg. 1) on the objective \[J\].
//!
//! Each epoch visits the rows in the order of [`crate::data::permutation`] (ChaCha8, seeded
//! from `seed` and the epoch number, fixed for good), and for
//! each batch B takes the step
//!
//! ```text
//! g = ∇J_B(θ),  J_B = (1/|B|) Σ_{i∈B} w_i CE_i + (μ/2)‖θ‖²,
//! m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²,   θ ← θ − lr·m̂ / (√v̂ + ε),
//! ```
//!
//! with the bias corrections m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ). Adam does not reach
//! ‖∇J‖∞ ≤ 1e-10; it is for data too large for full-batch L-BFGS or as a warm start. The final
//! full-batch ‖∇J‖∞ is reported. Cost per epoch: about one full-batch gradient.

use super::{Stop, TrainInfo, inf_norm};
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};

/// Settings of [`adam`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamParams {
    /// Learning rate. Default 1e-3; > 0.
    pub lr: f64,
    /// First-moment decay β₁. Default 0.9; in [0, 1).
    pub beta1: f64,
    /// Second-moment decay β₂. Default 0.999; in [0, 1).
    pub beta2: f64,
    /// ε of the denominator. Default 1e-8; > 0.
    pub eps: f64,
    /// Passes over the data. Default 50; ≥ 1.
    pub epochs: usize,
    /// Rows per batch. Default 64; ≥ 1 (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Seed of the shuffles. Default 0.
    pub seed: u64,
}

impl Default for AdamParams {
    fn default() -> Self {
        AdamParams {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            epochs: 50,
            batch_size: 64,
            seed: 0,
        }
    }
}

/// Trains `mlp` from `theta` by mini-batch Adam; reports the final full-batch J and ‖∇J‖∞.
///
/// # Errors
/// [`Error::InvalidParam`] for out-of-range params or no samples; as [`Mlp::check`].
pub fn adam(
    mlp: &Mlp,
    theta: Vec<f64>,
    s: &Samples,
    params: &AdamParams,
) -> Result<(Vec<f64>, TrainInfo)> {
    let AdamParams {
        lr,
        beta1,
        beta2,
        eps,
        epochs,
        batch_size,
        seed,
    } = *params;
    let ok = lr > 0.0
        && (0.0..1.0).contains(&beta1)
        && (0.0..1.0).contains(&beta2)
        && eps > 0.0
        && epochs >= 1
        && batch_size >= 1;
    if !ok {
        return Err(Error::InvalidParam {
            name: "AdamParams",
            reason: format!("out of range: {params:?}"),
        });
    }
    mlp.check(&theta, s)?;
    let (n, d) = (s.n(), s.d);
    if n == 0 {
        return Err(Error::InvalidParam {
            name: "samples",
            reason: "Adam needs at least one sample".into(),
        });
    }
    let p = theta.len();
    let mut theta = theta;
    let (mut m, mut v) = (vec![0.0; p], vec![0.0; p]);
    let (mut xb, mut yb, mut wb) = (Vec::new(), Vec::new(), Vec::new());
    let mut t = 0i32;
    for epoch in 0..epochs {
        let epoch_seed = seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let order = crate::data::permutation(n, epoch_seed);
        for batch in order.chunks(batch_size) {
            xb.clear();
            yb.clear();
            wb.clear();
            for &i in batch {
                xb.extend_from_slice(&s.x[i * d..(i + 1) * d]);
                yb.push(s.y[i]);
                wb.push(s.w.map_or(1.0, |w| w[i]));
            }
            let sb = Samples::new(&xb, d, &yb)?.with_weights(&wb)?;
            let (_, g) = mlp.value_and_grad(&theta, &sb)?; // ∇J_B
            t += 1;
            let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
            for k in 0..p {
                m[k] = beta1 * m[k] + (1.0 - beta1) * g[k];
                v[k] = beta2 * v[k] + (1.0 - beta2) * g[k] * g[k];
                theta[k] -= lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
            }
        }
    }
    let (objective, g) = mlp.value_and_grad(&theta, s)?;
    let info = TrainInfo {
        iters: t as usize,
        evals: t as usize + 1,
        objective,
        grad_inf: inf_norm(&g),
        stop: Stop::EpochsDone,
    };
    Ok((theta, info))
}
