//! trsm: triangular solves with many right-hand sides, op(A)X = αB or X op(A) = αB.
//!
//! Every case reduces to one left solve with a lower or upper triangular T on a view of B:
//! op(A) = Aᵀ is a transposed view of A (which swaps lower and upper), and the right side
//! X op(A) = αB is the left solve op(A)ᵀ Xᵀ = αBᵀ on the transposed view of B. The left solve
//! recurses on halves [Gustavson 1997]; for lower T,
//!
//! ```text
//!   [T11  0 ] [X1]   [B1]      X1 = T11⁻¹ B1             (recurse)
//!   [T21 T22] [X2] = [B2]  ⇒   B2 ← B2 − T21 X1          (gemm: almost all the flops)
//!                              X2 = T22⁻¹ B2             (recurse)
//! ```
//!
//! down to blocks of [`BASE`] rows solved by substitution. Only T's triangle is read: the
//! gemm reads the off-diagonal block T21 and the substitution copies the triangle of T11.
//! Cost: m²n flops for a left solve of an m × m triangle and n right-hand sides.

use super::gemm::{self, Opnd, Src};
use super::layout::{Layout, View};
use super::{Diag, Op, Side, Uplo};
use crate::dispatch::{self, Level};

/// Triangles of at most this order are solved by substitution, larger ones split in two.
const BASE: usize = 24;

/// Solves op(A)X = αB (`Side::Left`) or X op(A) = αB (`Side::Right`) for row-major B
/// (m × n, leading dimension `ldb`), overwriting B with X (BLAS `dtrsm`).
///
/// A is the triangular m × m (left) or n × n (right) matrix with leading dimension `lda`;
/// only its `uplo` triangle is read, and not its diagonal when `diag` is `Unit`. A zero on
/// the diagonal gives infinities or NaN, as in BLAS.
///
/// # Panics
/// If a leading dimension is smaller than its row length, or a slice is too short.
///
/// # Examples
/// ```
/// use puma_kernels::{trsm, Diag, Op, Side, Uplo};
/// let l = [2.0, 0.0, 1.0, 4.0]; // [[2, 0], [1, 4]]
/// let mut b = [2.0, 9.0]; // one column: L x = b
/// trsm(Side::Left, Uplo::Lower, Op::NoTrans, Diag::NonUnit, 2, 1, 1.0, &l, 2, &mut b, 1);
/// assert_eq!(b, [1.0, 2.0]);
/// ```
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn trsm(
    side: Side,
    uplo: Uplo,
    trans: Op,
    diag: Diag,
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &mut [f64],
    ldb: usize,
) {
    trsm_with(
        dispatch::level(),
        side,
        uplo,
        trans,
        diag,
        m,
        n,
        alpha,
        a,
        lda,
        b,
        ldb,
        true,
    );
}

/// [`trsm`] on a chosen variant, on more than one thread only if `par`.
///
/// # Panics
/// As [`trsm`], or if the CPU cannot run `level`.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn trsm_with(
    level: Level,
    side: Side,
    uplo: Uplo,
    trans: Op,
    diag: Diag,
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &mut [f64],
    ldb: usize,
    par: bool,
) {
    let na = if side == Side::Left { m } else { n };
    assert!(
        na <= 1 || lda >= na,
        "trsm: lda = {lda} is smaller than the order {na}"
    );
    assert!(
        m <= 1 || ldb >= n,
        "trsm: ldb = {ldb} is smaller than n = {n}"
    );
    let (la, lb) = (Layout::row_major(na, na, lda), Layout::row_major(m, n, ldb));
    assert!(
        la.fits(a.len()),
        "trsm: a is too short for an {na} × {na} matrix with lda = {lda}"
    );
    assert!(
        lb.fits(b.len()),
        "trsm: b is too short for an {m} × {n} matrix with ldb = {ldb}"
    );
    let level = gemm::checked(level);
    // T = op(A), lower when A is lower and not transposed or upper and transposed.
    let (mut t, mut lower) = (la.full(), uplo == Uplo::Lower);
    if trans == Op::Trans {
        (t, lower) = (t.tr(), !lower);
    }
    let mut x = lb.full();
    if side == Side::Right {
        (t, lower, x) = (t.tr(), !lower, x.tr()); // X op(A) = αB ⇔ op(A)ᵀ Xᵀ = αBᵀ
    }
    scale(b, &lb, x, alpha);
    if alpha != 0.0 {
        let t = Opnd {
            src: Src::Ext(a, la),
            v: t,
        };
        solve_left(level, b, &lb, &t, lower, diag == Diag::Unit, x, par);
    }
}

/// The view x of `buf` ← αx (x = 0 without reading it when α = 0).
fn scale(buf: &mut [f64], bl: &Layout, x: View, alpha: f64) {
    if alpha == 1.0 {
        return;
    }
    for i in 0..x.m() {
        for j in 0..x.n() {
            let xij = &mut buf[x.at(bl, i, j)];
            *xij = if alpha == 0.0 { 0.0 } else { alpha * *xij };
        }
    }
}

