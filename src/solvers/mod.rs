//! Inverse-HVP solvers: x = H_ρ⁻¹ b for the damped Hessian of DESIGN.md §1 \[H\],
//! H_ρ = ∇²J(θ̂) + ρI, with a report that says how accurate x is.
//!
//! Every influence quantity is one such solve: s_test = H_ρ⁻¹ ∇L_test for \[KL-loss\] and
//! \[remove\], φ_i = H_ρ⁻¹ g_i for \[KL-params\] and the self-influence g_iᵀ H_ρ⁻¹ g_i of \[self\]
//! [KL17, §2.1]. The solvers see the Hessian only through a [`HessianOperator`] (H·v, and
//! optionally the dense matrix, its diagonal, sampled-batch products), so the same code serves
//! a closed-form logistic Hessian ([`DenseHessian`]) and matrix-free autodiff HVPs.
//!
//! | solver | method | cost (DESIGN.md §2) |
//! |---|---|---|
//! | [`Exact`] | H_ρ = LLᵀ once (kernels' blocked Cholesky), cached; two triangular solves per b | p³/3 once, 2p² per b |
//! | [`Cg`] | (Jacobi-preconditioned) conjugate gradients on HVPs [NW06, Alg. 5.3]; `solve_many` is block CG ([`block_cg`]) | one HVP per iteration; a block: one batched HVP of its active directions per iteration |
//! | [`Lissa`] | x ← b + x − (H_B + ρI)x/s on seeded batches, answer x/s \[LiSSA\] | depth × repeats batch HVPs |
//!
//! [`MlpHessian`] adapts an MLP's exact autodiff HVPs to the operator trait: products by the
//! R-passes over a linearisation cached at θ̂ ([`mlp_linearised`], ≈ 0.6 of a standalone HVP),
//! the exact diagonal from the layer structure ([`mlp_diagonal`]) and the dense H block by
//! block.
//! [`lanczos()`] estimates σ_min and σ_max (LiSSA's scale, damping advice); [`auto`] picks
//! exact when the dense H_ρ fits the memory budget and p ≤ 5,000, else CG.
//!
//! Every solve ends with a fresh HVP: the [`SolveReport`] carries the true relative
//! residual ‖H_ρx − b‖/‖b‖ and, when a certified lower bound σ ≤ σ_min(H_ρ) is known
//! ([`SigmaBound`]), the error bound ‖x − x*‖ ≤ ‖H_ρx − b‖/σ (x* = H_ρ⁻¹b), since
//! x − x* = H_ρ⁻¹(H_ρx − b) and ‖H_ρ⁻¹‖₂ = 1/σ_min.
//!
//! Multi-vector layout: a block of k vectors (right-hand sides B, directions V, answers X) is
//! a p × k row-major matrix, column j the j-th vector, as in [`puma_kernels::potrs`].

pub mod block_cg;
pub mod cg;
pub mod exact;
pub mod lanczos;
pub mod lissa;
pub mod mlp_diagonal;
pub mod mlp_linearised;
pub mod model_op;

pub use cg::{Cg, CgParams};
pub use exact::{DampingPolicy, Exact, ExactParams};
pub use lanczos::{LanczosEstimate, LanczosParams, lanczos};
pub use lissa::{Lissa, LissaParams};
pub use model_op::{MlpGaussNewton, MlpHessian};

use crate::error::{Error, Result};
use crate::kernels::{self, Op};

/// The Hessian H = ∇²J(θ̂) of \[H\] (undamped; μI included) seen through its products.
///
/// Only [`dim`](Self::dim) and [`hvp`](Self::hvp) are required. The optional methods let a
/// solver use more structure when the operator has it; each default is correct but slower or
/// says "unknown".
pub trait HessianOperator {
    /// The number of parameters p (H is p × p).
    fn dim(&self) -> usize;

    /// out ← H·v, one Hessian-vector product (`v`, `out` of length p).
    ///
    /// # Errors
    /// Whatever the underlying model evaluation reports.
    fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()>;

