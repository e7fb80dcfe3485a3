//! Matrix-free conjugate gradients on H_ρ = H + ρI of DESIGN.md §1 \[H\], one HVP per
//! iteration, optionally preconditioned by the Jacobi diagonal M = diag(H) + ρI
//! [NW06, Alg. 5.3]:
//!
//! ```text
//! r = b − H_ρx,  z = M⁻¹r,  d = z
//! repeat:  q = H_ρd,  α = rᵀz / dᵀq,  x ← x + αd,  r ← r − αq
//!          z = M⁻¹r,  β = rᵀz_new / rᵀz_old,  d ← z + βd
//! ```
//!
//! dᵀH_ρd ≤ 0 means H_ρ is not positive definite: [`Error::NegativeCurvature`] carries the
//! Rayleigh quotient found. Stopping uses the true residual: when the recursive residual
//! meets tol = max(rtol, atol/‖b‖), a fresh HVP recomputes b − H_ρx; if that misses the
//! tolerance, the recursive residual is replaced by it and CG restarts from x (residual
//! replacement), so rounding drift cannot stop it early. The final report's residual is that
//! fresh one. Error bound: ‖x − x*‖ ≤ ‖r‖/(μ + ρ) when the operator states convexity μ.
//!
//! Cost: one HVP plus O(p) per iteration; in exact arithmetic at most p iterations, in
//! practice O(√κ log(1/tol)) for κ = σ_max/σ_min [NW06, §5.1]. s_test of \[KL-loss\] is one
//! solve [KL17, §3].

use super::block_cg::{BlockSettings, Column, block_cg};
use super::{
    HessianOperator, InverseHvp, Method, SolveReport, Stop, bound_from, check_rho, check_rhs,
    convexity_sigma, damped_hvp,
};
use crate::error::{Error, Result};
use crate::kernels;

/// Settings of [`Cg`].
#[derive(Clone, Debug, PartialEq)]
pub struct CgParams {
    /// Damping ρ of \[H\]. Default 0; finite, ≥ 0.
    pub rho: f64,
    /// Relative tolerance on the true residual ‖H_ρx − b‖/‖b‖. Default 1e-11 (with κ ≲ 10³
    /// the answer then agrees with the exact one to ≲ 1e-8 relative); in (0, 1).
    pub rtol: f64,
    /// Absolute tolerance on ‖H_ρx − b‖. Default 0; ≥ 0.
    pub atol: f64,
    /// Iteration limit; `None` means 2p + 100. Default `None`; ≥ 1 when given.
    pub max_iters: Option<usize>,
    /// Precondition with diag(H) + ρ when the operator provides its diagonal (the dense one,
    /// or an MLP's exact diagonal from [`super::mlp_diagonal`]). Default false: measured at
    /// rtol 1e-11 it costs HVPs on every reference problem (tests/solvers_jacobi_cg_on_the_digits_mlp.rs:
    /// moons MLP ρ = 0.01 77 vs 33 iterations, ρ = 0 137 vs 96; digits MLP `[64,32,10]`
    /// ρ = 0.01 43 vs 41; digits logistic ρ = 0.01 72 vs 63), since the diagonals of these
    /// Hessians carry little of their spectrum.
    pub jacobi: bool,
}

impl Default for CgParams {
    fn default() -> Self {
        CgParams {
            rho: 0.0,
            rtol: 1e-11,
            atol: 0.0,
            max_iters: None,
            jacobi: false,
        }
    }
}

/// The conjugate-gradient solver (stateless between solves).
///
/// # Examples
/// ```
/// use puma::solvers::{Cg, CgParams, DenseHessian, InverseHvp};
/// let h = DenseHessian::new(2, vec![4.0, 2.0, 2.0, 10.0]).unwrap();
/// let mut cg = Cg::new(CgParams::default()).unwrap();
/// let (x, report) = cg.solve(&h, &[7.0, 8.0]).unwrap();
/// assert!((x[0] - 1.5).abs() < 1e-10 && (x[1] - 0.5).abs() < 1e-10);
/// assert!(report.rel_residual <= 1e-11 && report.iterations <= 3);
/// ```
#[derive(Clone, Debug)]
pub struct Cg {
    params: CgParams,
}

