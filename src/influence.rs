//! Influence of training points on the mean test loss, in the \[remove\] convention of
//! DESIGN.md §1, plus the Koh–Liang quantities under their own names [KL17, §2.1].
//!
//! ```text
//! g_i        = ∇_θ CE(z_i, θ̂)                       [g]   (no μθ term)
//! ∇L_test    = ∇_θ (1/t) Σ_j CE(z_j, θ̂)                   (mean test cross-entropy, no μθ)
//! s_test     = H_ρ⁻¹ ∇L_test                         [H]   (one inverse-HVP solve)
//! I_up,loss  = −∇L_testᵀ H_ρ⁻¹ g_i = −g_iᵀ s_test    [KL-loss]
//! I_up,params = −H_ρ⁻¹ g_i                           [KL-params]
//! remove_i   = −I_up,loss / n = (1/n) g_iᵀ s_test    [remove]
//! self_i     = g_iᵀ H_ρ⁻¹ g_i                        [self]
//! ```
//!
//! `remove_i` is the predicted change of the mean test loss if point i is removed (w_i: 1 → 0
//! in \[J\]): a value > 0 means removing the point raises the test loss, so the point is
//! *helpful*; a value < 0 means removing it lowers the test loss, so the point is *harmful*.
//!
//! H_ρ⁻¹ is never formed. Cost of [`influence_on_mean_test_loss`]: one solve (any
//! [`InverseHvp`]) plus one per-example-product pass ([`Mlp::per_example_grad_dots`], about
//! one gradient over the training set, DESIGN.md §2). With t test points
//! ([`influence_per_test_point`]): t solves (`solve_many`, one cached factor on the exact
//! path) and one pass with t directions. Self-influence needs φ_i = H_ρ⁻¹ g_i for every i:
//! n solves, done in blocks of [`SELF_BLOCK`] explicit gradients (2p² flops per row with the
//! exact solver's cached Cholesky factor, plus p³/3 once). CG solves each block by block CG
//! ([`crate::solvers::block_cg`]): one Krylov space for the block, so a block costs at most
//! about p HVP columns plus the residual checks, not |block| × iterations (moons MLP, 256 rows:
//! 512 HVP columns against 8,959 for 256 separate CG runs).
//!
//! Influence functions are a first-order expansion around a minimiser: at a θ̂ with
//! ‖∇J(θ̂)‖∞ above [`GRAD_INF_WARN`] the values are not meaningful, and [`Influence`] says so.

use crate::error::{Error, Result};
use crate::model::train::{inf_norm, logistic_hessian};
use crate::model::{Mlp, Samples};
use crate::solvers::{
    DenseHessian, HessianOperator, InverseHvp, MlpGaussNewton, MlpHessian, SolveReport,
};

/// ‖∇J(θ̂)‖∞ above which influence values are flagged as not meaningful (θ̂ not a minimiser).
pub const GRAD_INF_WARN: f64 = 1e-8;

/// Training rows per block in [`self_influence`]: p × 256 explicit gradients at a time.
pub const SELF_BLOCK: usize = 256;

/// Influence of every training point on the mean test loss, with how it was computed.
#[derive(Clone, Debug)]
pub struct Influence {
    /// \[remove\]: (1/n) g_iᵀ s_test for each training row i, in order (> 0: helpful).
    pub remove: Vec<f64>,
    /// s_test = H_ρ⁻¹ ∇L_test.
    pub s_test: Vec<f64>,
    /// The report of the s_test solve (iterations, true residual, ρ, error bound).
    pub report: SolveReport,
    /// ‖∇J(θ̂)‖∞ on the training set, μθ included.
    pub grad_inf: f64,
}

impl Influence {
    /// Whether θ̂ is converged enough (‖∇J‖∞ ≤ [`GRAD_INF_WARN`]) for influence to be meaningful.
    pub fn meaningful(&self) -> bool {
        self.grad_inf <= GRAD_INF_WARN
    }

    /// I_up,loss(z_i, test) = −n · remove_i = −g_iᵀ s_test \[KL-loss\].
    pub fn up_loss(&self) -> Vec<f64> {
        let n = self.remove.len() as f64;
        self.remove.iter().map(|r| -n * r).collect()
    }
}

