//! The ψ matrix: the predicted effect of removing each training point on every criterion row
//! (DESIGN.md §1 \[φ\], \[ψ\]), computed without a p × n buffer (§2).
//!
//! ```text
//! S   = H_ρ⁻¹ J_Cᵀ            p × m, m solves (`solve_many`, one cached factor on the exact path)
//! ψ_i = J_C φ_i = Sᵀ g_i      m entries for training point i, φ_i = H_ρ⁻¹ g_i       \[φ\] \[ψ\]
//! ΔC  ≈ (1/n) ψ_i             change of C if point i is removed (w_i: 1 → 0 in \[J\])
//! ```
//!
//! The products Sᵀ g_i for all i come from one per-example pass
//! ([`Mlp::per_example_grad_dots`]): one GEMM per layer over all samples and all m rows.
//! For a loss-like criterion a negative ψ_vi means removing point i lowers loss row v, i.e.
//! the point hurts that row.
//!
//! Submodules: [`rank`] turns ψ into one value per point ((1/n)·mean over rows, \[remove\]),
//! rankings, top-k lists and detection curves; [`baselines`] gives the other suspicion
//! scores (self-influence, training loss, ‖g_i‖², random); [`loo`] the leave-one-out
//! oracles (retraining and the Newton-corrected estimate).

pub mod baselines;
pub mod loo;
pub mod rank;

pub use baselines::{Baselines, grad_norm_sq, random_order, training_loss};
pub use loo::{NewtonLoo, loo_points, loo_train_params, pearson, retrain_without};
pub use rank::{DetectionCurve, TopK, ascending, descending, top_k, top_k_for_test_point};

use crate::criteria::Criterion;
use crate::error::{Error, Result};
use crate::model::{Mlp, Samples};
use crate::solvers::{HessianOperator, InverseHvp, SolveReport};

/// ψ for every training point and every criterion row, with the solves behind it.
#[derive(Clone, Debug)]
pub struct Psi {
    /// Training points n.
    pub n: usize,
    /// Criterion rows m.
    pub m: usize,
    /// n × m row-major: entry (i, v) is ψ_vi = ∇C_vᵀ H_ρ⁻¹ g_i. Read as column-major, it is
    /// the m × n matrix Ψ whose column i is ψ_i (the layout the Lasso of \[eq9\] takes).
    pub psi: Vec<f64>,
    /// S = H_ρ⁻¹ J_Cᵀ, p × m row-major.
    pub directions: Vec<f64>,
    /// One solve report per criterion row.
    pub reports: Vec<SolveReport>,
}

impl Psi {
    /// ψ_i, the m criterion-row effects of training point i.
    ///
    /// # Panics
    /// If `i ≥ n`.
    #[track_caller]
    pub fn point(&self, i: usize) -> &[f64] {
        &self.psi[i * self.m..(i + 1) * self.m]
    }

    /// Row v of Ψ over all training points: ψ_vi for i = 0..n.
    ///
    /// # Panics
    /// If `v ≥ m`.
    #[track_caller]
    pub fn criterion_row(&self, v: usize) -> Vec<f64> {
        assert!(
            v < self.m,
            "criterion row {v} out of range (m = {})",
            self.m
        );
        (0..self.n).map(|i| self.psi[i * self.m + v]).collect()
    }

    /// Ψ restricted to the training points `idx`: an m × |idx| column-major matrix (column k
    /// = ψ_{idx_k}), the Ψ_U and Ψ_M of \[eq9\].
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] for an index ≥ n.
    pub fn columns(&self, idx: &[usize]) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(idx.len() * self.m);
        for &i in idx {
            if i >= self.n {
                return Err(Error::IndexOutOfRange {
                    what: "training point",
                    index: i,
                    len: self.n,
                });
            }
            out.extend_from_slice(self.point(i));
        }
        Ok(out)
    }

    /// Σ_{k ∈ idx} ψ_k (m entries): Ψ_M 1 of \[eq9\], the predicted effect (× n) of removing
    /// all of `idx` at once to first order.
    ///
    /// # Errors
    /// As [`columns`](Self::columns).
    pub fn sum_over(&self, idx: &[usize]) -> Result<Vec<f64>> {
        let cols = self.columns(idx)?;
        let mut b = vec![0.0; self.m];
        for col in cols.chunks_exact(self.m.max(1)) {
            for (bv, c) in b.iter_mut().zip(col) {
                *bv += c;
            }
        }
        Ok(b)
    }
}