impl Cg {
    /// A solver with `params`.
    ///
    /// # Errors
    /// [`Error::InvalidParam`] for a parameter outside its range.
    pub fn new(params: CgParams) -> Result<Self> {
        check_rho(params.rho)?;
        if !(params.rtol > 0.0 && params.rtol < 1.0) {
            return Err(Error::InvalidParam {
                name: "rtol",
                reason: format!("must be in (0, 1), got {}", params.rtol),
            });
        }
        if !(params.atol.is_finite() && params.atol >= 0.0) {
            return Err(Error::InvalidParam {
                name: "atol",
                reason: format!("must be finite and ≥ 0, got {}", params.atol),
            });
        }
        if params.max_iters == Some(0) {
            return Err(Error::InvalidParam {
                name: "max_iters",
                reason: "must be ≥ 1".into(),
            });
        }
        Ok(Cg { params })
    }

    /// 1/(diag(H) + ρ) when Jacobi is on and the operator knows its diagonal.
    fn jacobi(&self, op: &dyn HessianOperator) -> Result<Option<Vec<f64>>> {
        let rho = self.params.rho;
        if !self.params.jacobi {
            return Ok(None); // never asks for the diagonal (an MLP's costs about a gradient)
        }
        match op.diagonal() {
            Some(diag) => {
                let mut m = Vec::with_capacity(diag.len());
                for d in &diag {
                    let mi = d + rho; // e_iᵀ H_ρ e_i
                    if mi.is_nan() || mi <= 0.0 || mi.is_infinite() {
                        return Err(Error::NegativeCurvature {
                            iter: 0,
                            curvature: mi,
                        });
                    }
                    m.push(1.0 / mi);
                }
                Ok(Some(m))
            }
            None => Ok(None),
        }
    }
}

impl InverseHvp for Cg {
    fn solve(&mut self, op: &dyn HessianOperator, b: &[f64]) -> Result<(Vec<f64>, SolveReport)> {
        check_rhs(op, b)?;
        let (p, rho) = (op.dim(), self.params.rho);
        let sigma = convexity_sigma(op, rho);
        let b_norm = kernels::nrm2(b);
        let mut x = vec![0.0; p];
        let mut report = SolveReport::new(Method::Cg, rho, sigma);
        if b_norm == 0.0 {
            return Ok((x, report));
        }
        let m_inv = self.jacobi(op)?;
        let precondition = |r: &[f64], z: &mut [f64]| match &m_inv {
            Some(m) => z
                .iter_mut()
                .zip(r)
                .zip(m)
                .for_each(|((z, r), m)| *z = r * m),
            None => z.copy_from_slice(r),
        };
        let tol = self.params.rtol.max(self.params.atol / b_norm);
        let max_iters = self.params.max_iters.unwrap_or(2 * p + 100);
        let mut r = b.to_vec(); // x₀ = 0
        let mut z = vec![0.0; p];
        precondition(&r, &mut z);
        let mut d = z.clone();
        let mut rz = kernels::dot(&r, &z);
        let mut q = vec![0.0; p];
        let mut last_true = f64::INFINITY;
        let mut true_rel = f64::INFINITY;
        for iter in 0..max_iters {
            damped_hvp(op, rho, &d, &mut q)?; // q = H_ρ d
            report.hvps += 1;
            report.iterations += 1;
            let dq = kernels::dot(&d, &q);
            if dq.is_nan() || dq <= 0.0 {
                return Err(Error::NegativeCurvature {
                    iter,
                    curvature: dq / kernels::dot(&d, &d), // dᵀH_ρd / dᵀd
                });
            }
            let alpha = rz / dq;
            kernels::axpy(alpha, &d, &mut x); // x ← x + αd
            kernels::axpy(-alpha, &q, &mut r); // r ← r − αq
            let rel = kernels::nrm2(&r) / b_norm;
            report.residual_history.push(rel);
            if rel <= tol {
                damped_hvp(op, rho, &x, &mut q)?; // fresh H_ρ x
                report.hvps += 1;
                for ((ri, bi), qi) in r.iter_mut().zip(b).zip(&q) {
                    *ri = bi - qi; // true residual b − H_ρx replaces the recursive one
                }
                let r_norm = kernels::nrm2(&r);
                true_rel = r_norm / b_norm;
                if true_rel <= tol {
                    let (rn, relr, bound) = bound_from(op, rho, &x, b, r_norm, sigma);
                    report.stop = Stop::Converged;
                    report.residual_norm = rn;
                    report.rel_residual = relr;
                    report.error_bound = bound;
                    return Ok((x, report));
                }
                if true_rel >= 0.5 * last_true {
                    break; // replacement no longer helps: the rounding floor
                }
                last_true = true_rel;
                report.restarts += 1;
                precondition(&r, &mut z); // restart from x
                d.copy_from_slice(&z);
                rz = kernels::dot(&r, &z);
                continue;
            }
            precondition(&r, &mut z);
            let rz_new = kernels::dot(&r, &z);
            let beta = rz_new / rz;
            rz = rz_new;
            for (di, zi) in d.iter_mut().zip(&z) {
                *di = zi + beta * *di; // d ← z + βd
            }
        }
        if !true_rel.is_finite() {
            damped_hvp(op, rho, &x, &mut q)?;
            let r_norm: f64 = q
                .iter()
                .zip(b)
                .map(|(qi, bi)| (bi - qi).powi(2))
                .sum::<f64>()
                .sqrt();
            true_rel = r_norm / b_norm;
        }
        Err(Error::NoConvergence {
            method: "cg",
            iters: report.iterations,
            achieved: true_rel,
            target: tol,
        })
    }

