//! The AVX2+FMA micro-kernel: a 6 × 8 tile of C held in twelve ymm registers.
//!
//! One step p of the k loop broadcasts the six values of column p of the packed A panel and
//! multiplies them into row p of the packed B panel (two 4-lane loads):
//!
//! ```text
//!                 b[p, 0..4]   b[p, 4..8]        (ymm b0, b1)
//!   a[0, p] ─►    c00          c01
//!   a[1, p] ─►    c10          c11
//!     ...           ...          ...             12 accumulators, 12 FMAs per step,
//!   a[5, p] ─►    c50          c51               2 loads + 6 broadcasts
//! ```
//!
//! Twelve independent FMA chains cover the FMA latency (4 cycles) times the two FMA ports
//! of a Zen core, and the loads fit in the two load ports. Each accumulator is a chain of
//! fused multiply-adds in increasing p, so every element of C sees the same operations
//! whether its tile is full or clipped, on any number of threads. The six A values come
//! from a packed panel ([`tile_6x8`]) or, for skinny products, straight from A
//! ([`tile_6x8_direct`]).

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::blocking::{self, Kernel, Raw};

/// The loop nest with this kernel, packing included, compiled for AVX2+FMA.
///
/// # Safety
/// The CPU must support avx2 and fma; the rest is [`blocking::drive`]'s contract.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn drive(p: &Raw) {
    // SAFETY: forwarded from the caller.
    unsafe { blocking::drive::<Avx2>(p) }
}

/// The 6 × 8 AVX2+FMA kernel, named only by [`drive`], which needs avx2 and fma.
pub(crate) struct Avx2;

const MR: usize = 6;
const NR: usize = 8;

impl Kernel for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn tile(
        kc: usize,
        alpha: f64,
        a: &[f64],
        b: &[f64],
        beta: f64,
        c: *mut f64,
        rsc: usize,
        csc: usize,
        mr: usize,
        nr: usize,
    ) {
        // SAFETY: the caller guarantees avx2+fma (trait contract) and the C elements.
        unsafe { tile_6x8(kc, alpha, a, b, beta, c, rsc, csc, mr, nr) }
    }

    unsafe fn tile_direct(
        kc: usize,
        alpha: f64,
        a: *const f64,
        rsa: usize,
        csa: usize,
        b: &[f64],
        beta: f64,
        c: *mut f64,
        rsc: usize,
        csc: usize,
        nr: usize,
    ) {
        // SAFETY: the caller guarantees avx2+fma, the MR × kc block of A and the C elements.
        unsafe { tile_6x8_direct(kc, alpha, a, rsa, csa, b, beta, c, rsc, csc, nr) }
    }
}

/// The twelve accumulators of a 6 × 8 tile: row r is `c0[r]` (columns 0..4) and `c1[r]`
/// (columns 4..8).
struct Acc {
    c0: [__m256d; MR],
    c1: [__m256d; MR],
}

/// Asks for the first and last element of each of the `mr` rows of the C tile to be in L1
/// by the time the k loop ends, so the write-back does not wait on memory.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn prefetch_c(c: *mut f64, rsc: usize, csc: usize, mr: usize, nr: usize) {
    for r in 0..mr {
        let first = c.wrapping_add(r * rsc);
        let last = first.wrapping_add((nr.max(1) - 1) * csc);
        _mm_prefetch::<_MM_HINT_T0>(first as *const i8); // a hint: never faults
        _mm_prefetch::<_MM_HINT_T0>(last as *const i8);
    }
}

impl Acc {
    #[target_feature(enable = "avx2,fma")]
    fn zero() -> Acc {
        Acc {
            c0: [_mm256_setzero_pd(); MR],
            c1: [_mm256_setzero_pd(); MR],
        }
    }