/// ‖∇J(θ)‖∞ on `train`, weight decay included: the convergence check of a loaded model.
///
/// # Errors
/// As [`Mlp::value_and_grad`].
pub fn grad_inf(mlp: &Mlp, theta: &[f64], train: &Samples) -> Result<f64> {
    Ok(inf_norm(&mlp.value_and_grad(theta, train)?.1))
}

/// ∇_θ of the mean cross-entropy over `s`, without the μθ term (\[g\] averaged).
///
/// # Errors
/// As [`Mlp::value_and_grad`].
pub fn grad_mean_loss(mlp: &Mlp, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
    let mut mlp0 = mlp.clone();
    mlp0.l2 = 0.0; // ∇L_test excludes μθ
    Ok(mlp0.value_and_grad(theta, s)?.1)
}

/// The Hessian of \[J\] at θ on `train` as an operator: the closed-form dense matrix (convex,
/// certified σ_min ≥ μ + ρ) for logistic regression, else matrix-free autodiff HVPs.
///
/// # Errors
/// As [`logistic_hessian`], [`DenseHessian::new`] or [`MlpHessian::new`].
pub fn hessian_operator<'a>(
    mlp: &'a Mlp,
    theta: &'a [f64],
    train: Samples<'a>,
) -> Result<Box<dyn HessianOperator + 'a>> {
    if mlp.sizes().len() == 2 {
        let h = logistic_hessian(mlp, theta, &train)?; // ∇²J, μI included
        let op = DenseHessian::new(mlp.n_params(), h)?.with_convexity(mlp.l2)?; // CE Hessian ⪰ 0
        Ok(Box::new(op))
    } else {
        Ok(Box::new(MlpHessian::new(mlp, theta, train)?))
    }
}

/// Which matrix stands for ∇²J in the solves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Curvature {
    /// The Hessian of \[J\] ([`hessian_operator`]).
    #[default]
    Hessian,
    /// The Gauss-Newton matrix G = (1/n) Σ_i w_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i + μI, J_i the
    /// logits' Jacobian ([`MlpGaussNewton`]): the Hessian without its second-derivative-of-
    /// the-network terms. Positive semi-definite at any θ before μI (raising all logits of a
    /// row alike is in its null space), so σ_min ≥ μ + ρ: the solves are well posed where H
    /// is indefinite (an unconverged or non-convex θ) as long as μ + ρ > 0 (with μ = 0, use
    /// `--damping`). It equals the Hessian for logistic regression, which keeps its closed
    /// form.
    GaussNewton,
}

/// [`hessian_operator`] or the Gauss-Newton operator, as `curvature` says.
///
/// # Errors
/// As [`hessian_operator`] or [`MlpGaussNewton::new`].
///
/// # Examples
/// ```
/// use puma::autodiff::Activation;
/// use puma::influence::{Curvature, curvature_operator};
/// use puma::model::{Mlp, Samples};
/// let mlp = Mlp::new(&[2, 4, 2], Activation::Tanh, 1e-2).unwrap();
/// let theta = mlp.init(0);
/// let (x, y) = ([0.5, -1.0, 1.5, 0.25], [0, 1]);
/// let s = Samples::new(&x, 2, &y).unwrap();
/// let g = curvature_operator(&mlp, &theta, s, Curvature::GaussNewton).unwrap();
/// assert_eq!(g.dim(), mlp.n_params());
/// ```
pub fn curvature_operator<'a>(
    mlp: &'a Mlp,
    theta: &'a [f64],
    train: Samples<'a>,
    curvature: Curvature,
) -> Result<Box<dyn HessianOperator + 'a>> {
    match curvature {
        Curvature::GaussNewton if mlp.sizes().len() > 2 => {
            Ok(Box::new(MlpGaussNewton::new(mlp, theta, train)?))
        }
        _ => hessian_operator(mlp, theta, train), // G = H for logistic regression
    }
}

/// s_test = H_ρ⁻¹ ∇L_test, one solve \[KL-loss\].
///
/// # Errors
/// As [`InverseHvp::solve`].
pub fn s_test(
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
    grad_test: &[f64],
) -> Result<(Vec<f64>, SolveReport)> {
    solver.solve(op, grad_test)
}

