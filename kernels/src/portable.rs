//! The portable variants: plain Rust that runs everywhere.
//!
//! The reductions keep eight interleaved partial sums in a `[f64; 8]`, which the compiler
//! turns into SSE2 vector adds (a single running sum would be one serial dependency chain,
//! and LLVM may not reassociate it). Products and sums stay separate operations: without
//! the `fma` target feature, `f64::mul_add` is a slow library call. The element-wise
//! kernels call std's `tanh`, `exp`, `ln_1p` and `cosh` (each within 1–2 ulp) and
//! [`crate::erfc`], one element at a time. Callers in [`crate::level12`] have checked all
//! lengths and strides.

use crate::Activation;
use crate::chunks::chunks;

/// Partial sums per reduction: enough independent chains to hide add latency.
const LANES: usize = 8;

/// Adds the partial sums pairwise, in a fixed order.
fn reduce(acc: [f64; LANES]) -> f64 {
    let s4 = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

/// ⟨x, y⟩ with eight partial sums (lengths equal).
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    let (xb, xt) = chunks::<_, LANES>(x);
    let (yb, yt) = chunks::<_, LANES>(y);
    let mut acc = [0.0; LANES];
    for (xv, yv) in xb.iter().zip(yb) {
        for k in 0..LANES {
            acc[k] += xv[k] * yv[k];
        }
    }
    let tail: f64 = xt.iter().zip(yt).map(|(a, b)| a * b).sum();
    reduce(acc) + tail
}

/// Σ x[i·incx] y[i·incy] (bounds checked by the caller, indexing checks again).
pub(crate) fn dot_strided(n: usize, x: &[f64], incx: usize, y: &[f64], incy: usize) -> f64 {
    (0..n).map(|i| x[i * incx] * y[i * incy]).sum()
}

/// y ← αx + y (lengths equal).
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// y[i·incy] ← α x[i·incx] + y[i·incy].
pub(crate) fn axpy_strided(
    n: usize,
    alpha: f64,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
    incy: usize,
) {
    for i in 0..n {
        y[i * incy] += alpha * x[i * incx];
    }
}

/// x ← αx.
pub(crate) fn scal(alpha: f64, x: &mut [f64]) {
    for xi in x {
        *xi *= alpha;
    }
}

/// Σ (s x_i)² with eight partial sums.
pub(crate) fn sumsq(x: &[f64], s: f64) -> f64 {
    let (xb, xt) = chunks::<_, LANES>(x);
    let mut acc = [0.0; LANES];
    for xv in xb {
        for k in 0..LANES {
            let v = s * xv[k];
            acc[k] += v * v;
        }
    }
    let tail: f64 = xt.iter().map(|v| (s * v) * (s * v)).sum();
    reduce(acc) + tail
}

/// The rescaling pass of `nrm2`: `Ok(s)` with s = 2ᵏ such that s · max|x_i| ∈ [2⁻⁵², 4),
/// or `Err(norm)` when the norm is known without it (+∞ for an infinite entry, NaN for a
/// NaN entry, 0 for a zero vector).
pub(crate) fn nrm2_scale(x: &[f64]) -> Result<f64, f64> {
    let mut amax = 0.0_f64;
    let mut nan = false;
    for v in x {
        let a = v.abs();
        if a == f64::INFINITY {
            return Err(f64::INFINITY);
        }
        nan |= a.is_nan();
        amax = amax.max(a);
    }
    if nan {
        return Err(f64::NAN);
    }
    if amax == 0.0 {
        return Err(0.0);
    }
    // amax = f · 2^e with f ∈ [1, 2) for normal amax; clamp k so that 2ᵏ stays normal.
    let e = ((amax.to_bits() >> 52) & 0x7ff) as i32 - 1023; // −1023 for subnormal amax
    let k = (-e).clamp(-1022, 1022);
    Ok(f64::from_bits(((k + 1023) as u64) << 52)) // 2ᵏ
}

/// y[i·incy] ← α ⟨A_i, x⟩ + β y[i·incy] for each row i (β = 0: y not read).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemv_n(
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    beta: f64,
    y: &mut [f64],
    incy: usize,
) {
    for i in 0..m {
        let t = dot(&a[i * lda..i * lda + n], x); // (A x)_i
        let yi = &mut y[i * incy];
        *yi = if beta == 0.0 {
            alpha * t
        } else {
            alpha * t + beta * *yi
        };
    }
}

/// y ← y + α Aᵀ x, one row of A at a time (y contiguous, n entries).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemv_t_acc(
    m: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    lda: usize,
    x: &[f64],
    incx: usize,
    y: &mut [f64],
) {
    for i in 0..m {
        axpy(alpha * x[i * incx], &a[i * lda..i * lda + n], y); // y += (α x_i) A_i
    }
}

