//! Small products without packing: the skinny gemms of a small MLP over a chunk of samples.
//!
//! C ← α·A·B + β·C for products below [`SMALL_MAX_FLOPS`] (or with a dimension ≤ 4 below
//! [`super::PAR_MIN_FLOPS`]), on the AVX2+FMA level. At these sizes the packed loop nest
//! spends as long on packing, edge tiles and C's load/store as on the flops (a 2 × 256 · 256
//! × 16 weight gradient ran at 5 GFLOP/s), so operands are read in place by one of two
//! register-blocked kernels, chosen by which axis is contiguous and long:
//!
//! - **axpy** ([`axpy_tile`]), when B's rows are contiguous (`csb = 1`): C's rows are built
//!   4 lanes at a time, one broadcast A[i, p] times a row of B per step, for an MR × 4·NV
//!   tile held in registers over the whole k loop (6 × 8, or all of C for m ≤ 2 and n ≤ 16:
//!   a k = 256 reduction with a tiny m streams A and B once).
//!
//!   ```text
//!                  B[p, j..j+4]  B[p, j+4..j+8]      ≤ 4 vectors of a row of B
//!     A[i,   p] ─►   c00           c01
//!       ...            ...           ...             MR·NV accumulators, MR·NV FMAs per
//!     A[i+5, p] ─►   c50           c51               step, NV loads + MR broadcasts
//!   ```
//!
//!   Every element is then one chain of FMAs in increasing p from zero, followed by
//!   fma(α, acc, β·C): for k ≤ 256 (one k block of the packed path) the same operations as
//!   the packed 6 × 8 kernel, so moving the threshold does not change a bit. When several
//!   tiles share rows of A or columns of B, k is cut into blocks of ≤ [`KB`] that stay in
//!   L1, the accumulators waiting in memory between blocks (exactly, so still one chain).
//!   Cᵀ = BᵀAᵀ is used instead when it is Aᵀ whose rows are contiguous (and long enough to
//!   fill a vector), as for the 16 × 256 · 256 × 2 gradient; a small op(B) with neither
//!   (`A·Wᵀ` with row-major W) is first copied row-major into a buffer of k·n values, 1/m
//!   of the product's work.
//! - **dot** ([`dot_tile`]), when A's rows and B's columns are contiguous (`A·Wᵀ`) and C
//!   is too narrow for vectors (m or n ≤ 3, e.g. 256 × 16 · 16 × 2), or op(B) is too large
//!   to copy: R × J dot products at once, 4 lanes along k, summed across lanes at the end
//!   (lane l holds the terms p ≡ l mod 4; the four lanes are then added pairwise).
//!
//! - **shallow** ([`shallow`]), for k ≤ 4 into row-major C 4 to 16 wide (X W₀ᵀ of a
//!   2-input MLP, G W behind 2 logits): op(B) held in registers, one row of C per step.
//!
//! The tile kernels run whole columns of tiles per call, so that a shallow product (k = 2,
//! bound by C's loads and stores) does not pay a dispatch per tile. Shapes the kernels do not
//! fit (no usable unit stride and a large op(B)) go back to the packed path. Which kernel runs depends on the shape and strides alone, never on the
//! number of threads, and everything runs on the calling thread: results are reproducible.
//! Cost: 2mnk flops, plus k·n copied values when op(B) is copied. Measured on the [2, 16,
//! 16, 2] MLP's eight products over 256 samples (one thread, min of runs): 27 → 11.4 µs in
//! total; the k = 256 weight gradients with m or n = 2 from 5 to 40 GFLOP/s, the k = 2
//! products (bound by C's traffic) from 10 to 21–26, the 16 × 16 layers at 40–49.

use core::arch::x86_64::*;
use std::cell::Cell;

use super::blocking::Raw;

/// Products with at most this many flops (2mnk) take the small path.
/// Products with a dimension ≤ [`TINY`] take it up to [`super::PAR_MIN_FLOPS`].
pub(crate) const SMALL_MAX_FLOPS: f64 = 4.0e6;

/// A dimension this small leaves the packed kernel mostly idle edge tiles.
const TINY: usize = 4;

/// Largest op(B) (k·n values, 64 KiB) copied row-major for the axpy kernel.
const COPY_MAX: usize = 8192;

/// Which kernel computes a product, in which orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// [`axpy`] on C = AB (`transpose = false`) or Cᵀ = BᵀAᵀ, reading B (Aᵀ) in place or
    /// from a row-major copy.
    Axpy { transpose: bool, copy: bool },
    /// [`dot`] on C = AB.
    Dot,
    /// [`shallow`] on C = AB (k ≤ [`SHALLOW_K`], n ≤ 16, C's rows contiguous), reading B in
    /// place or from a row-major copy.
    Shallow { copy: bool },
}

/// Deepest product for [`shallow`]: op(B)'s k rows stay in registers.
const SHALLOW_K: usize = 4;

