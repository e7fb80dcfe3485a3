//! The exact inverse-HVP: H_ρ = H + ρI of DESIGN.md §1 [H] factored once as LLᵀ by the
//! kernels' blocked Cholesky, the factor cached and reused for every right-hand side.
//!
//! ```text
//! H_ρ = L Lᵀ            (potrf, p³/3 flops, once)
//! x   = L⁻ᵀ (L⁻¹ b)     (potrs: two triangular solves, 2p² flops per b; trsm for a block B)
//! ```
//!
//! H comes from [`HessianOperator::dense`] or, for a matrix-free operator, from p unit-vector
//! HVPs in batches of [`ASSEMBLY_BATCH`]. The dense matrix and its factor need 2p² doubles;
//! [`ExactParams::memory_budget`] refuses larger problems with [`Error::MemoryBudget`].
//!
//! Certificate (optional, on by default): with L⁻¹ (one more triangular solve, p³/3 flops),
//! σ_min(H_ρ) = 1/‖L⁻¹‖₂² ≥ 1/‖L⁻¹‖_F², less the factorisation's backward error
//! γ_{p+1}‖L‖_F² (H_ρ + ΔH = LLᵀ with |ΔH| ≤ γ_{p+1}|L||Lᵀ| [Hig02, Thm. 10.3], then Weyl).
//! This bound is sound but can be far below σ_min when many eigenvalues are small
//! (‖L⁻¹‖_F² = trace(H_ρ⁻¹)); a convex model's μ + ρ is used when it is larger. The rounding
//! of L⁻¹ itself is neglected (first order).
//!
//! Influence needs s_test = H_ρ⁻¹ ∇L_test and self-influence g_iᵀ H_ρ⁻¹ g_i for all i
//! ([KL-loss], [self], [KL17]): one factor serves all of them.

use super::{
    HessianOperator, InverseHvp, Method, SigmaBound, SigmaSource, SolveReport, Stop, best_sigma,
    certify, certify_many, check_len, check_rho, check_rhs, convexity_sigma, gamma,
};
use crate::error::{Error, Result};
use crate::kernels::{self, Diag, Op, Side, Uplo};

/// Unit vectors per batched HVP pass when H is assembled from a matrix-free operator.
pub const ASSEMBLY_BATCH: usize = 32;

/// What [`Exact`] does when H_ρ is not positive definite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DampingPolicy {
    /// Use ρ as given; an indefinite H_ρ is [`Error::NotPositiveDefinite`]. The default.
    Fixed,
    /// Opt-in: on a failed factorisation raise ρ ← max(10ρ, 1e-8·‖H‖_F) and retry, at most
    /// `max_raises` times; the report's `rho` states the value used.
    Raise {
        /// Retries allowed (≥ 1).
        max_raises: usize,
    },
}

/// Settings of [`Exact`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExactParams {
    /// Damping ρ of [H]. Default 0; finite, ≥ 0.
    pub rho: f64,
    /// What to do with an indefinite H_ρ. Default [`DampingPolicy::Fixed`].
    pub damping: DampingPolicy,
    /// Bytes the dense H and its factor may take (2p²·8). Default 2 GiB; > 0.
    pub memory_budget: u64,
    /// Compute the Cholesky certificate 1/‖L⁻¹‖_F² (p³/3 more flops, once). Default true.
    pub certify: bool,
}

impl Default for ExactParams {
    fn default() -> Self {
        ExactParams {
            rho: 0.0,
            damping: DampingPolicy::Fixed,
            memory_budget: 2 << 30,
            certify: true,
        }
    }
}

impl ExactParams {
    /// Bytes the exact path allocates for p parameters: H and its factor, 2p² doubles.
    pub fn bytes_needed(&self, p: usize) -> u64 {
        2 * (p as u64) * (p as u64) * 8
    }
}

/// The cached factorisation of one operator's H_ρ.
#[derive(Clone, Debug)]
struct Factor {
    p: usize,
    rho: f64,
    l: Vec<f64>,
    sigma: Option<SigmaBound>,
    assembly_hvps: usize,
    raises: usize,
    reported: bool,
}

