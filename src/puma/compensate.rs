//! The compensation weights of [eq9]: ψ over the guard rows for the marked and up-weight
//! sets, the target b, the choice of U along the Lasso path, and λ* by the box Lasso.
//!
//! ```text
//! Ψ_G     = (ψ_i) over the stacked guard rows           m_G × n, one ψ pass per guard group
//! b       = Ψ_M 1                                        two-sided
//! b_v     = max(Ψ_M 1, 0)_v (loss-like row v)            one-sided: cancel degradations only
//!           min(Ψ_M 1, 0)_v (higher-is-better row v)
//! λ*      = argmin_{ℓ ≤ λ ≤ u} ½‖Ψ_U λ − b‖² + α‖λ‖₁,   α = a_rel · α_max     [eq9]
//! ```
//!
//! Cost: Σ_G m_G solves (one cached factor on the exact path) and one per-example pass per
//! group ([`crate::valuation::psi`]), then one Lasso on an m_G × |U| matrix. Choosing U along
//! the path adds one warm-started path over all unmarked columns.

use crate::error::{Error, Result};
use crate::lasso::{LassoInfo, LassoParams, LassoProblem, alpha_max, lasso_path, lasso_with};
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp, SolveReport};
use crate::valuation::psi;

use super::{Guard, Sides, UpWeight};

/// Ψ over all guard rows, stacked group after group: n × m row-major (as [`crate::valuation::Psi`]).
#[derive(Clone, Debug)]
pub(crate) struct GuardPsi {
    /// n × m row-major, entry (i, v) = ψ_vi.
    pub psi: Vec<f64>,
    /// Total guard rows m.
    pub m: usize,
    /// Where each group's rows start in the stacked order (and the end, m).
    pub offsets: Vec<usize>,
    /// Whether each stacked row is loss-like.
    pub loss_like: Vec<bool>,
    /// The solves behind S = H_ρ⁻¹ J_Cᵀ, one per row.
    pub reports: Vec<SolveReport>,
}

impl GuardPsi {
    /// Σ_{k ∈ idx} ψ_k over the stacked rows (Ψ_idx 1 of \[eq9\]).
    pub fn sum_over(&self, idx: &[usize]) -> Vec<f64> {
        let mut b = vec![0.0; self.m];
        for &i in idx {
            for (bv, v) in b.iter_mut().zip(&self.psi[i * self.m..(i + 1) * self.m]) {
                *bv += v;
            }
        }
        b
    }

    /// Ψ_idx, m × |idx| column-major (column k = ψ_{idx[k]}), the layout of the Lasso.
    pub fn columns(&self, idx: &[usize]) -> Vec<f64> {
        let mut a = Vec::with_capacity(self.m * idx.len());
        for &i in idx {
            a.extend_from_slice(&self.psi[i * self.m..(i + 1) * self.m]);
        }
        a
    }

    /// Ψ_idx λ (m entries).
    pub fn combine(&self, idx: &[usize], lambda: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.m];
        for (&i, &l) in idx.iter().zip(lambda) {
            if l != 0.0 {
                for (o, v) in out.iter_mut().zip(&self.psi[i * self.m..(i + 1) * self.m]) {
                    *o += l * v;
                }
            }
        }
        out
    }
}

