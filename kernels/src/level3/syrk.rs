//! syrk: C ← α op(A) op(A)ᵀ + βC on one triangle of a symmetric C.
//!
//! Recursive on halves of C's order [Gustavson 1997]: for the lower triangle,
//!
//! ```text
//!   [C11     ]      [A1]                  C11 ← α A1 A1ᵀ + βC11   (recurse)
//!   [C21  C22]  ←  α[A2] [A1ᵀ A2ᵀ] + βC   C21 ← α A2 A1ᵀ + βC21   (gemm)
//!                                         C22 ← α A2 A2ᵀ + βC22   (recurse)
//! ```
//!
//! Diagonal blocks of at most [`BASE`] rows are computed whole into a scratch block by gemm
//! and only their triangle is written back, so the other triangle of C is never read or
//! written. The upper triangle is the lower triangle of the transposed view of C.
//! Cost: n²k flops plus about BASE·n·k for the discarded halves of the diagonal blocks.

use super::gemm::{self, Opnd, Src};
use super::layout::{Layout, View};
use super::{Op, Uplo};
use crate::dispatch::{self, Level};

/// Diagonal blocks of at most this order are computed whole into scratch.
const BASE: usize = 32;

/// C ← α op(A) op(A)ᵀ + βC on the `uplo` triangle of the row-major n × n C (BLAS `dsyrk`).
///
/// op(A) is n × k: A is stored n × k (`Op::NoTrans`: C ← αAAᵀ + βC) or k × n (`Op::Trans`:
/// C ← αAᵀA + βC) with leading dimension `lda`. Only the `uplo` triangle of C (diagonal
/// included) is read (unless β = 0) and written; the other triangle is left untouched.
///
/// # Panics
/// If a leading dimension is smaller than its row length, or a slice is too short.
///
/// # Examples
/// ```
/// use puma_kernels::{syrk, Op, Uplo};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let mut c = [f64::NAN, -7.0, f64::NAN, f64::NAN];
/// syrk(Uplo::Lower, Op::NoTrans, 2, 2, 1.0, &a, 2, 0.0, &mut c, 2);
/// assert_eq!(c[0], 5.0);
/// assert_eq!((c[1], c[2], c[3]), (-7.0, 11.0, 25.0)); // upper triangle untouched
/// ```
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn syrk(
    uplo: Uplo,
    trans: Op,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    syrk_with(
        dispatch::level(),
        uplo,
        trans,
        n,
        k,
        alpha,
        a,
        lda,
        beta,
        c,
        ldc,
        true,
    );
}

/// [`syrk`] on a chosen variant, on more than one thread only if `par`.
///
/// # Panics
/// As [`syrk`], or if the CPU cannot run `level`.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn syrk_with(
    level: Level,
    uplo: Uplo,
    trans: Op,
    n: usize,
    k: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
    par: bool,
) {
    let (rows, cols) = if trans == Op::NoTrans { (n, k) } else { (k, n) };
    assert!(
        rows <= 1 || lda >= cols,
        "syrk: lda = {lda} is smaller than the row length {cols}"
    );
    assert!(
        n <= 1 || ldc >= n,
        "syrk: ldc = {ldc} is smaller than n = {n}"
    );
    let (la, lc) = (
        Layout::row_major(rows, cols, lda),
        Layout::row_major(n, n, ldc),
    );
    assert!(
        la.fits(a.len()),
        "syrk: a is too short for a {rows} × {cols} matrix with lda = {lda}"
    );
    assert!(
        lc.fits(c.len()),
        "syrk: c is too short for an {n} × {n} matrix with ldc = {ldc}"
    );
    let level = gemm::checked(level);
    let av = if trans == Op::NoTrans {
        la.full()
    } else {
        la.full().tr()
    };
    let cv = if uplo == Uplo::Lower {
        lc.full()
    } else {
        lc.full().tr()
    };
    update_lower(
        level,
        c,
        &lc,
        alpha,
        &Opnd {
            src: Src::Ext(a, la),
            v: av,
        },
        beta,
        cv,
        par,
    );
}

/// The lower triangle of the square view `c` of `buf` ← α·a·aᵀ + β·c, for an n × k operand
/// `a` (in `buf` only if disjoint from c).
#[allow(clippy::too_many_arguments)]
pub(crate) fn update_lower(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    alpha: f64,
    a: &Opnd,
    beta: f64,
    c: View,
    par: bool,
) {
    let (n, k) = (c.m(), a.v.n());
    debug_assert_eq!((c.n(), a.v.m()), (n, n));
    if n == 0 {
        return;
    }
    if n > BASE {
        let n1 = n / 2;
        let (a1, a2) = (
            Opnd {
                v: a.v.sub(0, 0, n1, k),
                ..*a
            },
            Opnd {
                v: a.v.sub(n1, 0, n - n1, k),
                ..*a
            },
        );
        update_lower(level, buf, bl, alpha, &a1, beta, c.sub(0, 0, n1, n1), par);
        let a1t = Opnd { v: a1.v.tr(), ..a1 };
        gemm::gemm_in(
            level,
            buf,
            bl,
            alpha,
            &a2,
            &a1t,
            beta,
            c.sub(n1, 0, n - n1, n1),
            par,
        ); // C21
        update_lower(
            level,
            buf,
            bl,
            alpha,
            &a2,
            beta,
            c.sub(n1, n1, n - n1, n - n1),
            par,
        );
        return;
    }
    // Base block: S = a·aᵀ whole in scratch, then C[i, j] ← αS[i, j] + βC[i, j] for j ≤ i.
    let ls = Layout::row_major(n, n, n);
    let mut s = [0.0; BASE * BASE];
    let s = &mut s[..n * n];
    {
        let (src, al) = match a.src {
            Src::Buf => (&*buf, *bl),
            Src::Ext(data, l) => (data, l),
        };
        let a = Opnd {
            src: Src::Ext(src, al),
            v: a.v,
        };
        let at = Opnd { v: a.v.tr(), ..a };
        gemm::gemm_in(level, s, &ls, 1.0, &a, &at, 0.0, ls.full(), false);
    }
    for i in 0..n {
        for j in 0..=i {
            let cij = &mut buf[c.at(bl, i, j)];
            *cij = if beta == 0.0 {
                alpha * s[i * n + j]
            } else {
                alpha * s[i * n + j] + beta * *cij
            };
        }
    }
}
