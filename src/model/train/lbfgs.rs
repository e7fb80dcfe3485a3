//! Full-batch L-BFGS [NW06, Alg. 7.4 and 7.5] with a strong-Wolfe line search.
//!
//! With the last m pairs s_k = θ_{k+1} − θ_k, y_k = ∇J_{k+1} − ∇J_k, the search direction
//! d = −H_k ∇J is formed by the two-loop recursion, with H⁰ = γI, γ = sᵀy / yᵀy of the newest
//! pair. Strong Wolfe steps keep sᵀy > 0, so every H_k stays positive definite. Stops when
//! ‖∇J‖∞ ≤ `grad_tol`. Cost per iteration: one line search (usually one evaluation of J and
//! ∇J) plus 4·m·p flops.

use super::linesearch::{LineSearchParams, strong_wolfe};
use super::{Stop, TrainInfo, inf_norm};
use crate::error::{Error, Result};

/// Settings of [`lbfgs`].
#[derive(Clone, Debug, PartialEq)]
pub struct LbfgsParams {
    /// Correction pairs kept, m. Default 20; ≥ 1.
    pub memory: usize,
    /// Iterations at most. Default 5000; ≥ 1.
    pub max_iters: usize,
    /// Stop when ‖∇J‖∞ ≤ this. Default 1e-10; > 0.
    pub grad_tol: f64,
    /// The line search's constants.
    pub line_search: LineSearchParams,
}

impl Default for LbfgsParams {
    fn default() -> Self {
        LbfgsParams {
            memory: 20,
            max_iters: 5000,
            grad_tol: 1e-10,
            line_search: LineSearchParams::default(),
        }
    }
}

/// Minimises J from `theta` by L-BFGS; `f` returns (J(θ), ∇J(θ)).
///
/// The result is the last iterate; [`TrainInfo::stop`] says whether the tolerance was met.
///
/// # Errors
/// [`Error::InvalidParam`] for out-of-range params; whatever `f` returns;
/// [`Error::NonFinite`] if J or ∇J is not finite at the start.
pub fn lbfgs<F>(mut f: F, theta: Vec<f64>, params: &LbfgsParams) -> Result<(Vec<f64>, TrainInfo)>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
{
    if params.memory == 0
        || params.max_iters == 0
        || params.grad_tol.is_nan()
        || params.grad_tol <= 0.0
    {
        return Err(Error::InvalidParam {
            name: "LbfgsParams",
            reason: format!(
                "need memory ≥ 1, max_iters ≥ 1, grad_tol > 0; got {}, {}, {}",
                params.memory, params.max_iters, params.grad_tol
            ),
        });
    }
    let ls = &params.line_search;
    if !(0.0 < ls.c1 && ls.c1 < ls.c2 && ls.c2 < 1.0) || ls.max_evals == 0 {
        return Err(Error::InvalidParam {
            name: "LineSearchParams",
            reason: format!(
                "need 0 < c1 < c2 < 1 and max_evals ≥ 1; got {}, {}, {}",
                ls.c1, ls.c2, ls.max_evals
            ),
        });
    }
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut theta = theta;
    let (mut value, mut grad) = f(&theta)?;
    if let Some(index) = grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            what: "initial gradient",
            index,
            value: grad[index],
        });
    }
    if !value.is_finite() {
        return Err(Error::NonFinite {
            what: "initial objective",
            index: 0,
            value,
        });
    }
    let mut evals = 1;
    let mut pairs: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> = Default::default(); // (s, y, 1/sᵀy)
    let mut stop = Stop::MaxIters;
    let mut iters = 0;
    let mut restarted = false;
    while iters < params.max_iters {
        let grad_inf = inf_norm(&grad);
        crate::progress::iteration("L-BFGS", iters, grad_inf); // the CLI's stderr bar, if any
        if grad_inf <= params.grad_tol {
            stop = Stop::Converged;
            break;
        }
        // Two-loop recursion: d = −H ∇J [NW06, Alg. 7.4].
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = match pairs.back() {
            Some((s, y, _)) => dot(s, y) / dot(y, y), // H⁰ = γI
            None => 1.0 / inf_norm(&grad).max(1.0),   // first step: at most unit length
        };
        q.iter_mut().for_each(|qi| *qi *= gamma);
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let d: Vec<f64> = q.iter().map(|v| -v).collect();

        let Some(step) = strong_wolfe(&mut f, &theta, value, &grad, &d, 1.0, ls)? else {
            evals += ls.max_evals;
            if restarted || pairs.is_empty() {
                stop = Stop::LineSearchFailed;
                break;
            }
            pairs.clear(); // forget the curvature model and retry along −γ∇J
            restarted = true;
            continue;
        };
        restarted = false;
        evals += step.evals;
        iters += 1;
        let s: Vec<f64> = step.theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = step.grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-300 {
            if pairs.len() == params.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        theta = step.theta;
        value = step.value;
        grad = step.grad;
    }
    if stop == Stop::MaxIters && inf_norm(&grad) <= params.grad_tol {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rosenbrock function, the classic curved valley, minimum 0 at (1, 1).
    fn rosenbrock(x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let (a, b) = (x[0], x[1]);
        let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        Ok((v, g))
    }

    #[test]
    fn solves_rosenbrock_to_a_tight_gradient() {
        let params = LbfgsParams {
            grad_tol: 1e-12,
            ..Default::default()
        };
        let (x, info) = lbfgs(rosenbrock, vec![-1.2, 1.0], &params).unwrap();
        assert_eq!(info.stop, Stop::Converged, "{info:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-10 && (x[1] - 1.0).abs() < 1e-10,
            "{x:?}"
        );
        assert!(info.grad_inf <= 1e-12);
    }

    #[test]
    fn reports_the_iteration_limit() {
        let params = LbfgsParams {
            max_iters: 3,
            ..Default::default()
        };
        let (_, info) = lbfgs(rosenbrock, vec![-1.2, 1.0], &params).unwrap();
        assert_eq!((info.stop, info.iters), (Stop::MaxIters, 3));
        assert!(info.grad_inf > 1e-3);
    }

    #[test]
    fn bad_params_are_rejected_before_any_work() {
        let params = LbfgsParams {
            memory: 0,
            ..Default::default()
        };
        let calls = std::cell::Cell::new(0);
        let f = |x: &[f64]| {
            calls.set(calls.get() + 1);
            rosenbrock(x)
        };
        assert!(matches!(
            lbfgs(f, vec![0.0, 0.0], &params),
            Err(Error::InvalidParam { .. })
        ));
        assert_eq!(calls.get(), 0);
    }
}