    /// One step p: acc[r] += a(r)·b[p, ..] for the six values a(0..6) of column p of A.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn step(&mut self, a: impl Fn(usize) -> f64, bp: &[f64]) {
        assert!(bp.len() >= NR); // lets the compiler drop the bounds checks below
        // SAFETY: `bp` holds at least NR = 8 values, so lanes 0..4 are in bounds.
        let b0 = unsafe { _mm256_loadu_pd(bp.as_ptr()) };
        // SAFETY: as above, lanes 4..8.
        let b1 = unsafe { _mm256_loadu_pd(bp.as_ptr().add(4)) };
        for r in 0..MR {
            let ar = _mm256_set1_pd(a(r));
            self.c0[r] = _mm256_fmadd_pd(ar, b0, self.c0[r]);
            self.c1[r] = _mm256_fmadd_pd(ar, b1, self.c1[r]);
        }
    }

    /// C[..mr, ..nr] ← α·acc + β·C (C not read when β = 0).
    ///
    /// # Safety
    /// `c + i·rsc + j·csc` must be valid for writes, and for reads when `beta != 0`, for
    /// `i < mr ≤ 6`, `j < nr ≤ 8`, with no other access during the call.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn store(
        &self,
        alpha: f64,
        beta: f64,
        c: *mut f64,
        rsc: usize,
        csc: usize,
        mr: usize,
        nr: usize,
    ) {
        let (c0, c1) = (&self.c0, &self.c1);
        let va = _mm256_set1_pd(alpha);
        if nr == NR && csc == 1 {
            // Full rows with unit column stride: two vector updates per row.
            let vb = _mm256_set1_pd(beta);
            for r in 0..mr {
                let row = c.wrapping_add(r * rsc);
                if beta == 0.0 {
                    // SAFETY: row r < mr, lanes 0..4 < nr = 8 of a tile the caller vouched for.
                    unsafe { _mm256_storeu_pd(row, _mm256_mul_pd(va, c0[r])) };
                    // SAFETY: as above, lanes 4..8.
                    unsafe { _mm256_storeu_pd(row.add(4), _mm256_mul_pd(va, c1[r])) };
                } else {
                    // SAFETY: row r < mr, lanes 0..8 < nr, readable since beta != 0.
                    let (old0, old1) =
                        unsafe { (_mm256_loadu_pd(row), _mm256_loadu_pd(row.add(4))) };
                    let new0 = _mm256_fmadd_pd(va, c0[r], _mm256_mul_pd(vb, old0));
                    let new1 = _mm256_fmadd_pd(va, c1[r], _mm256_mul_pd(vb, old1));
                    // SAFETY: as for the loads.
                    unsafe { _mm256_storeu_pd(row, new0) };
                    // SAFETY: as for the loads.
                    unsafe { _mm256_storeu_pd(row.add(4), new1) };
                }
            }
            return;
        }

        // Clipped columns or strided C: spill the accumulators, then update element by element
        // with the same fused operations as above.
        let mut acc = [[0.0f64; NR]; MR];
        for r in 0..MR {
            // SAFETY: `acc[r]` holds 8 values.
            unsafe { _mm256_storeu_pd(acc[r].as_mut_ptr(), c0[r]) };
            // SAFETY: `acc[r]` holds 8 values, lanes 4..8.
            unsafe { _mm256_storeu_pd(acc[r].as_mut_ptr().add(4), c1[r]) };
        }
        for (i, row) in acc.iter().enumerate().take(mr) {
            for (j, &ab) in row.iter().enumerate().take(nr) {
                let cij = c.wrapping_add(i * rsc + j * csc);
                if beta == 0.0 {
                    // SAFETY: i < mr, j < nr: an element of the tile the caller vouched for.
                    unsafe { *cij = alpha * ab };
                } else {
                    // SAFETY: as above, readable since beta != 0.
                    unsafe { *cij = alpha.mul_add(ab, beta * *cij) };
                }
            }
        }
    }
}

/// C[..mr, ..nr] ← α·(A panel)(B panel) + β·C, where C[i, j] is at `c + i·rsc + j·csc`.
///
/// # Safety
/// The CPU must support avx2 and fma. `c + i·rsc + j·csc` must be valid for writes, and
/// for reads when `beta != 0`, for `i < mr ≤ 6`, `j < nr ≤ 8`, with no other access during
/// the call.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_6x8(
    kc: usize,
    alpha: f64,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
    mr: usize,
    nr: usize,
) {
    debug_assert!(a.len() >= kc * MR && b.len() >= kc * NR && mr <= MR && nr <= NR);
    prefetch_c(c, rsc, csc, mr, nr);
    let mut acc = Acc::zero();
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        acc.step(|r| ap[r], bp);
    }
    // SAFETY: forwarded from the caller.
    unsafe { acc.store(alpha, beta, c, rsc, csc, mr, nr) };
}

/// As [`tile_6x8`] with all six rows, reading A in place: A[i, p] at `a + i·rsa + p·csa`.
///
/// # Safety
/// As [`tile_6x8`] with `mr = 6`, and `a + i·rsa + p·csa` valid for reads for `i < 6`,
/// `p < kc`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_6x8_direct(
    kc: usize,
    alpha: f64,
    a: *const f64,
    rsa: usize,
    csa: usize,
    b: &[f64],
    beta: f64,
    c: *mut f64,
    rsc: usize,
    csc: usize,
    nr: usize,
) {
    debug_assert!(b.len() >= kc * NR && nr <= NR);
    let rows: [*const f64; MR] = core::array::from_fn(|r| a.wrapping_add(r * rsa));
    prefetch_c(c, rsc, csc, MR, nr);
    let mut acc = Acc::zero();
    for (p, bp) in b.chunks_exact(NR).take(kc).enumerate() {
        let at = p * csa;
        // SAFETY: A[r, p] for r < 6, p < kc is inside the block the caller vouched for.
        acc.step(|r| unsafe { *rows[r].add(at) }, bp);
    }
    // SAFETY: forwarded from the caller.
    unsafe { acc.store(alpha, beta, c, rsc, csc, MR, nr) };
}