/// \[remove\] for given s_test: (1/n) g_iᵀ s_test for all n training rows, one
/// per-example-product pass.
///
/// # Errors
/// As [`Mlp::per_example_grad_dots`].
pub fn remove_given_s_test(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    s_test: &[f64],
) -> Result<Vec<f64>> {
    let n = train.n() as f64;
    let dots = mlp.per_example_grad_dots(theta, train, s_test, 1)?; // g_iᵀ s_test
    Ok(dots.into_iter().map(|v| v / n).collect())
}

/// I_up,loss = −g_iᵀ s_test for all training rows \[KL-loss\].
///
/// # Errors
/// As [`Mlp::per_example_grad_dots`].
pub fn up_loss(mlp: &Mlp, theta: &[f64], train: &Samples, s_test: &[f64]) -> Result<Vec<f64>> {
    let dots = mlp.per_example_grad_dots(theta, train, s_test, 1)?;
    Ok(dots.into_iter().map(|v| -v).collect())
}

/// I_up,params(z_i) = −H_ρ⁻¹ g_i for training row `i` \[KL-params\], with the solve's report.
///
/// # Errors
/// [`Error::InvalidParam`] if `i` is out of range; as [`InverseHvp::solve`].
pub fn up_params(
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    i: usize,
) -> Result<(Vec<f64>, SolveReport)> {
    if i >= train.n() {
        return Err(Error::InvalidParam {
            name: "i",
            reason: format!("row {i} is out of range (n = {})", train.n()),
        });
    }
    let g_i = per_example_grads(mlp, theta, &rows(train, i, i + 1))?; // p × 1
    let (phi, rep) = solver.solve(op, &g_i)?; // φ_i = H_ρ⁻¹ g_i
    Ok((phi.into_iter().map(|v| -v).collect(), rep))
}

/// Influence of every training row on the mean test cross-entropy in the \[remove\]
/// convention, (1/n) g_iᵀ s_test, with the solve report and ‖∇J(θ̂)‖∞.
///
/// Cost: H (closed form or matrix-free, [`hessian_operator`]), one solve, one
/// per-example-product pass.
///
/// # Errors
/// As [`hessian_operator`], [`InverseHvp::solve`] and [`Mlp::per_example_grad_dots`].
pub fn influence_on_mean_test_loss(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    test: &Samples,
    solver: &mut dyn InverseHvp,
) -> Result<Influence> {
    let op = hessian_operator(mlp, theta, *train)?;
    influence_with_operator(mlp, theta, train, test, solver, op.as_ref())
}

/// [`influence_on_mean_test_loss`] with a given Hessian operator (reuse one across calls).
///
/// # Errors
/// As [`influence_on_mean_test_loss`].
pub fn influence_with_operator(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    test: &Samples,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Influence> {
    let grad_test = grad_mean_loss(mlp, theta, test)?; // ∇L_test
    let (s_test, report) = s_test(solver, op, &grad_test)?; // H_ρ⁻¹ ∇L_test
    let remove = remove_given_s_test(mlp, theta, train, &s_test)?; // (1/n) g_iᵀ s_test
    Ok(Influence {
        remove,
        s_test,
        report,
        grad_inf: grad_inf(mlp, theta, train)?,
    })
}

/// \[remove\] for each test point separately: an n × t row-major matrix whose entry (i, j) is
/// (1/n) g_iᵀ H_ρ⁻¹ ∇CE(z_j), with one report per test point.
///
/// Cost: t solves through `solve_many` and one per-example pass with t directions.
///
/// # Errors
/// As [`InverseHvp::solve_many`] and [`Mlp::per_example_grad_dots`].
pub fn influence_per_test_point(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    test: &Samples,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<(Vec<f64>, Vec<SolveReport>)> {
    let t = test.n();
    let g_test = per_example_grads(mlp, theta, test)?; // p × t, column j = ∇CE(z_j)
    let (s, reports) = solver.solve_many(op, t, &g_test)?; // p × t, s_j = H_ρ⁻¹ ∇CE(z_j)
    let n = train.n() as f64;
    let dots = mlp.per_example_grad_dots(theta, train, &s, t)?; // n × t, g_iᵀ s_j
    Ok((dots.into_iter().map(|v| v / n).collect(), reports))
}

/// Self-influence g_iᵀ H_ρ⁻¹ g_i for every training row \[self\] (≥ 0 when H_ρ ≻ 0).
///
/// Rows go in blocks of [`SELF_BLOCK`]: explicit gradients G_B (p × |B|), Φ_B = H_ρ⁻¹ G_B by
/// `solve_many` (the exact solver reuses its factor: 2p² flops per row), then column dots.
/// Memory: 2p·[`SELF_BLOCK`] doubles beyond the solver's own.
///
/// # Errors
/// As [`InverseHvp::solve_many`] and [`per_example_grads`].
pub fn self_influence(
    mlp: &Mlp,
    theta: &[f64],
    train: &Samples,
    solver: &mut dyn InverseHvp,
    op: &dyn HessianOperator,
) -> Result<Vec<f64>> {
    let n = train.n();
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + SELF_BLOCK).min(n);
        let m = end - start;
        let g = per_example_grads(mlp, theta, &rows(train, start, end))?; // p × m
        let (phi, _) = solver.solve_many(op, m, &g)?; // φ_i = H_ρ⁻¹ g_i
        let mut block = vec![0.0; m];
        for (gk, pk) in g.chunks_exact(m).zip(phi.chunks_exact(m)) {
            for c in 0..m {
                block[c] += gk[c] * pk[c]; // g_iᵀ φ_i
            }
        }
        out.extend(block);
        start = end;
    }
    Ok(out)
}

