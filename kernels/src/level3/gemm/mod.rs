//! gemm: C ← α·op(A)·op(B) + β·C for f64 matrices with any strides.
//!
//! op(A) is m × k, op(B) is k × n, C is m × n. The product is computed by our own packed,
//! blocked loop nest ([`blocking`]) around a register-blocked micro-kernel: 6 × 8 with
//! AVX2+FMA ([`avx2`]), 4 × 4 in plain Rust otherwise ([`portable`]). With AVX2+FMA, small
//! and skinny products (the layers of a small MLP) skip the packing and run unpacked
//! register-blocked kernels instead ([`small`]). β = 0 never reads C
//! (NaN in C is overwritten), α = 0 or k = 0 never reads A or B.
//!
//! Large products are split over rayon's threads by rows (or columns) of C, so each element
//! is computed by one thread in the same k order: the result does not depend on the number
//! of threads. Products below [`PAR_MIN_FLOPS`] run on the calling thread.
//! Cost: 2mnk flops.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub(crate) mod blocking;
mod pack;
mod portable;
#[cfg(target_arch = "x86_64")]
mod small;

use rayon::prelude::*;

use super::Op;
use super::layout::{Layout, View};
use crate::dispatch::{self, Level};
use blocking::Raw;

/// Products with fewer flops than this run on one thread. Measured on 2 cores (min of 30
/// runs, 2 threads vs 1): 1000×16×16 0.49×, 256×128×10 0.61×, 128³ 0.84×,
/// 32×1797×64 0.91×, 1797×64×32 1.14×, 256³ 1.6×, 256×784×128 1.35×: below ≈ 10 MFLOP
/// waking a second thread and packing B twice costs more than it saves.
pub const PAR_MIN_FLOPS: f64 = 2.0e7;

/// C ← αAB + βC for row-major contiguous A (m × k), B (k × n) and C (m × n).
///
/// # Panics
/// If `a.len() != m·k`, `b.len() != k·n` or `c.len() != m·n`.
///
/// # Examples
/// ```
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [5.0, 6.0, 7.0, 8.0];
/// let mut c = [f64::NAN; 4]; // β = 0 never reads C
/// puma_kernels::gemm(2, 2, 2, 1.0, &a, &b, 0.0, &mut c);
/// assert_eq!(c, [19.0, 22.0, 43.0, 50.0]);
/// ```
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: &mut [f64],
) {
    assert_eq!(a.len(), m * k, "gemm: a.len() != m·k");
    assert_eq!(b.len(), k * n, "gemm: b.len() != k·n");
    assert_eq!(c.len(), m * n, "gemm: c.len() != m·n");
    gemm_strided(m, k, n, alpha, a, k, 1, b, n, 1, beta, c, n, 1);
}

/// C ← α·op(A)·op(B) + βC for row-major matrices with leading dimensions (BLAS `dgemm`).
///
/// op(A) is m × k: A is stored m × k (`Op::NoTrans`) or k × m (`Op::Trans`), row i at
/// `a[i·lda..]`; likewise op(B) is k × n and C is m × n with leading dimension `ldc`.
///
/// # Panics
/// If a leading dimension is smaller than its row length (for a matrix with more than one
/// row), or a slice is too short for its matrix.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gemm_op(
    ta: Op,
    tb: Op,
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    b: &[f64],
    ldb: usize,
    beta: f64,
    c: &mut [f64],
    ldc: usize,
) {
    let (rsa, csa) = if ta == Op::NoTrans {
        (lda, 1)
    } else {
        (1, lda)
    };
    let (rsb, csb) = if tb == Op::NoTrans {
        (ldb, 1)
    } else {
        (1, ldb)
    };
    let stored_cols = |op: Op, rows: usize, cols: usize| {
        if op == Op::NoTrans {
            (rows, cols)
        } else {
            (cols, rows)
        }
    };
    for (name, (rows, cols), ld) in [
        ("lda", stored_cols(ta, m, k), lda),
        ("ldb", stored_cols(tb, k, n), ldb),
        ("ldc", (m, n), ldc),
    ] {
        assert!(
            rows <= 1 || ld >= cols,
            "gemm_op: {name} = {ld} is smaller than the row length {cols}"
        );
    }
    gemm_strided(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, ldc, 1);
}

