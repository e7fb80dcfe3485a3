//! Every level-1/2 and element-wise kernel with its variant chosen by the caller.
//!
//! (Named `level12` rather than `variants` because `level3::variants`, re-exported at the
//! crate root, holds the level-3 entry points.)
//!
//! The public functions of the crate call these with [`dispatch::level`]; tests call them
//! with each level of [`available()`](crate::level12::available), so one test run checks every path the CPU has (CI
//! also reruns with `PUMA_KERNEL=portable`). This module holds the checks that soundness
//! rests on: every length and stride is asserted here, before any variant runs, and
//! `Level::Avx2Fma` is only honoured after asserting that the CPU has avx2 and fma.

use crate::dispatch::{self, Level};
use crate::{Activation, Op, portable};

#[cfg(target_arch = "x86_64")]
use crate::x86::avx2;

/// The variants this CPU can run: `Portable`, then `Avx2Fma` when detected.
pub fn available() -> Vec<Level> {
    let mut levels = vec![Level::Portable];
    if dispatch::avx2_fma_available() {
        levels.push(Level::Avx2Fma);
    }
    levels
}

/// Whether to take the AVX2 path: `level` asks for it and the CPU has it (asserted).
#[track_caller]
#[inline]
fn use_avx2(level: Level) -> bool {
    let wants = level == Level::Avx2Fma;
    assert!(
        !wants || dispatch::avx2_fma_available(),
        "Avx2Fma requested but this CPU lacks avx2+fma"
    );
    wants && cfg!(target_arch = "x86_64")
}

/// Asserts that a vector of `n` elements at stride `inc` fits in a slice of length `len`.
#[track_caller]
pub(crate) fn assert_fits(what: &str, n: usize, inc: usize, len: usize) {
    assert!(inc >= 1, "{what}: stride must be at least 1");
    let needed = if n == 0 {
        Some(0)
    } else {
        (n - 1).checked_mul(inc).and_then(|e| e.checked_add(1))
    };
    assert!(
        needed.is_some_and(|e| e <= len),
        "{what}: {n} elements at stride {inc} do not fit in a slice of length {len}"
    );
}

/// [`crate::dot`] on the given variant.
#[track_caller]
pub fn dot(level: Level, x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len(), "dot: x and y differ in length");
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::dot(x, y) };
    }
    let _ = level;
    portable::dot(x, y)
}

/// [`crate::dot_strided`] on the given variant.
#[track_caller]
pub fn dot_strided(level: Level, n: usize, x: &[f64], incx: usize, y: &[f64], incy: usize) -> f64 {
    assert_fits("dot_strided: x", n, incx, x.len());
    assert_fits("dot_strided: y", n, incy, y.len());
    if incx == 1 && incy == 1 {
        return dot(level, &x[..n], &y[..n]);
    }
    portable::dot_strided(n, x, incx, y, incy)
}

/// [`crate::axpy`] on the given variant.
#[track_caller]
pub fn axpy(level: Level, alpha: f64, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len(), "axpy: x and y differ in length");
    if alpha == 0.0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::axpy(alpha, x, y) };
    }
    let _ = level;
    portable::axpy(alpha, x, y)
}

/// [`crate::axpy_strided`] on the given variant.
#[track_caller]
pub fn axpy_strided(
    level: Level,
    n: usize,
    alpha: f64,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
    incy: usize,
) {
    assert_fits("axpy_strided: x", n, incx, x.len());
    assert_fits("axpy_strided: y", n, incy, y.len());
    if incx == 1 && incy == 1 {
        return axpy(level, alpha, &x[..n], &mut y[..n]);
    }
    if alpha != 0.0 {
        portable::axpy_strided(n, alpha, x, incx, y, incy);
    }
}

/// [`crate::scal`] on the given variant.
#[track_caller]
pub fn scal(level: Level, alpha: f64, x: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::scal(alpha, x) };
    }
    let _ = level;
    portable::scal(alpha, x)
}

/// Below this, Σ x_i² may have lost accuracy to underflow and [`nrm2`] rescales.
const NRM2_FAST_MIN: f64 = 2.409919865102884e-181; // 2⁻⁶⁰⁰

