//! The portable micro-kernel: a 4 × 4 tile of C in plain Rust, with `wide`'s f64x2 lanes.
//!
//! Sixteen accumulators `acc[i][j] += a[i, p]·b[p, j]` in increasing p, unfused (a fused
//! `mul_add` without hardware FMA is a library call). The tile is small enough that the
//! accumulators stay in the sixteen xmm registers of baseline x86-64.

use wide::f64x2;

use super::blocking::{KC, Kernel};

/// The 4 × 4 portable kernel.
pub(crate) struct Portable;

const MR: usize = 4;
const NR: usize = 4;

impl Kernel for Portable {
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
        debug_assert!(a.len() >= kc * MR && b.len() >= kc * NR && mr <= MR && nr <= NR);
        // Two f64x2 lanes per row: SSE2 on baseline x86-64, NEON on aarch64. Each element is
        // acc += a·b in increasing p, unfused.
        let mut lanes = [[f64x2::ZERO; NR / 2]; MR];
        for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
            let b = [f64x2::new([bp[0], bp[1]]), f64x2::new([bp[2], bp[3]])];
            for (row, &ai) in lanes.iter_mut().zip(ap) {
                let ai = f64x2::splat(ai);
                row[0] += ai * b[0];
                row[1] += ai * b[1];
            }
        }
        let acc: [[f64; NR]; MR] = lanes.map(|[lo, hi]| {
            let (lo, hi) = (lo.to_array(), hi.to_array());
            [lo[0], lo[1], hi[0], hi[1]]
        });
        for (i, row) in acc.iter().enumerate().take(mr) {
            for (j, &ab) in row.iter().enumerate().take(nr) {
                let cij = c.wrapping_add(i * rsc + j * csc);
                if beta == 0.0 {
                    // SAFETY: i < mr, j < nr: an element of the tile the caller vouched for.
                    unsafe { *cij = alpha * ab };
                } else {
                    // SAFETY: as above, readable since beta != 0.
                    unsafe { *cij = alpha * ab + beta * *cij };
                }
            }
        }
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
        // Pack the one panel: plain Rust gains nothing from reading A in place.
        let mut panel = [0.0; MR * KC];
        let panel = &mut panel[..MR * kc];
        // SAFETY: the MR × kc block of A at `a` is one the caller vouched for.
        unsafe { super::pack::pack_a(MR, MR, kc, a, rsa, csa, panel) };
        // SAFETY: forwarded from the caller.
        unsafe { Self::tile(kc, alpha, panel, b, beta, c, rsc, csc, MR, nr) };
    }
}
