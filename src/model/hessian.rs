//! Second-order quantities of the MLP objective \[J\]: exact Hessian-vector products and the
//! dense Hessian H = ∇²J_w(θ) of DESIGN.md §1 \[H\] (with ρ = 0).
//!
//! ```text
//! H v = (1/n) Σ_i w_i ∇²CE_i(θ) v + μ v
//! ```
//!
//! Each chunk of [`CHUNK_ROWS`] samples runs Pearlmutter's R-operator \[Pearl94\] for k
//! directions at once, written out by hand for the layer chain (`fused.rs`, used by
//! [`Mlp::hvp_batch`]) or on its own tape ([`crate::autodiff::hvp()`], used by
//! [`Mlp::hvp_batch_tape`], the oracle); chunk results are added in chunk order, so the bits
//! do not depend on the thread count. Cost: one HVP ≈ 1.5–3 gradients.
//!
//! The dense Hessian (p up to a few thousand: p² doubles) has two routes that check each
//! other: [`Mlp::hessian`] assembles it block by block from the layer structure, each block
//! one GEMM over the samples ([`blocks`], ≈ n·p² flops, DESIGN.md §2); the oracle
//! [`Mlp::hessian_with`] takes p unit-vector HVPs in batches
//! ([`HESSIAN_BATCH`](crate::autodiff::hessian::HESSIAN_BATCH) by default), ≈ p/k batched passes.

use super::loss::Samples;
use super::mlp::{CHUNK_ROWS, Mlp};
use crate::autodiff::value_grad_hvp_batch;
use crate::error::{Error, Result};

pub mod blocks;
mod fused;

use fused::Curvature;
pub use fused::GROUP_ENTRIES;

/// How a batch of second-order products is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    /// The tape's R-operator (exact Hessian; the oracle).
    Tape,
    /// The hand-written pass (`fused.rs`), for the Hessian or the Gauss-Newton matrix.
    Fused(Curvature),
}

/// Above this many entries of k·p outputs summed over the chunks, [`Mlp::hvp_batch`] adds the
/// chunks into one accumulator in order instead of computing them in parallel into
/// buffers of their own (a size rule, so the bits still do not depend on the threads).
const SEQUENTIAL_HVP_ENTRIES: usize = 1 << 20;

