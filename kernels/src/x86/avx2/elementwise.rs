//! AVX2+FMA element-wise kernels: relu, tanh and sech², sigmoid and σ′, log-softmax, on a
//! vectorised exp.
//!
//! `exp_reduce` computes 2ᵏ and eʳ − 1 for four lanes of t by the classical reduction
//!
//! ```text
//! t = k ln2 + r,  k = round(t log₂e),  |r| ≤ ln2 / 2     (r by two FMAs: ln2 = hi + lo)
//! eʳ − 1 = r + r² Q(r)                                   (Q minimax of degree 9, by Estrin)
//! eᵗ = 2ᵏ + 2ᵏ(eʳ − 1),   eᵗ − 1 = 2ᵏ(eʳ − 1) + (2ᵏ − 1)   (one FMA each)
//! ```
//!
//! the second form for tanh, which needs 1 − e^{−2|x|} without cancellation near 0. One
//! quad's dependency chain (≈ 50 cycles for tanh, a quarter of it the division) is several
//! times its issue cost (≈ 25 vector operations, 15 of them multiplies or FMAs, which issue
//! two per cycle), so speed comes from a shorter chain and more chains in flight: Q by
//! Estrin's scheme (one squaring and two FMAs deep instead of nine Horner steps), and
//! [`GROUP`] quads per iteration of the map loops ([`TANH_GROUP`] for tanh). A quad of tanh
//! then costs ≈ 12 cycles on the benches' Zen 4, and every operation saved shows.
//!
//! `exp4` is valid for x ∈ [−708, 708], where 2ᵏ stays normal, and within 1 ulp of std's
//! `exp` (measured by the unit test below, which allows 2). Lanes outside that range, and
//! NaN, take the portable scalar path for their whole quad, so edge behaviour is exactly the
//! portable one; `tanh4` clamps instead and is valid everywhere. Measured in
//! `benches/level12.rs` (`tanh/*`, `tanh_deriv/*`, `sigmoid/*`, `sigmoid_deriv/*`,
//! `log_softmax/*`).

use super::{chunks, chunks_mut, load, store};
use crate::Activation;
use crate::portable;
use crate::x86::avx512;
use core::arch::x86_64::*;

/// Below this |x|, eˣ and e⁻ˣ are both normal and `exp4` is valid for ±x.
pub(super) const EXP_SAFE: f64 = 708.0;

/// Q(r) ≈ (eʳ − 1 − r) / r² on |r| ≤ ln2/2, lowest degree first (close to 1/2!, 1/3!, 1/4!,
/// ...): a Remez fit of degree 9 in 256-bit arithmetic (mpmath) for the relative error of
/// r + r² Q(r) as eʳ − 1, which is 3.4e-17 = 0.15 ε with the coefficients as stored.
/// Taylor's 1/j! would need degree 11 for the same.
pub(crate) const EXPM1_Q: [f64; 10] = [
    0.500_000_000_000_000_6,
    0.166_666_666_666_665_88,
    0.041_666_666_666_577_14,
    0.008_333_333_333_390_964,
    0.001_388_888_893_143_282,
    0.000_198_412_697_148_106_7,
    2.480_150_543_974_011_6e-5,
    2.755_741_234_881_725e-6,
    2.762_596_919_953_206e-7,
    2.505_191_005_754_384e-8,
];

/// Above this |x|, tanh x rounds to ±1 (it does from 19.1 on): `tanh4` clamps |x| here, so
/// that 2ᵏ ≥ 2⁻⁵⁸ stays normal and the result is exactly ±1.
pub(crate) const TANH_ONE: f64 = 20.0;

