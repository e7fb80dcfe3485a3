//! The exact inverse-HVP: H_ρ = H + ρI of DESIGN.md §1 \[H\] factored once as LLᵀ by the
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
//! Certificate (optional, on by default), a lower bound σ ≤ σ_min(H_ρ) for the error bound:
//! 1. shifted Cholesky: θ ≈ σ_min by 30 steps of inverse iteration with the factor (2p² each),
//!    then H_ρ − τI = L′L′ᵀ for τ = 0.9θ (else 0.5θ), p³/3 flops per attempt. Success
//!    proves σ_min ≥ τ − γ_{p+1}‖L′‖_F² (backward error of Cholesky, |ΔH| ≤ γ_{p+1}|L′||L′ᵀ|
//!    [Hig02, Thm. 10.3], then Weyl): a bound within a factor 1/0.9 of σ_min.
//! 2. if both attempts fail, σ_min(H_ρ) = 1/‖L⁻¹‖₂² ≥ 1/‖L⁻¹‖_F² − γ_{p+1}‖L‖_F², from L⁻¹
//!    (one triangular solve, p³/3 flops). Sound but far below σ_min when many eigenvalues are
//!    small (‖L⁻¹‖_F² = trace(H_ρ⁻¹)); the rounding of L⁻¹ itself is neglected (first order).
//!
//! A convex model's μ + ρ is used when it is larger.
//!
//! Influence needs s_test = H_ρ⁻¹ ∇L_test and self-influence g_iᵀ H_ρ⁻¹ g_i for all i
//! (\[KL-loss\], \[self\], \[KL17\]): one factor serves all of them.

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
    /// Damping ρ of \[H\]. Default 0; finite, ≥ 0.
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
            let mut work = H.into_owned(); // H itself if assembled, else one copy: 2p² in all
            shifted_sigma(p, rho, &L, &mut work).or_else(|| cholesky_sigma(p, &L, &mut work))
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
        // certify_many spends one HVP when H is stored (the rest by a GEMM), else m.
        let residual_hvps = if m > 1 && op.dense().is_some() { 1 } else { m };
        let reports = certs
            .into_iter()
            .enumerate()
            .map(|(j, c)| self.report(if j == 0 { charged + residual_hvps } else { 0 }, c))
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

/// Inverse-iteration steps for the σ_min estimate that [`shifted_sigma`] certifies.
const INVERSE_ITERATION_STEPS: usize = 30;

/// A certified σ ≤ σ_min(H_ρ) by a shifted factorisation: estimate σ_min by inverse
/// iteration with the factor L (θ = 1/max Rayleigh quotient of H_ρ⁻¹, an estimate from
/// above), then try H_ρ − τI = L′L′ᵀ for τ = 0.9θ, then 0.5θ. A factorisation that
/// succeeds proves H_ρ − τI + ΔH ≻ 0 with ‖ΔH‖₂ ≤ γ_{p+1}‖L′‖_F² [Hig02, Thm. 10.3], so
/// σ_min(H_ρ) ≥ τ − γ_{p+1}‖L′‖_F². `work` holds H (lower triangle the truth, as read by
/// the main factorisation) and is overwritten. `None` if no attempt certifies a positive τ.
#[allow(non_snake_case)]
fn shifted_sigma(p: usize, rho: f64, L: &[f64], work: &mut [f64]) -> Option<SigmaBound> {
    if p == 0 {
        return None;
    }
    let mut v: Vec<f64> = (0..p)
        .map(|i| 1.0 + ((i * 7919) % 13) as f64 / 13.0)
        .collect();
    let mut rq = 0.0;
    for _ in 0..INVERSE_ITERATION_STEPS {
        let norm = kernels::nrm2(&v);
        kernels::scal(1.0 / norm, &mut v);
        let mut w = v.clone();
        kernels::potrs(Uplo::Lower, p, 1, L, p, &mut w, 1); // H_ρ⁻¹ v
        rq = kernels::dot(&v, &w); // ≤ 1/σ_min
        v = w;
    }
    let theta = 1.0 / rq; // ≥ σ_min (estimate)
    if !(theta.is_finite() && theta > 0.0) {
        return None;
    }
    let diag: Vec<f64> = (0..p).map(|i| work[i * p + i]).collect();
    for i in 0..p {
        for j in 0..i {
            work[j * p + i] = work[i * p + j]; // the upper triangle keeps H across attempts
        }
    }
    for factor in [0.9, 0.5] {
        let tau = factor * theta;
        for i in 0..p {
            for j in 0..i {
                work[i * p + j] = work[j * p + i];
            }
            work[i * p + i] = diag[i] + rho - tau; // H_ρ − τI
        }
        if kernels::potrf(Uplo::Lower, p, work, p).is_ok() {
            let l_fro2: f64 = (0..p)
                .map(|i| work[i * p..=i * p + i].iter().map(|x| x * x).sum::<f64>())
                .sum();
            let value = tau - gamma(p + 1) * l_fro2;
            if value > 0.0 {
                return Some(SigmaBound {
                    value,
                    source: SigmaSource::ShiftedCholesky,
                });
            }
        }
    }
    None
}

/// The certified lower bound 1/‖L⁻¹‖_F² − γ_{p+1}‖L‖_F² on σ_min(H_ρ) from the lower
/// factor L (p × p row-major, lower triangle), or `None` if it is not positive. `work`
/// (p × p) is overwritten with L⁻¹.
#[allow(non_snake_case)]
fn cholesky_sigma(p: usize, L: &[f64], work: &mut [f64]) -> Option<SigmaBound> {
    if p == 0 {
        return None;
    }
    let Linv = work;
    Linv.iter_mut().for_each(|x| *x = 0.0);
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
        Linv,
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
        let mut l = h.matrix().to_vec();
        kernels::potrf(Uplo::Lower, 3, &mut l, 3).unwrap();
        let s = cholesky_sigma(3, &l, &mut [0.0; 9]).unwrap();
        assert_eq!(s.source, SigmaSource::Cholesky);
        assert!(s.value <= 1.0 && (s.value - 1.0 / 1.75).abs() < 1e-14);
        // The shifted factorisation certifies 0.9·θ, θ → 1 by inverse iteration (ratio 1/2).
        let s = shifted_sigma(3, 0.0, &l, &mut h.matrix().to_vec()).unwrap();
        assert_eq!(s.source, SigmaSource::ShiftedCholesky);
        assert!(
            s.value <= 1.0 && (s.value - 0.9).abs() < 1e-6,
            "{}",
            s.value
        );
        let mut e = Exact::new(ExactParams::default()).unwrap();
        e.factor(&h).unwrap();
        assert_eq!(e.sigma().unwrap(), s); // the better of the two
    }

    #[test]
    fn shifted_sigma_holds_on_a_near_singular_matrix() {
        // [[1, 1], [1, 1 + 1e-6]]: σ_min ≈ 5e-7.
        let h = DenseHessian::new(2, vec![1.0, 1.0, 1.0, 1.0 + 1e-6]).unwrap();
        let mut e = Exact::new(ExactParams::default()).unwrap();
        e.factor(&h).unwrap();
        let s = e.sigma().unwrap();
        let (tr, det): (f64, f64) = (2.0 + 1e-6, 1e-6);
        let sigma_min = 0.5 * (tr - ((tr * tr) - 4.0 * det).sqrt());
        assert!(
            s.value <= sigma_min && s.value > 0.4 * sigma_min,
            "{s:?} vs {sigma_min}"
        );
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
