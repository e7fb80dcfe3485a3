//! Lanczos estimates of the extreme eigenvalues σ_min, σ_max of H_ρ = H + ρI (DESIGN.md §1
//! \[H\]): LiSSA's scale s > (σ_max + ρ)/2 \[LiSSA\], the condition number in reports, and
//! damping advice.
//!
//! k steps of the Lanczos recurrence from a seeded unit vector q₁ build an orthonormal basis
//! Q_k of the Krylov space and the tridiagonal T_k = Q_kᵀ H_ρ Q_k [NW06, §5.1]:
//!
//! ```text
//! w = H_ρ q_j − β_{j−1} q_{j−1},  α_j = q_jᵀw,  w ← w − α_j q_j,
//! w ← w − Q_j(Q_jᵀw)   (full reorthogonalisation, twice),  β_j = ‖w‖,  q_{j+1} = w/β_j
//! ```
//!
//! The extreme eigenvalues of T_k (bisection on Sturm counts,
//! [`crate::autodiff::eigen::tridiagonal_eigenvalue`]) are the Ritz values θ_min ≥ σ_min and
//! θ_max ≤ σ_max (Cauchy interlacing): estimates from inside the spectrum, not certified
//! bounds. The extreme ones converge first, θ_max typically to a few digits in 20–30 steps.
//! Full reorthogonalisation keeps Q_k orthonormal at k·p memory and O(k²p) flops.
//!
//! Cost: k HVPs.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{HessianOperator, check_rho, damped_hvp};
use crate::autodiff::eigen::tridiagonal_eigenvalue;
use crate::error::{Error, Result};
use crate::kernels;

/// Settings of [`lanczos`].
#[derive(Clone, Debug, PartialEq)]
pub struct LanczosParams {
    /// Damping ρ of \[H\]. Default 0; finite, ≥ 0.
    pub rho: f64,
    /// Lanczos steps k (capped at p). Default 30; ≥ 1.
    pub steps: usize,
    /// Seed of the start vector (ChaCha8). Default 0.
    pub seed: u64,
}

impl Default for LanczosParams {
    fn default() -> Self {
        LanczosParams {
            rho: 0.0,
            steps: 30,
            seed: 0,
        }
    }
}

/// Ritz estimates of the extreme eigenvalues of H_ρ.
#[derive(Clone, Debug, PartialEq)]
pub struct LanczosEstimate {
    /// θ_min, the smallest Ritz value (≥ σ_min(H_ρ) up to rounding).
    pub sigma_min: f64,
    /// θ_max, the largest Ritz value (≤ σ_max(H_ρ) up to rounding).
    pub sigma_max: f64,
    /// Steps taken (fewer than asked when the Krylov space became invariant).
    pub steps: usize,
    /// HVPs spent (= steps).
    pub hvps: usize,
    /// β_k, the last off-diagonal: every Ritz value is within β_k of an eigenvalue
    /// (0 when the space became invariant: the Ritz values are then eigenvalues).
    pub beta_last: f64,
}

impl LanczosEstimate {
    /// The estimated condition number θ_max/θ_min (∞ if θ_min ≤ 0).
    pub fn condition(&self) -> f64 {
        if self.sigma_min > 0.0 {
            self.sigma_max / self.sigma_min
        } else {
            f64::INFINITY
        }
    }

    /// Damping advice: the ρ' ≥ 0 to add so that the estimated condition number of
    /// H_{ρ+ρ'} is at most `target`, (θ_max − target·θ_min)/(target − 1), clipped at 0.
    pub fn damping_for_condition(&self, target: f64) -> f64 {
        ((self.sigma_max - target * self.sigma_min) / (target - 1.0)).max(0.0)
    }
}

