//! Block conjugate gradients for H_ρ X = B with m right-hand sides at once (DESIGN.md §2: "S
//! = H_ρ⁻¹ J_Cᵀ is m solves, block CG over batched HVPs"), the `solve_many` of [`super::Cg`].
//!
//! O'Leary's block CG \[OLe80\] searches one Krylov space for all columns: every iteration
//! multiplies a block of s ≤ m directions by H_ρ (one batched HVP, a GEMM per layer for an
//! MLP), and every column takes the best step in the span of all of them. Each column thus
//! converges in about the iterations of a single CG run on the spectrum deflated by the other
//! columns' Krylov vectors, and the whole block in at most ⌈p/s⌉ + a few iterations. The form
//! used is the breakdown-free variant of Ji & Li \[JL17\], which orthonormalises the directions
//! and drops the dependent ones (deflation), so coinciding or dependent right-hand sides cannot
//! make PᵀH_ρP singular:
//!
//! ```text
//! R = B,  Z = M⁻¹R,  P = orth(Z)                        (M: Jacobi diag(H) + ρ, or I)
//! repeat:  S = H_ρP,  G = PᵀS (s × s, Cholesky)
//!          α = G⁻¹PᵀR,  X ← X + Pα,  R ← R − Sα          (active columns only)
//!          columns whose recursive residual meets tol: true residual B − H_ρX (one batched
//!            HVP); converged columns leave the block, the others take the true residual
//!            (residual replacement) and the block restarts from P = orth(M⁻¹R)
//!          Z = M⁻¹R,  β = −G⁻¹SᵀZ,  P ← orth(Z + Pβ)      (H_ρ-conjugate to the old P)
//! ```
//!
//! orth is modified Gram-Schmidt, twice, dropping a column whose norm falls below
//! [`DEFLATION_TOL`] of its norm before projection. A dropped direction loses nothing: its
//! component stays in R and returns in a later Z. A Cholesky failure of G means H_ρ is not
//! positive definite on span(P): [`Error::NegativeCurvature`] carries the Rayleigh quotient
//! vᵀH_ρv/vᵀv of the direction v = Pw that exposes it (the failing Schur complement).
//!
//! Cost per iteration: s HVP columns in one batched pass, plus O(p·s·a) flops for the block
//! products and orth (a = active columns). Reports per column: iterations while active, the
//! column's residual history, and as `hvps` its share of the batched HVP columns (each pass
//! divided evenly over the columns active in it, rounded up), plus its true-residual checks.
//!
//! \[OLe80\] D. P. O'Leary, The block conjugate gradient algorithm and related methods, Linear
//! Algebra Appl. 29 (1980). \[JL17\] H. Ji, Y. Li, A breakdown-free block conjugate gradient
//! method, BIT 57 (2017).

use super::{
    HessianOperator, Method, SigmaBound, SolveReport, Stop, bound_from, check_finite, check_len,
    convexity_sigma,
};
use crate::error::{Error, Result};
use crate::kernels;

/// A direction is dropped from the block when Gram-Schmidt leaves less than this fraction of
/// its norm: it is then a combination of the others to about 10 digits, and keeping it would
/// make G = PᵀH_ρP as ill-conditioned as 1/DEFLATION_TOL².
pub const DEFLATION_TOL: f64 = 1e-10;

/// Settings shared with [`super::CgParams`] (checked there).
pub(crate) struct BlockSettings<'a> {
    pub rho: f64,
    pub rtol: f64,
    pub atol: f64,
    pub max_iters: usize,
    /// 1/(diag H + ρ), or `None` for no preconditioner.
    pub m_inv: Option<&'a [f64]>,
}

/// One right-hand side's state (vectors stored contiguously, length p), shared by block CG
/// and lockstep CG.
pub(crate) struct Column {
    pub(crate) b: Vec<f64>,
    pub(crate) b_norm: f64,
    pub(crate) tol: f64,
    pub(crate) x: Vec<f64>,
    pub(crate) r: Vec<f64>,
    pub(crate) last_true: f64,
    pub(crate) report: SolveReport,
    pub(crate) done: bool,
}

