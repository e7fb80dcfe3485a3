//! AVX-512F tanh: the AVX2 kernel's operations (`avx2/elementwise.rs`, `tanh4`) on eight
//! lanes, lane for lane the same roundings, so results are bit-identical to the AVX2 path.
//!
//! Why: on the benches' Zen 4 the AVX2 tanh is bound by how many of its ≈ 50-cycle
//! dependency chains are in flight, and sixteen ymm registers hold only eight quads'
//! chains (sixteen spill: +70%). Four octets per iteration put the same 32 lanes in flight
//! in half the instructions, with thirty-two registers to hold their intermediates (Zen 4
//! executes a zmm operation as two ymm halves, so the gain is in issue and spills, not in
//! width): 4096 values 3.86 → 2.89 µs (`benches/level12.rs`, `tanh/avx2/4096`; set
//! `PUMA_NO_AVX512=1` to measure the AVX2 quads alone).

use core::arch::x86_64::*;

use super::avx2::{EXPM1_Q, TANH_ONE};
use crate::chunks::{chunks, chunks_mut};

/// Whether to use AVX-512F: this CPU has it and `PUMA_NO_AVX512` is unset (read once).
/// The results are the same bits either way; the switch is for measuring the AVX2 path.
pub(crate) fn available() -> bool {
    static USE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *USE.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::env::var_os("PUMA_NO_AVX512").is_none()
    })
}

/// Octets per iteration of the tanh loops (even: [`tanh_octets_with_bias`] alternates two
/// bias octets).
const GROUP: usize = 4;
const _: () = assert!(GROUP.is_multiple_of(2));

/// Loads one octet.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(q: &[f64; 8]) -> __m512d {
    // SAFETY: `q` is eight readable f64s; `loadu` has no alignment requirement.
    unsafe { _mm512_loadu_pd(q.as_ptr()) }
}

/// Stores one octet.
#[inline]
#[target_feature(enable = "avx512f")]
fn store(q: &mut [f64; 8], v: __m512d) {
    // SAFETY: `q` is eight writable f64s; `storeu` has no alignment requirement.
    unsafe { _mm512_storeu_pd(q.as_mut_ptr(), v) }
}

/// Q(r) of the AVX2 kernel's `expm1_q`, the same Estrin scheme.
#[inline]
#[target_feature(enable = "avx512f")]
fn expm1_q(r: __m512d, r2: __m512d) -> __m512d {
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn pair(j: usize, r: __m512d) -> __m512d {
        let (c_j, c_next) = (_mm512_set1_pd(EXPM1_Q[j]), _mm512_set1_pd(EXPM1_Q[j + 1]));
        _mm512_fmadd_pd(c_next, r, c_j)
    }
    let r4 = _mm512_mul_pd(r2, r2);
    let q0 = _mm512_fmadd_pd(pair(2, r), r2, pair(0, r));
    let q1 = _mm512_fmadd_pd(pair(6, r), r2, pair(4, r));
    _mm512_fmadd_pd(_mm512_fmadd_pd(pair(8, r), r4, q1), r4, q0)
}

/// tanh x on eight lanes: `tanh4` of the AVX2 kernel, operation for operation.
#[inline]
#[target_feature(enable = "avx512f")]
fn tanh8(x: __m512d) -> __m512d {
    const SHIFT: f64 = 6_755_399_441_056_767.0; // 1.5 · 2⁵² + 1023
    const LN2_HI: f64 = std::f64::consts::LN_2;
    let sign_bit = _mm512_set1_pd(-0.0);
    let one = _mm512_set1_pd(1.0);
    let neg_abs = _mm512_castsi512_pd(_mm512_or_si512(
        _mm512_castpd_si512(x),
        _mm512_castpd_si512(sign_bit),
    )); // −|x|
    let neg_abs = _mm512_max_pd(_mm512_set1_pd(-TANH_ONE), neg_abs); // NaN kept
    // exp_reduce::<false>(neg_abs, 2.0)
    let shift = _mm512_set1_pd(SHIFT);
    let t = _mm512_mul_pd(_mm512_set1_pd(2.0), neg_abs);
    let k_shifted = _mm512_fmadd_pd(
        neg_abs,
        _mm512_set1_pd(2.0 * std::f64::consts::LOG2_E),
        shift,
    );
    let k = _mm512_sub_pd(k_shifted, shift);
    let r = _mm512_fnmadd_pd(k, _mm512_set1_pd(LN2_HI), t);
    let r2 = _mm512_mul_pd(r, r);
    let em1_r = _mm512_fmadd_pd(r2, expm1_q(r, r2), r);
    let two_k = _mm512_castsi512_pd(_mm512_slli_epi64::<52>(_mm512_castpd_si512(k_shifted)));
    let u = _mm512_fnmadd_pd(two_k, em1_r, _mm512_sub_pd(one, two_k)); // 1 − eᵗ
    let tanh_abs = _mm512_div_pd(u, _mm512_sub_pd(_mm512_set1_pd(2.0), u));
    let sign = _mm512_castsi512_pd(_mm512_and_si512(
        _mm512_castpd_si512(x),
        _mm512_castpd_si512(sign_bit),
    ));
    _mm512_castsi512_pd(_mm512_xor_si512(
        _mm512_castpd_si512(tanh_abs),
        _mm512_castpd_si512(sign),
    ))
}

