//! AVX2+FMA element-wise kernels: relu, tanh and sech², sigmoid and σ′, log-softmax, on a
//! vectorised exp.
//!
//! `exp4` computes eˣ for four lanes by the classical reduction
//!
//! ```text
//! x = k ln2 + r,  k = round(x log₂e),  |r| ≤ ln2 / 2      (r by two FMAs: ln2 = hi + lo)
//! eʳ = Σ_{j ≤ 13} rʲ / j!                                 (Horner, 13 FMAs; the next term
//!                                                           is < 4.1e-18 relative)
//! eˣ = 2ᵏ eʳ                                              (k added to the exponent bits)
//! ```
//!
//! valid for x ∈ [−708, 708], where 2ᵏ eʳ stays normal; within 2 ulp of std's `exp`
//! (tested through the kernels that use it). Lanes outside that range, and NaN, take the
//! portable scalar path for their whole quad, so edge behaviour is exactly the portable one.
//! Measured in `benches/level12.rs` (`tanh/*`, `sigmoid/*`, `log_softmax/*`).

use super::{chunks, chunks_mut, load, store};
use crate::Activation;
use crate::portable;
use core::arch::x86_64::*;

/// Below this |x|, eˣ and e⁻ˣ are both normal and `exp4` is valid for ±x.
const EXP_SAFE: f64 = 708.0;

/// 1/j! for j = 13 down to 0: the Horner coefficients of eʳ.
const INV_FACT: [f64; 14] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// tanh(x)/x as a polynomial in x² on |x| < 0.625, highest degree first (Chebyshev fit in
/// 120-bit arithmetic, fit error 9.7e-18; with the final product ≤ 0.83 ε relative).
const TANH_SMALL: [f64; 12] = [
    -1.6001499513001042e-05,
    7.698563199045423e-05,
    -0.00022841018529512851,
    0.0005862314316050611,
    -0.0014549293858543903,
    0.003591982521583925,
    -0.008863220021256096,
    0.021869487483410596,
    -0.053968253925945696,
    0.13333333333245254,
    -0.33333333333332615,
    1.0,
];

/// eˣ lane-wise, for lanes in [−708, 708] (NaN stays NaN; other lanes are unspecified).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp4(x: __m256d) -> __m256d {
    const LN2_HI: f64 = std::f64::consts::LN_2; // ln 2 rounded to f64
    const LN2_LO: f64 = 2.319_046_813_846_299_6e-17; // ln 2 − LN2_HI
    let k = _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_pd(
        x,
        _mm256_set1_pd(std::f64::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_HI), x); // x − k·hi, exact (Sterbenz)
    let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_LO), r); // − k·lo
    let mut p = _mm256_set1_pd(INV_FACT[0]);
    for c in &INV_FACT[1..] {
        p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(*c)); // p·r + 1/j!
    }
    // 2ᵏ eʳ: eʳ ∈ [0.70, 1.42] and k ∈ [−1021, 1021], so adding k to the biased exponent
    // field gives a normal number without touching the mantissa.
    let k64 = _mm256_cvtepi32_epi64(_mm256_cvtpd_epi32(k));
    _mm256_castsi256_pd(_mm256_add_epi64(
        _mm256_castpd_si256(p),
        _mm256_slli_epi64::<52>(k64),
    ))
}

/// Whether every lane satisfies |x| ≤ 708 (false for NaN lanes).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn all_exp_safe(x: __m256d) -> bool {
    let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
    let ok = _mm256_cmp_pd::<_CMP_LE_OQ>(abs, _mm256_set1_pd(EXP_SAFE));
    _mm256_movemask_pd(ok) == 0b1111
}

/// max(x, 0) lane-wise with NaN kept: x where x > 0 or NaN, +0 where x ≤ 0.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn relu4(v: __m256d) -> __m256d {
    let le0 = _mm256_cmp_pd::<_CMP_LE_OQ>(v, _mm256_setzero_pd()); // all-ones where x ≤ 0
    _mm256_andnot_pd(le0, v)
}