/// σ(x) = 1 / (1 + e^{−x}), evaluated so that the exponential never overflows.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The standard normal density φ(x) = e^{−x²/2} / √(2π).
fn normal_pdf(x: f64) -> f64 {
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// The standard normal distribution function Φ(x) = ½ (1 + erf(x / √2)) = ½ erfc(−x / √2),
/// the second form keeping relative accuracy in the left tail.
fn normal_cdf(x: f64) -> f64 {
    0.5 * crate::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// f(x) for one element.
pub(crate) fn value(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => sigmoid(x),
        Activation::Relu => {
            if x <= 0.0 {
                0.0
            } else {
                x // x > 0 or NaN
            }
        }
        Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(), // ln(1 + eˣ)
        Activation::Gelu => x * normal_cdf(x),
    }
}

/// f′(x) for one element, in forms that do not cancel for large |x|.
pub(crate) fn deriv(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => 1.0 / (x.cosh() * x.cosh()), // sech² x, not 1 − tanh² x
        Activation::Sigmoid => sigmoid(x) * sigmoid(-x), // σ(1 − σ)
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else if x.is_nan() {
                x
            } else {
                0.0 // the subgradient at 0 is taken as 0, as PyTorch does
            }
        }
        Activation::Softplus => sigmoid(x),
        Activation::Gelu => normal_cdf(x) + x * normal_pdf(x), // Φ + xφ
    }
}

/// f″(x) for one element.
pub(crate) fn second_deriv(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Tanh => -2.0 * x.tanh() / (x.cosh() * x.cosh()), // −2 tanh · sech²
        Activation::Sigmoid => -sigmoid(x) * sigmoid(-x) * (0.5 * x).tanh(), // σ(1−σ)(1−2σ)
        Activation::Relu => {
            if x.is_nan() {
                x
            } else {
                0.0
            }
        }
        Activation::Softplus => sigmoid(x) * sigmoid(-x),
        Activation::Gelu => normal_pdf(x) * (2.0 - x * x), // φ (2 − x²)
    }
}

/// Applies `f` element by element from `x` into `y`; the `match` on `act` stays outside the
/// loop so each loop body is one inlined scalar function.
fn map(act: Activation, x: &[f64], y: &mut [f64], f: fn(Activation, f64) -> f64) {
    macro_rules! each {
        ($a:expr) => {
            for (yi, &xi) in y.iter_mut().zip(x) {
                *yi = f($a, xi);
            }
        };
    }
    match act {
        Activation::Tanh => each!(Activation::Tanh),
        Activation::Sigmoid => each!(Activation::Sigmoid),
        Activation::Relu => each!(Activation::Relu),
        Activation::Softplus => each!(Activation::Softplus),
        Activation::Gelu => each!(Activation::Gelu),
    }
}

/// y_i = f(x_i).
pub(crate) fn activation_apply(act: Activation, x: &[f64], y: &mut [f64]) {
    map(act, x, y, value)
}

/// x_i ← f(x_i).
pub(crate) fn activation_apply_in_place(act: Activation, x: &mut [f64]) {
    for xi in x {
        *xi = value(act, *xi);
    }
}

/// d_i = f′(x_i).
pub(crate) fn activation_deriv(act: Activation, x: &[f64], d: &mut [f64]) {
    map(act, x, d, deriv)
}

/// d_i = f″(x_i).
pub(crate) fn activation_second_deriv(act: Activation, x: &[f64], d: &mut [f64]) {
    map(act, x, d, second_deriv)
}

/// Each row of `cols` entries ← x_ij − max_k x_ik − ln Σ_k exp(x_ik − max_k x_ik).
pub(crate) fn log_softmax_rows_in_place(cols: usize, x: &mut [f64]) {
    if cols == 0 {
        return;
    }
    for row in x.chunks_exact_mut(cols) {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)); // row max (NaN skipped)
        let sum: f64 = row.iter().map(|v| (v - m).exp()).sum(); // Σ e^{x − m} ∈ [1, cols]
        let log_sum = sum.ln();
        for v in row {
            *v = (*v - m) - log_sum;
        }
    }
}

/// Each row of `cols` entries ← e^{x − m} / s and lse_i ← m + ln s, with m the row maximum
/// (NaN skipped) and s = Σ e^{x − m} ∈ [1, cols].
pub(crate) fn softmax_rows_in_place(cols: usize, x: &mut [f64], lse: &mut [f64]) {
    if cols == 0 {
        return;
    }
    for (row, l) in x.chunks_exact_mut(cols).zip(lse) {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v)); // row max (NaN skipped)
        let mut s = 0.0;
        for v in row.iter_mut() {
            *v = (*v - m).exp(); // e^{x − m} ≤ 1
            s += *v;
        }
        for v in row.iter_mut() {
            *v /= s;
        }
        *l = m + s.ln();
    }
}