/// [`crate::nrm2`] on the given variant.
#[track_caller]
pub fn nrm2(level: Level, x: &[f64]) -> f64 {
    let avx2 = use_avx2(level);
    let sumsq = |s: f64| -> f64 {
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
            return unsafe { avx2::sumsq(x, s) };
        }
        let _ = avx2;
        portable::sumsq(x, s)
    };
    let ssq = sumsq(1.0); // Σ x_i²
    if ssq.is_finite() && ssq >= NRM2_FAST_MIN {
        return ssq.sqrt();
    }
    match portable::nrm2_scale(x) {
        Ok(s) => sumsq(s).sqrt() / s, // sqrt(Σ (s x_i)²) / s, s a power of two
        Err(special) => special,
    }
}

/// [`crate::gemv`] on the given variant.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn gemv(
    level: Level,
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
    assert!(m <= 1 || lda >= n, "gemv: lda = {lda} < n = {n}");
    let a_len = if m == 0 || n == 0 {
        Some(0)
    } else {
        (m - 1).checked_mul(lda).and_then(|e| e.checked_add(n))
    };
    assert!(
        a_len.is_some_and(|e| e <= a.len()),
        "gemv: a (length {}) is too short for {m} × {n} with lda = {lda}",
        a.len()
    );
    let (len_x, len_y) = match trans {
        Op::NoTrans => (n, m),
        Op::Trans => (m, n),
    };
    assert_fits("gemv: x", len_x, incx, x.len());
    assert_fits("gemv: y", len_y, incy, y.len());

    if alpha == 0.0 || len_x == 0 {
        for i in 0..len_y {
            let yi = &mut y[i * incy];
            *yi = if beta == 0.0 { 0.0 } else { beta * *yi }; // y ← β y, never reading y when β = 0
        }
        return;
    }
    let avx2 = use_avx2(level);
    match trans {
        Op::NoTrans => {
            let x_packed: Vec<f64>;
            let x = if incx == 1 {
                &x[..n]
            } else {
                x_packed = (0..n).map(|j| x[j * incx]).collect();
                &x_packed
            };
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
                return unsafe { avx2::gemv_n(m, n, alpha, a, lda, x, beta, y, incy) };
            }
            portable::gemv_n(m, n, alpha, a, lda, x, beta, y, incy)
        }
        Op::Trans => {
            let mut acc = Vec::new();
            let target: &mut [f64] = if incy == 1 {
                let y = &mut y[..n];
                if beta == 0.0 {
                    y.fill(0.0); // never read y
                } else if beta != 1.0 {
                    scal(level, beta, y);
                }
                y
            } else {
                acc.resize(n, 0.0);
                &mut acc
            };
            gemv_t_acc(avx2, m, n, alpha, a, lda, x, incx, target); // target += α Aᵀ x
            if incy != 1 {
                for (j, t) in acc.iter().enumerate() {
                    let yj = &mut y[j * incy];
                    *yj = if beta == 0.0 { *t } else { t + beta * *yj }; // α Aᵀx + β y
                }
            }
        }
    }
}

/// y += α Aᵀ x on the AVX2 path when `avx2` (which only [`use_avx2`] sets), else portable.
#[allow(clippy::too_many_arguments)]
fn gemv_t_acc(
    avx2: bool,
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only when `use_avx2` detected avx2 and fma on this CPU.
        return unsafe { avx2::gemv_t_acc(m, n, alpha, a, lda, x, incx, y) };
    }
    let _ = avx2;
    portable::gemv_t_acc(m, n, alpha, a, lda, x, incx, y)
}

/// [`Activation::apply`] on the given variant.
///
/// AVX2 has vector code for relu, tanh and sigmoid; softplus and gelu are scalar calls on
/// both paths.
#[track_caller]
pub fn activation_apply(level: Level, act: Activation, x: &[f64], y: &mut [f64]) {
    assert_eq!(x.len(), y.len(), "activation: x and y differ in length");
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        match act {
            // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
            Activation::Relu => return unsafe { avx2::relu(x, y) },
            // SAFETY: as above.
            Activation::Sigmoid => return unsafe { avx2::sigmoid(x, y) },
            // SAFETY: as above.
            Activation::Tanh => return unsafe { avx2::tanh(x, y) },
            _ => {}
        }
    }
    let _ = level;
    portable::activation_apply(act, x, y)
}

