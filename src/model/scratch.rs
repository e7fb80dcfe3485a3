//! Reusable buffers for the fused passes (`mlp/fused.rs`, `hessian/fused.rs`): a pass keeps
//! its buffers in a scratch struct between the chunks one rayon job computes, so that a
//! chunk after the first allocates and zeroes nothing. `Vec::resize` initialises only
//! growth; the passes overwrite every entry before reading it.

use std::any::Any;
use std::cell::RefCell;

use puma_kernels::{Op, gemm_op};

use super::mlp::Mlp;
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
///
/// A group's scratch is taken from and given back to a per-thread spare ([`take_spare`]),
/// so that the next call on that thread finds its buffers grown: a small model's gradient
/// would otherwise spend ≈ 2% of its time zero-filling fresh buffers. The spares live as
/// long as the thread: one per pass type, as large as its largest chunk (for a batched HVP
/// up to k·p values of layer-major products plus the tangents).
pub(super) fn map_chunks<S, R, F>(chunks: usize, f: F) -> Vec<R>
where
    S: Default + 'static,
    R: Send,
    F: Fn(&mut S, usize) -> R + Sync,
{
    use rayon::prelude::*;
    let groups = rayon::current_num_threads().clamp(1, chunks.max(1));
    let per = chunks.div_ceil(groups);
    let parts: Vec<Vec<R>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut scratch = take_spare::<S>();
            let out = (g * per..((g + 1) * per).min(chunks))
                .map(|c| f(&mut scratch, c))
                .collect();
            give_spare(scratch);
            out
        })
        .collect();
    parts.into_iter().flatten().collect()
}

thread_local! {
    /// At most one spare scratch per type on each thread, for [`map_chunks`].
    static SPARES: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's spare `S`, or a new one.
fn take_spare<S: Default + 'static>() -> S {
    SPARES.with_borrow_mut(|spares| {
        let at = spares.iter().position(|b| b.is::<S>());
        match at.map(|i| spares.swap_remove(i).downcast::<S>()) {
            Some(Ok(spare)) => *spare,
            _ => S::default(),
        }
    })
}

/// Keeps `scratch` as this thread's spare `S`, unless it already has one (nested calls).
fn give_spare<S: 'static>(scratch: S) {
    SPARES.with_borrow_mut(|spares| {
        if !spares.iter().any(|b| b.is::<S>()) {
            spares.push(Box::new(scratch));
        }
    })
}

/// The forward pass over the c rows of `x`: z_l = a_l W_lᵀ + 1 b_lᵀ for every layer into
/// `zs[l]` (the logits last), and a_{l+1} = f(z_l) for the hidden ones into `acts[l]`
/// (bias and activation in one call, [`puma_kernels::Activation::apply_with_bias`]).
/// Inlined into the gradient's and the per-example products' passes.
#[inline(always)]
pub(super) fn forward(
    mlp: &Mlp,
    theta: &[f64],
    x: &[f64],
    c: usize,
    zs: &mut Vec<Vec<f64>>,
    acts: &mut Vec<Vec<f64>>,
) {
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    for (l, span) in layers.iter().enumerate() {
        let input: &[f64] = if l == 0 {
            x
        } else {
            &acts[l - 1][..c * span.fan_in]
        };
        let z = slot(zs, l, c * span.fan_out);
        if l == last {
            affine(theta, span, input, z); // the logits
        } else {
            linear(theta, span, input, z);
            let a = slot(acts, l, c * span.fan_out);
            mlp.activation
                .apply_with_bias(&theta[span.bias_range()], z, a);
        }
    }
}

/// z ← a W_lᵀ + 1 b_lᵀ: layer `span`'s pre-activations for the c rows of `a` (c × d_in),
/// into `z` (c × d_out), the bias added row by row after the GEMM (the roundings of a GEMM
/// with β = 1 onto 1 b_lᵀ when its k is one block, as for these layers; no rank-one pass
/// writing 1 b_lᵀ first). Inlined, so that the row loop is
/// compiled for the dispatch level of a [`puma_kernels::dispatch::Pass`] calling it.
#[inline(always)]
pub(super) fn affine(theta: &[f64], span: &LayerSpan, a: &[f64], z: &mut [f64]) {
    linear(theta, span, a, z);
    add_to_rows(z, &theta[span.bias_range()]); // + 1 b_lᵀ
}

/// z ← a W_lᵀ, [`affine`] without the bias (for a hidden layer, whose bias
/// [`puma_kernels::Activation::apply_with_bias`] adds with the activation).
pub(super) fn linear(theta: &[f64], span: &LayerSpan, a: &[f64], z: &mut [f64]) {
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
}

/// C (m × n, row-major, leading dimension n) ← op(A)·op(B) + β·C on contiguous operands.
#[allow(clippy::too_many_arguments, non_snake_case)]
pub(super) fn mm(
    ta: bool,
    tb: bool,
    m: usize,
    k: usize,
    n: usize,
    A: &[f64],
    B: &[f64],
    beta: f64,
    C: &mut [f64],
) {
    let op = |t: bool| if t { Op::Trans } else { Op::NoTrans };
    let lda = if ta { m } else { k };
    let ldb = if tb { k } else { n };
    gemm_op(op(ta), op(tb), m, k, n, 1.0, A, lda, B, ldb, beta, C, n);
}

/// Width of the flat passes of [`add_to_rows`] and [`add_column_sums_to`]: four AVX2
/// vectors, held in registers.
const FLAT: usize = 16;

/// Z ← Z + 1 bᵀ: b (length d) added to each row of the c × d block `z`. When d divides
/// [`FLAT`], z is swept flat, [`FLAT`] entries at a time against b repeated: short rows (d =
/// 2 logits) then cost no loop per row.
#[inline(always)]
pub(super) fn add_to_rows(z: &mut [f64], b: &[f64]) {
    let d = b.len();
    if d == 0 {
        return;
    }
    let mut rows = z.chunks_exact_mut(d);
    if FLAT.is_multiple_of(d) {
        let mut pattern = [0.0; FLAT];
        pattern
            .iter_mut()
            .zip(b.iter().cycle())
            .for_each(|(p, b)| *p = *b);
        let mut flat = z.chunks_exact_mut(FLAT);
        for chunk in &mut flat {
            chunk.iter_mut().zip(&pattern).for_each(|(z, b)| *z += b);
        }
        rows = flat.into_remainder().chunks_exact_mut(d);
    }
    for row in rows {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b);
    }
}

/// s ← s + Gᵀ1: the column sums of the c × d block `g` (d = `s.len()`) added to s. Summed
/// in an order fixed by c and d alone: when d divides [`FLAT`], [`FLAT`] / d interleaved
/// partial sums per column (rows r, r + FLAT/d, …), kept in registers and then added in
/// order; otherwise row by row.
#[inline(always)]
pub(super) fn add_column_sums_to(g: &[f64], s: &mut [f64]) {
    let d = s.len();
    if d == 0 {
        return;
    }
    let mut rows = g.chunks_exact(d);
    if FLAT.is_multiple_of(d) {
        let mut acc = [0.0; FLAT];
        let flat = g.chunks_exact(FLAT);
        rows = flat.remainder().chunks_exact(d);
        for chunk in flat {
            acc.iter_mut().zip(chunk).for_each(|(a, g)| *a += g);
        }
        for part in acc.chunks_exact(d) {
            s.iter_mut().zip(part).for_each(|(s, a)| *s += a);
        }
    }
    for row in rows {
        s.iter_mut().zip(row).for_each(|(s, g)| *s += g);
    }
}