/// Explicit per-example gradients g_i of \[g\] for the rows of `s`, as a p × n row-major matrix
/// (column i = g_i), from [`Mlp::per_example_grad_dots`] with the identity as directions.
///
/// Cost: 2n·Σ_l d_l d_{l+1}·p flops and p² + 2pn doubles; use it for blocks of rows.
///
/// # Errors
/// As [`Mlp::per_example_grad_dots`].
pub fn per_example_grads(mlp: &Mlp, theta: &[f64], s: &Samples) -> Result<Vec<f64>> {
    let (p, n) = (mlp.n_params(), s.n());
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut eye = vec![0.0; p * p];
    for k in 0..p {
        eye[k * p + k] = 1.0;
    }
    let gt = mlp.per_example_grad_dots(theta, s, &eye, p)?; // n × p: row i = g_iᵀ
    let mut g = vec![0.0; p * n];
    for i in 0..n {
        for k in 0..p {
            g[k * n + i] = gt[i * p + k];
        }
    }
    Ok(g)
}

/// Rows start..end of `s` as a view (weights kept).
fn rows<'a>(s: &Samples<'a>, start: usize, end: usize) -> Samples<'a> {
    Samples {
        x: &s.x[start * s.d..end * s.d],
        d: s.d,
        y: &s.y[start..end],
        w: s.w.map(|w| &w[start..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Activation;
    use crate::solvers::{Exact, ExactParams};

    #[test]
    fn per_example_grads_match_single_row_autodiff() {
        let mlp = Mlp::new(&[2, 3, 2], Activation::Tanh, 1e-3).unwrap();
        let theta = mlp.init(1);
        let (x, y) = ([0.5, -1.0, 1.5, 0.25, -0.3, 0.7], [0, 1, 1]);
        let s = Samples::new(&x, 2, &y).unwrap();
        let g = per_example_grads(&mlp, &theta, &s).unwrap();
        for i in 0..3 {
            let gi = grad_mean_loss(&mlp, &theta, &rows(&s, i, i + 1)).unwrap();
            for (k, v) in gi.iter().enumerate() {
                assert!((g[k * 3 + i] - v).abs() < 1e-13, "row {i} entry {k}");
            }
        }
    }

    #[test]
    fn up_params_rejects_a_row_out_of_range() {
        let mlp = Mlp::new(&[2, 2], Activation::Tanh, 1e-2).unwrap();
        let theta = mlp.init(0);
        let (x, y) = ([0.5, -1.0], [0]);
        let s = Samples::new(&x, 2, &y).unwrap();
        let op = hessian_operator(&mlp, &theta, s).unwrap();
        let mut solver = Exact::new(ExactParams::default()).unwrap();
        let err = up_params(&mut solver, op.as_ref(), &mlp, &theta, &s, 1).unwrap_err();
        assert!(matches!(err, Error::InvalidParam { name: "i", .. }));
    }
}
