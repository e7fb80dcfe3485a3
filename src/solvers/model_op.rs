//! [`MlpHessian`]: the Hessian H = ∇²J_w(θ̂) of DESIGN.md §1 \[H\] for an [`Mlp`] at θ̂ on its
//! training samples, as a matrix-free [`HessianOperator`] over the exact autodiff HVPs
//! ([`Mlp::hvp_batch`], Pearlmutter's R-operator \[Pearl94\]).
//!
//! ```text
//! H v   = (1/n)   Σ_i     w_i ∇²CE_i(θ̂) v + μ v        (hvp, hvp_many: k directions per pass)
//! H_B v = (1/|B|) Σ_{i∈B} w_i ∇²CE_i(θ̂) v + μ v        (hvp_batch, for LiSSA [LiSSA])
//! ```
//!
//! Cost: one HVP ≈ 2–4 gradients over the n samples (DESIGN.md §2); a batch of k directions
//! shares the forward and reverse pass. The dense H is assembled once, on first use, block
//! by block from the layer structure ([`Mlp::hessian`], ≈ n·p² flops, kept: p² doubles), so
//! [`super::Exact`] spends no HVPs on assembly. The exact diagonal comes from the layer structure
//! ([`super::mlp_diagonal`], about one gradient, recomputed per call), for CG's Jacobi
//! preconditioner. An
//! MLP with hidden layers is not convex: no σ_min bound is stated (CG reports no error
//! bound; the exact solver's Cholesky certificate still applies).
//!
//! [`MlpGaussNewton`] is the same operator for the Gauss-Newton matrix G
//! ([`Mlp::gauss_newton_batch`]): positive semi-definite at any θ (σ_min ≥ μ), for solves
//! where H is indefinite.

use std::sync::OnceLock;

use super::mlp_linearised::Linearised;
use super::{HessianOperator, check_len};
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};

/// The Hessian of an MLP's objective \[J\] at θ on `samples`, matrix-free.
#[derive(Clone, Debug)]
pub struct MlpHessian<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    samples: Samples<'a>,
    /// H, assembled block by block on the first [`HessianOperator::dense`] call (p² doubles).
    dense: OnceLock<Option<Vec<f64>>>,
    /// The forward and backward pass at θ̂, run on the first [`HessianOperator::hvp`] and
    /// reused by every later one ([`super::mlp_linearised`]).
    lin: OnceLock<Linearised>,
}

impl<'a> MlpHessian<'a> {
    /// The operator for `mlp` at `theta` on `samples` (weights, if any, kept).
    ///
    /// # Errors
    /// As [`Mlp::check`]; [`Error::InvalidParam`] for an empty sample set.
    pub fn new(mlp: &'a Mlp, theta: &'a [f64], samples: Samples<'a>) -> Result<Self> {
        mlp.check(theta, &samples)?;
        if samples.n() == 0 {
            return Err(Error::InvalidParam {
                name: "samples",
                reason: "the Hessian needs at least one sample".into(),
            });
        }
        Ok(MlpHessian {
            mlp,
            theta,
            samples,
            dense: OnceLock::new(),
            lin: OnceLock::new(),
        })
    }
}

/// V (p × k row-major, column j a direction) as k direction-major rows.
fn to_direction_major(p: usize, k: usize, v: &[f64]) -> Vec<f64> {
    let mut t = vec![0.0; p * k];
    for i in 0..p {
        for j in 0..k {
            t[j * p + i] = v[i * k + j];
        }
    }
    t
}