    /// Block CG over batched HVPs ([`super::block_cg`]): one Krylov space for all m columns,
    /// deflating dependent directions and converged columns, each column stopped on its own
    /// true residual. m = 1 is [`Cg::solve`].
    fn solve_many(
        &mut self,
        op: &dyn HessianOperator,
        m: usize,
        b: &[f64],
    ) -> Result<(Vec<f64>, Vec<SolveReport>)> {
        let p = op.dim();
        super::check_len("B (p·m entries)", p * m, b.len())?;
        if m == 1 {
            let (x, rep) = self.solve(op, b)?;
            return Ok((x, vec![rep]));
        }
        let m_inv = self.jacobi(op)?;
        let settings = BlockSettings {
            rho: self.params.rho,
            rtol: self.params.rtol,
            atol: self.params.atol,
            max_iters: self.params.max_iters.unwrap_or(2 * p + 100),
            m_inv: m_inv.as_deref(),
        };
        block_cg(op, &settings, m, b)
    }
}

impl Cg {
    /// m CG runs in lockstep, one batched HVP H·[d_1 … d_k] per iteration for the k
    /// columns still running (one GEMM per layer for an MLP, DESIGN.md §2). Each column keeps
    /// its own α, β and stopping test, so each answer is what [`Cg::solve`] computes, up to
    /// the rounding of the batched product. (Not block CG: the columns share HVP passes,
    /// not a Krylov space; [`InverseHvp::solve_many`] is block CG. Kept for comparison.)
    ///
    /// # Errors
    /// As [`InverseHvp::solve_many`].
    pub fn solve_many_lockstep(
        &mut self,
        op: &dyn HessianOperator,
        m: usize,
        b: &[f64],
    ) -> Result<(Vec<f64>, Vec<SolveReport>)> {
        let (p, rho) = (op.dim(), self.params.rho);
        super::check_len("B (p·m entries)", p * m, b.len())?;
        super::check_finite("right-hand sides B", b)?;
        let sigma = convexity_sigma(op, rho);
        let m_inv = self.jacobi(op)?;
        let precondition = |r: &[f64], z: &mut [f64]| match &m_inv {
            Some(mi) => z
                .iter_mut()
                .zip(r)
                .zip(mi)
                .for_each(|((z, r), m)| *z = r * m),
            None => z.copy_from_slice(r),
        };
        let max_iters = self.params.max_iters.unwrap_or(2 * p + 100);
        /// A [`Column`] with its CG direction d, preconditioned residual z and rᵀz.
        struct Col {
            col: Column,
            z: Vec<f64>,
            d: Vec<f64>,
            rz: f64,
        }
        let mut cols: Vec<Col> = (0..m)
            .map(|j| {
                let col = Column::new(b, m, j, (self.params.rtol, self.params.atol), rho, sigma);
                let mut z = vec![0.0; p];
                precondition(&col.b, &mut z);
                Col {
                    d: z.clone(),
                    rz: kernels::dot(&col.b, &z),
                    z,
                    col,
                }
            })
            .collect();
        // H_ρ·[v_j] for the listed columns, through one batched product.
        let batched = |vs: &[&[f64]]| -> Result<Vec<Vec<f64>>> {
            let k = vs.len();
            let mut v = vec![0.0; p * k];
            for (j, vj) in vs.iter().enumerate() {
                for i in 0..p {
                    v[i * k + j] = vj[i];
                }
            }
            let mut hv = vec![0.0; p * k];
            op.hvp_many(k, &v, &mut hv)?;
            Ok((0..k)
                .map(|j| (0..p).map(|i| hv[i * k + j] + rho * v[i * k + j]).collect())
                .collect())
        };
        for iter in 0..max_iters {
            let active: Vec<usize> = (0..m).filter(|&j| !cols[j].col.done).collect();
            if active.is_empty() {
                break;
            }
            let qs = batched(&active.iter().map(|&j| &cols[j].d[..]).collect::<Vec<_>>())?;
            let mut check = Vec::new();
            for (&j, q) in active.iter().zip(&qs) {
                let c = &mut cols[j];
                c.col.report.hvps += 1;
                c.col.report.iterations += 1;
                let dq = kernels::dot(&c.d, q);
                if dq.is_nan() || dq <= 0.0 {
                    return Err(Error::NegativeCurvature {
                        iter,
                        curvature: dq / kernels::dot(&c.d, &c.d),
                    });
                }
                let alpha = c.rz / dq;
                kernels::axpy(alpha, &c.d, &mut c.col.x);
                kernels::axpy(-alpha, q, &mut c.col.r);
                let rel = kernels::nrm2(&c.col.r) / c.col.b_norm;
                c.col.report.residual_history.push(rel);
                if rel <= c.col.tol {
                    check.push(j);
                } else {
                    precondition(&c.col.r, &mut c.z);
                    let rz_new = kernels::dot(&c.col.r, &c.z);
                    let beta = rz_new / c.rz;
                    c.rz = rz_new;
                    for (di, zi) in c.d.iter_mut().zip(&c.z) {
                        *di = zi + beta * *di;
                    }
                }
            }
            if check.is_empty() {
                continue;
            }
            let hx = batched(
                &check
                    .iter()
                    .map(|&j| &cols[j].col.x[..])
                    .collect::<Vec<_>>(),
            )?;
            for (&j, hxj) in check.iter().zip(&hx) {
                let c = &mut cols[j];
                if !c.col.check_true_residual(hxj, op, rho, sigma, "cg")? {
                    precondition(&c.col.r, &mut c.z); // restart from the true residual
                    c.d.copy_from_slice(&c.z);
                    c.rz = kernels::dot(&c.col.r, &c.z);
                }
            }
        }
        if let Some(c) = cols.iter().find(|c| !c.col.done) {
            return Err(Error::NoConvergence {
                method: "cg",
                iters: c.col.report.iterations,
                achieved: c
                    .col
                    .report
                    .residual_history
                    .last()
                    .copied()
                    .unwrap_or(f64::INFINITY),
                target: c.col.tol,
            });
        }
        let mut x = vec![0.0; p * m];
        let mut reports = Vec::with_capacity(m);
        for (j, c) in cols.into_iter().enumerate() {
            for i in 0..p {
                x[i * m + j] = c.col.x[i];
            }
            reports.push(c.col.report);
        }
        Ok((x, reports))
    }
}

