//! The blocked loop nest around a micro-kernel (the five loops of BLIS / Goto–van de Geijn).
//!
//! ```text
//! for jc in 0..n step NC            B block kc × NC lives in L3
//!   for pc in 0..k step KC          pack B[pc.., jc..] (kc × nc)       → bpack
//!     for ic in 0..m step MC        pack A[ic.., pc..] (mc × kc)       → apack, lives in L2
//!       for jr in 0..nc step NR     B micro-panel kc × NR lives in L1
//!         for ir in 0..mc step MR   one MR × NR tile: C ← α·A_ir B_jr + β'·C
//! ```
//!
//! β' is β for the first k block and 1 afterwards, so β = 0 never reads C. The k blocks are
//! visited in increasing order and every tile is computed by the same kernel whatever the
//! other loops do, so each element of C is the same sequence of operations for any
//! blocking of m and n, which is what makes a split over threads reproducible.
//!
//! When n ≤ [`DIRECT_MAX_N`] (the skinny MLP products), each A element would be used by at
//! most four B panels, so full MR-row panels of A are read in place by
//! [`Kernel::tile_direct`] and only a clipped last panel is packed.
//! Cost: 2mnk flops, plus one copy of A per NC block of columns and one of B per call.

/// A register-blocked micro-kernel computing an `MR × NR` tile from packed panels.
pub(crate) trait Kernel {
    /// Rows of the tile (of an A panel).
    const MR: usize;
    /// Columns of the tile (of a B panel).
    const NR: usize;

    /// C[..mr, ..nr] ← α·(A panel)(B panel) + β·C over `kc` steps; C is not read when β = 0.
    ///
    /// `a` holds `kc` groups of MR values, `b` holds `kc` groups of NR values (see `pack`).
    ///
    /// # Safety
    /// The CPU must support the kernel's target features. `c + i·rsc + j·csc` must be
    /// valid for writes, and for reads when `beta != 0`, for `i < mr ≤ MR`, `j < nr ≤ NR`,
    /// and nothing else may access those elements during the call.
    #[allow(clippy::too_many_arguments)]
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
    );

    /// As [`Kernel::tile`] with `mr = MR`, reading A in place (A[i, p] at `a + i·rsa + p·csa`)
    /// instead of from a packed panel. For products whose A would be used by few B panels.
    ///
    /// # Safety
    /// As [`Kernel::tile`], and `a + i·rsa + p·csa` must be valid for reads for `i < MR`,
    /// `p < kc`, with no writes to those elements during the call.
    #[allow(clippy::too_many_arguments)]
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
    );
}

/// Depth of a k block: a kc × NR micro-panel of B (16 KiB) and an MR × kc one of A stay in
/// the 32 KiB L1d.
pub(crate) const KC: usize = 256;
/// Rows of an A block: MC × KC (144 KiB) stays in a core's L2 (BLIS's 72 × 256 for
/// Haswell and Zen; 120 and 192 measured no better here).
pub(crate) const MC: usize = 72;
/// Columns of a B block: KC × NC (4 MiB at NC = 2048) stays in the shared L3.
pub(crate) const NC: usize = 2048;

/// Products with at most this many columns read A in place instead of packing it: each
/// packed A element would be used by at most four B panels, too few to repay the copy.
pub(crate) const DIRECT_MAX_N: usize = 32;

use std::cell::Cell;

/// Raw operands of one product C ← αAB + βC: element (i, j) of X at `x + i·rsx + j·csx`.
#[derive(Clone, Copy)]
pub(crate) struct Raw {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: f64,
    pub a: *const f64,
    pub rsa: usize,
    pub csa: usize,
    pub b: *const f64,
    pub rsb: usize,
    pub csb: usize,
    pub beta: f64,
    pub c: *mut f64,
    pub rsc: usize,
    pub csc: usize,
}

