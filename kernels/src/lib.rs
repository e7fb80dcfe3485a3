//! Dense f64 kernels for puma, with BLAS/LAPACK names and argument order.
//!
//! This is the only crate of the workspace that may say `unsafe`: each kernel has an
//! AVX2+FMA variant (`core::arch` intrinsics in `#[target_feature]` functions, chosen once
//! at run time by [`dispatch::level`]), a portable variant, and a naive oracle in
//! [`naive`] that the tests compare both against.
//!
//! Level 1/2 (this file): [`dot`], [`dot_strided`], [`axpy`], [`axpy_strided`], [`scal`],
//! [`nrm2`], [`gemv`]. Element-wise (MLP activations, log-softmax, softmax): [`Activation`],
//! [`log_softmax_rows`] and [`softmax_rows_in_place`] (which also returns each row's
//! log-sum-exp). All are single-threaded and memory-bound: out of cache they run at the
//! machine's streaming bandwidth (`benches/level12.rs`).
//!
//! Conventions shared by every kernel here:
//! - matrices are row-major, element (i, j) of `a` at `a[i·lda + j]`;
//! - strides `incx`, `incy` are element steps ≥ 1 (vector element i at `x[i·incx]`);
//! - α = 0 means "do not read the α term" (BLAS's quick return), so NaN or ∞ there do not
//!   propagate; β = 0 means "do not read y", so NaN in y is overwritten.

mod chunks;
pub mod dispatch;
mod elementwise;
/// Level-1/2 and element-wise kernels on a variant the caller chooses (for tests and
/// benchmarks; not part of the stable API).
#[doc(hidden)]
pub mod level12;
pub mod naive;
mod portable;
mod special;
#[cfg(target_arch = "x86_64")]
mod x86;

mod level3;
pub use level3::*;

pub use elementwise::{
    Activation, log_softmax_rows, log_softmax_rows_in_place, softmax_rows_in_place,
};
pub use special::{erf, erfc};

/// ⟨x, y⟩ = Σ_i x_i y_i
///
/// Summed in several interleaved partial sums (not left to right), so the result may differ
/// from [`naive::dot_naive`] by rounding: |error| ≤ n ε Σ|x_i y_i| (to first order).
///
/// # Panics
/// If `x.len() != y.len()`.
///
/// # Examples
/// ```
/// assert_eq!(puma_kernels::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
#[track_caller]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    level12::dot(dispatch::level(), x, y)
}

/// Σ_{i<n} x[i·incx] · y[i·incy]
///
/// Unit strides take the [`dot`] kernel; other strides a scalar loop.
///
/// # Panics
/// If a stride is 0, or `x` or `y` is too short for `n` elements at its stride
/// (`len ≥ (n − 1)·inc + 1` when `n > 0`).
///
/// # Examples
/// ```
/// // (1, 3) · (10, 30): every other element of x, every element of y.
/// assert_eq!(puma_kernels::dot_strided(2, &[1.0, 2.0, 3.0], 2, &[10.0, 30.0], 1), 100.0);
/// ```
#[track_caller]
pub fn dot_strided(n: usize, x: &[f64], incx: usize, y: &[f64], incy: usize) -> f64 {
    level12::dot_strided(dispatch::level(), n, x, incx, y, incy)
}

/// y ← αx + y
///
/// When α = 0, nothing is read or written.
///
/// # Panics
/// If `x.len() != y.len()`.
///
/// # Examples
/// ```
/// let mut y = [1.0, 1.0];
/// puma_kernels::axpy(2.0, &[3.0, 4.0], &mut y);
/// assert_eq!(y, [7.0, 9.0]);
/// ```
#[track_caller]
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    level12::axpy(dispatch::level(), alpha, x, y)
}