#[cfg(test)]
mod tests {
    use super::super::DenseHessian;
    use super::*;

    #[test]
    fn indefinite_is_negative_curvature() {
        let h = DenseHessian::new(2, vec![1.0, 2.0, 2.0, 1.0]).unwrap(); // eigenvalues 3, −1
        let mut cg = Cg::new(CgParams {
            jacobi: false,
            ..CgParams::default()
        })
        .unwrap();
        match cg.solve(&h, &[1.0, -1.0]) {
            Err(Error::NegativeCurvature { iter: 0, curvature }) => {
                assert!((curvature + 1.0).abs() < 1e-15) // (1, −1) is the −1 eigenvector
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn iteration_limit_reports_how_far_it_got() {
        let h = DenseHessian::new(3, vec![1.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0, 100.0]).unwrap();
        let mut cg = Cg::new(CgParams {
            jacobi: false,
            max_iters: Some(1),
            ..CgParams::default()
        })
        .unwrap();
        match cg.solve(&h, &[1.0, 1.0, 1.0]) {
            Err(Error::NoConvergence {
                method: "cg",
                iters: 1,
                achieved,
                ..
            }) => {
                // one steepest-descent step: α = 3/111, r = (1 − α, 1 − 10α, 1 − 100α)
                let a: f64 = 3.0 / 111.0;
                let r = ((1.0 - a).powi(2) + (1.0 - 10.0 * a).powi(2) + (1.0 - 100.0 * a).powi(2))
                    .sqrt();
                assert!((achieved - r / 3f64.sqrt()).abs() < 1e-14, "{achieved}");
            }
            other => panic!("{other:?}"),
        }
    }
}