impl Column {
    /// Column j of the p × m row-major `b`, with x = 0, r = b and the relative tolerance
    /// max(rtol, atol/‖b‖); done at once when b = 0 (x = 0 exactly).
    pub(crate) fn new(
        b: &[f64],
        m: usize,
        j: usize,
        (rtol, atol): (f64, f64),
        rho: f64,
        sigma: Option<SigmaBound>,
    ) -> Column {
        let p = b.len() / m;
        let bj: Vec<f64> = (0..p).map(|i| b[i * m + j]).collect();
        let b_norm = kernels::nrm2(&bj);
        Column {
            tol: rtol.max(atol / b_norm),
            x: vec![0.0; p],
            r: bj.clone(),
            b: bj,
            b_norm,
            last_true: f64::INFINITY,
            report: SolveReport::new(Method::Cg, rho, sigma),
            done: b_norm == 0.0,
        }
    }

    /// The true-residual check of a column whose recursive residual met its tolerance:
    /// r ← b − H_ρx from the fresh product `hx` (one more HVP in the report). Returns
    /// `Ok(true)` when the true residual meets the tolerance too (the report gets its final
    /// residual and error bound, the column is done), `Ok(false)` for a restart from the true
    /// residual (it at least halved since the last check).
    ///
    /// # Errors
    /// [`Error::NoConvergence`] naming `method` when the true residual did not halve: the
    /// recursion has drifted and restarting does not help.
    pub(crate) fn check_true_residual(
        &mut self,
        hx: &[f64],
        op: &dyn HessianOperator,
        rho: f64,
        sigma: Option<SigmaBound>,
        method: &'static str,
    ) -> Result<bool> {
        self.report.hvps += 1;
        for ((ri, bi), hi) in self.r.iter_mut().zip(&self.b).zip(hx) {
            *ri = bi - hi; // the true residual replaces the recursive one
        }
        let r_norm = kernels::nrm2(&self.r);
        let true_rel = r_norm / self.b_norm;
        if true_rel <= self.tol {
            let (rn, rel, bound) = bound_from(op, rho, &self.x, &self.b, r_norm, sigma);
            self.report.stop = Stop::Converged;
            self.report.residual_norm = rn;
            self.report.rel_residual = rel;
            self.report.error_bound = bound;
            self.done = true;
            Ok(true)
        } else if true_rel >= 0.5 * self.last_true {
            Err(Error::NoConvergence {
                method,
                iters: self.report.iterations,
                achieved: true_rel,
                target: self.tol,
            })
        } else {
            self.last_true = true_rel;
            self.report.restarts += 1;
            Ok(false)
        }
    }
}

