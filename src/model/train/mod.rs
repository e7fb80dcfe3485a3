//! Training: minimising [J] to a true optimum θ̂, where influence functions are meaningful.
//!
//! [`train`] starts from a seeded initialisation and runs full-batch L-BFGS with a
//! strong-Wolfe line search ([`lbfgs()`]) to ‖∇J‖∞ ≤ 1e-10, then, for logistic regression, a
//! Newton polish with the closed-form Hessian ([`newton`]) to ‖∇J‖∞ ≤ 1e-12 ([retrain-w] of
//! DESIGN.md §1). For MLPs with hidden layers, whose exact Hessian needs the HVPs of issue 5,
//! L-BFGS itself continues to the polish tolerance; its approximate-Wolfe line search keeps
//! making progress where J's changes are below rounding (≈ 1e-15 reached on the fixtures).
//! [`adam()`] is mini-batch Adam for larger data. Every run returns a [`TrainInfo`] with the
//! final ‖∇J‖∞. The objective's reductions run over fixed chunks in a fixed order, so every
//! result is bit-identical whatever the number of rayon threads.

pub mod adam;
pub mod lbfgs;
pub mod linesearch;
pub mod newton;

pub use adam::{AdamParams, adam};
pub use lbfgs::{LbfgsParams, lbfgs};
pub use newton::{NewtonParams, logistic_hessian, newton_polish_logistic};

use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};

/// Why a training run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// ‖∇J‖∞ reached the tolerance.
    Converged,
    /// The iteration limit was reached first.
    MaxIters,
    /// No step along the search direction decreased J, even after a restart.
    LineSearchFailed,
    /// Newton steps stopped reducing ‖∇J‖∞ (the rounding floor) above the tolerance.
    Stalled,
    /// Adam ran its epochs (it has no gradient tolerance).
    EpochsDone,
    /// The Newton polish met a Hessian that is not positive definite (μ = 0: the softmax's
    /// shift invariance or a constant feature makes it singular); θ is the L-BFGS result.
    SingularHessian,
}

/// What a training run did and where it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainInfo {
    /// Iterations (L-BFGS or Newton steps, Adam batches).
    pub iters: usize,
    /// Evaluations of J and ∇J.
    pub evals: usize,
    /// J(θ) at the returned θ.
    pub objective: f64,
    /// ‖∇J(θ)‖∞ at the returned θ (full batch).
    pub grad_inf: f64,
    /// Why the run stopped.
    pub stop: Stop,
}

impl TrainInfo {
    /// `Ok` if ‖∇J‖∞ ≤ `target` at the returned θ, else [`Error::NoConvergence`] with the
    /// iterations done and the norm reached: for callers that want a failed run as an error.
    ///
    /// # Errors
    /// [`Error::NoConvergence`] (`method` names the run, e.g. "lbfgs").
    pub fn ensure_converged(&self, method: &'static str, target: f64) -> Result<()> {
        if self.grad_inf <= target {
            Ok(())
        } else {
            Err(Error::NoConvergence {
                method,
                iters: self.iters,
                achieved: self.grad_inf,
                target,
            })
        }
    }
}

/// Settings of [`train`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainParams {
    /// Seed of the initialisation ([`crate::model::Layout::init`]). Default 0.
    pub seed: u64,
    /// L-BFGS settings (default tolerance ‖∇J‖∞ ≤ 1e-10).
    pub lbfgs: LbfgsParams,
    /// Newton polish for logistic regression, `None` to skip. Default `Some` with
    /// tolerance 1e-12.
    pub polish: Option<NewtonParams>,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            seed: 0,
            lbfgs: LbfgsParams::default(),
            polish: Some(NewtonParams::default()),
        }
    }
}

/// Trains `mlp` on `s` from a seeded initialisation: L-BFGS, then the Newton polish for
/// logistic regression (for hidden layers, L-BFGS runs on to the polish tolerance).
/// Returns θ and the run's [`TrainInfo`] (iterations and evaluations of both phases).
///
/// # Errors
/// As [`Mlp::value_and_grad`], [`lbfgs()`] and [`newton_polish_logistic`].
pub fn train(mlp: &Mlp, s: &Samples, params: &TrainParams) -> Result<(Vec<f64>, TrainInfo)> {
    train_from(mlp, mlp.init(params.seed), s, params)
}

/// [`train`] from a given θ (a warm start, e.g. θ̂ when retraining with new weights).
///
/// # Errors
/// As [`train`].
pub fn train_from(
    mlp: &Mlp,
    theta: Vec<f64>,
    s: &Samples,
    params: &TrainParams,
) -> Result<(Vec<f64>, TrainInfo)> {
    mlp.check(&theta, s)?;
    let logistic = mlp.sizes().len() == 2;
    let mut lbfgs_params = params.lbfgs.clone();
    if let (Some(newton), false) = (&params.polish, logistic) {
        // No exact Hessian yet for hidden layers: L-BFGS itself goes on to the polish
        // tolerance (its approximate-Wolfe steps reach ‖∇J‖∞ ≈ 1e-15 on the fixtures).
        lbfgs_params.grad_tol = lbfgs_params.grad_tol.min(newton.grad_tol);
    }
    let (theta, info) = lbfgs(|t| mlp.value_and_grad(t, s), theta, &lbfgs_params)?;
    match &params.polish {
        Some(newton) if logistic => match newton_polish_logistic(mlp, theta.clone(), s, newton) {
            Ok((theta, polish)) => {
                let combined = TrainInfo {
                    iters: info.iters + polish.iters,
                    evals: info.evals + polish.evals,
                    ..polish
                };
                Ok((theta, combined))
            }
            Err(Error::NotPositiveDefinite { .. }) => {
                let stop = Stop::SingularHessian;
                Ok((theta, TrainInfo { stop, ..info }))
            }
            Err(e) => Err(e),
        },
        _ => Ok((theta, info)),
    }
}

/// ‖v‖∞ = max_i |v_i|.
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}