/// k Lanczos steps with full reorthogonalisation on H_ρ from a seeded start vector.
///
/// # Errors
/// [`Error::InvalidParam`] for ρ < 0, `steps == 0` or p = 0; errors of `op`'s HVPs;
/// [`Error::NonFinite`] if an HVP returns NaN or ±∞.
///
/// # Examples
/// ```
/// use puma::solvers::{DenseHessian, LanczosParams, lanczos};
/// let h = DenseHessian::new(3, vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 5.0]).unwrap();
/// let est = lanczos(&h, &LanczosParams::default()).unwrap(); // 3 steps span R³: exact
/// assert!((est.sigma_min - 1.0).abs() < 1e-12 && (est.sigma_max - 5.0).abs() < 1e-12);
/// ```
#[allow(non_snake_case)]
pub fn lanczos(op: &dyn HessianOperator, params: &LanczosParams) -> Result<LanczosEstimate> {
    check_rho(params.rho)?;
    let p = op.dim();
    if params.steps == 0 || p == 0 {
        return Err(Error::InvalidParam {
            name: "steps",
            reason: format!(
                "need ≥ 1 step on a non-empty operator (steps {}, p {p})",
                params.steps
            ),
        });
    }
    let k = params.steps.min(p);
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut q: Vec<f64> = (0..p).map(|_| rng.random::<f64>() - 0.5).collect();
    let norm = kernels::nrm2(&q);
    kernels::scal(1.0 / norm, &mut q);
    let mut Q: Vec<Vec<f64>> = Vec::with_capacity(k);
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) =
        (Vec::with_capacity(k), Vec::with_capacity(k));
    let mut w = vec![0.0; p];
    let mut beta_last = 0.0;
    for j in 0..k {
        damped_hvp(op, params.rho, &q, &mut w)?; // H_ρ q_j
        super::check_finite("Lanczos HVP", &w)?;
        if j > 0 {
            kernels::axpy(-beta[j - 1], &Q[j - 1], &mut w);
        }
        let a = kernels::dot(&q, &w);
        kernels::axpy(-a, &q, &mut w);
        alpha.push(a);
        Q.push(q.clone());
        for _ in 0..2 {
            for qi in &Q {
                let c = kernels::dot(qi, &w);
                kernels::axpy(-c, qi, &mut w); // full reorthogonalisation
            }
        }
        let b = kernels::nrm2(&w);
        beta_last = b;
        if j + 1 == k || b <= 1e-14 * a.abs().max(f64::MIN_POSITIVE) {
            if b <= 1e-14 * a.abs().max(f64::MIN_POSITIVE) {
                beta_last = 0.0; // invariant subspace: Ritz values are eigenvalues
            }
            break;
        }
        beta.push(b);
        q.iter_mut().zip(&w).for_each(|(qi, wi)| *qi = wi / b);
    }
    let m = alpha.len();
    let e = &beta[..m - 1];
    Ok(LanczosEstimate {
        sigma_min: tridiagonal_eigenvalue(&alpha, e, 0),
        sigma_max: tridiagonal_eigenvalue(&alpha, e, m - 1),
        steps: m,
        hvps: m,
        beta_last,
    })
}

#[cfg(test)]
mod tests {
    use super::super::DenseHessian;
    use super::*;

    #[test]
    fn ritz_values_lie_inside_the_spectrum_and_converge_at_the_top() {
        // diag(1..=100)/100 + ρ: σ_min = 0.01 + ρ, σ_max = 1 + ρ.
        let p = 100;
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            h[i * p + i] = (i + 1) as f64 / 100.0;
        }
        let op = DenseHessian::new(p, h).unwrap();
        let rho = 0.5;
        let est = lanczos(
            &op,
            &LanczosParams {
                rho,
                steps: 25,
                seed: 3,
            },
        )
        .unwrap();
        assert_eq!((est.steps, est.hvps), (25, 25));
        assert!(est.sigma_max <= 1.0 + rho + 1e-12 && est.sigma_max > 0.99 * (1.0 + rho));
        assert!(est.sigma_min >= 0.01 + rho - 1e-12);
        let full = lanczos(
            &op,
            &LanczosParams {
                rho,
                steps: p,
                seed: 3,
            },
        )
        .unwrap();
        assert!((full.sigma_min - (0.01 + rho)).abs() < 1e-10);
        assert!((full.sigma_max - (1.0 + rho)).abs() < 1e-10);
    }
}
