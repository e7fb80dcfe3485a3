//! Cholesky factorisation A = LLᵀ (LAPACK `dpotrf`) and the solve with its factor (`dpotrs`).
//!
//! Recursive on halves [Gustavson 1997; Golub & Van Loan, §4.2]:
//!
//! ```text
//!   [A11     ]   [L11    ] [L11ᵀ L21ᵀ]     L11 = chol(A11)                (recurse)
//!   [A21  A22] = [L21 L22] [     L22ᵀ]  ⇒  L21 = A21 L11⁻ᵀ                (trsm)
//!                                          L22 = chol(A22 − L21 L21ᵀ)     (syrk, recurse)
//! ```
//!
//! Blocks of at most [`BASE`] rows are factored by the row-oriented (Banachiewicz) loop.
//! Only the lower triangle is read and written; the upper factorisation A = UᵀU is the lower
//! one of the transposed view, U = Lᵀ. Cost: n³/3 flops, almost all in gemm.

use super::gemm::{self, Opnd, Src};
use super::layout::{Layout, View};
use super::{Diag, Op, Side, Uplo};
use crate::dispatch::{self, Level};

/// Blocks of at most this order are factored unblocked.
const BASE: usize = 32;

/// The matrix is not (numerically) positive definite: the Schur complement's diagonal at
/// `pivot` (0-based) is `value ≤ 0` or NaN, so its square root does not exist.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotPositiveDefinite {
    /// 0-based index of the failed pivot.
    pub pivot: usize,
    /// A[pivot, pivot] − Σ_p L[pivot, p]², the value that should have been positive.
    pub value: f64,
}

impl std::fmt::Display for NotPositiveDefinite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the matrix is not positive definite: pivot {} of the Cholesky factorisation is {} (must be > 0)",
            self.pivot, self.value
        )
    }
}

impl std::error::Error for NotPositiveDefinite {}

/// Factors the symmetric positive definite row-major n × n A in place: A = LLᵀ on the lower
/// triangle (`Uplo::Lower`) or A = UᵀU on the upper one (`Uplo::Upper`).
///
/// Only the `uplo` triangle is read and overwritten by the factor; the other is untouched.
///
/// # Errors
/// [`NotPositiveDefinite`] naming the first pivot that is ≤ 0 or NaN; A is then partly
/// overwritten.
///
/// # Panics
/// If `lda < n` (for n > 1) or `a` is too short.
///
/// # Examples
/// ```
/// use puma_kernels::{potrf, Uplo};
/// let mut a = [4.0, f64::NAN, 2.0, 10.0]; // [[4, ·], [2, 10]], upper triangle never read
/// potrf(Uplo::Lower, 2, &mut a, 2).unwrap();
/// assert_eq!([a[0], a[2], a[3]], [2.0, 1.0, 3.0]);
/// let mut b = [1.0, 2.0, 2.0, -1.0];
/// let err = potrf(Uplo::Lower, 2, &mut b, 2).unwrap_err();
/// assert_eq!((err.pivot, err.value), (1, -5.0));
/// ```
#[track_caller]
pub fn potrf(uplo: Uplo, n: usize, a: &mut [f64], lda: usize) -> Result<(), NotPositiveDefinite> {
    potrf_with(dispatch::level(), uplo, n, a, lda, true)
}

/// [`potrf`] on a chosen variant, on more than one thread only if `par`.
///
/// # Errors
/// As [`potrf`].
///
/// # Panics
/// As [`potrf`], or if the CPU cannot run `level`.
#[track_caller]
pub fn potrf_with(
    level: Level,
    uplo: Uplo,
    n: usize,
    a: &mut [f64],
    lda: usize,
    par: bool,
) -> Result<(), NotPositiveDefinite> {
    assert!(
        n <= 1 || lda >= n,
        "potrf: lda = {lda} is smaller than n = {n}"
    );
    let la = Layout::row_major(n, n, lda);
    assert!(
        la.fits(a.len()),
        "potrf: a is too short for an {n} × {n} matrix with lda = {lda}"
    );
    let level = gemm::checked(level);
    let v = if uplo == Uplo::Lower {
        la.full()
    } else {
        la.full().tr()
    };
    factor(level, a, &la, v, 0, par)
}

/// Solves AX = B for row-major B (n × nrhs, leading dimension `ldb`) with the factor left in
/// `a` by [`potrf`] with the same `uplo`, overwriting B: two triangular solves.
///
/// # Panics
/// As [`trsm`](crate::trsm).
///
/// # Examples
/// ```
/// use puma_kernels::{potrf, potrs, Uplo};
/// let mut a = [4.0, 2.0, 2.0, 10.0];
/// potrf(Uplo::Upper, 2, &mut a, 2).unwrap();
/// let mut b = [7.0, 8.0]; // A·[1.5, 0.5]ᵀ
/// potrs(Uplo::Upper, 2, 1, &a, 2, &mut b, 1);
/// assert!((b[0] - 1.5).abs() < 1e-15 && (b[1] - 0.5).abs() < 1e-15);
/// ```
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn potrs(uplo: Uplo, n: usize, nrhs: usize, a: &[f64], lda: usize, b: &mut [f64], ldb: usize) {
    potrs_with(dispatch::level(), uplo, n, nrhs, a, lda, b, ldb, true);
}