/// The kernel for `p`, or `None` when the packed path is the better (or only) choice.
/// Depends only on shapes and strides.
pub(crate) fn plan(p: &Raw) -> Option<Plan> {
    let flops = 2.0 * p.m as f64 * p.k as f64 * p.n as f64;
    let tiny = p.m.min(p.k).min(p.n) <= TINY;
    if !(flops <= SMALL_MAX_FLOPS || (tiny && flops < super::PAR_MIN_FLOPS)) {
        return None;
    }
    // 0. A shallow product into row-major C at most 16 wide (k = 2: the first layer of a
    //    2-input MLP, U = G W behind 2 logits): op(B) held in registers, one row of C per step.
    if p.k <= SHALLOW_K && p.n <= 16 && p.n >= 4 && p.csc == 1 {
        if p.csb == 1 {
            return Some(Plan::Shallow { copy: false });
        }
        if p.k * p.n <= COPY_MAX {
            return Some(Plan::Shallow { copy: true });
        }
    }
    let t = p.transposed();
    // Orientations as (transpose, product), C contiguous along the vector axis first.
    let mut orients = [(false, *p), (true, t)];
    if p.csc != 1 && p.rsc == 1 {
        orients.swap(0, 1);
    }
    // 1. B's rows contiguous and at least one full vector wide.
    if let Some(&(transpose, _)) = orients.iter().find(|(_, q)| q.csb == 1 && q.n >= 4) {
        return Some(Plan::Axpy {
            transpose,
            copy: false,
        });
    }
    // 2. Dot products along contiguous k for a C too narrow for vectors.
    let dot_ok = p.csa == 1 && p.rsb == 1 && p.k >= 4;
    if dot_ok && p.m.min(p.n) < 4 {
        return Some(Plan::Dot);
    }
    // 3. A small op(B) copied row-major.
    if let Some(&(transpose, _)) = orients
        .iter()
        .find(|(_, q)| q.n >= 4 && q.k * q.n <= COPY_MAX)
    {
        return Some(Plan::Axpy {
            transpose,
            copy: true,
        });
    }
    // 4. Dot products when op(B) is too large to copy; 5. narrow vectors in place.
    if dot_ok {
        return Some(Plan::Dot);
    }
    orients
        .iter()
        .find(|(_, q)| q.csb == 1)
        .map(|&(transpose, _)| Plan::Axpy {
            transpose,
            copy: false,
        })
}

/// Runs `plan` (from [`plan`]`(p)`) on the calling thread.
///
/// # Safety
/// The CPU must support avx2 and fma; `k > 0`, `m, n > 0`; every element addressed by `p` for
/// `i < m`, `p < k`, `j < n` must be valid (C for reads and writes), C's elements pairwise
/// distinct and disjoint from A's and B's, and nothing else may write any of them during
/// the call.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn run(plan: Plan, p: &Raw) {
    match plan {
        Plan::Dot => {
            // SAFETY: `plan` chose Dot only with csa = rsb = 1; the rest is the caller's.
            unsafe { dot(p) }
        }
        Plan::Shallow { copy } => {
            // SAFETY: `plan` chose Shallow only with csc = 1, k ≤ 4 and 4 ≤ n ≤ 16, and csb = 1
            // unless `copy` (then `with_b_copied` makes it so); the rest is the caller's.
            unsafe { with_b_copied(p, copy, shallow) }
        }
        Plan::Axpy { transpose, copy } => {
            let q = if transpose { p.transposed() } else { *p };
            // SAFETY: `plan` chose an axpy with csb = 1 in this orientation unless `copy` (then
            // `with_b_copied` makes it so); Cᵀ = BᵀAᵀ addresses the same elements.
            unsafe { with_b_copied(&q, copy, axpy) }
        }
    }
}

/// `kernel(q)`, with op(B) first copied row-major (csb = 1) into this thread's [`COPY`]
/// buffer when `copy` (k·n values; a caller up the stack holding the buffer leaves it empty,
/// and a fresh one is grown).
///
/// # Safety
/// The CPU must support avx2 and fma; `kernel`'s contract must hold for `q`, or for `q` with
/// B replaced by a row-major copy when `copy`.
#[target_feature(enable = "avx2,fma")]
unsafe fn with_b_copied(q: &Raw, copy: bool, kernel: unsafe fn(&Raw)) {
    if !copy {
        // SAFETY: the caller's contract.
        return unsafe { kernel(q) };
    }
    let mut buf = COPY.take();
    if buf.len() < q.k * q.n {
        buf.resize(q.k * q.n, 0.0);
    }
    // SAFETY: op(B) is the caller's; `buf` holds k·n values.
    unsafe { copy_b(q, &mut buf[..q.k * q.n]) };
    let r = Raw {
        b: buf.as_ptr(),
        rsb: q.n,
        csb: 1,
        ..*q
    };
    // SAFETY: `buf` holds op(B) row-major (k × n, csb = 1) and is not C; the rest is the
    // caller's contract.
    unsafe { kernel(&r) };
    COPY.set(buf);
}