/// X = H_ρ⁻¹B by block CG; B and X p × m row-major, one report per column.
pub(crate) fn block_cg(
    op: &dyn HessianOperator,
    set: &BlockSettings,
    m: usize,
    b: &[f64],
) -> Result<(Vec<f64>, Vec<SolveReport>)> {
    let (p, rho) = (op.dim(), set.rho);
    check_len("B (p·m entries)", p * m, b.len())?;
    check_finite("right-hand sides B", b)?;
    let sigma = convexity_sigma(op, rho);
    let mut cols: Vec<Column> = (0..m)
        .map(|j| Column::new(b, m, j, (set.rtol, set.atol), rho, sigma))
        .collect();
    let precondition = |r: &[f64]| -> Vec<f64> {
        match set.m_inv {
            Some(mi) => r.iter().zip(mi).map(|(r, m)| r * m).collect(),
            None => r.to_vec(),
        }
    };
    let active = |cols: &[Column]| -> Vec<usize> { (0..m).filter(|&j| !cols[j].done).collect() };
    let mut act = active(&cols);
    let mut dirs = orth(act.iter().map(|&j| precondition(&cols[j].r)).collect()); // P
    for iter in 0..set.max_iters {
        if act.is_empty() {
            break;
        }
        if dirs.is_empty() {
            break; // every residual is 0 to rounding: the true-residual checks decide
        }
        let s_dirs = damped_many(op, rho, &dirs)?; // S = H_ρP
        let share = dirs.len().div_ceil(act.len());
        let g = gram(&dirs, &s_dirs); // G = PᵀS
        let chol = cholesky(&g, dirs.len()).map_err(|(_, w, d)| {
            let v = combine(&dirs, &w); // P w, with vᵀH_ρv = d
            Error::NegativeCurvature {
                iter,
                curvature: d / kernels::dot(&v, &v), // ‖v‖ ≥ |w_k| = 1 (P orthonormal)
            }
        })?;
        let mut check = Vec::new();
        for &j in &act {
            let c = &mut cols[j];
            let ptr: Vec<f64> = dirs.iter().map(|d| kernels::dot(d, &c.r)).collect(); // Pᵀr_j
            let alpha = chol_solve(&chol, dirs.len(), ptr); // G⁻¹Pᵀr_j
            for ((d, sd), a) in dirs.iter().zip(&s_dirs).zip(&alpha) {
                kernels::axpy(*a, d, &mut c.x); // x_j ← x_j + Pα_j
                kernels::axpy(-*a, sd, &mut c.r); // r_j ← r_j − Sα_j
            }
            c.report.iterations += 1;
            c.report.hvps += share;
            let rel = kernels::nrm2(&c.r) / c.b_norm;
            c.report.residual_history.push(rel);
            if rel <= c.tol {
                check.push(j);
            }
        }
        let mut restart = false;
        if !check.is_empty() {
            let xs: Vec<Vec<f64>> = check.iter().map(|&j| cols[j].x.clone()).collect();
            let hx = damped_many(op, rho, &xs)?; // fresh H_ρ x_j
            for (&j, hxj) in check.iter().zip(&hx) {
                if !cols[j].check_true_residual(hxj, op, rho, sigma, "block cg")? {
                    restart = true;
                }
            }
        }
        act = active(&cols);
        if act.is_empty() {
            break;
        }
        let z: Vec<Vec<f64>> = act.iter().map(|&j| precondition(&cols[j].r)).collect();
        dirs = if restart {
            orth(z) // a fresh Krylov space from the replaced residuals
        } else {
            // β_j = −G⁻¹Sᵀz_j, p_j = z_j + Pβ_j: H_ρ-conjugate to every old direction.
            let next: Vec<Vec<f64>> = z
                .into_iter()
                .map(|mut zj| {
                    let stz: Vec<f64> = s_dirs.iter().map(|sd| -kernels::dot(sd, &zj)).collect();
                    let beta = chol_solve(&chol, dirs.len(), stz);
                    for (d, bk) in dirs.iter().zip(&beta) {
                        kernels::axpy(*bk, d, &mut zj);
                    }
                    zj
                })
                .collect();
            orth(next)
        };
    }
    if let Some(c) = cols.iter().find(|c| !c.done) {
        return Err(Error::NoConvergence {
            method: "block cg",
            iters: c.report.iterations,
            achieved: c
                .report
                .residual_history
                .last()
                .copied()
                .unwrap_or(f64::INFINITY),
            target: c.tol,
        });
    }
    let mut x = vec![0.0; p * m];
    let mut reports = Vec::with_capacity(m);
    for (j, c) in cols.into_iter().enumerate() {
        for i in 0..p {
            x[i * m + j] = c.x[i];
        }
        reports.push(c.report);
    }
    Ok((x, reports))
}

/// H_ρ·v for each vector of `vs`, through one batched product.
fn damped_many(op: &dyn HessianOperator, rho: f64, vs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let (p, k) = (op.dim(), vs.len());
    let mut v = vec![0.0; p * k];
    for (j, vj) in vs.iter().enumerate() {
        for i in 0..p {
            v[i * k + j] = vj[i];
        }
    }
    let mut hv = vec![0.0; p * k];
    op.hvp_many(k, &v, &mut hv)?; // H V
    Ok((0..k)
        .map(|j| (0..p).map(|i| hv[i * k + j] + rho * vs[j][i]).collect()) // + ρV
        .collect())
}

/// Orthonormal columns spanning `vs` (modified Gram-Schmidt, two passes), dropping each
/// column that keeps less than [`DEFLATION_TOL`] of its norm.
fn orth(vs: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(vs.len());
    for mut v in vs {
        let before = kernels::nrm2(&v);
        if before == 0.0 || !before.is_finite() {
            continue;
        }
        for _ in 0..2 {
            for u in &q {
                let c = kernels::dot(u, &v);
                kernels::axpy(-c, u, &mut v); // v ← v − (uᵀv)u
            }
        }
        let after = kernels::nrm2(&v);
        if after > DEFLATION_TOL * before {
            kernels::scal(1.0 / after, &mut v);
            q.push(v);
        }
    }
    q
}