/// S = H_ρ⁻¹ J_Cᵀ (p × m row-major), one solve per criterion row.
///
/// # Errors
/// As [`Criterion::jacobian_t`] and [`InverseHvp::solve_many`]; [`Error::InvalidParam`] for
/// a criterion with no rows.
pub fn directions(
    criterion: &dyn Criterion,
    mlp: &Mlp,
    theta: &[f64],
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<(Vec<f64>, Vec<SolveReport>)> {
    let m = criterion.len();
    if m == 0 {
        return Err(Error::InvalidParam {
            name: "criterion",
            reason: format!("criterion {} has no rows", criterion.name()),
        });
    }
    let jt = criterion.jacobian_t(mlp, theta)?; // J_Cᵀ, p × m
    solver.solve_many(op, m, &jt) // S = H_ρ⁻¹ J_Cᵀ
}

/// ψ for every training row of `train` and every row of `criterion` \[ψ\]: m solves and one
/// per-example pass.
///
/// # Errors
/// As [`directions`] and [`Mlp::per_example_grad_dots`].
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::criteria::{LossKind, MeanLoss};
/// use puma::influence::hessian_operator;
/// use puma::model::{Mlp, Samples};
/// use puma::solvers::{Exact, ExactParams};
/// use puma::valuation::psi;
///
/// let mlp = Mlp::new(&[2, 2], Activation::Tanh, 1e-2).unwrap(); // logistic regression
/// let theta = mlp.init(0);
/// let (x, y) = ([0.5, -1.0, 1.5, 0.25, -0.3, 0.7], [0, 1, 1]);
/// let train = Samples::new(&x, 2, &y).unwrap();
/// let c = MeanLoss::new(train, LossKind::CrossEntropy).unwrap();
/// let op = hessian_operator(&mlp, &theta, train).unwrap();
/// let mut solver = Exact::new(ExactParams::default()).unwrap();
/// let psi = psi(&c, &mlp, &theta, &train, &mut solver, op.as_ref()).unwrap();
/// assert_eq!((psi.n, psi.m), (3, 1));
/// ```
pub fn psi(
    criterion: &dyn Criterion,
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Psi> {
    let (s, reports) = directions(criterion, mlp, theta, solver, op)?; // H_ρ⁻¹ J_Cᵀ
    let m = criterion.len();
    let psi = mlp.per_example_grad_dots(theta, train, &s, m)?; // n × m, (i, v) = s_vᵀ g_i
    Ok(Psi {
        n: train.n(),
        m,
        psi,
        directions: s,
        reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::Activation;
    use crate::criteria::{LossKind, PerSampleLoss};
    use crate::influence::{hessian_operator, per_example_grads};
    use crate::solvers::{Exact, ExactParams};

    /// ψ_vi against the explicit product ∇C_vᵀ H⁻¹ g_i with a dense H and explicit g_i.
    #[test]
    fn psi_matches_explicit_products() {
        let mlp = Mlp::new(&[2, 3], Activation::Tanh, 1e-2).unwrap();
        let theta = mlp.init(3);
        let x = [0.5, -1.0, 1.5, 0.25, -0.3, 0.7, 0.2, 0.1];
        let y = [0, 1, 2, 1];
        let train = Samples::new(&x, 2, &y).unwrap();
        let eval = train.rows(1..3);
        let c = PerSampleLoss::new(eval, LossKind::CrossEntropy).unwrap();
        let op = hessian_operator(&mlp, &theta, train).unwrap();
        let mut solver = Exact::new(ExactParams::default()).unwrap();
        let out = psi(&c, &mlp, &theta, &train, &mut solver, op.as_ref()).unwrap();
        let p = mlp.n_params();
        let g = per_example_grads(&mlp, &theta, &train).unwrap(); // p × 4
        let jt = c.jacobian_t(&mlp, &theta).unwrap(); // p × 2
        for i in 0..4 {
            let gi: Vec<f64> = (0..p).map(|k| g[k * 4 + i]).collect();
            let (phi, _) = solver.solve(op.as_ref(), &gi).unwrap();
            for v in 0..2 {
                let want: f64 = (0..p).map(|k| jt[k * 2 + v] * phi[k]).sum();
                assert!((out.point(i)[v] - want).abs() < 1e-12, "point {i} row {v}");
            }
        }
        let b = out.sum_over(&[0, 3]).unwrap();
        assert!((b[1] - out.point(0)[1] - out.point(3)[1]).abs() < 1e-15);
        assert!(matches!(
            out.columns(&[4]),
            Err(Error::IndexOutOfRange { index: 4, .. })
        ));
    }
}
