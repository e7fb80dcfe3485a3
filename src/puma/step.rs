//! The patch step [eq10], its η shrinking under the guard tolerances [eq5], and iterated
//! patching toward [retrain-w].
//!
//! ```text
//! r_M   = (1/n) Σ_{k∈M} g_k,   r_U = (1/n) Σ_{j∈U} λ*_j g_j        (gradients of weighted sums)
//! d_M   = H_ρ⁻¹ r_M,           d_U = H_ρ⁻¹ r_U                     (one solve_many, 2 columns)
//! θ_mod = θ̂ + nη (d_M − d_U)   = θ̂ + η H_ρ⁻¹(Σ_M g_k − Σ_U λ*_j g_j)   [eq10]
//! θ_naive = θ̂ + nη d_M                                             (λ = 0)
//! ```
//!
//! A sum Σ v_i g_i over a set is the gradient of the weighted loss sum with weights v (+1 on
//! M, λ_j on U, 0 elsewhere): one gradient pass, no p × n matrix. With η = 1/n the step is
//! the Newton step toward [retrain-w] (w = 0 on M, 1 + λ* on U) from a minimiser θ̂, since
//! ∇J_w(θ̂) = ∇J(θ̂) − r_M + r_U. Iterated patching repeats it with the actual gradient:
//!
//! ```text
//! θ ← θ − H_ρ⁻¹ ∇J_w(θ)        (H_ρ fixed at θ̂: one cached-factor solve per step)
//! ```
//!
//! which converges linearly to [retrain-w] while ‖I − H_ρ⁻¹ ∇²J_w‖ < 1 near it.

use crate::error::{Error, Result};
use crate::model::train::inf_norm;
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp, SolveReport};

/// (1/n) Σ_i v_i g_i over the training set, g_i = ∇CE(z_i, θ) [g] (no μθ term): the
/// gradient of the v-weighted loss sum divided by n, one gradient pass.
///
/// # Errors
/// As [`Mlp::value_and_grad`]; [`Error::ShapeMismatch`] if `v.len() != n`.
pub fn weighted_grad_sum(mlp: &Mlp, theta: &[f64], train: &Samples, v: &[f64]) -> Result<Vec<f64>> {
    let mut mlp0 = mlp.clone();
    mlp0.l2 = 0.0; // g_i excludes μθ
    let s = train.with_weights(v)?;
    Ok(mlp0.value_and_grad(theta, &s)?.1) // (1/n) Σ v_i g_i
}

/// The training weights of [retrain-w] for a patch: 0 on M, 1 + λ_j on U, 1 elsewhere.
pub fn patch_weights(n: usize, marked: &[usize], upweighted: &[usize], lambda: &[f64]) -> Vec<f64> {
    let mut w = vec![1.0; n];
    for &k in marked {
        w[k] = 0.0;
    }
    for (&j, &l) in upweighted.iter().zip(lambda) {
        w[j] = 1.0 + l;
    }
    w
}

/// The two directions of [eq10]: d_M = H_ρ⁻¹ r_M and d_U = H_ρ⁻¹ r_U, with their reports.
pub(crate) struct Directions {
    pub d_marked: Vec<f64>,
    pub d_up: Vec<f64>,
    pub reports: Vec<SolveReport>,
}

/// d_M and d_U of [eq10] from one `solve_many` with two right-hand sides.
///
/// # Errors
/// As [`weighted_grad_sum`] and [`InverseHvp::solve_many`].
pub(crate) fn directions(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    marked: &[usize],
    upweighted: &[usize],
    lambda: &[f64],
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Directions> {
    let n = train.n();
    let p = mlp.n_params();
    let mut v_m = vec![0.0; n];
    for &k in marked {
        v_m[k] = 1.0;
    }
    let r_m = weighted_grad_sum(mlp, theta, train, &v_m)?; // (1/n) Σ_M g_k
    let mut v_u = vec![0.0; n];
    for (&j, &l) in upweighted.iter().zip(lambda) {
        v_u[j] = l;
    }
    let r_u = if lambda.iter().any(|&l| l != 0.0) {
        weighted_grad_sum(mlp, theta, train, &v_u)? // (1/n) Σ_U λ_j g_j
    } else {
        vec![0.0; p]
    };
    let mut rhs = vec![0.0; 2 * p]; // p × 2 row-major
    for k in 0..p {
        rhs[2 * k] = r_m[k];
        rhs[2 * k + 1] = r_u[k];
    }
    let (x, reports) = solver.solve_many(op, 2, &rhs)?; // H_ρ⁻¹ [r_M r_U]
    Ok(Directions {
        d_marked: (0..p).map(|k| x[2 * k]).collect(),
        d_up: (0..p).map(|k| x[2 * k + 1]).collect(),
        reports,
    })
}

/// θ̂ + s·d, the step of length factor s = nη along d.
pub(crate) fn step(theta: &[f64], s: f64, d: &[f64]) -> Vec<f64> {
    theta.iter().zip(d).map(|(t, di)| t + s * di).collect()
}

/// What iterated patching did.
#[derive(Clone, Debug, PartialEq)]
pub struct IterateInfo {
    /// Steps taken.
    pub steps: usize,
    /// ‖∇J_w(θ)‖∞ before each step and at the end (length steps + 1).
    pub grad_inf_history: Vec<f64>,
    /// ‖∇J_w(θ)‖∞ at the returned θ.
    pub grad_inf: f64,
    /// Whether the tolerance was met.
    pub converged: bool,
}

/// Iterated patching: θ ← θ − H_ρ⁻¹ ∇J_w(θ) from `theta` for at most `max_steps` steps,
/// stopping at ‖∇J_w‖∞ ≤ `tol` or when a step no longer lowers it (the rounding floor).
///
/// # Errors
/// As [`Mlp::value_and_grad`] and [`InverseHvp::solve`]; [`Error::InvalidParam`] for a
/// negative or NaN tolerance.
pub fn iterate(
    mlp: &Mlp,
    theta: Vec<f64>,
    train: &Samples,
    w: &[f64],
    max_steps: usize,
    tol: f64,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<(Vec<f64>, IterateInfo)> {
    if tol.is_nan() || tol < 0.0 {
        return Err(Error::InvalidParam {
            name: "iterate_tol",
            reason: format!("must be ≥ 0, got {tol}"),
        });
    }
    let s = train.with_weights(w)?;
    let mut theta = theta;
    let mut grad = mlp.value_and_grad(&theta, &s)?.1; // ∇J_w(θ)
    let mut history = vec![inf_norm(&grad)];
    let mut steps = 0;
    while steps < max_steps && inf_norm(&grad) > tol {
        let (d, _) = solver.solve(op, &grad)?; // H_ρ⁻¹ ∇J_w(θ)
        let cand = step(&theta, -1.0, &d);
        let g_new = mlp.value_and_grad(&cand, &s)?.1;
        steps += 1;
        let (old, new) = (inf_norm(&grad), inf_norm(&g_new));
        history.push(new);
        if new >= old && old < 1e-8 {
            break; // the rounding floor: keep the better point
        }
        theta = cand;
        grad = g_new;
    }
    let grad_inf = inf_norm(&grad);
    Ok((
        theta,
        IterateInfo {
            steps,
            grad_inf_history: history,
            grad_inf,
            converged: grad_inf <= tol,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_weights_zero_marked_and_raise_upweighted() {
        let w = patch_weights(5, &[1, 3], &[0, 4], &[0.5, 0.0]);
        assert_eq!(w, vec![1.5, 0.0, 1.0, 0.0, 1.0]);
    }
}