/// G = PᵀS, s × s row-major, symmetrised (H_ρ is symmetric; rounding is not).
fn gram(p: &[Vec<f64>], s: &[Vec<f64>]) -> Vec<f64> {
    let k = p.len();
    let mut g = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            g[a * k + b] = kernels::dot(&p[a], &s[b]);
        }
    }
    for a in 0..k {
        for b in 0..a {
            let v = 0.5 * (g[a * k + b] + g[b * k + a]);
            g[a * k + b] = v;
            g[b * k + a] = v;
        }
    }
    g
}

/// The lower Cholesky factor L of the k × k `g` (row-major), or, where a pivot d ≤ 0 (or NaN)
/// appears at k, Err((k, w, d)) with w = (−G₁₁⁻¹G₁ₖ, 1, 0, …) so that wᵀGw = d.
#[allow(clippy::type_complexity)]
fn cholesky(g: &[f64], k: usize) -> std::result::Result<Vec<f64>, (usize, Vec<f64>, f64)> {
    let mut l = vec![0.0; k * k];
    for j in 0..k {
        let mut d = g[j * k + j];
        for t in 0..j {
            d -= l[j * k + t] * l[j * k + t];
        }
        if d.is_nan() || d <= 0.0 {
            // w_{<j} = −L₁₁⁻ᵀ L₁₁⁻¹ G_{<j,j} = −L₁₁⁻ᵀ l_j (l_j = row j of L so far).
            let mut w = vec![0.0; k];
            for t in (0..j).rev() {
                let mut v = l[j * k + t];
                for u in t + 1..j {
                    v -= l[u * k + t] * w[u];
                }
                w[t] = v / l[t * k + t];
            }
            w[..j].iter_mut().for_each(|v| *v = -*v);
            w[j] = 1.0;
            return Err((j, w, d));
        }
        let djj = d.sqrt();
        l[j * k + j] = djj;
        for i in j + 1..k {
            let mut v = g[i * k + j];
            for t in 0..j {
                v -= l[i * k + t] * l[j * k + t];
            }
            l[i * k + j] = v / djj;
        }
    }
    Ok(l)
}

/// G⁻¹y from the factor L of G = LLᵀ.
fn chol_solve(l: &[f64], k: usize, mut y: Vec<f64>) -> Vec<f64> {
    for i in 0..k {
        let mut v = y[i];
        for t in 0..i {
            v -= l[i * k + t] * y[t];
        }
        y[i] = v / l[i * k + i]; // L y = b
    }
    for i in (0..k).rev() {
        let mut v = y[i];
        for t in i + 1..k {
            v -= l[t * k + i] * y[t];
        }
        y[i] = v / l[i * k + i]; // Lᵀ x = y
    }
    y
}

/// Σ_k w_k p_k.
fn combine(p: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
    let mut v = vec![0.0; p.first().map_or(0, Vec::len)];
    for (pk, wk) in p.iter().zip(w) {
        kernels::axpy(*wk, pk, &mut v);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_and_exposes_the_failing_direction() {
        let g = [4.0, 2.0, 2.0, 5.0]; // L = [2 0; 1 2]
        let l = cholesky(&g, 2).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2.0]);
        assert_eq!(chol_solve(&l, 2, vec![8.0, 8.0]), vec![1.5, 1.0]); // G (1.5, 1) = (8, 8)
        // [1 2; 2 1]: pivot 1 is 1 − 4 = −3 with w = (−2, 1), wᵀGw = 4 − 8 + 1 = −3.
        let (k, w, d) = cholesky(&[1.0, 2.0, 2.0, 1.0], 2).unwrap_err();
        assert_eq!((k, w, d), (1, vec![-2.0, 1.0], -3.0));
    }

    #[test]
    fn orth_drops_dependent_columns() {
        let q = orth(vec![
            vec![1.0, 1.0, 0.0],
            vec![2.0, 2.0, 0.0],
            vec![0.0, 0.0, 0.0],
            vec![1.0, 0.0, 0.0],
        ]);
        assert_eq!(q.len(), 2);
        for a in 0..2 {
            for b in 0..2 {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((kernels::dot(&q[a], &q[b]) - want).abs() < 1e-15);
            }
        }
    }
}