/// [`Activation::apply_with_bias`] on the given variant: tanh fused on the AVX2 level when
/// b's length divides 16, otherwise the bias added row by row, then [`activation_apply`].
#[track_caller]
pub fn activation_apply_with_bias(
    level: Level,
    act: Activation,
    b: &[f64],
    z: &mut [f64],
    y: &mut [f64],
) {
    assert_eq!(z.len(), y.len(), "activation: z and y differ in length");
    let d = b.len();
    assert!(
        d == 0 && z.is_empty() || d > 0 && z.len().is_multiple_of(d),
        "activation: length {} is not a multiple of the bias length {d}",
        z.len()
    );
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) && act == Activation::Tanh && d > 0 && 16 % d == 0 {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::tanh_with_bias(b, z, y) };
    }
    for row in z.chunks_exact_mut(d.max(1)) {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b);
    }
    activation_apply(level, act, z, y)
}

/// [`Activation::apply_in_place`] on the given variant.
#[track_caller]
pub fn activation_apply_in_place(level: Level, act: Activation, x: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        match act {
            // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
            Activation::Relu => return unsafe { avx2::relu_in_place(x) },
            // SAFETY: as above.
            Activation::Sigmoid => return unsafe { avx2::sigmoid_in_place(x) },
            // SAFETY: as above.
            Activation::Tanh => return unsafe { avx2::tanh_in_place(x) },
            _ => {}
        }
    }
    let _ = level;
    portable::activation_apply_in_place(act, x)
}

/// [`Activation::deriv`] on the given variant (AVX2: vector sech² for tanh, σ′ for sigmoid,
/// σ for softplus′).
#[track_caller]
pub fn activation_deriv(level: Level, act: Activation, x: &[f64], d: &mut [f64]) {
    assert_eq!(
        x.len(),
        d.len(),
        "activation deriv: x and d differ in length"
    );
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        match act {
            // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
            Activation::Sigmoid => return unsafe { avx2::sigmoid_deriv(x, d) },
            // SAFETY: as above.
            Activation::Softplus => return unsafe { avx2::sigmoid(x, d) },
            // SAFETY: as above.
            Activation::Tanh => return unsafe { avx2::tanh_deriv(x, d) },
            _ => {}
        }
    }
    let _ = level;
    portable::activation_deriv(act, x, d)
}

/// [`Activation::second_deriv`] on the given variant.
#[track_caller]
pub fn activation_second_deriv(level: Level, act: Activation, x: &[f64], d: &mut [f64]) {
    assert_eq!(
        x.len(),
        d.len(),
        "activation second deriv: x and d differ in length"
    );
    let _ = use_avx2(level);
    portable::activation_second_deriv(act, x, d)
}

/// [`crate::log_softmax_rows`] on the given variant.
#[track_caller]
pub fn log_softmax_rows(level: Level, cols: usize, x: &[f64], y: &mut [f64]) {
    assert_eq!(
        x.len(),
        y.len(),
        "log_softmax_rows: x and y differ in length"
    );
    assert!(
        cols == 0 && x.is_empty() || cols > 0 && x.len().is_multiple_of(cols),
        "log_softmax_rows: length {} is not a multiple of cols = {cols}",
        x.len()
    );
    y.copy_from_slice(x);
    log_softmax_rows_in_place(level, cols, y)
}

/// [`crate::log_softmax_rows_in_place`] on the given variant.
#[track_caller]
pub fn log_softmax_rows_in_place(level: Level, cols: usize, x: &mut [f64]) {
    assert!(
        cols == 0 && x.is_empty() || cols > 0 && x.len().is_multiple_of(cols),
        "log_softmax_rows: length {} is not a multiple of cols = {cols}",
        x.len()
    );
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::log_softmax_rows_in_place(cols, x) };
    }
    let _ = level;
    portable::log_softmax_rows_in_place(cols, x)
}

/// [`crate::softmax_rows_in_place`] on the given variant.
#[track_caller]
pub fn softmax_rows_in_place(level: Level, cols: usize, x: &mut [f64], lse: &mut [f64]) {
    assert!(
        cols == 0 && x.is_empty() || cols > 0 && x.len().is_multiple_of(cols),
        "softmax_rows: length {} is not a multiple of cols = {cols}",
        x.len()
    );
    let rows = x.len().checked_div(cols).unwrap_or(0);
    assert_eq!(
        lse.len(),
        rows,
        "softmax_rows: lse must hold one entry per row"
    );
    #[cfg(target_arch = "x86_64")]
    if use_avx2(level) {
        // SAFETY: `use_avx2` returned true only after detecting avx2 and fma on this CPU.
        return unsafe { avx2::softmax_rows_in_place(cols, x, lse) };
    }
    let _ = level;
    portable::softmax_rows_in_place(cols, x, lse)
}
