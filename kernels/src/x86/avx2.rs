//! AVX2+FMA level-1/2 kernels (element-wise ones in `avx2/elementwise.rs`, the row softmax
//! in `avx2/softmax.rs`).
//!
//! Every function is a safe `#[target_feature(enable = "avx2,fma")] fn`: calling one is
//! `unsafe` only because the CPU must have those features ([`crate::level12`] checks).
//! Slices are split with [`chunks`] into `[f64; 4]` quads, so the only unsafe
//! operations are [`load`] and [`store`] of one quad, whose bounds the type proves.
//!
//! Register use of the reductions (dot, sumsq): four accumulators of four lanes,
//!
//! ```text
//! acc0 = [s0  s1  s2  s3 ]  ← x[16b + 0..4]  · y[16b + 0..4]
//! acc1 = [s4  s5  s6  s7 ]  ← x[16b + 4..8]  · y[16b + 4..8]
//! acc2 = [s8  s9  s10 s11]  ← ...
//! acc3 = [s12 s13 s14 s15]
//! ```
//!
//! four independent FMA chains that cover the FMA latency (4 cycles) at one FMA per cycle,
//! the rate two loads per cycle allow. Out of cache every kernel here waits on memory.

use crate::chunks::{chunks, chunks_mut};
use core::arch::x86_64::*;

mod elementwise;
mod softmax;
pub(crate) use elementwise::*;
pub(crate) use softmax::softmax_rows_in_place;

/// Loads one quad.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load(q: &[f64; 4]) -> __m256d {
    // SAFETY: `q` is four readable f64s; `loadu` has no alignment requirement.
    unsafe { _mm256_loadu_pd(q.as_ptr()) }
}

/// Stores one quad.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn store(q: &mut [f64; 4], v: __m256d) {
    // SAFETY: `q` is four writable f64s; `storeu` has no alignment requirement.
    unsafe { _mm256_storeu_pd(q.as_mut_ptr(), v) }
}

/// v0 + v1 + v2 + v3 (the lanes of one register).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256d) -> f64 {
    let pair = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v)); // [v0+v2, v1+v3]
    _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)))
}

/// ⟨x, y⟩ with four accumulators (lengths equal, checked).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let (xq, xt) = chunks::<_, 4>(x);
    let (yq, yt) = chunks::<_, 4>(y);
    let (x16, xq) = chunks::<_, 4>(xq);
    let (y16, yq) = chunks::<_, 4>(yq);
    let mut acc = [_mm256_setzero_pd(); 4];
    for (xb, yb) in x16.iter().zip(y16) {
        for k in 0..4 {
            acc[k] = _mm256_fmadd_pd(load(&xb[k]), load(&yb[k]), acc[k]);
        }
    }
    for (xv, yv) in xq.iter().zip(yq) {
        acc[0] = _mm256_fmadd_pd(load(xv), load(yv), acc[0]);
    }
    let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    let tail: f64 = xt.iter().zip(yt).map(|(a, b)| a * b).sum();
    hsum(sum) + tail
}

/// Σ (s x_i)² with four accumulators.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sumsq(x: &[f64], s: f64) -> f64 {
    let (xq, xt) = chunks::<_, 4>(x);
    let (x16, xq) = chunks::<_, 4>(xq);
    let sv = _mm256_set1_pd(s);
    let mut acc = [_mm256_setzero_pd(); 4];
    for xb in x16 {
        for k in 0..4 {
            let v = _mm256_mul_pd(sv, load(&xb[k]));
            acc[k] = _mm256_fmadd_pd(v, v, acc[k]);
        }
    }
    for xv in xq {
        let v = _mm256_mul_pd(sv, load(xv));
        acc[0] = _mm256_fmadd_pd(v, v, acc[0]);
    }
    let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    let tail: f64 = xt.iter().map(|v| (s * v) * (s * v)).sum();
    hsum(sum) + tail
}