/// Q(r) of [`EXPM1_Q`] by Estrin's scheme, given r and r²:
///
/// ```text
/// Q = (c₀ + c₁r + r²(c₂ + c₃r)) + r⁴((c₄ + c₅r + r²(c₆ + c₇r)) + r⁴(c₈ + c₉r))
/// ```
///
/// 9 FMAs and one squaring, against Horner's 9 FMAs, but a dependency chain of one
/// squaring and two FMAs after r² instead of nine FMAs.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn expm1_q(r: __m256d, r2: __m256d) -> __m256d {
    /// c_j + c_{j+1} r.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn pair(j: usize, r: __m256d) -> __m256d {
        let (c_j, c_next) = (_mm256_set1_pd(EXPM1_Q[j]), _mm256_set1_pd(EXPM1_Q[j + 1]));
        _mm256_fmadd_pd(c_next, r, c_j)
    }
    let r4 = _mm256_mul_pd(r2, r2);
    let q0 = _mm256_fmadd_pd(pair(2, r), r2, pair(0, r)); // degrees 0–3
    let q1 = _mm256_fmadd_pd(pair(6, r), r2, pair(4, r)); // 4–7
    _mm256_fmadd_pd(_mm256_fmadd_pd(pair(8, r), r4, q1), r4, q0)
}

/// (2ᵏ, eʳ − 1) for t = c·x = k ln2 + r lane-wise, c a power of two (so that t is exact),
/// for t ∈ [−708, 708] (NaN gives eʳ − 1 = NaN):
///
/// ```text
/// k = round(x · c log₂e),  r = t − k·hi − k·lo ∈ [−ln2/2, ln2/2]   (hi + lo = ln2)
/// eʳ − 1 = r + r² Q(r)
/// ```
///
/// t − k·hi is exact (Sterbenz). Without `TWO_PART_LN2` the k·lo term is dropped, which
/// shifts r by |k|·2.4e-17: fine when |k| is small and the result is scaled by 2ᵏ (tanh,
/// where k ∈ [−58, 0]), not for eᵗ itself at |k| up to 1021.
///
/// k is rounded by adding 1.5·2⁵² + 1023, whose ulp is 1: k + 1023 then sits in the low
/// mantissa bits of the sum, and shifting them into the exponent field gives 2ᵏ without a
/// float-to-integer conversion. Taking x and c rather than t lets k and t = c·x be
/// computed side by side.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_reduce<const TWO_PART_LN2: bool>(x: __m256d, c: f64) -> (__m256d, __m256d) {
    const SHIFT: f64 = 6_755_399_441_056_767.0; // 1.5 · 2⁵² + 1023 (the exponent bias)
    const LN2_HI: f64 = std::f64::consts::LN_2; // ln 2 rounded to f64
    const LN2_LO: f64 = 2.319_046_813_846_299_6e-17; // ln 2 − LN2_HI
    let shift = _mm256_set1_pd(SHIFT);
    let t = _mm256_mul_pd(_mm256_set1_pd(c), x);
    let k_shifted = _mm256_fmadd_pd(x, _mm256_set1_pd(c * std::f64::consts::LOG2_E), shift);
    let k = _mm256_sub_pd(k_shifted, shift); // round(t log₂e), exact
    let mut r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_HI), t); // t − k·hi, exact
    if TWO_PART_LN2 {
        r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_LO), r); // − k·lo
    }
    let r2 = _mm256_mul_pd(r, r);
    let em1_r = _mm256_fmadd_pd(r2, expm1_q(r, r2), r); // r + r² Q(r)
    // 2ᵏ: the biased exponent k + 1023 ∈ [2, 2044] from the low mantissa bits, shifted into
    // the exponent field; the high bits of 1.5·2⁵² shift out.
    let two_k = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_castpd_si256(k_shifted)));
    (two_k, em1_r)
}

/// eˣ = 2ᵏ + 2ᵏ(eʳ − 1) lane-wise (one FMA after [`exp_reduce`]), for lanes in [−708, 708]
/// (NaN stays NaN; other lanes are unspecified).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(super) fn exp4(x: __m256d) -> __m256d {
    let (two_k, em1_r) = exp_reduce::<true>(x, 1.0);
    _mm256_fmadd_pd(two_k, em1_r, two_k)
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

