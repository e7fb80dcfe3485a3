//! LiSSA: the stochastic Neumann-series inverse-HVP of \[LiSSA\] as used for influence by
//! [KL17, §3], on H_ρ = H + ρI of DESIGN.md §1 \[H\]:
//!
//! ```text
//! x₀ = b,   x_{t+1} = b + x_t − (H_{B_t} + ρI) x_t / s,   answer x_T / s
//! ```
//!
//! with B_t a seeded uniform batch of samples (H_B its mean-loss Hessian plus μI, an unbiased
//! estimate of H). The fixed point is x = s H_ρ⁻¹ b; the iteration contracts when
//! ‖I − (H_B + ρI)/s‖ < 1, i.e. H_B + ρI ≻ 0 and s > (σ_max(H_B) + ρ)/2 (DESIGN.md §2). The
//! error after T steps (full batches) is ‖(I − H_ρ/s)^T‖ ≤ (1 − (σ_min + ρ)/s)^T of the
//! answer: depth T ≈ (s/(σ_min + ρ))·ln(1/tol), which the default chooses with ρ + μ in
//! place of σ_min + ρ (μ the operator's convexity bound, else 0). The answer is averaged over
//! `repeats` runs.
//!
//! Scale: unless given, s = `scale_safety`·(θ_max + ρ) with θ_max a [`lanczos`] estimate of
//! σ_max(H) (twice the convergence threshold for the full Hessian at safety 1).
//!
//! Growth detection, never NaN: if every step contracts, ‖x_t‖ ≤ (t + 1)‖b‖. A larger or
//! non-finite ‖x_t‖ proves some batch had ‖I − (H_B + ρI)/s‖ > 1, so the run restarts with
//! s doubled (at most `max_restarts` times, then [`Error::NoConvergence`]).
//!
//! Cost: depth × repeats batch HVPs (each |B|/n of a full HVP), plus the Lanczos steps and
//! one full HVP for the report's true residual.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lanczos::{LanczosParams, lanczos};
use super::{
    HessianOperator, InverseHvp, Method, SolveReport, Stop, certify, check_rho, check_rhs,
    convexity_sigma,
};
use crate::error::{Error, Result};
use crate::kernels;

/// Settings of [`Lissa`].
#[derive(Clone, Debug, PartialEq)]
pub struct LissaParams {
    /// Damping ρ of \[H\]. Default 0; finite, ≥ 0 (LiSSA needs H_B + ρI ≻ 0).
    pub rho: f64,
    /// Steps T per repeat; `None` chooses T = ⌈s/(ρ + μ)·ln(1/depth_tol)⌉ (μ the operator's
    /// convexity bound, 0 if unknown), at most `max_depth`. Default `None`; ≥ 1 when given.
    pub depth: Option<usize>,
    /// Target contraction of the slowest component for the automatic depth. Default 1e-2;
    /// in (0, 1).
    pub depth_tol: f64,
    /// Cap on the automatic depth. Default 20,000; ≥ 1.
    pub max_depth: usize,
    /// Independent runs averaged. Default 1; ≥ 1.
    pub repeats: usize,
    /// Samples per batch; the full HVP when ≥ n or when the operator has no samples.
    /// Default 512; ≥ 1 (on the digits MLP `[64,32,10]` at ρ = 0.01, seeds 0-2, 256 gave max
    /// relative errors of 6.0/5.1/2.3% against exact, 512 gave 2.6/2.8/4.1% for the same
    /// number of steps).
    pub batch_size: usize,
    /// The scale s; `None` chooses it from a Lanczos estimate of σ_max. Default `None`;
    /// > 0 when given.
    pub scale: Option<f64>,
    /// s = scale_safety·(θ_max + ρ) when chosen automatically. Default 1.0; > 0.5.
    pub scale_safety: f64,
    /// Lanczos steps for the automatic scale. Default 20; ≥ 1.
    pub lanczos_steps: usize,
    /// Restarts with s doubled after detected growth. Default 10.
    pub max_restarts: usize,
    /// Seed of the batch sampler (ChaCha8) and the Lanczos start vector. Default 0.
    pub seed: u64,
}

