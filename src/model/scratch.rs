//! Reusable buffers for the fused passes (`mlp/fused.rs`, `hessian/fused.rs`): a pass keeps
//! its buffers in a scratch struct between the chunks one rayon job computes, so that a
//! chunk after the first allocates and zeroes nothing. `Vec::resize` initialises only
//! growth; the passes overwrite every entry before reading it.

/// `buf` resized to `len` entries (contents unspecified: the caller overwrites them).
pub(super) fn sized(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    buf.resize(len, 0.0);
    &mut buf[..len]
}

/// Buffer `index` of `bufs`, created on first use, resized to `len` as [`sized`].
pub(super) fn slot(bufs: &mut Vec<Vec<f64>>, index: usize, len: usize) -> &mut [f64] {
    if bufs.len() <= index {
        bufs.resize_with(index + 1, Vec::new);
    }
    sized(&mut bufs[index], len)
}