/// op(B) (k × n, B[p, j] at `b + p·rsb + j·csb`) into `out` row-major (`out[p·n + j]`).
/// When B's columns are contiguous (`rsb = 1`, op(B) = Wᵀ for a row-major W), 4 × 4 blocks
/// are transposed in registers: four rows of W in, four rows of op(B) out.
///
/// # Safety
/// The CPU must support avx2; B[p, j] must be readable for p < k, j < n; `out.len() = k·n`.
#[target_feature(enable = "avx2,fma")]
unsafe fn copy_b(q: &Raw, out: &mut [f64]) {
    let (k, n, b) = (q.k, q.n, q.b);
    assert_eq!(out.len(), k * n);
    let at = |p: usize, j: usize| b.wrapping_add(p * q.rsb + j * q.csb);
    let (k4, n4) = if q.rsb == 1 {
        (k / 4 * 4, n / 4 * 4)
    } else {
        (0, 0)
    };
    let o = out.as_mut_ptr();
    for j in (0..n4).step_by(4) {
        for p in (0..k4).step_by(4) {
            let mut w = [_mm256_setzero_pd(); 4];
            for (r, wr) in w.iter_mut().enumerate() {
                // SAFETY: W[j + r, p..p + 4] = B[p..p + 4, j + r]: p + 4 ≤ k, j + r < n.
                *wr = unsafe { _mm256_loadu_pd(at(p, j + r)) };
            }
            let t0 = _mm256_unpacklo_pd(w[0], w[1]); // [w0₀, w1₀, w0₂, w1₂]
            let t1 = _mm256_unpackhi_pd(w[0], w[1]); // [w0₁, w1₁, w0₃, w1₃]
            let t2 = _mm256_unpacklo_pd(w[2], w[3]);
            let t3 = _mm256_unpackhi_pd(w[2], w[3]);
            let rows = [
                _mm256_permute2f128_pd::<0x20>(t0, t2), // B[p, j..j + 4]
                _mm256_permute2f128_pd::<0x20>(t1, t3), // B[p + 1, j..j + 4]
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ];
            for (l, row) in rows.into_iter().enumerate() {
                // SAFETY: out[(p + l)·n + j..+ 4] with p + l < k, j + 4 ≤ n.
                unsafe { _mm256_storeu_pd(o.add((p + l) * n + j), row) };
            }
        }
    }
    // The rest element by element: columns n4.., and rows k4.. of columns ..n4.
    for (p, row) in out.chunks_exact_mut(n).enumerate() {
        let from = if p < k4 { n4 } else { 0 };
        for (j, x) in row.iter_mut().enumerate().skip(from) {
            // SAFETY: p < k, j < n: an element of op(B) the caller vouched for.
            *x = unsafe { *at(p, j) };
        }
    }
}

thread_local! {
    /// The row-major copy of op(B), kept between calls (at most [`COPY_MAX`] values).
    static COPY: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
    /// The axpy accumulators of all of C between k blocks (m × n rounded up to a tile).
    static SUMS: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}

/// Depth of a k block of the axpy kernel when several tiles share rows of A or columns of
/// B: 16 × 256 · 256 × 16 ran at 42 GFLOP/s in one block and at 51 with k ≤ 128.
const KB: usize = 128;

/// Lane masks for `_mm256_maskload_pd`: `MASKS[r]` selects the first `r` lanes.
const MASKS: [[i64; 4]; 5] = [
    [0, 0, 0, 0],
    [-1, 0, 0, 0],
    [-1, -1, 0, 0],
    [-1, -1, -1, 0],
    [-1, -1, -1, -1],
];

/// The mask selecting the first `r ≤ 4` lanes.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn lanes(r: usize) -> __m256i {
    // SAFETY: `MASKS[r]` is 4 i64 = 32 bytes; loadu needs no alignment.
    unsafe { _mm256_loadu_si256(MASKS[r.min(4)].as_ptr().cast()) }
}

/// α·acc (C's new value when β = 0), without the multiplication when α = 1 (exact anyway).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn scaled(alpha: f64, acc: __m256d) -> __m256d {
    if alpha == 1.0 {
        acc
    } else {
        _mm256_mul_pd(_mm256_set1_pd(alpha), acc)
    }
}

/// fma(α, acc, β·old), C's new value when β ≠ 0. The multiplications by α = 1 and β = 1
/// are skipped: both are exact, so the bits are those of the full formula.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn updated(alpha: f64, acc: __m256d, beta: f64, old: __m256d) -> __m256d {
    let bc = if beta == 1.0 {
        old
    } else {
        _mm256_mul_pd(_mm256_set1_pd(beta), old)
    };
    if alpha == 1.0 {
        _mm256_add_pd(acc, bc) // fma(1, acc, bc) rounds acc + bc once, as the add does
    } else {
        _mm256_fmadd_pd(_mm256_set1_pd(alpha), acc, bc)
    }
}

/// Calls `$f::<MR, NV, MASK, SPLIT>$args` for runtime `($mr, $nv, $mask, $split)` among the
/// listed (MR, NV) pairs.
macro_rules! axpy_dispatch {
    ($mr:expr, $nv:expr, $mask:expr, $split:expr, $f:ident $args:tt, $(($m:literal, $v:literal)),*) => {
        match ($mr, $nv, $mask, $split) {
            $(
                ($m, $v, false, false) => $f::<$m, $v, false, false> $args,
                ($m, $v, true, false) => $f::<$m, $v, true, false> $args,
                ($m, $v, false, true) => $f::<$m, $v, false, true> $args,
                ($m, $v, true, true) => $f::<$m, $v, true, true> $args,
            )*
            _ => unreachable!("no axpy tile {} × {}", $mr, $nv),
        }
    };
}

