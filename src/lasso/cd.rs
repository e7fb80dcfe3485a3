//! The coordinate sweep [FHT10, §2.1–2.2]: exact minimisation of P along one coordinate at a
//! time, the clipped soft-threshold
//!
//! ```text
//!     λ_j ← clip( S(λ_j + a_jᵀr/‖a_j‖², αc_j/‖a_j‖²), ℓ_j, u_j ),   S(x, t) = sign(x)(|x| − t)⁺,
//! ```
//!
//! over two ways of knowing a_jᵀr ("covariance updates" in [FHT10, §2.2]):
//! - [`Residual`]: keep r = b − Aλ; a_jᵀr is one `dot` (2m flops) and a change δ of λ_j is one
//!   `axpy` r ← r − δa_j (2m flops);
//! - [`Gram`]: keep g = Aᵀr = Aᵀb − AᵀAλ; a_jᵀr = g_j is free and a change is g ← g − δ·(AᵀA)_j
//!   (2p flops), after an m·p(p+1) flop set-up.

use super::solve::Spec;
use puma_kernels::{axpy, dot};

/// What a sweep needs: correlations a_jᵀr, a rank-one residual update, and ‖r‖², bᵀr.
pub(crate) trait Backend {
    /// a_jᵀr.
    fn corr(&self, j: usize) -> f64;
    /// r ← r − δ a_j.
    fn step(&mut self, j: usize, delta: f64);
    /// (bᵀr, ‖r‖²); `support` holds every j with λ_j ≠ 0.
    fn br_rr(&self, lambda: &[f64], support: &[usize]) -> (f64, f64);
    /// Remember the state (r or g) so that [`Backend::restore`] can return to it.
    fn save(&mut self);
    /// Return to the state of the last [`Backend::save`].
    fn restore(&mut self);
}

/// Residual mode: r = b − Aλ kept explicitly (m doubles).
pub(crate) struct Residual<'s> {
    spec: &'s Spec<'s>,
    r: Vec<f64>,
    saved: Vec<f64>,
}

impl<'s> Residual<'s> {
    /// r = b − Aλ for a starting λ.
    pub(crate) fn new(spec: &'s Spec<'s>, lambda: &[f64]) -> Self {
        let mut r = spec.b.to_vec();
        for (j, &lj) in lambda.iter().enumerate() {
            if lj != 0.0 {
                axpy(-lj, spec.col(j), &mut r);
            }
        }
        Residual {
            spec,
            r,
            saved: Vec::new(),
        }
    }
}

impl Backend for Residual<'_> {
    #[inline]
    fn corr(&self, j: usize) -> f64 {
        dot(self.spec.col(j), &self.r)
    }
    #[inline]
    fn step(&mut self, j: usize, delta: f64) {
        axpy(-delta, self.spec.col(j), &mut self.r);
    }
    fn br_rr(&self, _lambda: &[f64], _support: &[usize]) -> (f64, f64) {
        (dot(self.spec.b, &self.r), dot(&self.r, &self.r))
    }
    fn save(&mut self) {
        self.saved.clone_from(&self.r);
    }
    fn restore(&mut self) {
        self.r.clone_from(&self.saved);
    }
}

/// Gram mode: Q = AᵀA (p × p, symmetric, stored whole so each column is contiguous),
/// q = Aᵀb, g = q − Qλ.
pub(crate) struct Gram {
    p: usize,
    q_mat: Vec<f64>,
    q: Vec<f64>,
    g: Vec<f64>,
    saved: Vec<f64>,
    bb: f64,
}

impl Gram {
    /// Q, q and g for a starting λ: p(p+1)/2 + p dots of length m.
    pub(crate) fn new(spec: &Spec, lambda: &[f64]) -> Self {
        let p = spec.p;
        let mut q_mat = vec![0.0; p * p];
        for j in 0..p {
            for i in 0..=j {
                let v = dot(spec.col(i), spec.col(j)); // (AᵀA)_ij
                q_mat[j * p + i] = v;
                q_mat[i * p + j] = v;
            }
        }
        let q = spec.atb.clone(); // Aᵀb
        let mut g = q.clone();
        for (j, &lj) in lambda.iter().enumerate() {
            if lj != 0.0 {
                axpy(-lj, &q_mat[j * p..(j + 1) * p], &mut g); // g = Aᵀb − AᵀAλ
            }
        }
        Gram {
            p,
            q_mat,
            q,
            g,
            saved: Vec::new(),
            bb: dot(spec.b, spec.b),
        }
    }
}

impl Backend for Gram {
    #[inline]
    fn corr(&self, j: usize) -> f64 {
        self.g[j]
    }
    #[inline]
    fn step(&mut self, j: usize, delta: f64) {
        let p = self.p;
        axpy(-delta, &self.q_mat[j * p..(j + 1) * p], &mut self.g);
    }
    fn br_rr(&self, lambda: &[f64], support: &[usize]) -> (f64, f64) {
        // bᵀr = ‖b‖² − λᵀAᵀb; ‖r‖² = bᵀr − λᵀAᵀr (rounding floor O(ε‖b‖²)).
        let lq: f64 = support.iter().map(|&j| lambda[j] * self.q[j]).sum();
        let lg: f64 = support.iter().map(|&j| lambda[j] * self.g[j]).sum();
        let br = self.bb - lq;
        (br, (br - lg).max(0.0))
    }
    fn save(&mut self) {
        self.saved.clone_from(&self.g);
    }
    fn restore(&mut self) {
        self.g.clone_from(&self.saved);
    }
}

/// S(x, t) = sign(x)·max(|x| − t, 0).
#[inline]
pub(crate) fn soft_threshold(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

/// One cyclic sweep over `cols` (each column with ‖a_j‖² > 0); returns the change of
/// Σ_j αc_j|λ_j| so the caller can track the penalty without an O(p) sum.
pub(crate) fn sweep<B: Backend>(
    spec: &Spec,
    be: &mut B,
    cols: &[usize],
    lambda: &mut [f64],
) -> f64 {
    let mut d_pen = 0.0;
    for &j in cols {
        let old = lambda[j];
        let inv = spec.inv_norm2[j];
        let target = old + be.corr(j) * inv; // unpenalised coordinate minimiser
        let new = soft_threshold(target, spec.pen[j] * inv).clamp(spec.lower[j], spec.upper[j]);
        if new != old {
            be.step(j, new - old);
            lambda[j] = new;
            d_pen += spec.pen[j] * (new.abs() - old.abs());
        }
    }
    d_pen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_threshold_shrinks_towards_zero() {
        assert_eq!(soft_threshold(3.0, 1.0), 2.0);
        assert_eq!(soft_threshold(-3.0, 1.0), -2.0);
        assert_eq!(soft_threshold(0.5, 1.0), 0.0);
        assert_eq!(soft_threshold(-1.0, 1.0), 0.0);
        assert_eq!(soft_threshold(2.0, 0.0), 2.0);
    }
}