impl HessianOperator for MlpHessian<'_> {
    fn dim(&self) -> usize {
        self.mlp.n_params()
    }

    /// The exact H, assembled on first use block by block from the layer structure
    /// ([`Mlp::hessian`]: each block one GEMM over the samples, ≈ n·p² flops, DESIGN.md §2)
    /// and kept for later factorisations, so [`super::Exact`] spends no HVPs on assembly.
    /// `None` only if the model evaluation fails.
    fn dense(&self) -> Option<&[f64]> {
        self.dense
            .get_or_init(|| self.mlp.hessian(self.theta, &self.samples).ok())
            .as_deref()
    }

    /// H v by the R-passes over the cached linearisation at θ̂ ([`super::mlp_linearised`]:
    /// the forward and backward pass run once, on the first call) \[Pearl94\].
    fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        check_len("v", self.dim(), v.len())?;
        check_len("out", self.dim(), out.len())?;
        let lin = self
            .lin
            .get_or_init(|| Linearised::new(self.mlp, self.theta, &self.samples));
        lin.hvp(self.mlp, self.theta, v, out); // H v
        Ok(())
    }

    fn hvp_many(&self, k: usize, v: &[f64], out: &mut [f64]) -> Result<()> {
        let p = self.dim();
        check_len("V", p * k, v.len())?;
        check_len("OUT", p * k, out.len())?;
        if k == 0 {
            return Ok(());
        }
        let vt = to_direction_major(p, k, v);
        // The linearised R-passes (forward and backward pass cached) beat the batched fused
        // HVP (one forward pass per call, directions in cache-sized groups) for one direction
        // only. CPU time of linearised ÷ fused, one thread, min of 5 (examples of 3–200
        // calls): digits MLP k = 1/4/8/16/64: 0.77/1.00/1.06/1.03/1.10; moons MLP
        // 0.91/1.29/1.29/1.50/1.50.
        let hv = if k == 1 {
            self.lin
                .get_or_init(|| Linearised::new(self.mlp, self.theta, &self.samples))
                .hvp_many(self.mlp, self.theta, k, &vt)
        } else {
            self.mlp.hvp_batch(self.theta, &self.samples, &vt)? // k directions, one pass
        };
        for j in 0..k {
            for i in 0..p {
                out[i * k + j] = hv[j * p + i];
            }
        }
        Ok(())
    }

    /// The exact diag H from the layer structure ([`super::mlp_diagonal::hessian_diagonal`]):
    /// one forward and backward pass, no HVPs.
    fn diagonal(&self) -> Option<Vec<f64>> {
        super::mlp_diagonal::hessian_diagonal(self.mlp, self.theta, &self.samples).ok()
    }

    fn n_samples(&self) -> Option<usize> {
        Some(self.samples.n())
    }

    fn hvp_batch(&self, batch: &[usize], v: &[f64], out: &mut [f64]) -> Result<()> {
        check_len("out", self.dim(), out.len())?;
        let (x, y, w) = rows_of(&self.samples, batch)?;
        let mut s = Samples::new(&x, self.samples.d, &y)?;
        if self.samples.w.is_some() {
            s = s.with_weights(&w)?;
        }
        let hv = self.mlp.hvp(self.theta, &s, v)?; // H_B v
        out.copy_from_slice(&hv);
        Ok(())
    }
}

/// The features, labels and weights (1 without weights) of the rows `batch` of `samples`.
fn rows_of(samples: &Samples, batch: &[usize]) -> Result<(Vec<f64>, Vec<usize>, Vec<f64>)> {
    let (n, d) = (samples.n(), samples.d);
    let mut x = Vec::with_capacity(batch.len() * d);
    let mut y = Vec::with_capacity(batch.len());
    let mut w = Vec::with_capacity(batch.len());
    for &i in batch {
        if i >= n {
            return Err(Error::IndexOutOfRange {
                what: "batch sample",
                index: i,
                len: n,
            });
        }
        x.extend_from_slice(&samples.x[i * d..(i + 1) * d]);
        y.push(samples.y[i]);
        w.push(samples.w.map_or(1.0, |w| w[i]));
    }
    Ok((x, y, w))
}

/// The Gauss-Newton matrix G = (1/n) Σ_i w_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i + μI of an
/// MLP's objective \[J\] at θ on `samples` (J_i the Jacobian of sample i's logits), as a
/// matrix-free [`HessianOperator`] over [`Mlp::gauss_newton_batch`]. G drops from H the
/// second-derivative terms of the hidden layers, so it is positive semi-definite, and
/// definite with σ_min ≥ μ, at any θ: CG and LiSSA converge on it where H is indefinite
/// (an MLP away from its optimum), at the price of approximating H. For logistic regression
/// G = H.
#[derive(Clone, Debug)]
pub struct MlpGaussNewton<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    samples: Samples<'a>,
}

