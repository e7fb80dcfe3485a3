//! Newton polish: from an L-BFGS result, Newton steps with the exact Hessian of \[J\] to the
//! rounding floor of ∇J (DESIGN.md §1 \[H\], \[retrain-w\]).
//!
//! For logistic regression (`sizes = [d, K]`), x̃_i = (x_i, 1) and p_i = softmax(z_i), the
//! Hessian has the closed form
//!
//! ```text
//! H = (1/n) Σ_i w_i (diag(p_i) − p_i p_iᵀ) ⊗ x̃_i x̃_iᵀ + μI,
//! ```
//!
//! with θ's layout mapping class k and feature j < d to index k·d + j and the bias of class
//! k to K·d + k (all weights before the biases, DESIGN.md §4). Each block (k, l) is one GEMM
//! X̃ᵀ diag(c_kl) X̃ over the samples: K(K+1)/2 GEMMs of 2n(d+1)² flops. For MLPs with hidden
//! layers H is assembled from exact Hessian-vector products ([`Mlp::hessian`], Pearlmutter's
//! R-operator \[Pearl94\]): p HVPs in batches, so only small p (≤ `NewtonParams::max_params`).
//! A Newton step θ ← θ − H⁻¹∇J solves with the Cholesky factor (`puma_kernels::potrf`,
//! p³/3 flops); from ‖∇J‖∞ ≈ 1e-8 one or two steps reach the rounding floor (quadratic
//! convergence) [NW06, Thm. 3.5]. An H that is not positive definite (a saddle, or μ = 0 on
//! separable data) is reported as [`Error::NotPositiveDefinite`]; [`super::train`] then keeps
//! the L-BFGS path.

use super::{Stop, TrainInfo, inf_norm};
use crate::autodiff::matmul::matmul;
use crate::autodiff::op::softmax_rows;
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};

/// Settings of [`newton_polish_logistic`].
#[derive(Clone, Debug, PartialEq)]
pub struct NewtonParams {
    /// Newton steps at most. Default 10; ≥ 1.
    pub max_iters: usize,
    /// Stop when ‖∇J‖∞ ≤ this. Default 1e-12; > 0.
    pub grad_tol: f64,
    /// Largest p for which [`super::train`] polishes an MLP with hidden layers through its
    /// exact Hessian (p² doubles and ≈ p/32 batched HVP passes per step). Default 1000;
    /// larger models keep the L-BFGS-only path. Logistic regression is always polished.
    pub max_params: usize,
}

impl Default for NewtonParams {
    fn default() -> Self {
        NewtonParams {
            max_iters: 10,
            grad_tol: 1e-12,
            max_params: 1000,
        }
    }
}

/// The exact Hessian ∇²J_w(θ) of a logistic regression (`sizes = [d, K]`), p × p row-major.
///
/// # Errors
/// [`Error::InvalidParam`] if the model has hidden layers; as [`Mlp::check`] otherwise.
#[allow(non_snake_case)]
pub fn logistic_hessian(mlp: &Mlp, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
    if mlp.sizes().len() != 2 {
        return Err(Error::InvalidParam {
            name: "model",
            reason: format!(
                "the closed-form Hessian is for logistic regression, not sizes {:?}",
                mlp.sizes()
            ),
        });
    }
    mlp.check(theta, s)?;
    let (n, d, K) = (s.n(), mlp.n_features(), mlp.n_classes());
    let p = mlp.n_params();
    let (P, _) = softmax_rows(&mlp.logits(theta, s.x)); // p_i = softmax(z_i)
    let dd = d + 1;
    let mut Xt = vec![0.0; n * dd]; // X̃ = [X, 1]
    for i in 0..n {
        Xt[i * dd..i * dd + d].copy_from_slice(&s.x[i * d..(i + 1) * d]);
        Xt[i * dd + d] = 1.0;
    }
    let index = |k: usize, j: usize| if j < d { k * d + j } else { K * d + k };
    let mut H = vec![0.0; p * p];
    let mut Y = vec![0.0; n * dd];
    let mut B = vec![0.0; dd * dd];
    let inv_n = 1.0 / n as f64;
    for k in 0..K {
        for l in k..K {
            for i in 0..n {
                let w = s.w.map_or(1.0, |w| w[i]);
                let (pk, pl) = (P.get(i, k), P.get(i, l));
                let c = w * inv_n * (if k == l { pk } else { 0.0 } - pk * pl); // (diag(p) − ppᵀ)_kl
                for (y, x) in Y[i * dd..(i + 1) * dd]
                    .iter_mut()
                    .zip(&Xt[i * dd..(i + 1) * dd])
                {
                    *y = c * x;
                }
            }
            matmul(dd, n, dd, &Xt, true, &Y, false, &mut B, false); // X̃ᵀ diag(c) X̃
            for j in 0..dd {
                for m in 0..dd {
                    let v = B[j * dd + m];
                    H[index(k, j) * p + index(l, m)] = v;
                    H[index(l, m) * p + index(k, j)] = v;
                }
            }
        }
    }
    for i in 0..p {
        H[i * p + i] += mlp.l2; // + μI
    }
    Ok(H)
}