    /// OUT ← H·V for k directions, V and OUT p × k row-major. The default does k single
    /// HVPs; an operator with batched HVPs overrides it (one GEMM per layer, DESIGN.md §2).
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp).
    fn hvp_many(&self, k: usize, v: &[f64], out: &mut [f64]) -> Result<()> {
        let p = self.dim();
        let (mut col, mut hcol) = (vec![0.0; p], vec![0.0; p]);
        for j in 0..k {
            for i in 0..p {
                col[i] = v[i * k + j];
            }
            self.hvp(&col, &mut hcol)?;
            for i in 0..p {
                out[i * k + j] = hcol[i];
            }
        }
        Ok(())
    }

    /// The dense H (p × p row-major, symmetric) when the operator stores it; `None` makes
    /// [`Exact`] assemble it from p unit-vector HVPs.
    fn dense(&self) -> Option<&[f64]> {
        None
    }

    /// The diagonal of H for a Jacobi preconditioner, when known from structure (not from p
    /// HVPs). Default `None`.
    fn diagonal(&self) -> Option<Vec<f64>> {
        None
    }

    /// A certified lower bound on σ_min(H): μ for a convex model with weight decay μ
    /// (H = convex loss Hessian ⪰ 0, plus μI). Default `None` (not known).
    fn convexity_bound(&self) -> Option<f64> {
        None
    }

    /// A certified upper bound on ‖H‖₂ (for a dense H, ‖H‖_F), used for the rounding term
    /// of the error bound. Default `None`.
    fn norm_bound(&self) -> Option<f64> {
        None
    }

    /// The number of samples n the Hessian averages over, when sampled-batch products
    /// [`hvp_batch`](Self::hvp_batch) are meaningful. Default `None` (LiSSA then uses full HVPs).
    fn n_samples(&self) -> Option<usize> {
        None
    }

    /// out ← H_B·v for the Hessian of the mean loss over the samples `batch` (plus μI), an
    /// unbiased estimate of H·v when `batch` is sampled uniformly \[LiSSA\]. The default
    /// ignores `batch` and returns the full H·v.
    ///
    /// # Errors
    /// As [`hvp`](Self::hvp).
    fn hvp_batch(&self, batch: &[usize], v: &[f64], out: &mut [f64]) -> Result<()> {
        let _ = batch;
        self.hvp(v, out)
    }
}

/// A stored symmetric p × p Hessian (row-major): the closed-form logistic Hessian
/// ([`crate::model::train::logistic_hessian`]) or an autodiff `Mlp::hessian`.
///
/// # Examples
/// ```
/// use puma::solvers::{DenseHessian, HessianOperator};
/// let h = DenseHessian::new(2, vec![2.0, 1.0, 1.0, 3.0]).unwrap();
/// let mut out = [0.0; 2];
/// h.hvp(&[1.0, -1.0], &mut out).unwrap();
/// assert_eq!(out, [1.0, -2.0]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DenseHessian {
    p: usize,
    h: Vec<f64>,
    frobenius: f64,
    convexity: Option<f64>,
}

impl DenseHessian {
    /// Wraps the p × p row-major `h`, which must be symmetric (checked to rounding).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `h.len() != p²`; [`Error::NonFinite`] for a NaN or ±∞
    /// entry; [`Error::InvalidParam`] if `h` is not symmetric to 1e-12 relative to ‖h‖_max.
    pub fn new(p: usize, h: Vec<f64>) -> Result<Self> {
        if h.len() != p * p {
            return Err(Error::ShapeMismatch {
                what: "dense Hessian entries vs p²",
                expected: p * p,
                found: h.len(),
            });
        }
        check_finite("dense Hessian", &h)?;
        let max = h.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for i in 0..p {
            for j in 0..i {
                if (h[i * p + j] - h[j * p + i]).abs() > 1e-12 * max {
                    return Err(Error::InvalidParam {
                        name: "h",
                        reason: format!(
                            "not symmetric: H[{i},{j}] = {} but H[{j},{i}] = {}",
                            h[i * p + j],
                            h[j * p + i]
                        ),
                    });
                }
            }
        }
        let frobenius = kernels::nrm2(&h);
        Ok(DenseHessian {
            p,
            h,
            frobenius,
            convexity: None,
        })
    }