/// tanh x lane-wise, for every x (NaN stays NaN):
///
/// ```text
/// |x| < 0.625:  |x| · P(x²)                      (no cancellation near 0)
/// otherwise:    1 − 2 / (e^{2|x|} + 1)           (2|x| capped at 708: tanh = 1 there anyway)
/// ```
///
/// then the sign of x is put back (tanh(−0) = −0).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn tanh4(x: __m256d) -> __m256d {
    let sign_bit = _mm256_set1_pd(-0.0);
    let one = _mm256_set1_pd(1.0);
    let a = _mm256_andnot_pd(sign_bit, x); // |x|
    let u = _mm256_mul_pd(a, a);
    let mut p = _mm256_set1_pd(TANH_SMALL[0]);
    for c in &TANH_SMALL[1..] {
        p = _mm256_fmadd_pd(p, u, _mm256_set1_pd(*c));
    }
    let small = _mm256_mul_pd(a, p);
    let two_a = _mm256_min_pd(_mm256_set1_pd(EXP_SAFE), _mm256_add_pd(a, a)); // NaN kept
    let e = exp4(two_a);
    let large = _mm256_sub_pd(
        one,
        _mm256_div_pd(_mm256_set1_pd(2.0), _mm256_add_pd(e, one)),
    );
    let is_small = _mm256_cmp_pd::<_CMP_LT_OQ>(a, _mm256_set1_pd(0.625));
    _mm256_or_pd(
        _mm256_blendv_pd(large, small, is_small),
        _mm256_and_pd(x, sign_bit),
    )
}

/// Whether every lane satisfies |x| ≤ 354, so that e^{−2|x|} is normal (false for NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn all_exp2_safe(x: __m256d) -> bool {
    all_exp_safe(_mm256_add_pd(x, x))
}

/// sech² x = 4e / (1 + e)² with e = e^{−2|x|} ∈ (0, 1], lane-wise, for |x| ≤ 354.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sech2_4(x: __m256d) -> __m256d {
    let neg_abs = _mm256_or_pd(x, _mm256_set1_pd(-0.0)); // −|x|
    let e = exp4(_mm256_add_pd(neg_abs, neg_abs));
    let d = _mm256_add_pd(_mm256_set1_pd(1.0), e);
    _mm256_div_pd(_mm256_mul_pd(_mm256_set1_pd(4.0), e), _mm256_mul_pd(d, d))
}

/// σ(x) = 1 / (1 + e⁻ˣ) lane-wise, for |x| ≤ 708.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sigmoid4(x: __m256d) -> __m256d {
    let one = _mm256_set1_pd(1.0);
    let e = exp4(_mm256_sub_pd(_mm256_setzero_pd(), x)); // e⁻ˣ
    _mm256_div_pd(one, _mm256_add_pd(one, e))
}

/// σ(x) σ(−x) = e / (1 + e)² with e = e^{−|x|} ∈ (0, 1], lane-wise, for |x| ≤ 708.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sigmoid_deriv4(x: __m256d) -> __m256d {
    let neg_abs = _mm256_or_pd(x, _mm256_set1_pd(-0.0)); // −|x|
    let e = exp4(neg_abs);
    let d = _mm256_add_pd(_mm256_set1_pd(1.0), e);
    _mm256_div_pd(e, _mm256_mul_pd(d, d))
}

/// y ← f(x) quad by quad with the vector body, falling back to the portable scalar
/// `scalar(act, ·)` for each quad whose lanes fail `safe` and for the tail. A macro rather
/// than a function taking `fn` pointers, so the vector body is inlined into each kernel.
macro_rules! map_quads {
    ($x:expr, $y:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr) => {{
        let (x, y): (&[f64], &mut [f64]) = ($x, $y);
        assert_eq!(x.len(), y.len());
        let (xq, xt) = chunks::<_, 4>(x);
        let (yq, yt) = chunks_mut::<_, 4>(y);
        for (xv, yv) in xq.iter().zip(yq) {
            let v = load(xv);
            if $safe(v) {
                store(yv, $f4(v));
            } else {
                for (o, i) in yv.iter_mut().zip(xv) {
                    *o = $scalar($act, *i);
                }
            }
        }
        for (o, i) in yt.iter_mut().zip(xt) {
            *o = $scalar($act, *i);
        }
    }};
}

/// x ← f(x) in place: [`map_quads`] with input and output the same slice.
macro_rules! map_quads_in_place {
    ($x:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr) => {{
        let x: &mut [f64] = $x;
        let (xq, xt) = chunks_mut::<_, 4>(x);
        for xv in xq {
            let v = load(xv);
            if $safe(v) {
                store(xv, $f4(v));
            } else {
                for o in xv.iter_mut() {
                    *o = $scalar($act, *o);
                }
            }
        }
        for o in xt {
            *o = $scalar($act, *o);
        }
    }};
}

/// Accepts every quad (relu is valid everywhere).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn always(_: __m256d) -> bool {
    true
}

/// y_i ← max(x_i, 0) (NaN kept, −0 → +0).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn relu(x: &[f64], y: &mut [f64]) {
    map_quads!(x, y, safe: always, vector: relu4, scalar: portable::value, Activation::Relu)
}

/// x_i ← max(x_i, 0).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn relu_in_place(x: &mut [f64]) {
    map_quads_in_place!(x, safe: always, vector: relu4, scalar: portable::value, Activation::Relu)
}