/// C ← α·A·B + β·C with B's rows contiguous (`csb = 1`), by MR × 4·NV tiles: 6 × 8, or
/// m × 16 when m ≤ 2 (all of a 2 × 16 C stays in registers over the k loop). A column tail
/// narrower than a vector is loaded and stored through lane masks, never touching memory
/// past row ends. With more than one tile, k is cut into ⌈k / KB⌉ equal blocks, each run
/// over all tiles.
///
/// # Safety
/// As for [`run`], with `p.csb == 1`.
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy(p: &Raw) {
    debug_assert_eq!(p.csb, 1);
    let (mr_max, nv_max) = if p.m <= 2 { (p.m, 4) } else { (6, 2) };
    let w = 4 * nv_max;
    // k blocks of at most KB when tiles re-read rows of A or columns of B, so that those
    // stay in L1 between uses; the accumulators wait in `sums` between blocks.
    let blocks = if p.m > mr_max || p.n > w {
        p.k.div_ceil(KB)
    } else {
        1
    };
    let kb = p.k.div_ceil(blocks);
    let lds = p.n.next_multiple_of(w);
    let mut sums = if blocks > 1 { SUMS.take() } else { Vec::new() };
    if blocks > 1 && sums.len() < p.m * lds {
        sums = vec![0.0; p.m * lds];
    }
    for pc in (0..p.k).step_by(kb) {
        let kc = kb.min(p.k - pc);
        for j in (0..p.n).step_by(w) {
            let nr = w.min(p.n - j);
            let (nv, mask) = (nr.div_ceil(4), nr % 4 != 0);
            let b = p.b.wrapping_add(pc * p.rsb + j);
            // Whole MR-row tiles in one call, then the remaining rows.
            let whole = p.m / mr_max * mr_max;
            for (i, rows, mr) in [(0, whole, mr_max), (whole, p.m - whole, p.m - whole)] {
                if rows == 0 {
                    continue;
                }
                let a = p.a.wrapping_add(i * p.rsa + pc * p.csa);
                let c = p.c.wrapping_add(i * p.rsc + j * p.csc);
                let part = Part {
                    sums: sums.as_mut_ptr().wrapping_add(i * lds + j),
                    lds,
                    first: pc == 0,
                    last: pc + kc == p.k,
                };
                let (alpha, beta, rsa, csa, rsb, rsc, csc) =
                    (p.alpha, p.beta, p.rsa, p.csa, p.rsb, p.rsc, p.csc);
                // SAFETY: the tiles are rows i..i + rows, columns j..j + nr of C, with the
                // matching rows of A and columns of B, at depths pc..pc + kc: inside the
                // product the caller vouched for; `sums` holds m × lds values when there
                // is more than one k block (and is not accessed otherwise).
                unsafe {
                    axpy_dispatch!(
                        mr,
                        nv,
                        mask,
                        blocks > 1,
                        axpy_rows(
                            rows, kc, alpha, a, rsa, csa, b, rsb, beta, c, rsc, csc, nr, part
                        ),
                        (1, 1),
                        (2, 1),
                        (3, 1),
                        (4, 1),
                        (5, 1),
                        (6, 1),
                        (1, 2),
                        (2, 2),
                        (3, 2),
                        (4, 2),
                        (5, 2),
                        (6, 2),
                        (1, 3),
                        (2, 3),
                        (1, 4),
                        (2, 4)
                    )
                }
            }
        }
    }
    if blocks > 1 {
        SUMS.set(sums);
    }
}

/// Where a tile's accumulators come from and go to when k is split into blocks: they start
/// at zero (`first`) or from `sums` (row stride `lds`), and end in C (`last`) or in `sums`.
/// Storing and reloading is exact, so each element is still one FMA chain over p.
#[derive(Clone, Copy)]
struct Part {
    sums: *mut f64,
    lds: usize,
    first: bool,
    last: bool,
}

/// [`axpy_tile`] on the `rows / MR` tiles of rows 0..rows (a multiple of MR), in one call
/// so that a shallow product (k = 2) does not pay a dispatch per tile.
///
/// # Safety
/// As for [`axpy_tile`], for i < rows.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn axpy_rows<const MR: usize, const NV: usize, const MASK: bool, const SPLIT: bool>(
    rows: usize,
    k: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    csa: usize,
    b: *const f64,
    rsb: usize,
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
    nr: usize,
    part: Part,
) {
    debug_assert_eq!(rows % MR, 0);
    for i in (0..rows).step_by(MR) {
        let (ai, ci) = (a.wrapping_add(i * rsa), c.wrapping_add(i * rsc));
        let part = Part {
            sums: part.sums.wrapping_add(i * part.lds),
            ..part
        };
        // SAFETY: rows i..i + MR ≤ rows of the caller's block.
        unsafe {
            axpy_tile::<MR, NV, MASK, SPLIT>(
                k, alpha, ai, rsa, csa, b, rsb, beta, ci, rsc, csc, nr, part,
            )
        };
    }
}