    /// States that H ⪰ μI (a convex loss plus weight decay μ), which certifies σ_min(H_ρ) ≥
    /// μ + ρ for the error bounds. The caller vouches for it.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] unless μ is finite and ≥ 0.
    pub fn with_convexity(mut self, mu: f64) -> Result<Self> {
        if !(mu.is_finite() && mu >= 0.0) {
            return Err(Error::InvalidParam {
                name: "mu",
                reason: format!("must be finite and ≥ 0, got {mu}"),
            });
        }
        self.convexity = Some(mu);
        Ok(self)
    }

    /// The matrix, p × p row-major.
    pub fn matrix(&self) -> &[f64] {
        &self.h
    }
}

impl HessianOperator for DenseHessian {
    fn dim(&self) -> usize {
        self.p
    }

    fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
        let p = self.p;
        check_len("v", p, v.len())?;
        check_len("out", p, out.len())?;
        kernels::gemv(Op::NoTrans, p, p, 1.0, &self.h, p, v, 1, 0.0, out, 1); // H v
        Ok(())
    }

    fn hvp_many(&self, k: usize, v: &[f64], out: &mut [f64]) -> Result<()> {
        let p = self.p;
        check_len("V", p * k, v.len())?;
        check_len("OUT", p * k, out.len())?;
        if k > 0 && p > 0 {
            kernels::gemm(p, p, k, 1.0, &self.h, v, 0.0, out); // H V
        }
        Ok(())
    }

    fn dense(&self) -> Option<&[f64]> {
        Some(&self.h)
    }

    fn diagonal(&self) -> Option<Vec<f64>> {
        Some((0..self.p).map(|i| self.h[i * self.p + i]).collect())
    }

    fn convexity_bound(&self) -> Option<f64> {
        self.convexity
    }

    fn norm_bound(&self) -> Option<f64> {
        Some(self.frobenius) // ‖H‖₂ ≤ ‖H‖_F
    }
}

/// Which solver produced a [`SolveReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Cholesky of the dense H_ρ ([`Exact`]).
    Exact,
    /// Conjugate gradients ([`Cg`]).
    Cg,
    /// LiSSA ([`Lissa`]).
    Lissa,
}

/// Why a solver stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A direct solve with the cached factor.
    Direct,
    /// The true relative residual met the tolerance.
    Converged,
    /// b = 0, so x = 0 exactly.
    ZeroRhs,
    /// LiSSA ran its fixed depth and repeats (it has no residual test inside).
    DepthReached,
}

/// Where a certified lower bound on σ_min(H_ρ) comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigmaSource {
    /// μ + ρ from [`HessianOperator::convexity_bound`].
    Convexity,
    /// 1/‖L⁻¹‖_F² from the Cholesky factor H_ρ = LLᵀ, less the factorisation's rounding
    /// (σ_min(H_ρ) = 1/‖L⁻¹‖₂² ≥ 1/‖L⁻¹‖_F²).
    Cholesky,
    /// τ such that H_ρ − τI has a Cholesky factor (so H_ρ ⪰ τI), less its rounding.
    ShiftedCholesky,
}

/// A certified lower bound σ ≤ σ_min(H_ρ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SigmaBound {
    /// The bound, > 0.
    pub value: f64,
    /// How it was obtained.
    pub source: SigmaSource,
}

/// What a solve did and how accurate its answer is, as data.
#[derive(Clone, Debug, PartialEq)]
pub struct SolveReport {
    /// The solver.
    pub method: Method,
    /// The damping ρ actually used in H_ρ = H + ρI (an opt-in damping policy may raise it).
    pub rho: f64,
    /// Iterations (CG steps, LiSSA steps over all repeats; 0 for exact).
    pub iterations: usize,
    /// Hessian-vector products spent, the final residual check included (for exact: the HVPs
    /// of assembling H, if it was not stored, counted on the first solve).
    pub hvps: usize,
    /// Relative residual after each iteration (CG: the recursive residual, replaced by the
    /// true one at each check; LiSSA: ‖b − (H_B + ρI)x/s‖/‖b‖ of the last repeat's steps).
    pub residual_history: Vec<f64>,
    /// Why it stopped.
    pub stop: Stop,
    /// Corrections made on the way: exact, damping raises of ρ; CG, residual replacements;
    /// LiSSA, restarts with a doubled scale after ‖x‖ grew.
    pub restarts: usize,
    /// LiSSA's scale s as finally used (`None` for other methods).
    pub scale: Option<f64>,
    /// The true relative residual ‖H_ρx − b‖/‖b‖, recomputed at the end with a fresh HVP.
    pub rel_residual: f64,
    /// ‖H_ρx − b‖ (absolute).
    pub residual_norm: f64,
    /// A certified lower bound on σ_min(H_ρ), if one is known.
    pub sigma: Option<SigmaBound>,
    /// ‖x − x*‖₂ ≤ this, from (‖H_ρx − b‖ + rounding of that residual)/σ; `None` when no σ is
    /// known. The rounding term γ_{p+1}(‖H_ρ‖‖x‖ + ‖b‖) [Hig02, §3.1] is added when
    /// [`HessianOperator::norm_bound`] is known.
    pub error_bound: Option<f64>,
}