impl Default for LissaParams {
    fn default() -> Self {
        LissaParams {
            rho: 0.0,
            depth: None,
            depth_tol: 1e-2,
            max_depth: 20_000,
            repeats: 1,
            batch_size: 512,
            scale: None,
            scale_safety: 1.0,
            lanczos_steps: 20,
            max_restarts: 10,
            seed: 0,
        }
    }
}

/// The LiSSA solver (stateless between solves; each solve reseeds from `seed`).
///
/// # Examples
/// ```
/// use puma::solvers::{DenseHessian, InverseHvp, Lissa, LissaParams};
/// let h = DenseHessian::new(2, vec![4.0, 2.0, 2.0, 10.0]).unwrap();
/// let params = LissaParams { depth: Some(200), ..LissaParams::default() };
/// let mut lissa = Lissa::new(params).unwrap();
/// let (x, report) = lissa.solve(&h, &[7.0, 8.0]).unwrap(); // x* = (1.5, 0.5)
/// assert!((x[0] - 1.5).abs() < 1e-10 && (x[1] - 0.5).abs() < 1e-10);
/// assert!(report.scale.unwrap() > 5.0); // s ≥ (σ_max + ρ)/2 ≈ 5.6
/// ```
#[derive(Clone, Debug)]
pub struct Lissa {
    params: LissaParams,
}

impl Lissa {
    /// A solver with `params`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a parameter outside its range.
    pub fn new(params: LissaParams) -> Result<Self> {
        check_rho(params.rho)?;
        let bad = |name: &'static str, reason: String| Err(Error::InvalidParam { name, reason });
        if params.depth == Some(0)
            || params.max_depth == 0
            || params.repeats == 0
            || params.batch_size == 0
        {
            return bad(
                "depth/max_depth/repeats/batch_size",
                format!(
                    "must be ≥ 1, got {:?}/{}/{}/{}",
                    params.depth, params.max_depth, params.repeats, params.batch_size
                ),
            );
        }
        if !(params.depth_tol > 0.0 && params.depth_tol < 1.0) {
            return bad(
                "depth_tol",
                format!("must be in (0, 1), got {}", params.depth_tol),
            );
        }
        match params.scale {
            Some(s) if !(s.is_finite() && s > 0.0) => {
                return bad("scale", format!("must be finite and > 0, got {s}"));
            }
            _ => {}
        }
        if !(params.scale_safety.is_finite() && params.scale_safety > 0.5) {
            return bad(
                "scale_safety",
                format!("must be > 0.5, got {}", params.scale_safety),
            );
        }
        if params.lanczos_steps == 0 {
            return bad("lanczos_steps", "must be ≥ 1".into());
        }
        Ok(Lissa { params })
    }
}