/// Newton's method on \[J\] for logistic regression from `theta` (typically an L-BFGS result),
/// until ‖∇J‖∞ ≤ `grad_tol` or the gradient stops shrinking (the rounding floor).
///
/// # Errors
/// As [`logistic_hessian`]; [`Error::NotPositiveDefinite`] if H is not (numerically)
/// positive definite (μ = 0 on separable data).
pub fn newton_polish_logistic(
    mlp: &Mlp,
    theta: Vec<f64>,
    s: &Samples,
    params: &NewtonParams,
) -> Result<(Vec<f64>, TrainInfo)> {
    newton_with(mlp, theta, s, params, &|t| logistic_hessian(mlp, t, s))
}

/// Newton's method on \[J\] for any MLP from `theta` (typically an L-BFGS result) with the
/// exact Hessian: the closed form for logistic regression, else [`Mlp::hessian`] from
/// batched Pearlmutter HVPs \[Pearl94\]. Stops at ‖∇J‖∞ ≤ `grad_tol` or at the rounding floor.
///
/// # Errors
/// As [`Mlp::hessian`]; [`Error::NotPositiveDefinite`] if H is not (numerically) positive
/// definite (a saddle point, or μ = 0 on separable data); [`Error::InvalidParam`] for bad
/// `params`.
pub fn newton_polish(
    mlp: &Mlp,
    theta: Vec<f64>,
    s: &Samples,
    params: &NewtonParams,
) -> Result<(Vec<f64>, TrainInfo)> {
    if mlp.sizes().len() == 2 {
        newton_polish_logistic(mlp, theta, s, params)
    } else {
        newton_with(mlp, theta, s, params, &|t| mlp.hessian(t, s))
    }
}

/// Newton steps with the Hessian from `hessian` (p × p row-major).
#[allow(non_snake_case)]
fn newton_with(
    mlp: &Mlp,
    theta: Vec<f64>,
    s: &Samples,
    params: &NewtonParams,
    hessian: &dyn Fn(&[f64]) -> Result<Vec<f64>>,
) -> Result<(Vec<f64>, TrainInfo)> {
    if params.max_iters == 0 || params.grad_tol.is_nan() || params.grad_tol <= 0.0 {
        return Err(Error::InvalidParam {
            name: "NewtonParams",
            reason: format!(
                "need max_iters ≥ 1 and grad_tol > 0; got {}, {}",
                params.max_iters, params.grad_tol
            ),
        });
    }
    let p = mlp.n_params();
    let mut theta = theta;
    let (mut value, mut grad) = mlp.value_and_grad(&theta, s)?;
    let (mut iters, mut evals) = (0, 1);
    let mut stop = Stop::MaxIters;
    while iters < params.max_iters {
        if inf_norm(&grad) <= params.grad_tol {
            stop = Stop::Converged;
            break;
        }
        let mut H = hessian(&theta)?; // ∇²J(θ) [H]
        puma_kernels::potrf(puma_kernels::Uplo::Lower, p, &mut H, p).map_err(|e| {
            Error::NotPositiveDefinite {
                pivot: e.pivot,
                value: e.value,
            }
        })?;
        let mut delta = grad.clone();
        puma_kernels::potrs(puma_kernels::Uplo::Lower, p, 1, &H, p, &mut delta, 1); // H⁻¹∇J
        // Full step, halved while J rises beyond its rounding (far from θ̂ only).
        let mut t = 1.0;
        let (cand, v, g) = loop {
            let cand: Vec<f64> = theta.iter().zip(&delta).map(|(a, b)| a - t * b).collect();
            let (v, g) = mlp.value_and_grad(&cand, s)?;
            evals += 1;
            if v <= value + 1e-13 * value.abs() || t < 1e-3 {
                break (cand, v, g);
            }
            t *= 0.5;
        };
        iters += 1;
        if inf_norm(&g) >= inf_norm(&grad) {
            stop = Stop::Stalled; // the rounding floor: keep the better point
            break;
        }
        (theta, value, grad) = (cand, v, g);
    }
    if inf_norm(&grad) <= params.grad_tol {
        stop = Stop::Converged;
    }
    let info = TrainInfo {
        iters,
        evals,
        objective: value,
        grad_inf: inf_norm(&grad),
        stop,
    };
    Ok((theta, info))
}