impl SolveReport {
    /// The report of a solve that has not started: no iterations or HVPs, stop
    /// [`Stop::ZeroRhs`] (the answer x = 0 is exact while b = 0), residuals 0, and an error
    /// bound of 0 whenever a σ is known. Solvers fill it in as they go.
    pub fn new(method: Method, rho: f64, sigma: Option<SigmaBound>) -> Self {
        SolveReport {
            method,
            rho,
            iterations: 0,
            hvps: 0,
            residual_history: vec![],
            stop: Stop::ZeroRhs,
            restarts: 0,
            scale: None,
            rel_residual: 0.0,
            residual_norm: 0.0,
            sigma,
            error_bound: sigma.map(|_| 0.0),
        }
    }
}

impl Method {
    /// `"exact"`, `"cg"` or `"lissa"`, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Cg => "cg",
            Method::Lissa => "lissa",
        }
    }
}

impl Stop {
    /// Why the solver stopped, in words, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Direct => "direct solve",
            Stop::Converged => "converged",
            Stop::ZeroRhs => "zero right-hand side",
            Stop::DepthReached => "depth reached",
        }
    }
}

impl SolveReport {
    /// Every field as JSON, for the `--report` files of the commands.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "method": self.method.name(),
            "rho": self.rho,
            "iterations": self.iterations,
            "hvps": self.hvps,
            "stop": self.stop.name(),
            "restarts": self.restarts,
            "scale": self.scale,
            "rel_residual": self.rel_residual,
            "residual_norm": self.residual_norm,
            "sigma_lower_bound": self.sigma.map(|s| s.value),
            "sigma_source": self.sigma.map(|s| format!("{:?}", s.source)),
            "error_bound": self.error_bound,
            "residual_history": self.residual_history,
        })
    }
}

/// An inverse-HVP solver: x = H_ρ⁻¹ b with a [`SolveReport`].
pub trait InverseHvp {
    /// Solves H_ρ x = b.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `b.len() != op.dim()`; [`Error::NonFinite`] for a NaN or
    /// ±∞ in b; solver-specific failures ([`Error::NotPositiveDefinite`],
    /// [`Error::NegativeCurvature`], [`Error::NoConvergence`], ...).
    fn solve(&mut self, op: &dyn HessianOperator, b: &[f64]) -> Result<(Vec<f64>, SolveReport)>;

    /// Solves H_ρ X = B for m right-hand sides, B p × m row-major; X has the same layout, one
    /// report per column. The default solves column by column.
    ///
    /// # Errors
    /// As [`solve`](Self::solve); [`Error::ShapeMismatch`] if `b.len() != p·m`.
    fn solve_many(
        &mut self,
        op: &dyn HessianOperator,
        m: usize,
        b: &[f64],
    ) -> Result<(Vec<f64>, Vec<SolveReport>)> {
        let p = op.dim();
        check_len("B (p·m entries)", p * m, b.len())?;
        let mut x = vec![0.0; p * m];
        let mut reports = Vec::with_capacity(m);
        let mut col = vec![0.0; p];
        for j in 0..m {
            for i in 0..p {
                col[i] = b[i * m + j];
            }
            let (xj, rep) = self.solve(op, &col)?;
            for i in 0..p {
                x[i * m + j] = xj[i];
            }
            reports.push(rep);
        }
        Ok((x, reports))
    }
}