impl Mlp {
    /// Σ_i w_i ∇²CE_i · v_j (or the Gauss-Newton terms) over `s` for k direction-major
    /// directions, by chunks in order.
    fn weighted_loss_hvp_sum(
        &self,
        theta: &[f64],
        s: &Samples,
        v: &[f64],
        route: Route,
    ) -> Vec<f64> {
        let n = s.n();
        let chunks = n.div_ceil(CHUNK_ROWS);
        let rows = |c: usize| s.rows(c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n));
        if let Route::Fused(curvature) = route
            && v.len() * chunks > SEQUENTIAL_HVP_ENTRIES
        {
            // Large k·p: one accumulator for all chunks, in chunk order (each GEMM may use
            // the threads and computes every entry in the same order on any number of them).
            let mut acc = vec![0.0; v.len()];
            let mut scratch = fused::Scratch::default();
            for c in 0..chunks {
                self.chunk_hvp_fused(theta, &rows(c), v, &mut acc, &mut scratch, curvature);
            }
            return acc;
        }
        let parts: Vec<Vec<f64>> =
            super::scratch::map_chunks(chunks, |scratch: &mut fused::Scratch, c| {
                let chunk = rows(c);
                match route {
                    Route::Tape => {
                        value_grad_hvp_batch(
                            |tape, th| self.weighted_loss_on(tape, th, &chunk),
                            theta,
                            v,
                        )
                        .hv
                    }
                    Route::Fused(curvature) => {
                        let mut acc = vec![0.0; v.len()];
                        self.chunk_hvp_fused(theta, &chunk, v, &mut acc, scratch, curvature);
                        acc
                    }
                }
            });
        let mut hv = vec![0.0; v.len()];
        for part in parts {
            crate::kernels::axpy(1.0, &part, &mut hv); // chunk order, whatever the thread count
        }
        hv
    }

    /// H·v_j for k directions of \[J\] at θ (k = `v.len() / p`, direction-major), sharing
    /// one forward and one reverse pass per chunk \[Pearl94\]:
    /// H v = (1/n) Σ_i w_i ∇²CE_i v + μ v. Computed by the hand-written R-operator over
    /// the layer chain (`fused.rs`); [`Mlp::hvp_batch_tape`] is the same on the tape.
    ///
    /// # Errors
    /// As [`Mlp::check`]; [`Error::InvalidParam`] for an empty sample set;
    /// [`Error::ShapeMismatch`] if `v.len()` is not a positive multiple of p.
    pub fn hvp_batch(&self, theta: &[f64], s: &Samples, v: &[f64]) -> Result<Vec<f64>> {
        self.hvp_batch_with(theta, s, v, Route::Fused(Curvature::Hessian))
    }

    /// G·v_j for k directions (direction-major, as [`Mlp::hvp_batch`]), G the Gauss-Newton
    /// matrix of \[J\]: G = (1/n) Σ_i w_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i + μI, with
    /// J_i = ∂z_i/∂θ the Jacobian of sample i's logits and p_i its softmax. G drops from H
    /// the terms in the residuals' second derivatives through the hidden layers, so it is
    /// positive semi-definite (definite for μ > 0) even where H is not; it equals H for
    /// logistic regression. Same pass as the HVP without its G_l terms: a little cheaper.
    ///
    /// # Errors
    /// As [`Mlp::hvp_batch`].
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::{Mlp, Samples};
    /// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
    /// let theta = mlp.init(0);
    /// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
    /// let s = Samples::new(&x, 2, &y).unwrap();
    /// let v = vec![1.0; mlp.n_params()];
    /// let gv = mlp.gauss_newton_batch(&theta, &s, &v).unwrap();
    /// let vgv: f64 = v.iter().zip(&gv).map(|(a, b)| a * b).sum();
    /// assert!(vgv > 0.0); // positive definite with μ > 0
    /// ```
    pub fn gauss_newton_batch(&self, theta: &[f64], s: &Samples, v: &[f64]) -> Result<Vec<f64>> {
        self.hvp_batch_with(theta, s, v, Route::Fused(Curvature::GaussNewton))
    }

    /// [`Mlp::hvp_batch`] by the tape's R-operator ([`crate::autodiff::hvp_batch`]): the
    /// general engine, and the oracle of the hand-written pass.
    ///
    /// # Errors
    /// As [`Mlp::hvp_batch`].
    pub fn hvp_batch_tape(&self, theta: &[f64], s: &Samples, v: &[f64]) -> Result<Vec<f64>> {
        self.hvp_batch_with(theta, s, v, Route::Tape)
    }

    fn hvp_batch_with(
        &self,
        theta: &[f64],
        s: &Samples,
        v: &[f64],
        route: Route,
    ) -> Result<Vec<f64>> {
        self.check(theta, s)?;
        let p = self.n_params();
        if v.is_empty() || !v.len().is_multiple_of(p) {
            return Err(Error::ShapeMismatch {
                what: "directions v (k·p entries)",
                expected: p,
                found: v.len(),
            });
        }
        if s.n() == 0 {
            return Err(Error::InvalidParam {
                name: "samples",
                reason: "the objective needs at least one sample".into(),
            });
        }
        let inv_n = 1.0 / s.n() as f64;
        let mut hv = self.weighted_loss_hvp_sum(theta, s, v, route);
        for (h, vi) in hv.iter_mut().zip(v) {
            *h = *h * inv_n + self.l2 * vi; // (1/n) Σ w_i ∇²CE_i v + μ v
        }
        Ok(hv)
    }

    /// H·v, the exact Hessian-vector product of \[J\] at θ (Pearlmutter's R-operator,
    /// \[Pearl94\]). Cost ≈ 2–4 gradients.
    ///
    /// # Errors
    /// As [`Mlp::hvp_batch`]; `v.len()` must be p.
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::{Mlp, Samples};
    /// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
    /// let theta = mlp.init(0);
    /// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
    /// let s = Samples::new(&x, 2, &y).unwrap();
    /// let v = vec![1.0; mlp.n_params()];
    /// let hv = mlp.hvp(&theta, &s, &v).unwrap();
    /// assert_eq!(hv.len(), mlp.n_params());
    /// ```
    pub fn hvp(&self, theta: &[f64], s: &Samples, v: &[f64]) -> Result<Vec<f64>> {
        if v.len() != self.n_params() {
            return Err(Error::ShapeMismatch {
                what: "direction v vs model parameters",
                expected: self.n_params(),
                found: v.len(),
            });
        }
        self.hvp_batch(theta, s, v)
    }

    /// The exact Hessian H = ∇²J_w(θ) of \[J\] (p × p, row-major), from p unit-vector HVPs
    /// in batches of `batch` directions on the tape ([`Mlp::hvp_batch_tape`]): row j of H is
    /// H e_j (H is symmetric). The slow oracle for [`Mlp::hessian`]'s block assembly.
    ///
    /// # Errors
    /// As [`Mlp::hvp_batch`]; [`Error::InvalidParam`] for `batch == 0`.
    pub fn hessian_with(&self, theta: &[f64], s: &Samples, batch: usize) -> Result<Vec<f64>> {
        if batch == 0 {
            return Err(Error::InvalidParam {
                name: "batch",
                reason: "need at least one direction per pass".into(),
            });
        }
        let p = self.n_params();
        let mut h = vec![0.0; p * p];
        for start in (0..p).step_by(batch) {
            let k = batch.min(p - start);
            let mut e = vec![0.0; k * p];
            for j in 0..k {
                e[j * p + start + j] = 1.0; // e_{start+j}
            }
            let block = self.hvp_batch_tape(theta, s, &e)?; // rows start..start+k of H
            h[start * p..(start + k) * p].copy_from_slice(&block);
        }
        Ok(h)
    }

    /// The exact Hessian H = ∇²J_w(θ) of \[J\] at θ, p × p row-major and exactly symmetric,
    /// assembled block by block from the layer structure ([`blocks`]): each block is one GEMM
    /// over the samples, ≈ n·p² flops in all (several times cheaper than p HVPs, which
    /// [`Mlp::hessian_with`] keeps as the oracle). For p up to a few thousand.
    ///
    /// # Errors
    /// As [`Mlp::check`]; [`Error::InvalidParam`] for an empty sample set.
    ///
    /// # Examples
    /// ```
    /// use puma::autodiff::Activation;
    /// use puma::model::{Mlp, Samples};
    /// let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
    /// let theta = mlp.init(0);
    /// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
    /// let s = Samples::new(&x, 2, &y).unwrap();
    /// let h = mlp.hessian(&theta, &s).unwrap(); // blocks
    /// let oracle = mlp.hessian_with(&theta, &s, 4).unwrap(); // p HVPs
    /// assert!(h.iter().zip(&oracle).all(|(a, b)| (a - b).abs() < 1e-14));
    /// ```
    pub fn hessian(&self, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
        self.check(theta, s)?;
        if s.n() == 0 {
            return Err(Error::InvalidParam {
                name: "samples",
                reason: "the objective needs at least one sample".into(),
            });
        }
        Ok(self.hessian_blocks(theta, s))
    }
}