/// One MR × nr tile of C ← α·A·B + β·C, `4·(NV − 1) < nr ≤ 4·NV` (`nr = 4·NV` unless
/// `MASK`), A[i, p] at `a + i·rsa + p·csa`, B[p, j] at `b + p·rsb + j`, C[i, j] at
/// `c + i·rsc + j·csc`. MR·NV accumulators live in registers for the whole k loop; each
/// step loads NV vectors of a row of B (the last one masked when `MASK`), broadcasts MR
/// values of a column of A and does MR·NV FMAs. With `SPLIT` this is one k block of the
/// product: the accumulators start from and end in `part.sums` unless `part.first` /
/// `part.last` (without it, `part` is ignored).
///
/// # Safety
/// The CPU must support avx2 and fma. A[i, p] and B[p, j] must be readable and C[i, j]
/// writable (and readable when β ≠ 0) for i < MR, p < k, j < nr, with no other access to C
/// during the call. With `SPLIT`, `part.sums + i·part.lds + l` must be valid for reads and
/// writes for i < MR, l < 4·NV.
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // r, v index parallel arrays
unsafe fn axpy_tile<const MR: usize, const NV: usize, const MASK: bool, const SPLIT: bool>(
    k: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    csa: usize,
    b: *const f64,
    rsb: usize,
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
    nr: usize,
    part: Part,
) {
    debug_assert!(nr <= 4 * NV && nr > 4 * (NV - 1) && (MASK || nr == 4 * NV));
    let last = lanes(nr - 4 * (NV - 1)); // the valid lanes of vector NV − 1
    let mut acc = [[_mm256_setzero_pd(); NV]; MR];
    if SPLIT && !part.first {
        for r in 0..MR {
            for v in 0..NV {
                // SAFETY: the caller's `sums` holds this tile's MR × 4·NV values.
                acc[r][v] = unsafe { _mm256_loadu_pd(part.sums.add(r * part.lds + 4 * v)) };
            }
        }
    }
    for p in 0..k {
        let (bp, ap) = (b.wrapping_add(p * rsb), a.wrapping_add(p * csa));
        let mut bv = [_mm256_setzero_pd(); NV];
        for v in 0..NV {
            bv[v] = if MASK && v == NV - 1 {
                // SAFETY: lanes j < nr of row p of B; masked lanes are not accessed.
                unsafe { _mm256_maskload_pd(bp.add(4 * v), last) }
            } else {
                // SAFETY: columns 4v..4v + 4 ≤ nr of row p of B.
                unsafe { _mm256_loadu_pd(bp.add(4 * v)) }
            };
        }
        for r in 0..MR {
            // SAFETY: A[r, p] with r < MR, p < k.
            let ar = _mm256_set1_pd(unsafe { *ap.add(r * rsa) });
            for v in 0..NV {
                acc[r][v] = _mm256_fmadd_pd(ar, bv[v], acc[r][v]);
            }
        }
    }
    if SPLIT && !part.last {
        for r in 0..MR {
            for v in 0..NV {
                // SAFETY: as for the loads from `sums` above.
                unsafe { _mm256_storeu_pd(part.sums.add(r * part.lds + 4 * v), acc[r][v]) };
            }
        }
        return;
    }
    if csc == 1 {
        for r in 0..MR {
            let row = c.wrapping_add(r * rsc);
            for v in 0..NV {
                let (at, partial) = (row.wrapping_add(4 * v), MASK && v == NV - 1);
                let new = if beta == 0.0 {
                    scaled(alpha, acc[r][v])
                } else {
                    let old = if partial {
                        // SAFETY: lanes j < nr of row r of C, readable as β ≠ 0.
                        unsafe { _mm256_maskload_pd(at, last) }
                    } else {
                        // SAFETY: columns 4v..4v + 4 ≤ nr of row r of C.
                        unsafe { _mm256_loadu_pd(at) }
                    };
                    updated(alpha, acc[r][v], beta, old)
                };
                if partial {
                    // SAFETY: as for the load; masked lanes are not written.
                    unsafe { _mm256_maskstore_pd(at, last, new) };
                } else {
                    // SAFETY: as for the load.
                    unsafe { _mm256_storeu_pd(at, new) };
                }
            }
        }
        return;
    }
    // Strided C: spill the accumulators and update element by element with the same fused
    // operations as above.
    let mut spill = [[[0.0f64; 4]; NV]; MR];
    for r in 0..MR {
        for v in 0..NV {
            // SAFETY: `spill[r][v]` holds 4 values.
            unsafe { _mm256_storeu_pd(spill[r][v].as_mut_ptr(), acc[r][v]) };
        }
    }
    for (i, row) in spill.iter().enumerate() {
        for j in 0..nr {
            let ab = row[j / 4][j % 4];
            let cij = c.wrapping_add(i * rsc + j * csc);
            if beta == 0.0 {
                // SAFETY: i < MR, j < nr: an element of the tile the caller vouched for.
                unsafe { *cij = alpha * ab };
            } else {
                // SAFETY: as above, readable since β ≠ 0.
                unsafe { *cij = alpha.mul_add(ab, beta * *cij) };
            }
        }
    }
}