/// The solver [`auto`] chooses for `op`: [`Exact`] when the dense H_ρ and its factor fit
/// `ExactParams::default().memory_budget` and p ≤ 5,000, else [`Cg`], both with damping ρ and
/// otherwise default settings.
///
/// # Errors
/// [`Error::InvalidParam`] for ρ < 0 or non-finite.
pub fn auto(op: &dyn HessianOperator, rho: f64) -> Result<Box<dyn InverseHvp>> {
    check_rho(rho)?;
    let p = op.dim();
    let params = ExactParams {
        rho,
        ..ExactParams::default()
    };
    if p <= 5000 && params.bytes_needed(p) <= params.memory_budget {
        Ok(Box::new(Exact::new(params)?))
    } else {
        Ok(Box::new(Cg::new(CgParams {
            rho,
            ..CgParams::default()
        })?))
    }
}

/// [`Error::ShapeMismatch`] unless `found == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected != found {
        return Err(Error::ShapeMismatch {
            what,
            expected,
            found,
        });
    }
    Ok(())
}

/// [`Error::NonFinite`] at the first NaN or ±∞ of `v`.
pub(crate) fn check_finite(what: &'static str, v: &[f64]) -> Result<()> {
    if let Some(index) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what,
            index,
            value: v[index],
        });
    }
    Ok(())
}

/// [`Error::InvalidParam`] unless ρ is finite and ≥ 0.
pub(crate) fn check_rho(rho: f64) -> Result<()> {
    if !(rho.is_finite() && rho >= 0.0) {
        return Err(Error::InvalidParam {
            name: "rho",
            reason: format!("damping must be finite and ≥ 0, got {rho}"),
        });
    }
    Ok(())
}

/// Checks a right-hand side b against the operator: length p, finite.
pub(crate) fn check_rhs(op: &dyn HessianOperator, b: &[f64]) -> Result<()> {
    check_len("right-hand side b vs parameters p", op.dim(), b.len())?;
    check_finite("right-hand side b", b)
}

/// out ← H_ρ v = H v + ρ v.
pub(crate) fn damped_hvp(
    op: &dyn HessianOperator,
    rho: f64,
    v: &[f64],
    out: &mut [f64],
) -> Result<()> {
    op.hvp(v, out)?;
    if rho != 0.0 {
        kernels::axpy(rho, v, out);
    }
    Ok(())
}

/// The end-of-solve certificate: the true residual from a fresh HVP and the error bound.
/// Returns (‖H_ρx − b‖, ‖H_ρx − b‖/‖b‖, error bound).
pub(crate) fn certify(
    op: &dyn HessianOperator,
    rho: f64,
    x: &[f64],
    b: &[f64],
    sigma: Option<SigmaBound>,
) -> Result<(f64, f64, Option<f64>)> {
    let p = op.dim();
    let mut r = vec![0.0; p];
    damped_hvp(op, rho, x, &mut r)?; // H_ρ x
    kernels::axpy(-1.0, b, &mut r); // H_ρ x − b
    let r_norm = kernels::nrm2(&r);
    Ok(bound_from(op, rho, x, b, r_norm, sigma))
}

/// (‖r‖, ‖r‖/‖b‖, error bound) for a residual norm ‖r‖ = ‖H_ρx − b‖ computed from a fresh HVP.
pub(crate) fn bound_from(
    op: &dyn HessianOperator,
    rho: f64,
    x: &[f64],
    b: &[f64],
    r_norm: f64,
    sigma: Option<SigmaBound>,
) -> (f64, f64, Option<f64>) {
    let b_norm = kernels::nrm2(b);
    let rel = if b_norm > 0.0 {
        r_norm / b_norm
    } else {
        r_norm
    };
    let rounding = op.norm_bound().map_or(0.0, |h| {
        gamma(op.dim() + 1) * ((h + rho) * kernels::nrm2(x) + b_norm) // |fl(r) − r| [Hig02, §3.1]
    });
    (r_norm, rel, sigma.map(|s| (r_norm + rounding) / s.value))
}

