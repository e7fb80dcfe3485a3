//! Packing: copy a block of A or B into the contiguous, zero-padded panels the micro-kernels
//! stream through.
//!
//! A block of A (mc × kc) becomes ⌈mc/MR⌉ panels of MR rows, each stored k-major
//! (`panel[p·MR + i] = A[q·MR + i, p]`), so that one step of the micro-kernel reads MR
//! consecutive values. B (kc × nc) becomes ⌈nc/NR⌉ panels of NR columns
//! (`panel[p·NR + j] = B[p, q·NR + j]`). Rows or columns past the edge are zero, so the
//! micro-kernel always computes a full MR × NR tile and only the write-back is clipped.
//! Cost: one read and one write per element of the block.

/// Packs the `mc × kc` block of A at `a` (element (i, p) at `a + i·rsa + p·csa`) into
/// `mr`-row panels in `out`.
///
/// # Safety
/// `a + i·rsa + p·csa` must be valid for reads for every `i < mc`, `p < kc`, and no other
/// thread may write those elements during the call.
pub(crate) unsafe fn pack_a(
    mr: usize,
    mc: usize,
    kc: usize,
    a: *const f64,
    rsa: usize,
    csa: usize,
    out: &mut [f64],
) {
    let panels = mc.div_ceil(mr);
    debug_assert!(out.len() >= panels * mr * kc);
    for (q, panel) in out.chunks_exact_mut(mr * kc).take(panels).enumerate() {
        let rows = mr.min(mc - q * mr);
        for i in 0..rows {
            let row = (q * mr + i) * rsa;
            for (p, dst) in panel.chunks_exact_mut(mr).enumerate() {
                // SAFETY: q·mr + i < mc and p < kc, an element the caller vouched for.
                dst[i] = unsafe { *a.add(row + p * csa) };
            }
        }
        if rows < mr {
            for dst in panel.chunks_exact_mut(mr) {
                dst[rows..].fill(0.0);
            }
        }
    }
}

/// Packs the `kc × nc` block of B at `b` (element (p, j) at `b + p·rsb + j·csb`) into
/// nr-column panels in `out`.
///
/// # Safety
/// `b + p·rsb + j·csb` must be valid for reads for every `p < kc`, `j < nc`, and no other
/// thread may write those elements during the call.
pub(crate) unsafe fn pack_b(
    nr: usize,
    kc: usize,
    nc: usize,
    b: *const f64,
    rsb: usize,
    csb: usize,
    out: &mut [f64],
) {
    let panels = nc.div_ceil(nr);
    debug_assert!(out.len() >= panels * nr * kc);
    for (q, panel) in out.chunks_exact_mut(nr * kc).take(panels).enumerate() {
        let cols = nr.min(nc - q * nr);
        for (p, dst) in panel.chunks_exact_mut(nr).enumerate() {
            let start = p * rsb + q * nr * csb;
            for (j, d) in dst[..cols].iter_mut().enumerate() {
                // SAFETY: p < kc and q·nr + j < nc, an element the caller vouched for.
                *d = unsafe { *b.add(start + j * csb) };
            }
            dst[cols..].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_are_k_major_and_zero_padded() {
        // A is 3 × 2 row-major: [[1, 2], [3, 4], [5, 6]], packed into panels of MR = 2 rows.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [f64::NAN; 8];
        // SAFETY: every (i, p) with i < 3, p < 2 is at i·2 + p < 6.
        unsafe { pack_a(2, 3, 2, a.as_ptr(), 2, 1, &mut out) };
        assert_eq!(out, [1.0, 3.0, 2.0, 4.0, 5.0, 0.0, 6.0, 0.0]);
        let mut out = [f64::NAN; 8];
        // SAFETY: B = Aᵀ-shaped read of the same data: (p, j) with p < 2, j < 3 at j·2 + p.
        unsafe { pack_b(2, 2, 3, a.as_ptr(), 1, 2, &mut out) };
        assert_eq!(out, [1.0, 3.0, 2.0, 4.0, 5.0, 0.0, 6.0, 0.0]);
    }
}
