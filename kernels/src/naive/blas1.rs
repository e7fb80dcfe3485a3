//! Level-1/2 and element-wise oracles.
//!
//! Each function is its kernel's definition written as one loop over indices, in the
//! order a textbook sums, with no blocking, no accumulator splitting and no shortcuts
//! except the ones the definition itself makes (α = 0 and β = 0 in [`gemv_naive`]).

use crate::{Activation, Op};

/// ⟨x, y⟩ summed left to right.
pub fn dot_naive(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Σ_{i<n} x[i·incx] · y[i·incy], summed left to right.
pub fn dot_strided_naive(n: usize, x: &[f64], incx: usize, y: &[f64], incy: usize) -> f64 {
    (0..n).map(|i| x[i * incx] * y[i * incy]).sum()
}

/// y ← αx + y, one element at a time (nothing is read when α = 0).
pub fn axpy_naive(alpha: f64, x: &[f64], y: &mut [f64]) {
    if alpha == 0.0 {
        return;
    }
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// y[i·incy] ← α x[i·incx] + y[i·incy] for i < n (nothing is read when α = 0).
pub fn axpy_strided_naive(
    n: usize,
    alpha: f64,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
    incy: usize,
) {
    if alpha == 0.0 {
        return;
    }
    for i in 0..n {
        y[i * incy] += alpha * x[i * incx];
    }
}

/// x ← αx, one IEEE multiplication per element.
pub fn scal_naive(alpha: f64, x: &mut [f64]) {
    for xi in x {
        *xi *= alpha;
    }
}

/// ‖x‖₂ by the textbook scaling: `amax · sqrt(Σ (x_i / amax)²)`.
///
/// Any ±∞ entry gives +∞ (as `hypot` does); otherwise any NaN gives NaN.
pub fn nrm2_naive(x: &[f64]) -> f64 {
    if x.iter().any(|v| v.is_infinite()) {
        return f64::INFINITY;
    }
    if x.iter().any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let amax = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if amax == 0.0 {
        return 0.0;
    }
    let ssq: f64 = x.iter().map(|v| (v / amax) * (v / amax)).sum();
    amax * ssq.sqrt()
}

/// y ← α op(A) x + β y with `A` m × n row-major (`A[i][j] = a[i·lda + j]`), op(A) = A or Aᵀ.
///
/// When α = 0, `a` and `x` are not read; when β = 0, `y` is not read.
#[allow(clippy::too_many_arguments, non_snake_case)]
pub fn gemv_naive(
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
    let A = |i: usize, j: usize| a[i * lda + j];
    let (len_y, len_x) = match trans {
        Op::NoTrans => (m, n),
        Op::Trans => (n, m),
    };
    for r in 0..len_y {
        let mut sum = 0.0; // (op(A) x)_r
        if alpha != 0.0 {
            for k in 0..len_x {
                let op_a = match trans {
                    Op::NoTrans => A(r, k),
                    Op::Trans => A(k, r),
                };
                sum += op_a * x[k * incx];
            }
        }
        let yr = &mut y[r * incy];
        *yr = if beta == 0.0 {
            alpha * sum
        } else {
            alpha * sum + beta * *yr
        };
    }
}

/// f(x) for one activation, from its textbook definition.
pub fn activation_naive(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Relu => {
            if x <= 0.0 {
                0.0
            } else {
                x
            }
        }
        // ln(1 + eˣ) = max(x, 0) + ln(1 + e^{−|x|}), which cannot overflow.
        Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
        // x Φ(x) with Φ(x) = ½ (1 + erf(x / √2)).
        Activation::Gelu => 0.5 * x * (1.0 + crate::erf(x * std::f64::consts::FRAC_1_SQRT_2)),
    }
}

/// f′(x) for one activation, from its textbook derivative.
pub fn activation_deriv_naive(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => 1.0 - x.tanh() * x.tanh(),
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 - s)
        }
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else if x.is_nan() {
                x
            } else {
                0.0
            }
        }
        Activation::Softplus => 1.0 / (1.0 + (-x).exp()),
        Activation::Gelu => {
            let phi = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            0.5 * (1.0 + crate::erf(x * std::f64::consts::FRAC_1_SQRT_2)) + x * phi
        }
    }
}

/// f″(x) for one activation, from its textbook second derivative.
pub fn activation_second_deriv_naive(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => -2.0 * x.tanh() * (1.0 - x.tanh() * x.tanh()),
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 - s) * (1.0 - 2.0 * s)
        }
        Activation::Relu => {
            if x.is_nan() {
                x
            } else {
                0.0
            }
        }
        Activation::Softplus => {
            let s = 1.0 / (1.0 + (-x).exp());
            s * (1.0 - s)
        }
        Activation::Gelu => {
            let phi = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            phi * (2.0 - x * x)
        }
    }
}

/// y_ij = x_ij − ln Σ_k exp(x_ik) for each row of a row-major matrix with `cols` columns,
/// computed as `x_ij − m − ln Σ_k exp(x_ik − m)` with `m` the row maximum.
pub fn log_softmax_rows_naive(cols: usize, x: &[f64], y: &mut [f64]) {
    if cols == 0 {
        return;
    }
    for (xr, yr) in x.chunks(cols).zip(y.chunks_mut(cols)) {
        let m = xr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let lse = m + xr.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        for (yj, xj) in yr.iter_mut().zip(xr) {
            *yj = xj - lse;
        }
    }
}

/// p_ij = exp(x_ij − m_i) / Σ_k exp(x_ik − m_i) and lse_i = m_i + ln Σ_k exp(x_ik − m_i) for
/// each row of a row-major matrix with `cols` columns, `m_i` the row maximum.
pub fn softmax_rows_naive(cols: usize, x: &[f64], p: &mut [f64], lse: &mut [f64]) {
    if cols == 0 {
        return;
    }
    for ((xr, pr), l) in x.chunks(cols).zip(p.chunks_mut(cols)).zip(lse) {
        let m = xr.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let s: f64 = xr.iter().map(|v| (v - m).exp()).sum();
        for (pj, xj) in pr.iter_mut().zip(xr) {
            *pj = (xj - m).exp() / s;
        }
        *l = m + s.ln();
    }
}