/// tanh x lane-wise, for every x (NaN stays NaN), from one [`exp_reduce`] of t = −2|x| ≤ 0:
///
/// ```text
/// 1 − eᵗ = (1 − 2ᵏ) − 2ᵏ(eʳ − 1)        (k = 0 near x = 0: just −(eʳ − 1) ≈ −t, relatively)
/// tanh|x| = (1 − eᵗ) / (1 + eᵗ) = (1 − eᵗ) / (2 − (1 − eᵗ))
/// ```
///
/// with |x| clamped at 20, where tanh is 1 in f64 (and 1 − eᵗ rounds to 1), so k ∈ [−58, 0]:
/// 1 − 2ᵏ is exact down to k = −53, below which 1 − eᵗ rounds to 1 anyway. Then the sign
/// of x is put back (tanh(−0) = −0, 1 − eᵗ being +0 at x = ±0). The reduction drops k·lo
/// (|k| ≤ 58; the shift of r costs ≤ 0.3 ε at k = −1 and less beyond, where 2ᵏ scales it):
/// within 1.6 ε|tanh x| of the exact value (measured against 120-bit mpmath over the
/// regions of k = 0, −1, −2, ..., tiny x and x around 19–20).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn tanh4(x: __m256d) -> __m256d {
    let sign_bit = _mm256_set1_pd(-0.0);
    let one = _mm256_set1_pd(1.0);
    let neg_abs = _mm256_or_pd(x, sign_bit); // −|x|
    let neg_abs = _mm256_max_pd(_mm256_set1_pd(-TANH_ONE), neg_abs); // NaN kept
    let (two_k, em1_r) = exp_reduce::<false>(neg_abs, 2.0); // t = 2·(−|x|)
    let u = _mm256_fnmadd_pd(two_k, em1_r, _mm256_sub_pd(one, two_k)); // 1 − eᵗ ∈ [+0, 1]
    let tanh_abs = _mm256_div_pd(u, _mm256_sub_pd(_mm256_set1_pd(2.0), u));
    _mm256_xor_pd(tanh_abs, _mm256_and_pd(x, sign_bit)) // sign of x back
}

/// Whether every lane satisfies |x| ≤ 354, so that e^{−2|x|} is normal (false for NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn all_exp2_safe(x: __m256d) -> bool {
    all_exp_safe(_mm256_add_pd(x, x))
}

/// sech² x = 4e / (1 + e)² with e = e^{−2|x|} ∈ (0, 1], lane-wise, for |x| ≤ 354 (e as in
/// `exp4`, from [`exp_reduce`] of t = 2·(−|x|)).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sech2_4(x: __m256d) -> __m256d {
    let neg_abs = _mm256_or_pd(x, _mm256_set1_pd(-0.0)); // −|x|
    let (two_k, em1_r) = exp_reduce::<true>(neg_abs, 2.0);
    let e = _mm256_fmadd_pd(two_k, em1_r, two_k);
    let d = _mm256_add_pd(_mm256_set1_pd(1.0), e);
    _mm256_div_pd(_mm256_mul_pd(_mm256_set1_pd(4.0), e), _mm256_mul_pd(d, d))
}

/// σ(x) = 1 / (1 + e⁻ˣ) lane-wise, for |x| ≤ 708, with 1 + e⁻ˣ = (1 + 2ᵏ) + 2ᵏ(eʳ − 1)
/// from [`exp_reduce`] of t = −x (1 + 2ᵏ is computed beside the polynomial, off the chain).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn sigmoid4(x: __m256d) -> __m256d {
    let one = _mm256_set1_pd(1.0);
    let (two_k, em1_r) = exp_reduce::<true>(x, -1.0);
    let d = _mm256_fmadd_pd(two_k, em1_r, _mm256_add_pd(one, two_k)); // 1 + e⁻ˣ
    _mm256_div_pd(one, d)
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