impl Raw {
    /// Rows `lo..hi` of the product (rows of A and C).
    pub fn rows(&self, lo: usize, hi: usize) -> Raw {
        Raw {
            m: hi - lo,
            a: self.a.wrapping_add(lo * self.rsa),
            c: self.c.wrapping_add(lo * self.rsc),
            ..*self
        }
    }

    /// The same product transposed, Cᵀ = BᵀAᵀ: the same elements of C, from the same
    /// products of A and B.
    pub fn transposed(&self) -> Raw {
        Raw {
            m: self.n,
            n: self.m,
            a: self.b,
            rsa: self.csb,
            csa: self.rsb,
            b: self.a,
            rsb: self.csa,
            csb: self.rsa,
            rsc: self.csc,
            csc: self.rsc,
            ..*self
        }
    }

    /// Columns `lo..hi` of the product (columns of B and C).
    pub fn cols(&self, lo: usize, hi: usize) -> Raw {
        Raw {
            n: hi - lo,
            b: self.b.wrapping_add(lo * self.csb),
            c: self.c.wrapping_add(lo * self.csc),
            ..*self
        }
    }
}

// SAFETY: a `Raw` is only sent to threads that touch disjoint row or column ranges of C
// (see `super::run`), and A and B are only read while the product runs.
unsafe impl Send for Raw {}
// SAFETY: as above; shared references to a `Raw` only copy its fields.
unsafe impl Sync for Raw {}

/// Runs the loop nest on one thread with kernel `K`; `k > 0` and `alpha != 0`.
///
/// # Safety
/// The CPU must support `K`'s features. Every element addressed by `p` for `i < m`,
/// `p < k`, `j < n` must be valid (C for writes), C's elements must be pairwise distinct and
/// disjoint from A's and B's, and no other thread may write any of them during the call.
#[inline(always)] // so that the AVX2 instantiation packs with AVX2 too
pub(crate) unsafe fn drive<K: Kernel>(p: &Raw) {
    debug_assert!(p.k > 0 && p.m > 0 && p.n > 0);
    // Equal k blocks of at most KC: k = 1797 is 8 blocks of ≤ 225, not 7 of 256 and one of 5
    // (a whole pass over C for five steps). The blocking depends on k alone, so it is the
    // same on every thread.
    let (mc_blk, kc_blk, nc_blk) = (MC, p.k.div_ceil(p.k.div_ceil(KC)), NC);
    // Few B panels per A block: reading A in place costs less than packing it.
    let direct = p.n <= DIRECT_MAX_N;
    let kc_max = kc_blk.min(p.k);
    let a_len = mc_blk.min(p.m).div_ceil(K::MR) * K::MR * kc_max;
    let b_len = nc_blk.min(p.n).div_ceil(K::NR) * K::NR * kc_max;
    let mut scratch = SCRATCH.take(); // empty if a caller up the stack holds it
    if scratch.len() < a_len + b_len + 8 {
        scratch = vec![0.0; a_len + b_len + 8];
    }
    let start = scratch.as_ptr().align_offset(64).min(8);
    let (apack, bpack) = scratch[start..start + a_len + b_len].split_at_mut(a_len);
    // SAFETY: forwarded from the caller, with scratch of the sizes `loops` expects.
    unsafe { loops::<K>(p, direct, (mc_blk, kc_blk, nc_blk), apack, bpack) };
    SCRATCH.set(scratch);
}