/// C ← α·A·B + β·C for a shallow product (k ≤ [`SHALLOW_K`]) with B's rows and C's rows
/// contiguous (`csb = csc = 1`) and 4 ≤ n ≤ 16: op(B)'s k × n values are loaded once into
/// registers, then each row of C is k broadcasts of A[i, p] and k FMAs per vector, stored
/// (the last vector through a lane mask when 4 ∤ n). Each element is the same FMA chain
/// over p from zero as in [`axpy_tile`] (the same bits, by construction): only the tiles' reloading of B
/// and rebroadcasting of A (twice the work at k = 2, bound by C's stores) is saved.
///
/// # Safety
/// As for [`run`], with `p.csb == 1`, `p.csc == 1`, `p.k ≤ 4` and `4 ≤ p.n ≤ 16`.
#[target_feature(enable = "avx2,fma")]
unsafe fn shallow(p: &Raw) {
    debug_assert!(p.csb == 1 && p.csc == 1 && p.k <= SHALLOW_K && (4..=16).contains(&p.n));
    // C ← AB and C ← AB + C, the common cases, without per-vector tests of α and β
    let mode = match (p.alpha, p.beta) {
        (1.0, 0.0) => ASSIGN,
        (1.0, 1.0) => ACCUMULATE,
        _ => GENERAL,
    };
    macro_rules! go {
        ($k:literal, $nv:literal) => {
            // SAFETY: forwarded from the caller; k, ⌈n/4⌉, 4 ∤ n and `mode` match the
            // constants.
            unsafe {
                match (p.n % 4 != 0, mode) {
                    (false, ASSIGN) => shallow_rows::<$k, $nv, false, ASSIGN>(p),
                    (false, ACCUMULATE) => shallow_rows::<$k, $nv, false, ACCUMULATE>(p),
                    (false, _) => shallow_rows::<$k, $nv, false, GENERAL>(p),
                    (true, ASSIGN) => shallow_rows::<$k, $nv, true, ASSIGN>(p),
                    (true, ACCUMULATE) => shallow_rows::<$k, $nv, true, ACCUMULATE>(p),
                    (true, _) => shallow_rows::<$k, $nv, true, GENERAL>(p),
                }
            }
        };
    }
    match (p.k, p.n.div_ceil(4)) {
        (1, 1) => go!(1, 1),
        (1, 2) => go!(1, 2),
        (1, 3) => go!(1, 3),
        (1, 4) => go!(1, 4),
        (2, 1) => go!(2, 1),
        (2, 2) => go!(2, 2),
        (2, 3) => go!(2, 3),
        (2, 4) => go!(2, 4),
        (3, 1) => go!(3, 1),
        (3, 2) => go!(3, 2),
        (3, 3) => go!(3, 3),
        (3, 4) => go!(3, 4),
        (4, 1) => go!(4, 1),
        (4, 2) => go!(4, 2),
        (4, 3) => go!(4, 3),
        (4, 4) => go!(4, 4),
        (k, nv) => unreachable!("no shallow kernel for k = {k}, {nv} vectors"),
    }
}

/// [`shallow_rows`] modes: C ← AB (α = 1, β = 0), C ← AB + C (α = 1, β = 1), C ← αAB + βC.
const ASSIGN: u8 = 0;
const ACCUMULATE: u8 = 1;
const GENERAL: u8 = 2;

/// [`shallow`] for k = K and ⌈n/4⌉ = NV, the last vector masked when `MASK` (4 ∤ n), in
/// mode `MODE` ([`ASSIGN`], [`ACCUMULATE`] or [`GENERAL`]).
///
/// # Safety
/// As for [`shallow`], with `p.k == K`, `p.n.div_ceil(4) == NV`, `MASK == (4 ∤ n)` and
/// `MODE` matching α and β.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // q, v index parallel arrays
unsafe fn shallow_rows<const K: usize, const NV: usize, const MASK: bool, const MODE: u8>(p: &Raw) {
    let last = lanes(p.n - 4 * (NV - 1)); // the valid lanes of vector NV − 1
    let partial = MASK;
    let mut bv = [[_mm256_setzero_pd(); NV]; K];
    for q in 0..K {
        for v in 0..NV {
            let at = p.b.wrapping_add(q * p.rsb + 4 * v);
            bv[q][v] = if partial && v == NV - 1 {
                // SAFETY: lanes j < n of row q of B; masked lanes are not accessed.
                unsafe { _mm256_maskload_pd(at, last) }
            } else {
                // SAFETY: columns 4v..4v + 4 ≤ n of row q of B.
                unsafe { _mm256_loadu_pd(at) }
            };
        }
    }
    for i in 0..p.m {
        let (ai, ci) = (p.a.wrapping_add(i * p.rsa), p.c.wrapping_add(i * p.rsc));
        let mut acc = [_mm256_setzero_pd(); NV];
        for q in 0..K {
            // SAFETY: A[i, q] with i < m, q < k.
            let a = _mm256_set1_pd(unsafe { *ai.add(q * p.csa) });
            for v in 0..NV {
                acc[v] = _mm256_fmadd_pd(a, bv[q][v], acc[v]);
            }
        }
        for v in 0..NV {
            let (at, masked) = (ci.wrapping_add(4 * v), partial && v == NV - 1);
            let new = if MODE == ASSIGN {
                acc[v]
            } else if MODE == GENERAL && p.beta == 0.0 {
                scaled(p.alpha, acc[v])
            } else {
                let old = if masked {
                    // SAFETY: lanes j < n of row i of C, readable as β ≠ 0.
                    unsafe { _mm256_maskload_pd(at, last) }
                } else {
                    // SAFETY: columns 4v..4v + 4 ≤ n of row i of C.
                    unsafe { _mm256_loadu_pd(at) }
                };
                if MODE == ACCUMULATE {
                    _mm256_add_pd(acc[v], old) // updated(1, acc, 1, old)
                } else {
                    updated(p.alpha, acc[v], p.beta, old)
                }
            };
            if masked {
                // SAFETY: as for the load; masked lanes are not written.
                unsafe { _mm256_maskstore_pd(at, last, new) };
            } else {
                // SAFETY: as for the load.
                unsafe { _mm256_storeu_pd(at, new) };
            }
        }
    }
}