/// ψ of every training point over the rows of every guard group \[ψ\], stacked.
///
/// # Errors
/// As [`crate::valuation::psi`].
pub(crate) fn guard_psi(
    guards: &[Guard],
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<GuardPsi> {
    let n = train.n();
    let parts: Vec<crate::valuation::Psi> = guards
        .iter()
        .map(|g| psi(g.criterion, mlp, theta, train, solver, op)) // ψ_i = J_G H_ρ⁻¹ g_i
        .collect::<Result<_>>()?;
    let m: usize = parts.iter().map(|p| p.m).sum();
    let mut out = vec![0.0; n * m];
    let mut offsets = Vec::with_capacity(parts.len() + 1);
    let mut loss_like = Vec::with_capacity(m);
    let mut reports = Vec::new();
    let mut start = 0;
    for (part, g) in parts.into_iter().zip(guards) {
        offsets.push(start);
        for i in 0..n {
            out[i * m + start..i * m + start + part.m].copy_from_slice(part.point(i));
        }
        loss_like.extend(std::iter::repeat_n(g.criterion.loss_like(), part.m));
        start += part.m;
        reports.extend(part.reports);
    }
    offsets.push(m);
    Ok(GuardPsi {
        psi: out,
        m,
        offsets,
        loss_like,
        reports,
    })
}

/// The Lasso target b of \[eq9\] from b₀ = Ψ_M 1: b₀ itself (two-sided), or only its predicted
/// degradations (one-sided: the positive part of a loss-like row, the negative part of a
/// higher-is-better row).
pub(crate) fn target(b0: &[f64], loss_like: &[bool], sides: Sides) -> Vec<f64> {
    match sides {
        Sides::Two => b0.to_vec(),
        Sides::One => b0
            .iter()
            .zip(loss_like)
            .map(|(&b, &loss)| if loss { b.max(0.0) } else { b.min(0.0) })
            .collect(),
    }
}

/// The up-weight set U as training indices (sorted), disjoint from the marked set.
///
/// [`UpWeight::LassoPath`] runs the path of \[eq9\] over every unmarked column from α_max
/// down to 1e-4·α_max (`path_steps` penalties) and keeps the first k columns to become
/// non-zero (ties: larger |λ_j| first).
///
/// # Errors
/// [`Error::InvalidParam`] for an up-weight index that is marked or k = 0;
/// [`Error::IndexOutOfRange`] for an index ≥ n; the Lasso's errors.
pub(crate) fn choose_upweight(
    rule: &UpWeight,
    marked_mask: &[bool],
    gpsi: &GuardPsi,
    b: &[f64],
    bounds: (f64, f64),
    lasso: &LassoParams,
) -> Result<Vec<usize>> {
    let n = marked_mask.len();
    let unmarked: Vec<usize> = (0..n).filter(|&i| !marked_mask[i]).collect();
    match rule {
        UpWeight::Unmarked => Ok(unmarked),
        UpWeight::Given(idx) => {
            let mut seen = vec![false; n];
            for &i in idx {
                if i >= n {
                    return Err(Error::IndexOutOfRange {
                        what: "up-weight training row",
                        index: i,
                        len: n,
                    });
                }
                if marked_mask[i] {
                    return Err(Error::InvalidParam {
                        name: "upweight",
                        reason: format!("row {i} is marked; U and M must be disjoint"),
                    });
                }
                seen[i] = true;
            }
            Ok((0..n).filter(|&i| seen[i]).collect())
        }
        UpWeight::LassoPath { k, path_steps } => {
            if *k == 0 || *path_steps == 0 {
                return Err(Error::InvalidParam {
                    name: "upweight",
                    reason: format!(
                        "the Lasso path needs k ≥ 1 and at least one step, got k = {k}, {path_steps} steps"
                    ),
                });
            }
            if *k >= unmarked.len() {
                return Ok(unmarked);
            }
            let a = gpsi.columns(&unmarked); // Ψ over every unmarked point
            let problem =
                LassoProblem::new(&a, gpsi.m, unmarked.len(), b, 0.0).with_box(bounds.0, bounds.1);
            let path = lasso_path(&problem, 1e-4, *path_steps, lasso)?;
            let mut entered: Vec<(usize, f64, usize)> = Vec::new(); // (step, −|λ|, column)
            let mut taken = vec![false; unmarked.len()];
            for (step, lambda) in path.lambdas.iter().enumerate() {
                for (j, &l) in lambda.iter().enumerate() {
                    if l != 0.0 && !taken[j] {
                        taken[j] = true;
                        entered.push((step, -l.abs(), j));
                    }
                }
                if entered.len() >= *k {
                    break;
                }
            }
            entered.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
            let mut u: Vec<usize> = entered.iter().take(*k).map(|e| unmarked[e.2]).collect();
            u.sort_unstable();
            Ok(u)
        }
    }
}

/// λ* of \[eq9\] on the columns `u`: α = a_rel · α_max with the box-aware α_max of
/// [`crate::lasso::alpha_max`]. Returns (λ*, α_max, α, the Lasso's report).
///
/// # Errors
/// As [`lasso_with`].
pub(crate) fn compensation(
    gpsi: &GuardPsi,
    u: &[usize],
    b: &[f64],
    alpha_rel: f64,
    bounds: (f64, f64),
    params: &LassoParams,
) -> Result<(Vec<f64>, f64, f64, Option<LassoInfo>)> {
    if u.is_empty() || gpsi.m == 0 {
        return Ok((vec![0.0; u.len()], 0.0, 0.0, None));
    }
    let a = gpsi.columns(u); // Ψ_U, m × |U| column-major
    let problem = LassoProblem::new(&a, gpsi.m, u.len(), b, 0.0).with_box(bounds.0, bounds.1);
    let amax = alpha_max(&problem)?;
    let alpha = alpha_rel * amax;
    if amax == 0.0 {
        // λ = 0 is optimal for every α ≥ 0: nothing to compensate (e.g. one-sided, no degradation).
        return Ok((vec![0.0; u.len()], 0.0, 0.0, None));
    }
    let (lambda, info) = lasso_with(&problem.with_alpha(alpha), params)?; // [eq9]
    Ok((lambda, amax, alpha, Some(info)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_target_keeps_only_degradations() {
        let b = target(
            &[1.0, -2.0, 3.0, -4.0],
            &[true, true, false, false],
            Sides::One,
        );
        assert_eq!(b, vec![1.0, 0.0, 0.0, -4.0]);
        let b2 = target(&[1.0, -2.0], &[true, true], Sides::Two);
        assert_eq!(b2, vec![1.0, -2.0]);
    }

    #[test]
    fn given_upweight_rows_must_be_unmarked_and_in_range() {
        let gpsi = GuardPsi {
            psi: vec![1.0, 2.0, 3.0],
            m: 1,
            offsets: vec![0, 1],
            loss_like: vec![true],
            reports: vec![],
        };
        let mask = [true, false, false];
        let p = LassoParams::default();
        let rule = UpWeight::Given(vec![0]);
        assert!(matches!(
            choose_upweight(&rule, &mask, &gpsi, &[1.0], (0.0, 1.0), &p),
            Err(Error::InvalidParam { .. })
        ));
        let rule = UpWeight::Given(vec![3]);
        assert!(matches!(
            choose_upweight(&rule, &mask, &gpsi, &[1.0], (0.0, 1.0), &p),
            Err(Error::IndexOutOfRange { index: 3, .. })
        ));
        let rule = UpWeight::Given(vec![2, 1]);
        let u = choose_upweight(&rule, &mask, &gpsi, &[1.0], (0.0, 1.0), &p).unwrap();
        assert_eq!(u, vec![1, 2]);
        assert_eq!(gpsi.sum_over(&[0, 2]), vec![4.0]);
        assert_eq!(gpsi.combine(&[1, 2], &[0.5, 1.0]), vec![4.0]);
    }
}