/// C ← αAB + βC with general strides: X[i, j] is `x[i·rsx + j·csx]` (matrixmultiply's
/// `dgemm` argument order). A transpose is a swap of its two strides.
///
/// # Panics
/// If a slice is too short for its matrix, or if C's strides map two elements to one index
/// (tested as: the smaller stride times its dimension stays below the larger stride).
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    rsa: usize,
    csa: usize,
    b: &[f64],
    rsb: usize,
    csb: usize,
    beta: f64,
    c: &mut [f64],
    rsc: usize,
    csc: usize,
) {
    gemm_strided_with(
        dispatch::level(),
        m,
        k,
        n,
        alpha,
        a,
        rsa,
        csa,
        b,
        rsb,
        csb,
        beta,
        c,
        rsc,
        csc,
        true,
    );
}

/// [`gemm_strided`] on a chosen variant, optionally without threads.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_strided_with(
    level: Level,
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    rsa: usize,
    csa: usize,
    b: &[f64],
    rsb: usize,
    csb: usize,
    beta: f64,
    c: &mut [f64],
    rsc: usize,
    csc: usize,
    par: bool,
) {
    let (la, lb) = (
        Layout {
            rows: m,
            cols: k,
            rs: rsa,
            cs: csa,
        },
        Layout {
            rows: k,
            cols: n,
            rs: rsb,
            cs: csb,
        },
    );
    let lc = Layout {
        rows: m,
        cols: n,
        rs: rsc,
        cs: csc,
    };
    let a = Opnd {
        src: Src::Ext(a, la),
        v: la.full(),
    };
    let b = Opnd {
        src: Src::Ext(b, lb),
        v: lb.full(),
    };
    gemm_in(level, c, &lc, alpha, &a, &b, beta, lc.full(), par);
}

/// Where an operand lives: in the buffer being updated, or in a separate slice.
#[derive(Clone, Copy)]
pub(crate) enum Src<'a> {
    /// The same buffer as C (a rectangle disjoint from C's).
    Buf,
    /// Another slice, with its own layout.
    Ext(&'a [f64], Layout),
}

/// A read-only operand: a view of `Src`.
#[derive(Clone, Copy)]
pub(crate) struct Opnd<'a> {
    pub src: Src<'a>,
    pub v: View,
}

/// The view `c` of `buf` ← α·a·b + β·c, where a and b may be other views of `buf`.
///
/// # Panics
/// If shapes disagree, a view leaves its matrix, a matrix leaves its slice, `bl` is not
/// injective, or an operand in `buf` overlaps `c`.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_in(
    level: Level,
    buf: &mut [f64],
    bl: &Layout,
    alpha: f64,
    a: &Opnd,
    b: &Opnd,
    beta: f64,
    c: View,
    par: bool,
) {
    let (m, k, n) = (c.m(), a.v.n(), c.n());
    assert!(
        a.v.m() == m && b.v.m() == k && b.v.n() == n,
        "gemm: operand shapes disagree"
    );
    assert!(
        bl.fits(buf.len()),
        "gemm: C's slice is too short for its strides"
    );
    assert!(
        bl.is_injective(),
        "gemm: C's strides map two elements to one index"
    );
    assert!(c.within(bl), "gemm: C's view leaves its matrix");
    let level = checked(level);
    let base = buf.as_mut_ptr();
    let resolve = |o: &Opnd| -> (*const f64, usize, usize) {
        let (ptr, l) = match o.src {
            Src::Buf => {
                assert!(o.v.disjoint(&c), "gemm: an operand overlaps C");
                (base as *const f64, *bl)
            }
            Src::Ext(data, l) => {
                assert!(
                    l.fits(data.len()),
                    "gemm: an operand's slice is too short for its strides"
                );
                (data.as_ptr(), l)
            }
        };
        assert!(o.v.within(&l), "gemm: an operand's view leaves its matrix");
        let (rs, cs) = o.v.strides(&l);
        (ptr.wrapping_add(o.v.at(&l, 0, 0)), rs, cs)
    };
    let ((pa, rsa, csa), (pb, rsb, csb)) = (resolve(a), resolve(b));
    let (rsc, csc) = c.strides(bl);
    let pc = base.wrapping_add(c.at(bl, 0, 0));
    let raw = Raw {
        m,
        k,
        n,
        alpha,
        a: pa,
        rsa,
        csa,
        b: pb,
        rsb,
        csb,
        beta,
        c: pc,
        rsc,
        csc,
    };
    // SAFETY: every view was checked to lie in its matrix and every matrix in its slice;
    // C's layout is injective and operands in `buf` are disjoint rectangles of it; `level`
    // was checked against the CPU; `buf` is borrowed mutably, so nothing else accesses it.
    unsafe { run(level, raw, par) };
}