/// Calls `$f::<R, J>($args)` for runtime `($r, $j)` among the listed pairs.
macro_rules! dot_dispatch {
    ($r:expr, $j:expr, $f:ident $args:tt, $(($rr:literal, $jj:literal)),*) => {
        match ($r, $j) {
            $(($rr, $jj) => $f::<$rr, $jj> $args,)*
            _ => unreachable!("no dot tile {} × {}", $r, $j),
        }
    };
}

/// C ← α·A·B + β·C with A's rows and B's columns contiguous (`csa = rsb = 1`), by R × J
/// blocks of dot products: 4 × n for n ≤ 3, m × 4 for m ≤ 2, 3 × 3, or 4 × 2.
///
/// # Safety
/// As for [`run`], with `p.csa == 1` and `p.rsb == 1`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot(p: &Raw) {
    debug_assert!(p.csa == 1 && p.rsb == 1);
    let (r_max, j_max) = match (p.m, p.n) {
        (_, 1 | 2) => (4, p.n),
        (_, 3) | (3, _) => (3, 3),
        (1 | 2, _) => (p.m, 4),
        _ => (4, 2),
    };
    for j in (0..p.n).step_by(j_max) {
        let jn = j_max.min(p.n - j);
        // Whole R-row blocks in one call, then the remaining rows.
        let whole = p.m / r_max * r_max;
        for (i, rows, r) in [(0, whole, r_max), (whole, p.m - whole, p.m - whole)] {
            if rows == 0 {
                continue;
            }
            let a = p.a.wrapping_add(i * p.rsa);
            let b = p.b.wrapping_add(j * p.csb);
            let c = p.c.wrapping_add(i * p.rsc + j * p.csc);
            let (k, alpha, beta, rsa, csb, rsc, csc) =
                (p.k, p.alpha, p.beta, p.rsa, p.csb, p.rsc, p.csc);
            // SAFETY: the blocks are rows i..i + rows, columns j..j + jn of C, with the
            // matching rows of A and columns of B: inside the product the caller vouched for.
            unsafe {
                dot_dispatch!(
                    r,
                    jn,
                    dot_rows(rows, k, alpha, a, rsa, b, csb, beta, c, rsc, csc),
                    (1, 1),
                    (1, 2),
                    (1, 3),
                    (1, 4),
                    (2, 1),
                    (2, 2),
                    (2, 3),
                    (2, 4),
                    (3, 1),
                    (3, 2),
                    (3, 3),
                    (4, 1),
                    (4, 2)
                )
            }
        }
    }
}

/// [`dot_tile`] on the `rows / R` blocks of rows 0..rows (a multiple of R), in one call.
///
/// # Safety
/// As for [`dot_tile`], for i < rows.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_rows<const R: usize, const J: usize>(
    rows: usize,
    k: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    b: *const f64,
    csb: usize,
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
) {
    debug_assert_eq!(rows % R, 0);
    for i in (0..rows).step_by(R) {
        let (ai, ci) = (a.wrapping_add(i * rsa), c.wrapping_add(i * rsc));
        // SAFETY: rows i..i + R ≤ rows of the caller's block.
        unsafe { dot_tile::<R, J>(k, alpha, ai, rsa, b, csb, beta, ci, rsc, csc) };
    }
}

/// One step of [`dot_tile`]: `acc[r][j] += A[r, p..p + 4] ⊙ B[p..p + 4, j]`, only the lanes
/// in `mask` (others load as zero) when given.
///
/// # Safety
/// The CPU must support avx2 and fma; A[r, p + l] (at `a + r·rsa + p + l`) and B[p + l, j]
/// (at `b + j·csb + p + l`) must be readable for r < R, j < J and every lane l in `mask`
/// (l < 4 when `None`).
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // r, j index parallel arrays
unsafe fn dot_step<const R: usize, const J: usize>(
    acc: &mut [[__m256d; J]; R],
    a: *const f64,
    rsa: usize,
    b: *const f64,
    csb: usize,
    p: usize,
    mask: Option<__m256i>,
) {
    let mut av = [_mm256_setzero_pd(); R];
    for r in 0..R {
        // SAFETY: A[r, p + l] for the lanes the caller vouches for.
        av[r] = unsafe { load4(a.wrapping_add(r * rsa + p), mask) };
    }
    let mut bv = [_mm256_setzero_pd(); J];
    for j in 0..J {
        // SAFETY: B[p + l, j] for the lanes the caller vouches for.
        bv[j] = unsafe { load4(b.wrapping_add(j * csb + p), mask) };
    }
    for r in 0..R {
        for j in 0..J {
            acc[r][j] = _mm256_fmadd_pd(av[r], bv[j], acc[r][j]);
        }
    }
}