/// The exact solver: Cholesky of the dense H_ρ, cached ([`Exact::factor`] or the first solve)
/// and reused by every later solve.
///
/// The cache belongs to the operator of the first solve; call [`Exact::clear`] before solving
/// with another one of the same dimension (each report's fresh-HVP residual would expose a
/// mix-up).
///
/// # Examples
/// ```
/// use puma::solvers::{DenseHessian, Exact, ExactParams, InverseHvp};
/// let h = DenseHessian::new(2, vec![4.0, 2.0, 2.0, 10.0]).unwrap();
/// let mut exact = Exact::new(ExactParams::default()).unwrap();
/// let (x, report) = exact.solve(&h, &[7.0, 8.0]).unwrap(); // H·(1.5, 0.5) = (7, 8)
/// assert!((x[0] - 1.5).abs() < 1e-14 && (x[1] - 0.5).abs() < 1e-14);
/// assert!(report.error_bound.unwrap() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct Exact {
    params: ExactParams,
    cache: Option<Factor>,
}

impl Exact {
    /// A solver with `params`, nothing factored yet.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for ρ < 0 or non-finite, a zero memory budget, or
    /// `Raise { max_raises: 0 }`.
    pub fn new(params: ExactParams) -> Result<Self> {
        check_rho(params.rho)?;
        if params.memory_budget == 0 {
            return Err(Error::InvalidParam {
                name: "memory_budget",
                reason: "must be > 0 bytes".into(),
            });
        }
        if params.damping == (DampingPolicy::Raise { max_raises: 0 }) {
            return Err(Error::InvalidParam {
                name: "damping",
                reason: "Raise needs max_raises ≥ 1".into(),
            });
        }
        Ok(Exact {
            params,
            cache: None,
        })
    }

    /// Drops the cached factor.
    pub fn clear(&mut self) {
        self.cache = None;
    }

    /// The ρ of the cached factor (after any raises), if factored.
    pub fn rho_used(&self) -> Option<f64> {
        self.cache.as_ref().map(|f| f.rho)
    }

    /// The certified lower bound on σ_min(H_ρ) of the cached factor, if any.
    pub fn sigma(&self) -> Option<SigmaBound> {
        self.cache.as_ref().and_then(|f| f.sigma)
    }

    /// Factors H_ρ of `op` and caches it (replacing any earlier factor): assembles H if `op`
    /// does not store it, runs the damping policy, computes the certificate.
    ///
    /// # Errors
    /// [`Error::MemoryBudget`] if 2p²·8 bytes exceed the budget (before anything is
    /// allocated); [`Error::NotPositiveDefinite`] naming the failed pivot of the last attempt;
    /// [`Error::NonFinite`] if the assembled H holds NaN or ±∞; errors of `op`'s HVPs.
    #[allow(non_snake_case)]
    pub fn factor(&mut self, op: &dyn HessianOperator) -> Result<()> {
        let p = op.dim();
        let needed = self.params.bytes_needed(p);
        if needed > self.params.memory_budget {
            return Err(Error::MemoryBudget {
                what: "dense Hessian and its Cholesky factor (2p² doubles)",
                needed,
                budget: self.params.memory_budget,
            });
        }
        let (H, assembly_hvps) = match op.dense() {
            Some(h) => {
                check_len("dense Hessian entries vs p²", p * p, h.len())?;
                (std::borrow::Cow::Borrowed(h), 0)
            }
            None => (std::borrow::Cow::Owned(assemble(op)?), p),
        };
        super::check_finite("assembled Hessian", &H)?;
        let mut rho = self.params.rho;
        let max_raises = match self.params.damping {
            DampingPolicy::Fixed => 0,
            DampingPolicy::Raise { max_raises } => max_raises,
        };
        let h_norm = kernels::nrm2(&H);
        let mut L = vec![0.0; p * p];
        let mut raises = 0;
        loop {
            L.copy_from_slice(&H);
            for i in 0..p {
                L[i * p + i] += rho; // H_ρ = H + ρI
            }
            match kernels::potrf(Uplo::Lower, p, &mut L, p) {
                Ok(()) => break,
                Err(e) if raises < max_raises => {
                    let _ = e;
                    rho = (10.0 * rho).max(1e-8 * h_norm); // the stated schedule
                    raises += 1;
                }
                Err(e) => {
                    return Err(Error::NotPositiveDefinite {
                        pivot: e.pivot,
                        value: e.value,
                    });
                }
            }
        }
        let chol = if self.params.certify {
            drop(H);
            cholesky_sigma(p, &L)
        } else {
            None
        };
        let sigma = best_sigma(chol, convexity_sigma(op, rho));
        self.cache = Some(Factor {
            p,
            rho,
            l: L,
            sigma,
            assembly_hvps,
            raises,
            reported: false,
        });
        Ok(())
    }

