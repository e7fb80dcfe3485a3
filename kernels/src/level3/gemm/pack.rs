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
#[inline(always)]
pub(crate) unsafe fn pack_a(
    mr: usize,
    mc: usize,
    kc: usize,
    a: *const f64,
    rsa: usize,
    csa: usize,
    out: &mut [f64],
) {
    // The panel width is a constant in each arm, so the copy of one step unrolls.
    match mr {
        // SAFETY: forwarded from the caller.
        6 => unsafe { pack::<6>(mc, kc, a, rsa, csa, out) },
        // SAFETY: forwarded from the caller.
        4 => unsafe { pack::<4>(mc, kc, a, rsa, csa, out) },
        // SAFETY: forwarded from the caller.
        8 => unsafe { pack::<8>(mc, kc, a, rsa, csa, out) },
        _ => unreachable!("no kernel has {mr} rows"),
    }
}

/// Packs the `kc × nc` block of B at `b` (element (p, j) at `b + p·rsb + j·csb`) into
/// `nr`-column panels in `out`.
///
/// # Safety
/// `b + p·rsb + j·csb` must be valid for reads for every `p < kc`, `j < nc`, and no other
/// thread may write those elements during the call.
#[inline(always)]
pub(crate) unsafe fn pack_b(
    nr: usize,
    kc: usize,
    nc: usize,
    b: *const f64,
    rsb: usize,
    csb: usize,
    out: &mut [f64],
) {
    // A panel of B's columns is a panel of Bᵀ's rows: the same packing with the strides
    // swapped, over the same elements.
    match nr {
        // SAFETY: forwarded from the caller (Bᵀ is nc × kc at strides (csb, rsb)).
        8 => unsafe { pack::<8>(nc, kc, b, csb, rsb, out) },
        // SAFETY: as above.
        4 => unsafe { pack::<4>(nc, kc, b, csb, rsb, out) },
        // SAFETY: as above.
        6 => unsafe { pack::<6>(nc, kc, b, csb, rsb, out) },
        _ => unreachable!("no kernel has {nr} columns"),
    }
}

/// Packs the `rows × kc` matrix X at `x` (element (i, p) at `x + i·rs + p·cs`) into W-row
/// panels, `out[q·W·kc + p·W + i] = X[q·W + i, p]`, zero past the last row.
///
/// # Safety
/// `x + i·rs + p·cs` must be valid for reads for every `i < rows`, `p < kc`, and no other
/// thread may write those elements during the call.
#[inline(always)]
unsafe fn pack<const W: usize>(
    rows: usize,
    kc: usize,
    x: *const f64,
    rs: usize,
    cs: usize,
    out: &mut [f64],
) {
    let panels = rows.div_ceil(W);
    debug_assert!(out.len() >= panels * W * kc);
    for (q, panel) in out.chunks_exact_mut(W * kc).take(panels).enumerate() {
        let (i0, live) = (q * W, W.min(rows - q * W));
        let first = x.wrapping_add(i0 * rs);
        if live == W && rs == 1 {
            // The W values of one step are contiguous (A column-major, B row-major).
            for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
                let src = first.wrapping_add(p * cs);
                // SAFETY: elements (i0 + i, p) for i < W = live are inside the block.
                unsafe { core::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), W) };
            }
        } else if live == W {
            // W strided streams, one per row, each read in increasing p.
            for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
                let src = first.wrapping_add(p * cs);
                for (i, d) in dst.iter_mut().enumerate() {
                    // SAFETY: element (i0 + i, p) with i < W = live is inside the block.
                    *d = unsafe { *src.add(i * rs) };
                }
            }
        } else {
            for (p, dst) in panel.chunks_exact_mut(W).enumerate() {
                let src = first.wrapping_add(p * cs);
                for (i, d) in dst[..live].iter_mut().enumerate() {
                    // SAFETY: element (i0 + i, p) with i < live is inside the block.
                    *d = unsafe { *src.add(i * rs) };
                }
                dst[live..].fill(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_are_k_major_and_zero_padded() {
        // A is 3 × 2 row-major: [[1, 2], [3, 4], [5, 6]], packed into one panel of 4 rows.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut out = [f64::NAN; 8];
        // SAFETY: every (i, p) with i < 3, p < 2 is at i·2 + p < 6.
        unsafe { pack_a(4, 3, 2, a.as_ptr(), 2, 1, &mut out) };
        assert_eq!(out, [1.0, 3.0, 5.0, 0.0, 2.0, 4.0, 6.0, 0.0]);
        let mut out = [f64::NAN; 8];
        // SAFETY: B = Aᵀ-shaped read of the same data: (p, j) with p < 2, j < 3 at j·2 + p.
        unsafe { pack_b(4, 2, 3, a.as_ptr(), 1, 2, &mut out) };
        assert_eq!(out, [1.0, 3.0, 5.0, 0.0, 2.0, 4.0, 6.0, 0.0]);
    }
}