/// y_i ← tanh x_i for the whole octets of x, [`GROUP`] per iteration; returns how many
/// leading entries it wrote (a multiple of 8), leaving the rest to the AVX2 kernel.
#[target_feature(enable = "avx512f")]
pub(crate) fn tanh_octets(x: &[f64], y: &mut [f64]) -> usize {
    assert_eq!(x.len(), y.len());
    let (xo, _) = chunks::<_, 8>(x);
    let (yo, _) = chunks_mut::<_, 8>(y);
    let (xg, xo) = chunks::<_, GROUP>(xo);
    let (yg, yo) = chunks_mut::<_, GROUP>(yo);
    for (xb, yb) in xg.iter().zip(yg) {
        let mut v = [_mm512_setzero_pd(); GROUP];
        for (vi, q) in v.iter_mut().zip(xb) {
            *vi = load(q);
        }
        for (q, vi) in yb.iter_mut().zip(v) {
            store(q, tanh8(vi));
        }
    }
    for (xv, yv) in xo.iter().zip(yo) {
        store(yv, tanh8(load(xv)));
    }
    x.len() / 8 * 8
}

/// x_i ← tanh x_i for the whole octets of x: [`tanh_octets`] in place.
#[target_feature(enable = "avx512f")]
pub(crate) fn tanh_octets_in_place(x: &mut [f64]) -> usize {
    let n = x.len() / 8 * 8;
    let (xo, _) = chunks_mut::<_, 8>(x);
    let (xg, xo) = chunks_mut::<_, GROUP>(xo);
    for xb in xg {
        let mut v = [_mm512_setzero_pd(); GROUP];
        for (vi, q) in v.iter_mut().zip(xb.iter()) {
            *vi = load(q);
        }
        for (q, vi) in xb.iter_mut().zip(v) {
            store(q, tanh8(vi));
        }
    }
    for xv in xo {
        let v = load(xv);
        store(xv, tanh8(v));
    }
    n
}

/// z ← z + p and y ← tanh z for the whole octets of z, where entry j of z gets the bias
/// `pattern[j % 16]` (a layer's b repeated, for rows whose length divides 16); returns how
/// many leading entries it did (a multiple of 8).
#[target_feature(enable = "avx512f")]
pub(crate) fn tanh_octets_with_bias(pattern: &[f64; 16], z: &mut [f64], y: &mut [f64]) -> usize {
    assert_eq!(z.len(), y.len());
    let (lo, hi): ([f64; 8], [f64; 8]) = (
        std::array::from_fn(|i| pattern[i]),
        std::array::from_fn(|i| pattern[8 + i]),
    );
    let bias = [load(&lo), load(&hi)];
    let (zo, _) = chunks_mut::<_, 8>(z);
    let (yo, _) = chunks_mut::<_, 8>(y);
    let n = zo.len() * 8;
    // GROUP is even, so every group starts on an even octet: bias[0] first
    let (zg, zo) = chunks_mut::<_, GROUP>(zo);
    let (yg, yo) = chunks_mut::<_, GROUP>(yo);
    for (zb, yb) in zg.iter_mut().zip(yg) {
        let mut v = [_mm512_setzero_pd(); GROUP];
        for (o, (vi, q)) in v.iter_mut().zip(zb.iter_mut()).enumerate() {
            *vi = _mm512_add_pd(load(q), bias[o % 2]);
            store(q, *vi);
        }
        for (q, vi) in yb.iter_mut().zip(v) {
            store(q, tanh8(vi));
        }
    }
    for (o, (zv, yv)) in zo.iter_mut().zip(yo).enumerate() {
        let v = _mm512_add_pd(load(zv), bias[o % 2]);
        store(zv, v);
        store(yv, tanh8(v));
    }
    n
}