/// Quads per iteration of the map loops: their evaluations are independent, so the long
/// dependency chains of tanh and exp (≈ 50 cycles) overlap within one iteration. Four suits
/// the kernels with more live registers per quad (sech², σ′: eight spill and run 25% slower);
/// tanh gains 12–18% from [`TANH_GROUP`] (`benches/level12.rs`, `tanh/avx2/4096`, with
/// `PUMA_NO_AVX512=1` where the CPU has AVX-512F).
const GROUP: usize = 4;

/// Quads per iteration of the tanh loops (sixteen spill: +70%).
const TANH_GROUP: usize = 8;

/// y ← f(x) [`GROUP`] quads at a time with the vector body, falling back to the portable
/// scalar `scalar(act, ·)` for each quad whose lanes fail `safe` and for the tail. A macro
/// rather than a function taking `fn` pointers, so the vector body is inlined into each
/// kernel; plain loops rather than closures (`array::map`), which LLVM does not always
/// inline, and a call per quad would cost more than the quad.
macro_rules! map_quads {
    ($x:expr, $y:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr) => {
        map_quads!($x, $y, safe: $safe, vector: $f4, scalar: $scalar, $act, group: GROUP)
    };
    ($x:expr, $y:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr, group: $group:expr) => {{
        /// One quad: vector body if every lane is safe, else the scalar path lane by lane.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn quad(xv: &[f64; 4], yv: &mut [f64; 4]) {
            let v = load(xv);
            if $safe(v) {
                store(yv, $f4(v));
            } else {
                for (o, i) in yv.iter_mut().zip(xv) {
                    *o = $scalar($act, *i);
                }
            }
        }
        let (x, y): (&[f64], &mut [f64]) = ($x, $y);
        assert_eq!(x.len(), y.len());
        let (xq, xt) = chunks::<_, 4>(x);
        let (yq, yt) = chunks_mut::<_, 4>(y);
        let (xg, xq) = chunks::<_, { $group }>(xq);
        let (yg, yq) = chunks_mut::<_, { $group }>(yq);
        for (xb, yb) in xg.iter().zip(yg) {
            let mut v = [_mm256_setzero_pd(); $group];
            let mut safe = true;
            for (vi, q) in v.iter_mut().zip(xb) {
                *vi = load(q);
                safe &= $safe(*vi);
            }
            if safe {
                for (q, vi) in yb.iter_mut().zip(v) {
                    store(q, $f4(vi));
                }
            } else {
                for (xv, yv) in xb.iter().zip(yb) {
                    quad(xv, yv);
                }
            }
        }
        for (xv, yv) in xq.iter().zip(yq) {
            quad(xv, yv);
        }
        for (o, i) in yt.iter_mut().zip(xt) {
            *o = $scalar($act, *i);
        }
    }};
}