/// The loop nest of [`drive`] with its packing buffers.
///
/// # Safety
/// As for [`drive`]; `apack` and `bpack` hold at least the packed A and B blocks.
#[inline(always)]
unsafe fn loops<K: Kernel>(
    p: &Raw,
    direct: bool,
    blocks: (usize, usize, usize),
    apack: &mut [f64],
    bpack: &mut [f64],
) {
    let (mc_blk, kc_blk, nc_blk) = blocks;
    for jc in (0..p.n).step_by(nc_blk) {
        let nc = nc_blk.min(p.n - jc);
        for pc in (0..p.k).step_by(kc_blk) {
            let kc = kc_blk.min(p.k - pc);
            let beta = if pc == 0 { p.beta } else { 1.0 };
            let b = p.b.wrapping_add(pc * p.rsb + jc * p.csb);
            // SAFETY: the kc × nc block of B at (pc, jc) is inside the caller's k × n B.
            unsafe { super::pack::pack_b(K::NR, kc, nc, b, p.rsb, p.csb, bpack) };
            for ic in (0..p.m).step_by(mc_blk) {
                let blk = Block {
                    ic,
                    jc,
                    mc: mc_blk.min(p.m - ic),
                    nc,
                    pc,
                    kc,
                    beta,
                };
                if !direct {
                    let a = p.a.wrapping_add(ic * p.rsa + pc * p.csa);
                    // SAFETY: the mc × kc block of A at (ic, pc) is inside the caller's m × k A.
                    unsafe { super::pack::pack_a(K::MR, blk.mc, kc, a, p.rsa, p.csa, apack) };
                }
                for jr in (0..nc).step_by(K::NR) {
                    for ir in (0..blk.mc).step_by(K::MR) {
                        // SAFETY: forwarded from the caller; (ir, jr) is in the block.
                        unsafe { tile_at::<K>(p, &blk, direct, ir, jr, apack, bpack) };
                    }
                }
            }
        }
    }
}

/// One block of the loop nest: rows `ic..ic + mc`, columns `jc..jc + nc`, depth
/// `pc..pc + kc` of the product, with the β that applies to it.
struct Block {
    ic: usize,
    jc: usize,
    mc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
    beta: f64,
}

/// The tile at (ir, jr) of `blk`: from the packed A block, or (`direct`) from A in place,
/// packing only a clipped last panel into `apack`.
///
/// # Safety
/// As for [`drive`]; B's block is packed in `bpack`, A's in `apack` unless `direct`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_at<K: Kernel>(
    p: &Raw,
    blk: &Block,
    direct: bool,
    ir: usize,
    jr: usize,
    apack: &mut [f64],
    bpack: &[f64],
) {
    let (kc, beta, alpha, rsc, csc) = (blk.kc, blk.beta, p.alpha, p.rsc, p.csc);
    let (i, j) = (blk.ic + ir, blk.jc + jr);
    let c = p.c.wrapping_add(i * rsc + j * csc);
    let (mr, nr) = (K::MR.min(blk.mc - ir), K::NR.min(blk.nc - jr));
    let bp = &bpack[jr * kc..(jr + K::NR) * kc];
    let a = p.a.wrapping_add(i * p.rsa + blk.pc * p.csa); // A[i, pc]
    if direct && mr == K::MR {
        // SAFETY: CPU checked by the caller; the MR × kc block of A at (i, pc) and the
        // tile of C at (i, j) are inside A and C.
        unsafe { K::tile_direct(kc, alpha, a, p.rsa, p.csa, bp, beta, c, rsc, csc, nr) };
        return;
    }
    let ap = if direct {
        // SAFETY: the mr × kc block of A at (i, pc) is inside A.
        unsafe { super::pack::pack_a(K::MR, mr, kc, a, p.rsa, p.csa, apack) };
        &apack[..K::MR * kc]
    } else {
        &apack[ir * kc..(ir + K::MR) * kc]
    };
    // SAFETY: CPU checked by the caller; the tile at (i, j) is inside C.
    unsafe { K::tile(kc, alpha, ap, bp, beta, c, rsc, csc, mr, nr) };
}

thread_local! {
    /// Packing space of this thread, kept between calls: a fresh multi-megabyte buffer per
    /// call would cost a page fault per 4 KiB, as much as the packing itself for n ≈ 256.
    /// At most (MC + NC)·KC values (4.3 MiB) per thread. Its slice starts on a 64-byte
    /// boundary, so the micro-kernel's 32-byte loads of a panel never straddle two lines.
    static SCRATCH: Cell<Vec<f64>> = const { Cell::new(Vec::new()) };
}