/// y ← αx + y (lengths equal, checked), one FMA per quad.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len());
    let av = _mm256_set1_pd(alpha);
    let (xq, xt) = chunks::<_, 4>(x);
    let (yq, yt) = chunks_mut::<_, 4>(y);
    for (xv, yv) in xq.iter().zip(yq) {
        let r = _mm256_fmadd_pd(av, load(xv), load(yv));
        store(yv, r);
    }
    for (xi, yi) in xt.iter().zip(yt) {
        *yi = alpha.mul_add(*xi, *yi);
    }
}

/// x ← αx.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn scal(alpha: f64, x: &mut [f64]) {
    let av = _mm256_set1_pd(alpha);
    let (xq, xt) = chunks_mut::<_, 4>(x);
    for xv in xq {
        let r = _mm256_mul_pd(av, load(xv));
        store(xv, r);
    }
    for xi in xt {
        *xi *= alpha;
    }
}

/// y[i·incy] ← α ⟨A_i, x⟩ + β y[i·incy] (β = 0: y not read), four rows at a time.
///
/// ```text
/// x quad j:            [x0 x1 x2 x3]       (loaded once, used by four rows)
/// acc_r += A_{i+r}[4j..4j+4] ⊙ x quad,     r = 0..4
/// ```
///
/// Rows and x are sliced with bounds checks; a row remainder uses [`dot`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn gemv_n(
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    beta: f64,
    y: &mut [f64],
    incy: usize,
) {
    let x = &x[..n];
    let (xq, xt) = chunks::<_, 4>(x);
    let mut put = |i: usize, t: f64| {
        let yi = &mut y[i * incy];
        *yi = if beta == 0.0 {
            alpha * t
        } else {
            alpha * t + beta * *yi
        };
    };
    let mut i = 0;
    while i + 4 <= m {
        let row = |r: usize| &a[(i + r) * lda..(i + r) * lda + n];
        let rows = [row(0), row(1), row(2), row(3)];
        let quads = rows.map(chunks::<_, 4>);
        let aq = quads.map(|(q, _)| &q[..xq.len()]); // same length as xq: no checks below
        let mut acc = [_mm256_setzero_pd(); 4];
        for j in 0..xq.len() {
            let xv = load(&xq[j]);
            for r in 0..4 {
                acc[r] = _mm256_fmadd_pd(load(&aq[r][j]), xv, acc[r]);
            }
        }
        for r in 0..4 {
            let tail: f64 = quads[r].1.iter().zip(xt).map(|(a, b)| a * b).sum();
            put(i + r, hsum(acc[r]) + tail); // (A x)_{i+r}
        }
        i += 4;
    }
    for i in i..m {
        put(i, dot(&a[i * lda..i * lda + n], x));
    }
}

/// y ← y + α Aᵀ x (y contiguous, n entries), four rows of A per pass over y.
///
/// ```text
/// c_r = α x_{i+r} broadcast,  r = 0..4
/// y quad j ← y quad j + c0 A_i[4j..] + c1 A_{i+1}[4j..] + c2 A_{i+2}[4j..] + c3 A_{i+3}[4j..]
/// ```
///
/// so y is loaded and stored once per four rows. A row remainder uses [`axpy`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn gemv_t_acc(
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
) {
    let y = &mut y[..n];
    let mut i = 0;
    while i + 4 <= m {
        let c = [0, 1, 2, 3].map(|r| alpha * x[(i + r) * incx]); // α x_{i+r}
        let cv = c.map(|c| _mm256_set1_pd(c));
        let row = |r: usize| &a[(i + r) * lda..(i + r) * lda + n];
        let quads = [row(0), row(1), row(2), row(3)].map(chunks::<_, 4>);
        let (yq, yt) = chunks_mut::<_, 4>(y);
        let aq = quads.map(|(q, _)| &q[..yq.len()]); // same length as yq: no checks below
        for (j, yv) in yq.iter_mut().enumerate() {
            let mut s = load(yv);
            for r in 0..4 {
                s = _mm256_fmadd_pd(cv[r], load(&aq[r][j]), s);
            }
            store(yv, s);
        }
        for (j, yj) in yt.iter_mut().enumerate() {
            for r in 0..4 {
                *yj = c[r].mul_add(quads[r].1[j], *yj);
            }
        }
        i += 4;
    }
    for i in i..m {
        axpy(alpha * x[i * incx], &a[i * lda..i * lda + n], y);
    }
}
