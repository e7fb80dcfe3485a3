//! The regularisation path: solutions for a decreasing sequence of penalties, each solve warm
//! started from the previous solution [FHT10, §2.5], on the geometric grid
//! α_k = α_max · ratio^{k/(n−1)}, k = 0..n−1.
//!
//! Cost: one solve per α; with warm starts each is a few epochs on its working set.

use super::gap::alpha_max_spec;
use super::solve::{Spec, check_alpha, solve};
use super::{LassoInfo, LassoParams, LassoProblem, check_params};
use crate::error::{Error, Result};

/// Solutions along a path of penalties.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoPath {
    /// The penalties, in the order solved.
    pub alphas: Vec<f64>,
    /// `lambdas[k]` solves the problem at `alphas[k]`.
    pub lambdas: Vec<Vec<f64>>,
    /// `infos[k]` reports the solve at `alphas[k]`.
    pub infos: Vec<LassoInfo>,
}

/// n penalties α_max·ratio^{k/(n−1)}, k = 0..n−1, from α_max down to ratio·α_max.
///
/// # Errors
/// [`Error::InvalidParam`] unless α_max is finite and ≥ 0, 0 < ratio ≤ 1 and n ≥ 1.
///
/// # Examples
/// ```
/// let a = puma::lasso::geometric_alphas(10.0, 0.01, 3).unwrap();
/// assert!((a[0] - 10.0).abs() < 1e-12 && (a[1] - 1.0).abs() < 1e-12 && (a[2] - 0.1).abs() < 1e-12);
/// ```
pub fn geometric_alphas(alpha_max: f64, ratio: f64, n: usize) -> Result<Vec<f64>> {
    if !alpha_max.is_finite() || alpha_max < 0.0 {
        return Err(Error::InvalidParam {
            name: "alpha_max",
            reason: format!(
                "must be finite and >= 0, got {alpha_max} (a column with c_j = 0 and an open direction makes it infinite)"
            ),
        });
    }
    if !(ratio > 0.0 && ratio <= 1.0) {
        return Err(Error::InvalidParam {
            name: "ratio",
            reason: format!("must be in (0, 1], got {ratio}"),
        });
    }
    if n == 0 {
        return Err(Error::InvalidParam {
            name: "n",
            reason: "the path needs at least one penalty".to_string(),
        });
    }
    let denom = (n.max(2) - 1) as f64;
    Ok((0..n)
        .map(|k| alpha_max * ratio.powf(k as f64 / denom))
        .collect())
}

/// The path over n geometrically spaced penalties from α_max down to ratio·α_max.
///
/// `problem.alpha` is ignored; its warm start (if any) seeds the first solve.
///
/// # Errors
/// As [`super::lasso_with`] and [`geometric_alphas`] (α_max must be finite).
pub fn lasso_path(
    problem: &LassoProblem,
    ratio: f64,
    n: usize,
    params: &LassoParams,
) -> Result<LassoPath> {
    check_params(params)?;
    let spec = Spec::without_alpha(problem)?;
    spec.check_warm(problem.warm_start)?;
    let alphas = geometric_alphas(alpha_max_spec(&spec), ratio, n)?;
    Ok(solve_path(spec, problem.warm_start, &alphas, params))
}

/// The path over the given penalties, solved in the given order (decreasing is fastest),
/// each warm started from the previous solution.
///
/// # Errors
/// As [`super::lasso_with`]; every α is checked before the first solve.
pub fn lasso_path_with_alphas(
    problem: &LassoProblem,
    alphas: &[f64],
    params: &LassoParams,
) -> Result<LassoPath> {
    check_params(params)?;
    let spec = Spec::without_alpha(problem)?;
    spec.check_warm(problem.warm_start)?;
    for &alpha in alphas {
        check_alpha(alpha)?;
    }
    Ok(solve_path(spec, problem.warm_start, alphas, params))
}

/// The path on a validated problem (A's norms and Aᵀb computed once for all α).
fn solve_path(
    mut spec: Spec,
    warm_start: Option<&[f64]>,
    alphas: &[f64],
    params: &LassoParams,
) -> LassoPath {
    let mut path = LassoPath {
        alphas: alphas.to_vec(),
        lambdas: Vec::with_capacity(alphas.len()),
        infos: Vec::with_capacity(alphas.len()),
    };
    let mut warm: Option<Vec<f64>> = warm_start.map(|w| w.to_vec());
    for &alpha in alphas {
        spec.set_alpha(alpha);
        let (lambda, info) = solve(&spec, warm.as_deref(), params);
        warm = Some(lambda.clone());
        path.lambdas.push(lambda);
        path.infos.push(info);
    }
    path
}