/// y[i·incy] ← α x[i·incx] + y[i·incy] for i < n
///
/// When α = 0, nothing is read or written. Unit strides take the [`axpy`] kernel.
///
/// # Panics
/// If a stride is 0, or `x` or `y` is too short for `n` elements at its stride.
///
/// # Examples
/// ```
/// let mut y = [0.0; 4];
/// puma_kernels::axpy_strided(2, 1.0, &[5.0, 6.0], 1, &mut y, 3);
/// assert_eq!(y, [5.0, 0.0, 0.0, 6.0]);
/// ```
#[track_caller]
pub fn axpy_strided(n: usize, alpha: f64, x: &[f64], incx: usize, y: &mut [f64], incy: usize) {
    level12::axpy_strided(dispatch::level(), n, alpha, x, incx, y, incy)
}

/// x ← αx
///
/// One IEEE multiplication per element, so α = 0 turns NaN and ∞ into NaN; use
/// `x.fill(0.0)` to clear a vector.
///
/// # Examples
/// ```
/// let mut x = [1.0, -2.0];
/// puma_kernels::scal(-0.5, &mut x);
/// assert_eq!(x, [-0.5, 1.0]);
/// ```
pub fn scal(alpha: f64, x: &mut [f64]) {
    level12::scal(dispatch::level(), alpha, x)
}

/// ‖x‖₂ = sqrt(Σ_i x_i²), without overflow or underflow.
///
/// One pass of Σ x_i² when that sum is finite and ≥ 2⁻⁶⁰⁰ (then no square overflowed and
/// the squares that underflowed change the sum by less than n·2⁻⁴⁷⁵ relatively); otherwise
/// a second pass of Σ (s x_i)² with s = 2ᵏ chosen from max|x_i|, exact scaling. Any ±∞
/// entry gives +∞ (as `hypot` does); otherwise any NaN gives NaN. Relative error ≤ (n + 2) ε.
///
/// # Examples
/// ```
/// assert_eq!(puma_kernels::nrm2(&[3.0, 4.0]), 5.0);
/// assert_eq!(puma_kernels::nrm2(&[3e300, 4e300]), 5e300); // Σ x² would overflow
/// ```
pub fn nrm2(x: &[f64]) -> f64 {
    level12::nrm2(dispatch::level(), x)
}

/// y ← α op(A) x + β y, with `A` an m × n row-major matrix (`A[i][j] = a[i·lda + j]`).
///
/// - `trans = Op::NoTrans`: y (m entries) ← α A x + β y, x has n entries;
/// - `trans = Op::Trans`: y (n entries) ← α Aᵀ x + β y, x has m entries.
///
/// Vector entry i is `x[i·incx]` and `y[i·incy]`. When β = 0, `y` is only written (NaN in y
/// is overwritten); when α = 0, `a` and `x` are not read. A strided `x` (`Op::NoTrans`) or
/// `y` (`Op::Trans`) is copied to a contiguous temporary first (O(len) extra memory).
/// Reads each element of `a` once: 8mn bytes of traffic, memory-bound like [`dot`].
///
/// # Panics
/// If `lda < n` (when m > 1), a stride is 0, or `a`, `x` or `y` is too short for the
/// elements it addresses (`a.len() ≥ (m − 1)·lda + n` when m, n > 0).
///
/// # Examples
/// ```
/// use puma_kernels::{Op, gemv};
/// // A = [1 2 3; 4 5 6] stored with lda = 4 (one padding column).
/// let a = [1.0, 2.0, 3.0, -1.0, 4.0, 5.0, 6.0, -1.0];
/// let mut y = [f64::NAN; 2];
/// gemv(Op::NoTrans, 2, 3, 1.0, &a, 4, &[1.0, 1.0, 1.0], 1, 0.0, &mut y, 1);
/// assert_eq!(y, [6.0, 15.0]); // row sums; β = 0 ignored the NaN
/// let mut z = [1.0; 3];
/// gemv(Op::Trans, 2, 3, 2.0, &a, 4, &[1.0, -1.0], 1, 1.0, &mut z, 1);
/// assert_eq!(z, [-5.0, -5.0, -5.0]); // 1 + 2 (Aᵀ (1, −1))
/// ```
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn gemv(
    trans: Op,
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    incx: usize,
    beta: f64,
    y: &mut [f64],
    incy: usize,
) {
    level12::gemv(
        dispatch::level(),
        trans,
        m,
        n,
        alpha,
        a,
        lda,
        x,
        incx,
        beta,
        y,
        incy,
    )
}
