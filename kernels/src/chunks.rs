//! Splitting a slice into fixed-size arrays, so kernels index `[f64; 4]` quads whose length
//! the type proves (what `slice::as_chunks` does from Rust 1.88, here through `bytemuck`).

use bytemuck::Pod;

/// `x` as whole `[T; N]` arrays, then the tail of fewer than `N` elements.
#[inline]
pub(crate) fn chunks<T: Pod, const N: usize>(x: &[T]) -> (&[[T; N]], &[T])
where
    [T; N]: Pod,
{
    let (body, tail) = x.split_at(x.len() / N * N);
    (bytemuck::cast_slice(body), tail) // [T; N] has T's alignment and N times its size
}

/// `x` as whole mutable `[T; N]` arrays, then the tail of fewer than `N` elements.
#[inline]
pub(crate) fn chunks_mut<T: Pod, const N: usize>(x: &mut [T]) -> (&mut [[T; N]], &mut [T])
where
    [T; N]: Pod,
{
    let (body, tail) = x.split_at_mut(x.len() / N * N);
    (bytemuck::cast_slice_mut(body), tail)
}