/// [`certify`] for m columns at once (X, B p × m row-major). Returns (‖r_j‖, ‖r_j‖/‖b_j‖,
/// bound_j) per column.
///
/// H·X is one batched HVP, or, when the operator stores its dense H (the exact solver's case,
/// where H is already built), one GEMM with it (2p²m flops instead of m HVPs over all n
/// samples) with column 0 recomputed by a fresh HVP, so a stored H that differs from the
/// operator's products still shows in the first report.
pub(crate) fn certify_many(
    op: &dyn HessianOperator,
    rho: f64,
    m: usize,
    x: &[f64],
    b: &[f64],
    sigma: Option<SigmaBound>,
) -> Result<Vec<(f64, f64, Option<f64>)>> {
    let p = op.dim();
    let mut r = vec![0.0; p * m];
    match op.dense() {
        Some(h) if m > 1 && p > 0 => {
            kernels::gemm(p, p, m, 1.0, h, x, 0.0, &mut r); // H X with the stored H
            let x0: Vec<f64> = (0..p).map(|i| x[i * m]).collect();
            let mut hx0 = vec![0.0; p];
            op.hvp(&x0, &mut hx0)?; // column 0: a fresh HVP
            for i in 0..p {
                r[i * m] = hx0[i];
            }
        }
        _ => op.hvp_many(m, x, &mut r)?, // H X
    }
    for ((ri, xi), bi) in r.iter_mut().zip(x).zip(b) {
        *ri += rho * xi - bi; // H_ρ X − B
    }
    let gamma = gamma(p + 1);
    let col_norm = |v: &[f64], j: usize| (0..p).map(|i| v[i * m + j].powi(2)).sum::<f64>().sqrt();
    Ok((0..m)
        .map(|j| {
            let (r_norm, b_norm) = (col_norm(&r, j), col_norm(b, j));
            let rel = if b_norm > 0.0 {
                r_norm / b_norm
            } else {
                r_norm
            };
            let rounding = op
                .norm_bound()
                .map_or(0.0, |h| gamma * ((h + rho) * col_norm(x, j) + b_norm));
            (r_norm, rel, sigma.map(|s| (r_norm + rounding) / s.value))
        })
        .collect())
}

/// γ_n = nu/(1 − nu), u = ε/2, the rounding constant of an n-term dot product [Hig02, §3.1].
pub(crate) fn gamma(n: usize) -> f64 {
    let nu = n as f64 * f64::EPSILON / 2.0;
    nu / (1.0 - nu)
}

/// The convexity bound μ + ρ of `op`, if it states one and it is positive.
pub(crate) fn convexity_sigma(op: &dyn HessianOperator, rho: f64) -> Option<SigmaBound> {
    op.convexity_bound()
        .map(|mu| mu + rho)
        .filter(|s| *s > 0.0)
        .map(|value| SigmaBound {
            value,
            source: SigmaSource::Convexity,
        })
}

/// The larger (tighter) of two optional lower bounds.
pub(crate) fn best_sigma(a: Option<SigmaBound>, b: Option<SigmaBound>) -> Option<SigmaBound> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if x.value >= y.value { x } else { y }),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_hvp_many_matches_columns() {
        struct Plain(DenseHessian);
        impl HessianOperator for Plain {
            fn dim(&self) -> usize {
                self.0.dim()
            }
            fn hvp(&self, v: &[f64], out: &mut [f64]) -> Result<()> {
                self.0.hvp(v, out)
            }
        }
        let h = DenseHessian::new(3, vec![2.0, 1.0, 0.0, 1.0, 3.0, -1.0, 0.0, -1.0, 4.0]).unwrap();
        let v = [1.0, 2.0, -1.0, 0.0, 3.0, 5.0]; // 3 × 2
        let (mut a, mut b) = ([0.0; 6], [0.0; 6]);
        h.hvp_many(2, &v, &mut a).unwrap();
        Plain(h).hvp_many(2, &v, &mut b).unwrap();
        assert_eq!(a, b); // integer inputs: exact
        assert_eq!(a, [1.0, 4.0, -5.0, -3.0, 13.0, 20.0]);
    }

    #[test]
    fn dense_rejects_asymmetric_and_non_finite() {
        assert!(matches!(
            DenseHessian::new(2, vec![1.0, 2.0, 3.0, 1.0]),
            Err(Error::InvalidParam { name: "h", .. })
        ));
        assert!(matches!(
            DenseHessian::new(2, vec![1.0, f64::NAN, f64::NAN, 1.0]),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            DenseHessian::new(2, vec![1.0; 3]),
            Err(Error::ShapeMismatch { expected: 4, .. })
        ));
    }
}