impl InverseHvp for Lissa {
    fn solve(&mut self, op: &dyn HessianOperator, b: &[f64]) -> Result<(Vec<f64>, SolveReport)> {
        check_rhs(op, b)?;
        let prm = &self.params;
        let (p, rho) = (op.dim(), prm.rho);
        let sigma = convexity_sigma(op, rho);
        let mut hvps = 0;
        let mut s = match prm.scale {
            Some(s) => s,
            None => {
                let est = lanczos(
                    op,
                    &LanczosParams {
                        rho: 0.0,
                        steps: prm.lanczos_steps,
                        seed: prm.seed,
                    },
                )?;
                hvps += est.hvps;
                prm.scale_safety * (est.sigma_max.max(0.0) + rho)
            }
        };
        if s <= 0.0 {
            s = 1.0; // H = 0 and ρ = 0: any s; the iteration then grows and says so
        }
        let depth = |s: f64| match prm.depth {
            Some(t) => t,
            None => {
                let lower = rho + op.convexity_bound().unwrap_or(0.0); // ≤ σ_min(H_ρ)
                let t = (s / lower * (1.0 / prm.depth_tol).ln()).ceil(); // (1 − lower/s)^T ≤ tol
                if t.is_finite() {
                    (t as usize).clamp(1, prm.max_depth)
                } else {
                    prm.max_depth
                }
            }
        };
        let b_norm = kernels::nrm2(b);
        let n = op.n_samples().filter(|&n| prm.batch_size < n);
        let mut restarts = 0;
        let mut history = Vec::new();
        let mut avg = vec![0.0; p];
        let mut iterations = 0;
        'restart: loop {
            avg.iter_mut().for_each(|a| *a = 0.0);
            let mut rng = ChaCha8Rng::seed_from_u64(prm.seed);
            let mut batch = vec![0usize; prm.batch_size];
            let mut hx = vec![0.0; p];
            for _ in 0..prm.repeats {
                let mut x = b.to_vec(); // x₀ = b
                history.clear();
                for t in 0..depth(s) {
                    match n {
                        Some(n) => {
                            batch.iter_mut().for_each(|i| *i = rng.random_range(0..n));
                            op.hvp_batch(&batch, &x, &mut hx)?; // H_B x
                        }
                        None => op.hvp(&x, &mut hx)?,
                    }
                    hvps += 1;
                    iterations += 1;
                    let mut step2 = 0.0;
                    for ((xi, hi), bi) in x.iter_mut().zip(&hx).zip(b) {
                        let step = bi - (hi + rho * *xi) / s; // b − (H_B + ρI)x/s
                        *xi += step;
                        step2 += step * step;
                    }
                    history.push(step2.sqrt() / b_norm.max(f64::MIN_POSITIVE));
                    let x_norm = kernels::nrm2(&x);
                    if !x_norm.is_finite() || x_norm > (t as f64 + 2.0) * b_norm * (1.0 + 1e-8) {
                        // ‖x_{t+1}‖ > (t + 2)‖b‖: some step expanded
                        if restarts == prm.max_restarts {
                            return Err(Error::NoConvergence {
                                method: "lissa",
                                iters: iterations,
                                achieved: f64::INFINITY,
                                target: 1.0,
                            });
                        }
                        restarts += 1;
                        s *= 2.0;
                        continue 'restart;
                    }
                }
                kernels::axpy(1.0 / (s * prm.repeats as f64), &x, &mut avg); // mean of x_T/s
            }
            break;
        }
        let (residual_norm, rel_residual, error_bound) = certify(op, rho, &avg, b, sigma)?;
        Ok((
            avg,
            SolveReport {
                method: Method::Lissa,
                rho,
                iterations,
                hvps: hvps + 1,
                residual_history: history,
                stop: Stop::DepthReached,
                restarts,
                scale: Some(s),
                rel_residual,
                residual_norm,
                sigma,
                error_bound,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::DenseHessian;
    use super::*;

    #[test]
    fn too_small_a_scale_restarts_instead_of_overflowing() {
        let h = DenseHessian::new(2, vec![4.0, 0.0, 0.0, 1.0]).unwrap();
        let mut lissa = Lissa::new(LissaParams {
            scale: Some(0.3), // needs s > 2 (at s = 2 the λ = 4 component oscillates)
            depth: Some(300),
            ..LissaParams::default()
        })
        .unwrap();
        let (x, rep) = lissa.solve(&h, &[4.0, 1.0]).unwrap();
        assert_eq!((rep.restarts, rep.scale), (3, Some(2.4))); // 0.3 → 0.6 → 1.2 → 2.4
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn indefinite_hessian_is_no_convergence_not_nan() {
        let h = DenseHessian::new(2, vec![1.0, 0.0, 0.0, -1.0]).unwrap();
        let mut lissa = Lissa::new(LissaParams {
            max_restarts: 3,
            ..LissaParams::default()
        })
        .unwrap();
        assert!(matches!(
            lissa.solve(&h, &[1.0, 1.0]),
            Err(Error::NoConvergence {
                method: "lissa",
                ..
            })
        ));
    }
}