impl<'a> MlpGaussNewton<'a> {
    /// The operator for `mlp` at `theta` on `samples` (weights, if any, kept).
    ///
    /// # Errors
    /// As [`MlpHessian::new`].
    pub fn new(mlp: &'a Mlp, theta: &'a [f64], samples: Samples<'a>) -> Result<Self> {
        MlpHessian::new(mlp, theta, samples)?; // the same checks
        Ok(MlpGaussNewton {
            mlp,
            theta,
            samples,
        })
    }
}

impl HessianOperator for MlpGaussNewton<'_> {
    fn dim(&self) -> usize {
        self.mlp.n_params()
    }

    fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        check_len("v", self.dim(), v.len())?;
        check_len("out", self.dim(), out.len())?;
        out.copy_from_slice(&self.mlp.gauss_newton_batch(self.theta, &self.samples, v)?);
        Ok(())
    }

    fn hvp_many(&self, k: usize, v: &[f64], out: &mut [f64]) -> Result<()> {
        let p = self.dim();
        check_len("V", p * k, v.len())?;
        check_len("OUT", p * k, out.len())?;
        if k == 0 {
            return Ok(());
        }
        let gv =
            self.mlp
                .gauss_newton_batch(self.theta, &self.samples, &to_direction_major(p, k, v))?;
        for j in 0..k {
            for i in 0..p {
                out[i * k + j] = gv[j * p + i];
            }
        }
        Ok(())
    }

    /// μ: G is a sum of positive semi-definite terms plus μI.
    fn convexity_bound(&self) -> Option<f64> {
        Some(self.mlp.l2)
    }

    fn n_samples(&self) -> Option<usize> {
        Some(self.samples.n())
    }

    fn hvp_batch(&self, batch: &[usize], v: &[f64], out: &mut [f64]) -> Result<()> {
        check_len("out", self.dim(), out.len())?;
        let (x, y, w) = rows_of(&self.samples, batch)?;
        let mut s = Samples::new(&x, self.samples.d, &y)?;
        if self.samples.w.is_some() {
            s = s.with_weights(&w)?;
        }
        out.copy_from_slice(&self.mlp.gauss_newton_batch(self.theta, &s, v)?); // G_B v
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;

    #[test]
    fn many_and_batch_agree_with_single_hvps() {
        let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
        let theta = mlp.init(1);
        let x = [0.5, -1.0, 1.5, 0.25, -0.3, 0.8];
        let y = [0, 1, 1];
        let s = Samples::new(&x, 2, &y).unwrap();
        let op = MlpHessian::new(&mlp, &theta, s).unwrap();
        let p = op.dim();
        let v: Vec<f64> = (0..2 * p)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
            .collect();
        let mut many = vec![0.0; 2 * p];
        op.hvp_many(2, &v, &mut many).unwrap();
        let mut one = vec![0.0; p];
        for j in 0..2 {
            let col: Vec<f64> = (0..p).map(|i| v[i * 2 + j]).collect();
            op.hvp(&col, &mut one).unwrap();
            for i in 0..p {
                assert!((many[i * 2 + j] - one[i]).abs() <= 1e-14 * (1.0 + one[i].abs()));
            }
        }
        // The batch of all rows is the full Hessian.
        let col: Vec<f64> = (0..p).map(|i| v[i * 2]).collect();
        let mut full = vec![0.0; p];
        op.hvp(&col, &mut full).unwrap();
        op.hvp_batch(&[0, 1, 2], &col, &mut one).unwrap();
        for i in 0..p {
            assert!((full[i] - one[i]).abs() <= 1e-14 * (1.0 + full[i].abs()));
        }
        assert!(matches!(
            op.hvp_batch(&[3], &col, &mut one),
            Err(Error::IndexOutOfRange { index: 3, .. })
        ));
    }
}