/// The view x of `buf` ← T⁻¹x for the lower (or upper) triangle of the square view `t`,
/// with a unit diagonal if `unit`. An operand `t` in `buf` must be disjoint from x.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_left(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    t: &Opnd,
    lower: bool,
    unit: bool,
    x: View,
    par: bool,
) {
    let (m, n) = (x.m(), x.n());
    debug_assert_eq!((t.v.m(), t.v.n()), (m, m));
    if m == 0 || n == 0 {
        return;
    }
    if m <= BASE {
        substitute(level, buf, bl, t, lower, unit, x);
        return;
    }
    let m1 = m / 2;
    let (x1, x2) = (x.sub(0, 0, m1, n), x.sub(m1, 0, m - m1, n));
    let part = |v: View| Opnd { v, ..*t };
    let (t11, t22) = (
        part(t.v.sub(0, 0, m1, m1)),
        part(t.v.sub(m1, m1, m - m1, m - m1)),
    );
    if lower {
        solve_left(level, buf, bl, &t11, true, unit, x1, par);
        let t21 = part(t.v.sub(m1, 0, m - m1, m1));
        gemm::gemm_in(
            level,
            buf,
            bl,
            -1.0,
            &t21,
            &Opnd {
                src: Src::Buf,
                v: x1,
            },
            1.0,
            x2,
            par,
        ); // B2 − T21 X1
        solve_left(level, buf, bl, &t22, true, unit, x2, par);
    } else {
        solve_left(level, buf, bl, &t22, false, unit, x2, par);
        let t12 = part(t.v.sub(0, m1, m1, m - m1));
        gemm::gemm_in(
            level,
            buf,
            bl,
            -1.0,
            &t12,
            &Opnd {
                src: Src::Buf,
                v: x2,
            },
            1.0,
            x1,
            par,
        ); // B1 − T12 X2
        solve_left(level, buf, bl, &t11, false, unit, x1, par);
    }
}

/// Substitution for a small triangle (m ≤ BASE): copy T's triangle, then solve chunks of
/// up to [`CHUNK`] right-hand sides at a time in a row-major scratch block, where each
/// update x_i ← x_i − T[i, p]·x_p runs along a contiguous row (vectorised) whatever x's
/// strides, and the m × CHUNK block stays in L1.
///
/// On the AVX2 path the same code is compiled with avx2 and fma enabled, and the update is
/// fused.
fn substitute(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    t: &Opnd,
    lower: bool,
    unit: bool,
    x: View,
) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2Fma only after `gemm::checked` found avx2 and fma.
        Level::Avx2Fma => unsafe { substitute_avx2(buf, bl, t, lower, unit, x) },
        _ => substitute_body::<false>(buf, bl, t, lower, unit, x),
    }
}

/// [`substitute_body`] compiled for AVX2+FMA.
///
/// # Safety
/// The CPU must support avx2 and fma.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn substitute_avx2(
    buf: &mut [f64],
    bl: &Layout,
    t: &Opnd,
    lower: bool,
    unit: bool,
    x: View,
) {
    substitute_body::<true>(buf, bl, t, lower, unit, x)
}

/// The substitution; `FMA` fuses the update (only where the CPU has FMA: otherwise
/// `mul_add` is a library call).
#[inline(always)]
fn substitute_body<const FMA: bool>(
    buf: &mut [f64],
    bl: &Layout,
    t: &Opnd,
    lower: bool,
    unit: bool,
    x: View,
) {
    const CHUNK: usize = 128;
    let (m, n) = (x.m(), x.n());
    let (src, tl) = match t.src {
        Src::Buf => (&*buf, *bl),
        Src::Ext(data, l) => (data, l),
    };
    let mut tt = [[0.0f64; BASE]; BASE]; // tt[i][p] = T[i, p] inside the triangle
    for i in 0..m {
        let (lo, hi) = if lower { (0, i) } else { (i + 1, m) };
        for p in lo..hi {
            tt[i][p] = src[t.v.at(&tl, i, p)];
        }
        tt[i][i] = if unit { 1.0 } else { src[t.v.at(&tl, i, i)] };
    }
    let mut block = [0.0f64; BASE * CHUNK];
    for j0 in (0..n).step_by(CHUNK) {
        let w = CHUNK.min(n - j0);
        let xb = &mut block[..m * w]; // xb[i·w + jj] = x[i, j0 + jj]
        // Visit x along its smaller stride (a strided x, like Aᵀ in Cholesky, would
        // otherwise touch w rows a large power of two apart, all in the same cache sets).
        let (rs, cs) = x.strides(bl);
        if cs <= rs {
            for i in 0..m {
                for jj in 0..w {
                    xb[i * w + jj] = buf[x.at(bl, i, j0 + jj)];
                }
            }
        } else {
            for jj in 0..w {
                for i in 0..m {
                    xb[i * w + jj] = buf[x.at(bl, i, j0 + jj)];
                }
            }
        }
        for s in 0..m {
            let i = if lower { s } else { m - 1 - s };
            let (head, tail) = xb.split_at_mut(i * w);
            let (xi, after) = tail.split_at_mut(w);
            let solved = if lower { &head[..] } else { &after[..] }; // rows p < i, or p > i
            let first = if lower { 0 } else { i + 1 };
            for (q, xp) in solved.chunks_exact(w).enumerate() {
                let tip = tt[i][first + q];
                for (v, &xpj) in xi.iter_mut().zip(xp) {
                    *v = if FMA {
                        (-tip).mul_add(xpj, *v)
                    } else {
                        *v - tip * xpj
                    }; // x_i − T[i, p] x_p
                }
            }
            let d = tt[i][i];
            xi.iter_mut().for_each(|v| *v /= d);
        }
        if cs <= rs {
            for i in 0..m {
                for jj in 0..w {
                    buf[x.at(bl, i, j0 + jj)] = xb[i * w + jj];
                }
            }
        } else {
            for jj in 0..w {
                for i in 0..m {
                    buf[x.at(bl, i, j0 + jj)] = xb[i * w + jj];
                }
            }
        }
    }
}
