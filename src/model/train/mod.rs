//! Training: minimising \[J\] to a true optimum θ̂, where influence functions are meaningful.
//!
//! [`train`] starts from a seeded initialisation and runs full-batch L-BFGS with a
//! strong-Wolfe line search ([`lbfgs()`]) to ‖∇J‖∞ ≤ 1e-10, then a Newton polish with the
//! exact Hessian ([`newton`]: closed form for logistic regression, batched Pearlmutter HVPs
//! \[Pearl94\] for MLPs with at most `NewtonParams::max_params` parameters) to ‖∇J‖∞ ≤ 1e-12
//! (\[retrain-w\] of DESIGN.md §1). For larger MLPs, or where H is not positive definite,
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
pub use newton::{NewtonParams, logistic_hessian, newton_polish, newton_polish_logistic};

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
    /// Newton polish (logistic regression, and MLPs with p ≤ `max_params`), `None` to skip.
    /// Default `Some` with tolerance 1e-12.
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

/// Trains `mlp` on `s` from a seeded initialisation: L-BFGS, then the exact-Hessian Newton
/// polish (for MLPs above `max_params`, or a Hessian that is not positive definite, L-BFGS
/// runs on to the polish tolerance instead).
/// Returns θ and the run's [`TrainInfo`] (iterations and evaluations of both phases).
///
/// # Errors
/// As [`Mlp::value_and_grad`], [`lbfgs()`] and [`newton_polish`].
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
    // The exact-Hessian polish: always for logistic regression, for hidden layers while p
    // is small enough for a dense Hessian from HVPs.
    let exact = params
        .polish
        .as_ref()
        .filter(|newton| logistic || mlp.n_params() <= newton.max_params);
    let mut lbfgs_params = params.lbfgs.clone();
    if let (Some(newton), None) = (&params.polish, exact) {
        // No dense Hessian for this model: L-BFGS itself goes on to the polish tolerance
        // (its approximate-Wolfe steps reach ‖∇J‖∞ ≈ 1e-15 on the fixtures).
        lbfgs_params.grad_tol = lbfgs_params.grad_tol.min(newton.grad_tol);
    }
    let (theta, info) = lbfgs(|t| mlp.value_and_grad(t, s), theta, &lbfgs_params)?;
    let Some(newton) = exact else {
        return Ok((theta, info));
    };
    let combine = |first: &TrainInfo, then: TrainInfo| TrainInfo {
        iters: first.iters + then.iters,
        evals: first.evals + then.evals,
        ..then
    };
    match newton_polish(mlp, theta.clone(), s, newton) {
        Ok((theta, polish)) => Ok((theta, combine(&info, polish))),
        Err(Error::NotPositiveDefinite { .. }) if logistic => {
            let stop = Stop::SingularHessian;
            Ok((theta, TrainInfo { stop, ..info }))
        }
        Err(Error::NotPositiveDefinite { .. }) => {
            // Not a strict minimum (yet): back to the L-BFGS-only path, on to the polish
            // tolerance from where L-BFGS stopped.
            let mut more = params.lbfgs.clone();
            more.grad_tol = more.grad_tol.min(newton.grad_tol);
            let (theta, rest) = lbfgs(|t| mlp.value_and_grad(t, s), theta, &more)?;
            Ok((theta, combine(&info, rest)))
        }
        Err(e) => Err(e),
    }
}

/// ‖v‖∞ = max_i |v_i|.
pub fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}