/// `level`, after asserting the CPU can run it (the soundness check for forced variants).
#[track_caller]
pub(crate) fn checked(level: Level) -> Level {
    if level == Level::Avx2Fma {
        assert!(
            dispatch::avx2_fma_available(),
            "the AVX2+FMA variant needs avx2 and fma"
        );
    }
    level
}

/// Runs one product, split over threads when `par` and it is large enough.
///
/// # Safety
/// `level` must be supported by the CPU. Every element addressed by `p` for `i < m`,
/// `p < k`, `j < n` must be valid (C for reads and writes), C's elements pairwise distinct
/// and disjoint from A's and B's, and nothing else may write any of them during the call.
pub(crate) unsafe fn run(level: Level, p: Raw, par: bool) {
    if p.m == 0 || p.n == 0 {
        return;
    }
    if p.k == 0 || p.alpha == 0.0 {
        // SAFETY: forwarded from the caller.
        unsafe { scale(&p) };
        return;
    }
    // Small and skinny products: unpacked kernels on this thread (the choice depends on the
    // shape and strides only).
    #[cfg(target_arch = "x86_64")]
    if level == Level::Avx2Fma
        && let Some(plan) = small::plan(&p)
    {
        // SAFETY: `level` is Avx2Fma only after `checked`; k, m, n > 0 here; the rest is
        // forwarded from the caller.
        unsafe { small::run(plan, &p) };
        return;
    }
    // Orientation: C = AB or Cᵀ = BᵀAᵀ. A small dimension (≤ DIRECT_MAX_N) goes to n, where
    // A is read in place and not packed (32×1797·1797×64 becomes 64×1797·1797×32), unless
    // that makes C column-major for a shallow product (k < 128), where the element-wise
    // write-back would cost about as much as the tile. Otherwise C's unit stride goes along
    // the kernel's vector stores. Each element sees the same products in the same k order
    // either way, so the result is the same bits.
    let small = |d: usize| d <= blocking::DIRECT_MAX_N;
    let deep = p.k >= 128;
    let swap = match (small(p.m), small(p.n)) {
        (true, false) if deep || p.rsc != 1 => true,
        (false, true) if deep || p.csc != 1 => false,
        _ => p.rsc == 1 && p.csc != 1,
    };
    let p = if swap { p.transposed() } else { p };
    let flops = 2.0 * p.m as f64 * p.n as f64 * p.k as f64;
    let threads = if par && flops >= PAR_MIN_FLOPS {
        rayon::current_num_threads()
    } else {
        1
    };
    if threads < 2 {
        // SAFETY: forwarded from the caller.
        unsafe { drive(level, &p) };
        return;
    }
    // Split the larger of m and n into chunks that are whole tiles of both kernels (24 is a
    // multiple of 6, 4 and 8), one chunk per thread.
    const ALIGN: usize = 24;
    let split_rows = p.m >= p.n;
    let len = if split_rows { p.m } else { p.n };
    let chunk = len.div_ceil(threads).div_ceil(ALIGN) * ALIGN;
    (0..len.div_ceil(chunk)).into_par_iter().for_each(|t| {
        let (lo, hi) = (t * chunk, len.min((t + 1) * chunk));
        let q = if split_rows {
            p.rows(lo, hi)
        } else {
            p.cols(lo, hi)
        };
        // SAFETY: chunks are disjoint row (column) ranges of C, so each thread writes
        // elements no other thread touches; A and B are only read.
        unsafe { drive(level, &q) };
    });
}

/// Runs the loop nest with the kernel of `level`.
///
/// # Safety
/// As for [`run`], with `k > 0`.
unsafe fn drive(level: Level, p: &Raw) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level` is Avx2Fma only after `checked`; the rest is the caller's contract.
        Level::Avx2Fma => unsafe { avx2::drive(p) },
        // SAFETY: the portable kernel needs no CPU feature; the rest is the caller's contract.
        _ => unsafe { blocking::drive::<portable::Portable>(p) },
    }
}

/// C ← βC without reading C when β = 0 (the product term vanishes: k = 0 or α = 0).
///
/// # Safety
/// As for [`run`].
unsafe fn scale(p: &Raw) {
    for i in 0..p.m {
        for j in 0..p.n {
            let cij = p.c.wrapping_add(i * p.rsc + j * p.csc);
            if p.beta == 0.0 {
                // SAFETY: i < m, j < n: an element of C the caller vouched for.
                unsafe { *cij = 0.0 };
            } else {
                // SAFETY: as above.
                unsafe { *cij *= p.beta };
            }
        }
    }
}