/// The four values at `at`, or only the lanes in `mask` (the others zero).
///
/// # Safety
/// The CPU must support avx2; `at + l` must be readable for every lane l in `mask` (all
/// four when `None`).
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load4(at: *const f64, mask: Option<__m256i>) -> __m256d {
    match mask {
        // SAFETY: the caller vouches for the lanes in `m`; the others are not accessed.
        Some(m) => unsafe { _mm256_maskload_pd(at, m) },
        // SAFETY: the caller vouches for all four lanes.
        None => unsafe { _mm256_loadu_pd(at) },
    }
}

/// [Σv0, Σv1, Σv2, Σv3]: each vector's lanes summed as (l0 + l1) + (l2 + l3).
#[target_feature(enable = "avx2,fma")]
fn hsum4(v0: __m256d, v1: __m256d, v2: __m256d, v3: __m256d) -> __m256d {
    let t0 = _mm256_hadd_pd(v0, v1); // [v0₀+v0₁, v1₀+v1₁, v0₂+v0₃, v1₂+v1₃]
    let t1 = _mm256_hadd_pd(v2, v3);
    let lo = _mm256_permute2f128_pd::<0x20>(t0, t1); // low halves of t0, t1
    let hi = _mm256_permute2f128_pd::<0x31>(t0, t1); // high halves
    _mm256_add_pd(lo, hi)
}

/// One R × J block of C ← α·A·B + β·C as dot products along k: A[i, p] at `a + i·rsa + p`,
/// B[p, j] at `b + p + j·csb`, C[i, j] at `c + i·rsc + j·csc`. Each of the R·J accumulators
/// gathers 4 lanes of k per step (R + J loads, R·J FMAs; a k tail through lane masks), then
/// [`hsum4`] adds the lanes of four at a time.
///
/// # Safety
/// The CPU must support avx2 and fma. A[i, p] and B[p, j] must be readable and C[i, j]
/// writable (and readable when β ≠ 0) for i < R, p < k, j < J, with no other access to C
/// during the call.
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // r, j index parallel arrays
unsafe fn dot_tile<const R: usize, const J: usize>(
    k: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    b: *const f64,
    csb: usize,
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
) {
    let mut acc = [[_mm256_setzero_pd(); J]; R];
    let whole = k / 4 * 4;
    for p in (0..whole).step_by(4) {
        // SAFETY: p + 4 ≤ k: lanes p..p + 4 of A's rows and B's columns.
        unsafe { dot_step(&mut acc, a, rsa, b, csb, p, None) };
    }
    if whole < k {
        // SAFETY: lanes whole..k; the masked lanes are not accessed (and add 0·0).
        unsafe { dot_step(&mut acc, a, rsa, b, csb, whole, Some(lanes(k - whole))) };
    }
    // Lane sums, four accumulators at a time, in row-major (r, j) order.
    let mut flat = [_mm256_setzero_pd(); 12];
    for r in 0..R {
        for j in 0..J {
            flat[r * J + j] = acc[r][j];
        }
    }
    let mut sums = [0.0f64; 12];
    for g in 0..(R * J).div_ceil(4) {
        let s = hsum4(
            flat[4 * g],
            flat[4 * g + 1],
            flat[4 * g + 2],
            flat[4 * g + 3],
        );
        // SAFETY: `sums` holds 12 ≥ 4g + 4 values.
        unsafe { _mm256_storeu_pd(sums.as_mut_ptr().add(4 * g), s) };
    }
    if csc == 1 && rsc == J && (R * J).is_multiple_of(4) {
        // The block is contiguous in C (n = J, ldc = n): update it a vector at a time.
        for g in 0..R * J / 4 {
            let at = c.wrapping_add(4 * g);
            // SAFETY: `sums` holds 12 ≥ 4g + 4 values.
            let s = unsafe { _mm256_loadu_pd(sums.as_ptr().add(4 * g)) };
            let new = if beta == 0.0 {
                scaled(alpha, s)
            } else {
                // SAFETY: elements 4g..4g + 4 of the R·J contiguous ones of the block.
                updated(alpha, s, beta, unsafe { _mm256_loadu_pd(at) })
            };
            // SAFETY: as for the load.
            unsafe { _mm256_storeu_pd(at, new) };
        }
        return;
    }
    for r in 0..R {
        for j in 0..J {
            let ab = sums[r * J + j];
            let cij = c.wrapping_add(r * rsc + j * csc);
            if beta == 0.0 {
                // SAFETY: r < R, j < J: an element of the block the caller vouched for.
                unsafe { *cij = alpha * ab };
            } else {
                // SAFETY: as above, readable since β ≠ 0.
                unsafe { *cij = alpha.mul_add(ab, beta * *cij) };
            }
        }
    }
}