/// [`potrs`] on a chosen variant, on more than one thread only if `par`.
///
/// # Panics
/// As [`potrs`], or if the CPU cannot run `level`.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn potrs_with(
    level: Level,
    uplo: Uplo,
    n: usize,
    nrhs: usize,
    a: &[f64],
    lda: usize,
    b: &mut [f64],
    ldb: usize,
    par: bool,
) {
    use super::trsm::trsm_with;
    let (first, second) = if uplo == Uplo::Lower {
        (Op::NoTrans, Op::Trans)
    } else {
        (Op::Trans, Op::NoTrans)
    };
    trsm_with(
        level,
        Side::Left,
        uplo,
        first,
        Diag::NonUnit,
        n,
        nrhs,
        1.0,
        a,
        lda,
        b,
        ldb,
        par,
    ); // L y = b
    trsm_with(
        level,
        Side::Left,
        uplo,
        second,
        Diag::NonUnit,
        n,
        nrhs,
        1.0,
        a,
        lda,
        b,
        ldb,
        par,
    ); // Lᵀ x = y
}

/// Factors the lower triangle of the square view `v` of `buf`; pivots are reported as
/// `offset` + their index in `v`.
fn factor(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    v: View,
    offset: usize,
    par: bool,
) -> Result<(), NotPositiveDefinite> {
    let n = v.m();
    if n <= BASE {
        return factor_unblocked(level, buf, bl, v, offset);
    }
    let n1 = n / 2;
    let (a11, a21, a22) = (
        v.sub(0, 0, n1, n1),
        v.sub(n1, 0, n - n1, n1),
        v.sub(n1, n1, n - n1, n - n1),
    );
    factor(level, buf, bl, a11, offset, par)?; // L11 = chol(A11)
    let l11 = Opnd {
        src: Src::Buf,
        v: a11,
    };
    super::trsm::solve_left(level, buf, bl, &l11, true, false, a21.tr(), par); // L21ᵀ = L11⁻¹ A21ᵀ
    let l21 = Opnd {
        src: Src::Buf,
        v: a21,
    };
    super::syrk::update_lower(level, buf, bl, -1.0, &l21, 1.0, a22, par); // A22 − L21 L21ᵀ
    factor(level, buf, bl, a22, offset + n1, par) // L22
}

/// Factors a small block (n ≤ BASE) in a local column-major copy: right-looking, column j
/// of L scales by 1/√d_j, then the trailing columns k > j lose L[k.., j]·L[k, j] (an axpy
/// along a contiguous column, vectorised). Reads and writes only j ≤ i.
fn factor_unblocked(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    v: View,
    offset: usize,
) -> Result<(), NotPositiveDefinite> {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2Fma only after `gemm::checked` found avx2 and fma.
        Level::Avx2Fma => unsafe { factor_unblocked_avx2(buf, bl, v, offset) },
        _ => factor_unblocked_body::<false>(buf, bl, v, offset),
    }
}

/// [`factor_unblocked_body`] compiled for AVX2+FMA.
///
/// # Safety
/// The CPU must support avx2 and fma.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn factor_unblocked_avx2(
    buf: &mut [f64],
    bl: &Layout,
    v: View,
    offset: usize,
) -> Result<(), NotPositiveDefinite> {
    factor_unblocked_body::<true>(buf, bl, v, offset)
}

/// The unblocked factorisation; `FMA` fuses the trailing update.
#[inline(always)]
fn factor_unblocked_body<const FMA: bool>(
    buf: &mut [f64],
    bl: &Layout,
    v: View,
    offset: usize,
) -> Result<(), NotPositiveDefinite> {
    let n = v.m();
    let mut lt = [[0.0f64; BASE]; BASE]; // lt[j][i] = A[i, j] then L[i, j], for i ≥ j
    for i in 0..n {
        for (j, col) in lt.iter_mut().enumerate().take(i + 1) {
            col[i] = buf[v.at(bl, i, j)];
        }
    }
    for j in 0..n {
        let (done, rest) = lt.split_at_mut(j + 1);
        let col = &mut done[j][..n];
        let d = col[j]; // A[j, j] − Σ_{p<j} L[j, p]²
        if d.is_nan() || d <= 0.0 {
            return Err(NotPositiveDefinite {
                pivot: offset + j,
                value: d,
            });
        }
        let ljj = d.sqrt();
        col[j] = ljj;
        col[j + 1..].iter_mut().for_each(|x| *x /= ljj); // L[i, j] for i > j
        for (q, trailing) in rest.iter_mut().enumerate().take(n - j - 1) {
            let k = j + 1 + q;
            let lkj = col[k];
            for (x, &lij) in trailing[k..n].iter_mut().zip(&col[k..n]) {
                *x = if FMA {
                    (-lij).mul_add(lkj, *x)
                } else {
                    *x - lij * lkj
                }; // A[i, k] − L[i, j] L[k, j]
            }
        }
    }
    for i in 0..n {
        for (j, col) in lt.iter().enumerate().take(i + 1) {
            buf[v.at(bl, i, j)] = col[i];
        }
    }
    Ok(())
}
