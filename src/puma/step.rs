//! The patch step \[eq10\], its η shrinking under the guard tolerances \[eq5\], and iterated
//! patching toward \[retrain-w\].
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
//! the Newton step toward \[retrain-w\] (w = 0 on M, 1 + λ* on U) from a minimiser θ̂, since
//! ∇J_w(θ̂) = ∇J(θ̂) − r_M + r_U. Iterated patching repeats it with the actual gradient:
//!
//! ```text
//! θ ← θ − t·H_ρ⁻¹ ∇J_w(θ)      (H_ρ fixed at θ̂: one cached-factor solve per step)
//! ```
//!
//! with the fixed H_ρ corrected by L-BFGS secant pairs and t = 1 unless an Armijo
//! backtracking on J_w must shorten it (see [`iterate`]).

use crate::error::{Error, Result};
use crate::model::train::inf_norm;
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp, SolveReport};

/// (1/n) Σ_i v_i g_i over the training set, g_i = ∇CE(z_i, θ) \[g\] (no μθ term): the
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

/// The training weights of \[retrain-w\] for a patch: 0 on M, 1 + λ_j on U, 1 elsewhere.
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

/// d_M and d_U of \[eq10\] from one `solve_many` with two right-hand sides.
///
/// # Errors
/// As [`weighted_grad_sum`] and [`InverseHvp::solve_many`].
#[allow(clippy::too_many_arguments)]
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
    /// ‖∇J_w(θ)‖∞ at the start and after each step (length steps + 1).
    pub grad_inf_history: Vec<f64>,
    /// Step lengths t accepted by the line search (1 = the full \[eq10\] step).
    pub step_lengths: Vec<f64>,
    /// ‖∇J_w(θ)‖∞ at the returned θ.
    pub grad_inf: f64,
    /// Whether the tolerance was met.
    pub converged: bool,
}

/// Secant pairs kept by [`iterate`] (L-BFGS memory).
pub const ITERATE_MEMORY: usize = 10;

/// Iterated patching: from `theta`, steps θ ← θ − t·d toward \[retrain-w\] for at most
/// `max_steps` steps, stopping at ‖∇J_w‖∞ ≤ `tol` or at the rounding floor.
///
/// The first direction is the \[eq10\] step with the actual gradient, d = H_ρ⁻¹∇J_w(θ) (H_ρ
/// fixed at θ̂, one cached-factor solve). Later directions correct the fixed H_ρ by the
/// secant pairs (s_k, y_k) = (Δθ, Δ∇J_w) of the last [`ITERATE_MEMORY`] steps: the L-BFGS
/// two-loop recursion [NW06, Alg. 7.4] with H_ρ⁻¹ as its initial inverse Hessian, so each
/// step is still one solve and one gradient. Without the corrections the iteration
/// converges only linearly, at rate ‖I − H_ρ⁻¹∇²J_w‖, which is slow or divergent when
/// removing M moves a non-convex model far from θ̂. t = 1 unless an Armijo backtracking on
/// J_w must shorten it (pairs with s_kᵀy_k ≤ 0 are skipped), so J_w never increases.
///
/// # Errors
/// As [`Mlp::value_and_grad`] and [`InverseHvp::solve`]; [`Error::InvalidParam`] for a
/// negative or NaN tolerance.
#[allow(clippy::too_many_arguments)]
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
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let s = train.with_weights(w)?;
    let mut theta = theta;
    let (mut value, mut grad) = mlp.value_and_grad(&theta, &s)?; // J_w(θ), ∇J_w(θ)
    let mut history = vec![inf_norm(&grad)];
    let mut lengths = Vec::new();
    let mut pairs: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default();
    let mut steps = 0;
    while steps < max_steps && inf_norm(&grad) > tol {
        // Two-loop recursion: d = H_k ∇J_w with H_0 = H_ρ⁻¹.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (sk, yk, rho) in pairs.iter().rev() {
            let a = rho * dot(sk, &q);
            q.iter_mut().zip(yk).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let (mut d, _) = solver.solve(op, &q)?; // H_ρ⁻¹ q: the [eq10] step when no pairs
        for ((sk, yk, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(yk, &d);
            d.iter_mut()
                .zip(sk)
                .for_each(|(di, si)| *di += (a - b) * si);
        }
        let mut slope = dot(&grad, &d); // ∇J_wᵀd
        if slope.is_nan() || slope <= 0.0 {
            pairs.clear(); // not a descent direction: fall back to the plain [eq10] step
            d = solver.solve(op, &grad)?.0;
            slope = dot(&grad, &d);
        }
        let mut t = 1.0;
        let (cand, v_new, g_new) = loop {
            let cand = step(&theta, -t, &d);
            let (v, g) = mlp.value_and_grad(&cand, &s)?;
            let armijo = v <= value - 1e-4 * t * slope;
            // Near the minimiser J_w's change is below rounding: judge by the gradient.
            let floor =
                (value - v).abs() <= 1e-14 * value.abs().max(1.0) && inf_norm(&g) < inf_norm(&grad);
            if armijo || floor || t < 1e-6 {
                break (cand, v, g);
            }
            t *= 0.5;
        };
        steps += 1;
        let (old, new) = (inf_norm(&grad), inf_norm(&g_new));
        if v_new > value + 1e-14 * value.abs().max(1.0) || (new >= old && old < 1e-8) {
            history.push(old);
            lengths.push(0.0);
            break; // no progress possible (rounding floor or a failed line search): keep θ
        }
        let sk: Vec<f64> = cand.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let yk: Vec<f64> = g_new.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&sk, &yk);
        if sy > 1e-12 * dot(&sk, &sk).sqrt() * dot(&yk, &yk).sqrt() {
            if pairs.len() == ITERATE_MEMORY {
                pairs.pop_front();
            }
            pairs.push_back((sk, yk, 1.0 / sy));
        }
        history.push(new);
        lengths.push(t);
        (theta, value, grad) = (cand, v_new, g_new);
    }
    let grad_inf = inf_norm(&grad);
    Ok((
        theta,
        IterateInfo {
            steps,
            grad_inf_history: history,
            step_lengths: lengths,
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
