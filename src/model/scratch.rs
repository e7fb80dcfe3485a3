//! Reusable buffers for the fused passes (`mlp/fused.rs`, `hessian/fused.rs`): a pass keeps
//! its buffers in a scratch struct between the chunks one rayon job computes, so that a
//! chunk after the first allocates and zeroes nothing. `Vec::resize` initialises only
//! growth; the passes overwrite every entry before reading it.

use puma_kernels::{Op, gemm_op};

use super::params::LayerSpan;

/// The first `len` entries of `buf`, grown if shorter (contents unspecified: the caller
/// overwrites them). Never shrunk, so that a buffer reused at several sizes (the layers'
/// widths) is zero-filled only when it first reaches its largest.
pub(super) fn sized(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// `buf` holding `len` ones.
pub(super) fn ones(buf: &mut Vec<f64>, len: usize) -> &[f64] {
    buf.resize(len, 1.0); // only ever holds ones
    &buf[..len]
}

/// Buffer `index` of `bufs`, created on first use, resized to `len` as [`sized`].
pub(super) fn slot(bufs: &mut Vec<Vec<f64>>, index: usize, len: usize) -> &mut [f64] {
    if bufs.len() <= index {
        bufs.resize_with(index + 1, Vec::new);
    }
    sized(&mut bufs[index], len)
}

/// `[f(&mut scratch, c) for c in 0..chunks]`, in parallel over contiguous groups of chunks
/// (one group per rayon thread), each group with one scratch `S` reused along its chunks.
/// The results are in chunk order and do not depend on the grouping as long as `f`'s
/// result does not depend on what the scratch held before (the passes overwrite it).
pub(super) fn map_chunks<S, R, F>(chunks: usize, f: F) -> Vec<R>
where
    S: Default,
    R: Send,
    F: Fn(&mut S, usize) -> R + Sync,
{
    use rayon::prelude::*;
    let groups = rayon::current_num_threads().clamp(1, chunks.max(1));
    let per = chunks.div_ceil(groups);
    let parts: Vec<Vec<R>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut scratch = S::default();
            (g * per..((g + 1) * per).min(chunks))
                .map(|c| f(&mut scratch, c))
                .collect()
        })
        .collect();
    parts.into_iter().flatten().collect()
}

/// z ← a W_lᵀ + 1 b_lᵀ: layer `span`'s pre-activations for the c rows of `a` (c × d_in),
/// into `z` (c × d_out), the bias added row by row after the GEMM (the same roundings as a
/// GEMM with β = 1 onto 1 b_lᵀ, one pass over z fewer). Inlined, so that the row loop is
/// compiled for the dispatch level of a [`puma_kernels::dispatch::Pass`] calling it.
#[inline(always)]
pub(super) fn affine(theta: &[f64], span: &LayerSpan, a: &[f64], z: &mut [f64]) {
    let (din, dout) = (span.fan_in, span.fan_out);
    let c = z.len() / dout;
    gemm_op(
        Op::NoTrans,
        Op::Trans,
        c,
        din,
        dout,
        1.0,
        a,
        din,
        &theta[span.weight_range()],
        din,
        0.0,
        z,
        dout,
    ); // a W_lᵀ
    let b = &theta[span.bias_range()];
    for row in z.chunks_exact_mut(dout) {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b); // + 1 b_lᵀ
    }
}

/// The c × d block C (leading dimension `ldc`) ← 1 bᵀ + β·C: b added to (β = 1) or written
/// into (β = 0) each of its c rows, as a rank-one GEMM (`ones` holds c ones).
pub(super) fn add_bias_rows(b: &[f64], beta: f64, c_mat: &mut [f64], ldc: usize, ones: &[f64]) {
    let (c, d) = (ones.len(), b.len());
    gemm_op(
        Op::NoTrans,
        Op::NoTrans,
        c,
        1,
        d,
        1.0,
        ones,
        1,
        b,
        d,
        beta,
        c_mat,
        ldc,
    );
}

/// s ← Aᵀ1 + β·s: the column sums of the c × d block A (leading dimension `lda`, d =
/// `s.len()`), as a GEMV (`ones` holds c ones).
pub(super) fn add_column_sums(a: &[f64], lda: usize, beta: f64, s: &mut [f64], ones: &[f64]) {
    let (c, d) = (ones.len(), s.len());
    puma_kernels::gemv(Op::Trans, c, d, 1.0, a, lda, ones, 1, beta, s, 1);
}