    /// The cached factor for `op`, factoring first if needed; the HVPs of assembly are charged
    /// to the first report.
    fn ready(&mut self, op: &dyn HessianOperator) -> Result<usize> {
        if self.cache.as_ref().is_none_or(|f| f.p != op.dim()) {
            self.factor(op)?;
        }
        let f = self.cache.as_mut().expect("factored above");
        let charged = if f.reported { 0 } else { f.assembly_hvps };
        f.reported = true;
        Ok(charged)
    }

    fn report(&self, hvps: usize, cert: (f64, f64, Option<f64>)) -> SolveReport {
        let f = self.cache.as_ref().expect("factored");
        SolveReport {
            method: Method::Exact,
            rho: f.rho,
            iterations: 0,
            hvps,
            residual_history: vec![],
            stop: Stop::Direct,
            restarts: f.raises,
            scale: None,
            rel_residual: cert.1,
            residual_norm: cert.0,
            sigma: f.sigma,
            error_bound: cert.2,
        }
    }
}

impl InverseHvp for Exact {
    /// x = L⁻ᵀL⁻¹b with the cached factor (factoring on first use), then one fresh HVP for
    /// the true residual.
    fn solve(&mut self, op: &dyn HessianOperator, b: &[f64]) -> Result<(Vec<f64>, SolveReport)> {
        check_rhs(op, b)?;
        let charged = self.ready(op)?;
        let f = self.cache.as_ref().expect("factored");
        let p = f.p;
        let mut x = b.to_vec();
        kernels::potrs(Uplo::Lower, p, 1, &f.l, p, &mut x, 1); // H_ρ⁻¹ b
        let cert = certify(op, f.rho, &x, b, f.sigma)?;
        Ok((x, self.report(charged + 1, cert)))
    }

    /// X = H_ρ⁻¹B by two triangular solves with all m columns at once, then one batched HVP
    /// for the m true residuals.
    fn solve_many(
        &mut self,
        op: &dyn HessianOperator,
        m: usize,
        b: &[f64],
    ) -> Result<(Vec<f64>, Vec<SolveReport>)> {
        let p = op.dim();
        check_len("B (p·m entries)", p * m, b.len())?;
        super::check_finite("right-hand sides B", b)?;
        let charged = self.ready(op)?;
        let f = self.cache.as_ref().expect("factored");
        let mut x = b.to_vec();
        if m > 0 && p > 0 {
            kernels::potrs(Uplo::Lower, p, m, &f.l, p, &mut x, m); // H_ρ⁻¹ B
        }
        let certs = certify_many(op, f.rho, m, &x, b, f.sigma)?;
        let reports = certs
            .into_iter()
            .enumerate()
            .map(|(j, c)| self.report(if j == 0 { charged + m } else { 0 }, c))
            .collect();
        Ok((x, reports))
    }
}

/// H assembled from p unit-vector HVPs, [`ASSEMBLY_BATCH`] columns per batched pass.
fn assemble(op: &dyn HessianOperator) -> Result<Vec<f64>> {
    let p = op.dim();
    let mut h = vec![0.0; p * p];
    for start in (0..p).step_by(ASSEMBLY_BATCH) {
        let k = ASSEMBLY_BATCH.min(p - start);
        let mut e = vec![0.0; p * k];
        for j in 0..k {
            e[(start + j) * k + j] = 1.0; // column j = e_{start+j}
        }
        let mut he = vec![0.0; p * k];
        op.hvp_many(k, &e, &mut he)?; // columns start..start+k of H
        for i in 0..p {
            h[i * p + start..i * p + start + k].copy_from_slice(&he[i * k..(i + 1) * k]);
        }
    }
    Ok(h)
}