/// y_i ← tanh x_i.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh(x: &[f64], y: &mut [f64]) {
    map_quads!(x, y, safe: always, vector: tanh4, scalar: portable::value, Activation::Tanh)
}

/// x_i ← tanh x_i.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_in_place(x: &mut [f64]) {
    map_quads_in_place!(x, safe: always, vector: tanh4, scalar: portable::value, Activation::Tanh)
}

/// d_i ← tanh′(x_i) = sech² x_i.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_deriv(x: &[f64], d: &mut [f64]) {
    map_quads!(x, d, safe: all_exp2_safe, vector: sech2_4, scalar: portable::deriv, Activation::Tanh)
}

/// y_i ← σ(x_i).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sigmoid(x: &[f64], y: &mut [f64]) {
    map_quads!(x, y, safe: all_exp_safe, vector: sigmoid4, scalar: portable::value, Activation::Sigmoid)
}

/// x_i ← σ(x_i).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sigmoid_in_place(x: &mut [f64]) {
    map_quads_in_place!(x, safe: all_exp_safe, vector: sigmoid4, scalar: portable::value, Activation::Sigmoid)
}

/// d_i ← σ′(x_i) = σ(x_i) σ(−x_i).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sigmoid_deriv(x: &[f64], d: &mut [f64]) {
    map_quads!(x, d, safe: all_exp_safe, vector: sigmoid_deriv4, scalar: portable::deriv, Activation::Sigmoid)
}

/// Each row of `cols` entries ← (x − m) − ln Σ e^{x − m}, m the row maximum (NaN skipped,
/// as in the portable path; a NaN entry then makes the sum, and so the row, NaN).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn log_softmax_rows_in_place(cols: usize, x: &mut [f64]) {
    if cols == 0 {
        return;
    }
    for row in x.chunks_exact_mut(cols) {
        let (rq, rt) = chunks_mut::<_, 4>(row);
        let mut mv = _mm256_set1_pd(f64::NEG_INFINITY);
        for v in rq.iter() {
            mv = _mm256_max_pd(load(v), mv); // a NaN lane of v returns mv: NaN skipped
        }
        let mut lanes = [0.0; 4];
        store(&mut lanes, mv);
        let m = rt
            .iter()
            .chain(&lanes)
            .fold(f64::NEG_INFINITY, |m, &v| m.max(v)); // row max
        let m4 = _mm256_set1_pd(m);
        let floor = _mm256_set1_pd(-EXP_SAFE);
        let mut sv = _mm256_setzero_pd();
        for v in rq.iter() {
            // e^{max(x − m, −708)}: the floor changes each term by < 4e-308 (the sum is ≥ 1);
            // max(floor, NaN) returns the NaN, so NaN propagates.
            sv = _mm256_add_pd(sv, exp4(_mm256_max_pd(floor, _mm256_sub_pd(load(v), m4))));
        }
        let sum = super::hsum(sv) + rt.iter().map(|v| (v - m).exp()).sum::<f64>(); // Σ e^{x − m}
        let log_sum = _mm256_set1_pd(sum.ln());
        for v in rq.iter_mut() {
            let r = _mm256_sub_pd(_mm256_sub_pd(load(v), m4), log_sum);
            store(v, r);
        }
        for v in rt.iter_mut() {
            *v = (*v - m) - sum.ln();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest |exp4(x) − exp(x)| in ulps of exp(x) over 4·10⁵ points of [−708, 708].
    #[target_feature(enable = "avx2,fma")]
    fn exp4_worst_ulps() -> f64 {
        let mut worst = 0.0_f64;
        for k in 0..100_000 {
            let base = -708.0 + 1416.0 * f64::from(k) / 100_000.0;
            let x = [base, base + 1e-3, -base * 1e-3, base * 1e-6];
            let mut e = [0.0; 4];
            store(&mut e, exp4(load(&x)));
            for (xi, ei) in x.iter().zip(e) {
                let want = xi.exp();
                let ulp = f64::EPSILON * want; // within a factor 2 of one ulp
                worst = worst.max((ei - want).abs() / ulp);
            }
        }
        worst
    }

    #[test]
    fn exp4_is_within_2_ulp_of_std() {
        if !crate::dispatch::avx2_fma_available() {
            return;
        }
        // SAFETY: avx2 and fma were detected just above.
        let worst = unsafe { exp4_worst_ulps() };
        assert!(worst <= 2.0, "exp4 is {worst} ulp from std's exp");
        eprintln!("exp4: worst {worst:.2} ulp (ε·eˣ units) from std's exp");
    }
}