/// x ← f(x) in place: [`map_quads`] with input and output the same slice.
macro_rules! map_quads_in_place {
    ($x:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr) => {
        map_quads_in_place!($x, safe: $safe, vector: $f4, scalar: $scalar, $act, group: GROUP)
    };
    ($x:expr, safe: $safe:ident, vector: $f4:ident, scalar: $scalar:path, $act:expr, group: $group:expr) => {{
        /// One quad in place: vector body if every lane is safe, else the scalar path.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        fn quad(xv: &mut [f64; 4]) {
            let v = load(xv);
            if $safe(v) {
                store(xv, $f4(v));
            } else {
                for o in xv.iter_mut() {
                    *o = $scalar($act, *o);
                }
            }
        }
        let x: &mut [f64] = $x;
        let (xq, xt) = chunks_mut::<_, 4>(x);
        let (xg, xq) = chunks_mut::<_, { $group }>(xq);
        for xb in xg {
            let mut v = [_mm256_setzero_pd(); $group];
            let mut safe = true;
            for (vi, q) in v.iter_mut().zip(xb.iter()) {
                *vi = load(q);
                safe &= $safe(*vi);
            }
            if safe {
                for (q, vi) in xb.iter_mut().zip(v) {
                    store(q, $f4(vi));
                }
            } else {
                for xv in xb.iter_mut() {
                    quad(xv);
                }
            }
        }
        for xv in xq {
            quad(xv);
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

/// y_i ← tanh x_i: the whole octets on AVX-512F when this CPU has it (bit-identical,
/// faster: `super::super::avx512`), the rest by [`tanh_quads`].
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh(x: &[f64], y: &mut [f64]) {
    let done = if avx512::available() {
        // SAFETY: AVX-512F was detected on this CPU.
        unsafe { avx512::tanh_octets(x, y) }
    } else {
        0
    };
    tanh_quads(&x[done..], &mut y[done..])
}

/// z ← z + 1bᵀ (rows of d = b.len() entries, d dividing 16) and y ← tanh z: the whole
/// octets in one pass on AVX-512F when present, the rest (and everything without it) as
/// the add then [`tanh_quads`]. The same bits as adding, then [`tanh`].
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_with_bias(b: &[f64], z: &mut [f64], y: &mut [f64]) {
    let d = b.len();
    assert!(d > 0 && 16 % d == 0 && z.len().is_multiple_of(d) && z.len() == y.len());
    let mut pattern = [0.0; 16]; // b repeated: entry j of the flat z gets pattern[j % 16]
    pattern
        .iter_mut()
        .zip(b.iter().cycle())
        .for_each(|(p, b)| *p = *b);
    let done = if avx512::available() {
        // SAFETY: AVX-512F was detected on this CPU.
        unsafe { avx512::tanh_octets_with_bias(&pattern, z, y) }
    } else {
        0
    };
    let (z, y) = (&mut z[done..], &mut y[done..]);
    let phase = done % 16;
    for (i, v) in z.iter_mut().enumerate() {
        *v += pattern[(phase + i) % 16];
    }
    tanh_quads(z, y)
}

/// y_i ← tanh x_i on AVX2 alone.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_quads(x: &[f64], y: &mut [f64]) {
    map_quads!(x, y, safe: always, vector: tanh4, scalar: portable::value, Activation::Tanh, group: TANH_GROUP)
}

/// x_i ← tanh x_i, as [`tanh`].
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh_in_place(x: &mut [f64]) {
    let done = if avx512::available() {
        // SAFETY: AVX-512F was detected on this CPU.
        unsafe { avx512::tanh_octets_in_place(x) }
    } else {
        0
    };
    let x = &mut x[done..];
    map_quads_in_place!(x, safe: always, vector: tanh4, scalar: portable::value, Activation::Tanh, group: TANH_GROUP)
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

    /// tanh on AVX-512F octets (when present) has the bits of the AVX2 quads, at every
    /// length (the octets, then quads, then the scalar tail) and at the edge values.
    #[test]
    fn tanh_with_avx512_has_the_avx2_bits() {
        if !crate::dispatch::avx2_fma_available() || !avx512::available() {
            eprintln!("no AVX-512F here: nothing to compare");
            return;
        }
        let special = [
            0.0,
            -0.0,
            1e-300,
            -5e-324,
            1e-8,
            0.17,
            -0.3466,
            0.3467,
            0.5,
            -1.0,
            2.5,
            18.9,
            -19.1,
            20.0,
            20.5,
            354.0,
            -1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut x: Vec<f64> = special.to_vec();
        x.extend((0..4000).map(|i| (f64::from(i) - 2000.0) * 0.0123 + 1e-3));
        for len in (0..40).chain([x.len() - 1, x.len()]) {
            let (mut fast, mut plain, mut in_place) =
                (vec![0.0; len], vec![0.0; len], x[..len].to_vec());
            // SAFETY: avx2 and fma were detected above.
            unsafe {
                tanh(&x[..len], &mut fast);
                tanh_quads(&x[..len], &mut plain);
                tanh_in_place(&mut in_place);
            }
            for i in 0..len {
                let want = plain[i].to_bits();
                assert_eq!(fast[i].to_bits(), want, "tanh({}) at {i} of {len}", x[i]);
                assert_eq!(
                    in_place[i].to_bits(),
                    want,
                    "in place: tanh({}) at {i} of {len}",
                    x[i]
                );
            }
        }
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