/// The certified lower bound 1/‖L⁻¹‖_F² − γ_{p+1}‖L‖_F² on σ_min(H_ρ) from the lower
/// factor L (p × p row-major, lower triangle), or `None` if it is not positive.
#[allow(non_snake_case)]
fn cholesky_sigma(p: usize, L: &[f64]) -> Option<SigmaBound> {
    if p == 0 {
        return None;
    }
    let mut Linv = vec![0.0; p * p];
    for i in 0..p {
        Linv[i * p + i] = 1.0;
    }
    kernels::trsm(
        Side::Left,
        Uplo::Lower,
        Op::NoTrans,
        Diag::NonUnit,
        p,
        p,
        1.0,
        L,
        p,
        &mut Linv,
        p,
    ); // L⁻¹
    let inv_fro2: f64 = Linv.iter().map(|v| v * v).sum(); // ‖L⁻¹‖_F² = trace(H_ρ⁻¹)
    let l_fro2: f64 = (0..p)
        .map(|i| L[i * p..=i * p + i].iter().map(|v| v * v).sum::<f64>())
        .sum(); // ‖L‖_F² = trace(H_ρ)
    let value = 1.0 / inv_fro2 - gamma(p + 1) * l_fro2; // Weyl with |ΔH| ≤ γ|L||Lᵀ|
    (value.is_finite() && value > 0.0).then_some(SigmaBound {
        value,
        source: SigmaSource::Cholesky,
    })
}

#[cfg(test)]
mod tests {
    use super::super::DenseHessian;
    use super::*;

    #[test]
    fn cholesky_sigma_is_below_the_smallest_eigenvalue() {
        // diag(1, 2, 4): σ_min = 1, trace(H⁻¹) = 1.75, so the bound is 1/1.75.
        let h = DenseHessian::new(3, vec![1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 4.0]).unwrap();
        let mut e = Exact::new(ExactParams::default()).unwrap();
        e.factor(&h).unwrap();
        let s = e.sigma().unwrap();
        assert_eq!(s.source, SigmaSource::Cholesky);
        assert!(s.value <= 1.0 && (s.value - 1.0 / 1.75).abs() < 1e-14);
    }

    #[test]
    fn raise_policy_reports_the_rho_used() {
        // eigenvalues 3 and −1: needs ρ > 1. Schedule from 0: 1e-8‖H‖_F, ×10 ... until > 1.
        let h = DenseHessian::new(2, vec![1.0, 2.0, 2.0, 1.0]).unwrap();
        let mut fixed = Exact::new(ExactParams::default()).unwrap();
        assert!(matches!(
            fixed.solve(&h, &[1.0, 0.0]),
            Err(Error::NotPositiveDefinite { pivot: 1, .. })
        ));
        let mut raise = Exact::new(ExactParams {
            damping: DampingPolicy::Raise { max_raises: 12 },
            ..ExactParams::default()
        })
        .unwrap();
        let (_, rep) = raise.solve(&h, &[1.0, 0.0]).unwrap();
        let start = 1e-8 * 10f64.sqrt(); // ‖H‖_F = √10
        assert!(rep.rho > 1.0 && rep.rho <= 10.0 * 1.0 + 1e-12);
        let steps = (rep.rho / start).log10().round() as i32;
        assert!((rep.rho - start * 10f64.powi(steps)).abs() < 1e-12 * rep.rho);
        assert!(rep.rel_residual < 1e-14);
    }

    #[test]
    fn memory_budget_refuses_with_the_bytes_needed() {
        let h = DenseHessian::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let mut e = Exact::new(ExactParams {
            memory_budget: 63,
            ..ExactParams::default()
        })
        .unwrap();
        assert_eq!(
            e.solve(&h, &[1.0, 1.0]).unwrap_err(),
            Error::MemoryBudget {
                what: "dense Hessian and its Cholesky factor (2p² doubles)",
                needed: 64,
                budget: 63
            }
        );
    }
}
