//! AVX2+FMA row softmax with each row's log-sum-exp, for the MLP's softmax cross-entropy:
//!
//! ```text
//! m_i = max_j x_ij,   e_ij = e^{x_ij − m_i} ∈ (0, 1],   s_i = Σ_j e_ij ∈ [1, cols]
//! p_ij = e_ij · (1/s_i),   lse_i = m_i + ln s_i
//! ```
//!
//! Logit rows are short (2 or 10 classes), so a per-row `ln` and division cost as much as
//! the row's exponentials. Rows of fewer than [`NARROW`] = 17 entries are therefore taken
//! four at a time, one register per column, lane r holding row r:
//!
//! ```text
//! v_j = [x_0j  x_1j  x_2j  x_3j]      (column j of a block of four rows, j < cols)
//! m   = max_j v_j,   e_j = exp4(v_j − m),   s = Σ_j e_j
//! lse = m + ln4(s),  p_j = e_j · (1/s)    (one ln4 and one division per four rows)
//! ```
//!
//! and the p_j are scattered back. One block's chain (gather, max, exp4, sum, ln4) is
//! ≈ 150 cycles deep for a few dozen cycles of issue, so [`BLOCKS`] blocks go side by side.
//! Wider rows are vectorised along the row (max, exp4 and sum over quads, the last partial
//! quad as an overlapping quad with the repeated lanes masked out of the sum), four rows in
//! step again, so that their chains overlap and their four sums share one `ln4` and one
//! division.
//!
//! `ln4` is fdlibm's `e_log.c` (Sun Microsystems, 1993) lane-wise, without branches:
//!
//! ```text
//! s = 2ᵏ (1 + u),   1 + u ∈ [√½, √2)        (exponent and mantissa by bit operations)
//! z = u / (2 + u),   ln(1 + u) = 2 atanh z = u − u²/2 + z (u²/2 + R(z²))
//! ln s = k·ln2_hi − ((u²/2 − (z (u²/2 + R) + k·ln2_lo)) − u)
//! ```
//!
//! with R of degree 7 in z² (|z| ≤ 0.1716; fdlibm bounds the fit by 2⁻⁵⁸·⁴⁵) and ln2_hi
//! short enough that k·ln2_hi is exact. fdlibm's bound is < 1 ulp; the unit test below
//! measures ≤ 1 ulp of std's `ln` (allowing 2) over [1, 8] and over 10⁻³⁰⁰ … 10³⁰⁰. Valid
//! for positive normal finite s, which is all the softmax gives it (s ∈ [1, cols]).
//!
//! Accuracy of the kernel: e_ij within 1 ulp of std's `exp` (`exp4`), so s and p_ij within
//! a few ulp of the portable path's (tests: ≤ 2.5 ε·p apart), and lse_i within a few ulp of
//! max(|lse_i|, 1). Where some e^{x − m} would be subnormal or zero (x − m < −708) or NaN
//! (a row holding NaN or +∞, or only −∞), narrow rows take the portable path for their
//! whole group of blocks and wide rows std's `exp` for those lanes, so edge behaviour is the
//! portable one.
//!
//! Measured in `benches/level12.rs` (`softmax_rows/*`, criterion medians on the shared
//! 2-core box, load ≈ 3): 1000 rows × 2 in 3.9 µs (portable 20.5, naive 26–31 µs), 256 rows
//! × 10 in 3.7–3.9 µs (portable 14.4–15.0, naive 28–29 µs).

use super::elementwise::{EXP_SAFE, exp4};
use super::{chunks_mut, load, store};
use crate::portable;
use bytemuck::Pod;
use core::arch::x86_64::*;

/// Rows with fewer entries are evaluated four rows at a time, one register per column.
/// Measured on 256 rows (min of 200 × 20 calls): across rows 3.2, 4.0, 4.6, 6.1 µs for
/// 8, 10, 12, 16 columns, against 4.4, 5.7, 5.7, 7.2 µs along the rows (the overlapping
/// last quad and the in-row reductions cost more than the gather and scatter).
const NARROW: usize = 17;

/// x ← row softmax, lse ← row log-sum-exp (`x.len() = cols · lse.len()`, checked by the
/// caller; also asserted here by the slicing).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn softmax_rows_in_place(cols: usize, x: &mut [f64], lse: &mut [f64]) {
    const { assert!(NARROW == 17) }; // one arm per width below
    match cols {
        0 => {}
        1 => narrow::<1>(x, lse),
        2 => narrow::<2>(x, lse),
        3 => narrow::<3>(x, lse),
        4 => narrow::<4>(x, lse),
        5 => narrow::<5>(x, lse),
        6 => narrow::<6>(x, lse),
        7 => narrow::<7>(x, lse),
        8 => narrow::<8>(x, lse),
        9 => narrow::<9>(x, lse),
        10 => narrow::<10>(x, lse),
        11 => narrow::<11>(x, lse),
        12 => narrow::<12>(x, lse),
        13 => narrow::<13>(x, lse),
        14 => narrow::<14>(x, lse),
        15 => narrow::<15>(x, lse),
        16 => narrow::<16>(x, lse),
        _ => wide(cols, x, lse),
    }
}

/// Blocks of four rows interleaved per call of [`blocks`]: their dependency chains (≈ 150
/// cycles: gather, max, exp4, sum, ln4) are independent and overlap. Measured on 1000 rows
/// of 2 (`benches/level12.rs`): 1 block per call 5.6 µs, 2 blocks 4.7 µs, 4 blocks 3.7 µs.
const BLOCKS: usize = 4;

/// Rows of `C` < [`NARROW`] entries, four at a time by [`blocks`] ([`BLOCKS`] blocks per
/// call); the last one to three rows are copied into a block padded with rows of zeros.
#[target_feature(enable = "avx2,fma")]
fn narrow<const C: usize>(x: &mut [f64], lse: &mut [f64])
where
    [f64; C]: Pod,
    [[f64; C]; 4]: Pod,
    [[[f64; C]; 4]; BLOCKS]: Pod,
{
    let (rows, rest) = chunks_mut::<f64, C>(x);
    assert!(rest.is_empty() && rows.len() == lse.len());
    let (quads, rows_t) = chunks_mut::<[f64; C], 4>(rows);
    let (lse4, lse_t) = chunks_mut::<f64, 4>(lse);
    let (groups, quads) = chunks_mut::<[[f64; C]; 4], BLOCKS>(quads);
    let (lse_groups, lse4) = chunks_mut::<[f64; 4], BLOCKS>(lse4);
    for (b, l) in groups.iter_mut().zip(lse_groups) {
        blocks::<C, BLOCKS>(b, l);
    }
    for (b, l) in quads.iter_mut().zip(lse4) {
        blocks::<C, 1>(core::array::from_mut(b), core::array::from_mut(l));
    }
    if !rows_t.is_empty() {
        let mut b = [[0.0; C]; 4];
        let mut l = [0.0; 4];
        b[..rows_t.len()].copy_from_slice(rows_t);
        blocks::<C, 1>(core::array::from_mut(&mut b), core::array::from_mut(&mut l));
        rows_t.copy_from_slice(&b[..rows_t.len()]);
        lse_t.copy_from_slice(&l[..lse_t.len()]);
    }
}

/// `G` blocks of four rows of `C` entries (`b[g][r]` is row r of block g), each in the
/// register layout of the module doc, step by step side by side.
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // g and j index several arrays in step
fn blocks<const C: usize, const G: usize>(b: &mut [[[f64; C]; 4]; G], lse: &mut [[f64; 4]; G]) {
    let mut v = [[_mm256_setzero_pd(); C]; G];
    let mut m = [_mm256_set1_pd(f64::NEG_INFINITY); G];
    for g in 0..G {
        for j in 0..C {
            let bg = &b[g];
            v[g][j] = _mm256_setr_pd(bg[0][j], bg[1][j], bg[2][j], bg[3][j]); // column j
            m[g] = _mm256_max_pd(v[g][j], m[g]); // a NaN lane of v returns m: NaN skipped
        }
    }
    let floor = _mm256_set1_pd(-EXP_SAFE);
    let mut ok = _mm256_cmp_pd::<_CMP_EQ_OQ>(floor, floor); // all ones
    for g in 0..G {
        for j in 0..C {
            v[g][j] = _mm256_sub_pd(v[g][j], m[g]); // t = x − m ≤ 0
            ok = _mm256_and_pd(ok, _mm256_cmp_pd::<_CMP_GE_OQ>(v[g][j], floor)); // NaN: false
        }
    }
    if _mm256_movemask_pd(ok) != 0b1111 {
        // A subnormal or zero e^t, or a NaN: these rows as the portable path does them.
        for (bg, lg) in b.iter_mut().zip(lse) {
            portable::softmax_rows_in_place(C, bg.as_flattened_mut(), lg);
        }
        return;
    }
    let mut s = [_mm256_setzero_pd(); G];
    for j in 0..C {
        for g in 0..G {
            v[g][j] = exp4(v[g][j]); // e_j
            s[g] = _mm256_add_pd(s[g], v[g][j]); // Σ_j e_j ∈ [1, C], in the portable order
        }
    }
    let mut inv = [_mm256_setzero_pd(); G];
    for g in 0..G {
        inv[g] = _mm256_div_pd(_mm256_set1_pd(1.0), s[g]);
        store(&mut lse[g], _mm256_add_pd(m[g], ln4(s[g]))); // m + ln s
    }
    for g in 0..G {
        for j in 0..C {
            let mut p = [0.0; 4];
            store(&mut p, _mm256_mul_pd(v[g][j], inv[g])); // p_j = e_j / s
            for (row, pr) in b[g].iter_mut().zip(p) {
                row[j] = pr;
            }
        }
    }
}

/// Rows of `cols` ≥ [`NARROW`] entries, vectorised along each row: four rows at a time in
/// step by [`wide_block`], the last one to three rows one by one by [`wide_row`].
#[target_feature(enable = "avx2,fma")]
fn wide(cols: usize, x: &mut [f64], lse: &mut [f64]) {
    assert!(cols >= 4 && x.len() == cols * lse.len());
    let (lse4, lse_t) = chunks_mut::<f64, 4>(lse);
    let (xb, xt) = x.split_at_mut(lse4.len() * 4 * cols);
    for (b, l) in xb.chunks_exact_mut(4 * cols).zip(lse4) {
        wide_block(cols, b, l);
    }
    for (row, l) in xt.chunks_exact_mut(cols).zip(lse_t) {
        wide_row(row, l);
    }
}

/// One row alone: [`exp_row`], then p = e · (1/s) and lse = m + ln s with std's `ln`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn wide_row(row: &mut [f64], lse: &mut f64) {
    let (m, s) = exp_row(row);
    scale_row(row, _mm256_set1_pd(1.0 / s));
    *lse = m + s.ln();
}

/// [max(a), max(b), max(c), max(d)] or the same with sums (`SUM`), by a 4 × 4 transpose
/// folded into the reduction: pairs within 128-bit halves, then the halves.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn reduce4<const SUM: bool>(v: [__m256d; 4]) -> __m256d {
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn op<const SUM: bool>(a: __m256d, b: __m256d) -> __m256d {
        if SUM {
            _mm256_add_pd(a, b)
        } else {
            _mm256_max_pd(a, b)
        }
    }
    let [a, b, c, d] = v;
    let ab = op::<SUM>(_mm256_unpacklo_pd(a, b), _mm256_unpackhi_pd(a, b)); // a01 b01 a23 b23
    let cd = op::<SUM>(_mm256_unpacklo_pd(c, d), _mm256_unpackhi_pd(c, d)); // c01 d01 c23 d23
    let lo = _mm256_permute2f128_pd::<0x20>(ab, cd); // a01 b01 c01 d01
    let hi = _mm256_permute2f128_pd::<0x31>(ab, cd); // a23 b23 c23 d23
    op::<SUM>(lo, hi)
}

/// Each lane of v broadcast to a register.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn lanes(v: __m256d) -> [__m256d; 4] {
    [
        _mm256_permute4x64_pd::<0x00>(v),
        _mm256_permute4x64_pd::<0x55>(v),
        _mm256_permute4x64_pd::<0xaa>(v),
        _mm256_permute4x64_pd::<0xff>(v),
    ]
}

/// Four rows of `cols` ≥ [`NARROW`] entries (`b` = the rows one after another) in step, so
/// that their max, exp and sum chains overlap, with one `ln4` and one division for the four:
/// the per-row steps of [`exp_row`] and [`scale_row`], the row reductions by [`reduce4`].
#[inline]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::needless_range_loop)] // r indexes several arrays in step
fn wide_block(cols: usize, b: &mut [f64], lse: &mut [f64; 4]) {
    let neg_inf = _mm256_set1_pd(f64::NEG_INFINITY);
    let (r01, r23) = b.split_at_mut(2 * cols);
    let (r0, r1) = r01.split_at_mut(cols);
    let (r2, r3) = r23.split_at_mut(cols);
    let rows = [r0, r1, r2, r3];
    // Invariant: cols ≥ NARROW > 4 (the only rows the caller sends here), so every slice
    // converted to [f64; 4] below is exactly four entries inside its row: the `expect`s
    // cannot fire.
    let last_at = cols - 4;
    let mut v_last = [neg_inf; 4];
    let mut mv = [neg_inf; 4];
    for r in 0..4 {
        let last: &[f64; 4] = rows[r][last_at..]
            .try_into()
            .expect("a row has ≥ 4 entries");
        v_last[r] = load(last);
        mv[r] = _mm256_max_pd(v_last[r], neg_inf); // NaN lanes → −∞ (skipped)
    }
    let nq = cols / 4;
    for qi in 0..nq {
        for r in 0..4 {
            let q: &[f64; 4] = rows[r][4 * qi..4 * qi + 4].try_into().expect("in the row");
            mv[r] = _mm256_max_pd(load(q), mv[r]); // NaN skipped
        }
    }
    let m = reduce4::<false>(mv); // [m0 m1 m2 m3]
    let mb = lanes(m);
    let mut sv = [_mm256_setzero_pd(); 4];
    for qi in 0..nq {
        for r in 0..4 {
            let q: &mut [f64; 4] = (&mut rows[r][4 * qi..4 * qi + 4])
                .try_into()
                .expect("in the row");
            let e = exp4_nonpositive(_mm256_sub_pd(load(q), mb[r]));
            sv[r] = _mm256_add_pd(sv[r], e);
            store(q, e);
        }
    }
    let tail = cols % 4; // the last `tail` lanes of the overlapping quad are new
    if tail > 0 {
        let lane = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
        let new = _mm256_cmp_pd::<_CMP_GE_OQ>(lane, _mm256_set1_pd((4 - tail) as f64));
        for r in 0..4 {
            let e = exp4_nonpositive(_mm256_sub_pd(v_last[r], mb[r]));
            sv[r] = _mm256_add_pd(sv[r], _mm256_and_pd(e, new));
            let last: &mut [f64; 4] = (&mut rows[r][last_at..]).try_into().expect("as above");
            store(last, e); // repeated lanes: the values already there
        }
    }
    let s = reduce4::<true>(sv); // [s0 s1 s2 s3]
    let inv = lanes(_mm256_div_pd(_mm256_set1_pd(1.0), s));
    // s is NaN when the row holds NaN or +∞, or only −∞ (ln4 needs s normal): lse = NaN.
    let nan_s = _mm256_cmp_pd::<_CMP_UNORD_Q>(s, s);
    store(lse, _mm256_blendv_pd(_mm256_add_pd(m, ln4(s)), s, nan_s)); // m + ln s
    for r in 0..4 {
        scale_row(rows[r], inv[r]);
    }
}

/// e^t lane-wise for t ≤ 0: `exp4` where t ≥ −708, std's `exp` (subnormal, zero, NaN) in
/// the other lanes, so that each lane's value depends on that lane's t only.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp4_nonpositive(t: __m256d) -> __m256d {
    let floor = _mm256_set1_pd(-EXP_SAFE);
    let ok = _mm256_cmp_pd::<_CMP_GE_OQ>(t, floor); // false for NaN
    let e = exp4(_mm256_max_pd(floor, t)); // max(floor, NaN) = NaN
    if _mm256_movemask_pd(ok) == 0b1111 {
        return e;
    }
    let (mut tl, mut el) = ([0.0; 4], [0.0; 4]);
    store(&mut tl, t);
    store(&mut el, e);
    for (ei, ti) in el.iter_mut().zip(tl) {
        if ti < -EXP_SAFE || ti.is_nan() {
            *ei = ti.exp();
        }
    }
    load(&el)
}

/// One row of ≥ 4 entries: x ← e^{x − m}, returning (m, s = Σ e^{x − m}).
///
/// The last, partial quad is the overlapping quad `row[len − 4..]`: the max is unchanged
/// by repeated lanes, its e lanes equal the ones already stored, and the repeated lanes
/// are masked out of the sum.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_row(row: &mut [f64]) -> (f64, f64) {
    let n = row.len();
    let neg_inf = _mm256_set1_pd(f64::NEG_INFINITY);
    // Invariant: n ≥ 4 (documented above, checked by the caller), so both conversions to
    // [f64; 4] below take exactly the last four entries: the `expect`s cannot fire.
    let last_at = n - 4;
    let last: &[f64; 4] = row[last_at..].try_into().expect("a row has ≥ 4 entries");
    let v_last = load(last);
    let (rq, _) = chunks_mut::<_, 4>(row);
    let mut mv = _mm256_max_pd(v_last, neg_inf); // NaN lanes → −∞ (skipped)
    for q in rq.iter() {
        mv = _mm256_max_pd(load(q), mv); // NaN skipped
    }
    let half = _mm256_max_pd(mv, _mm256_permute4x64_pd::<0b01_00_11_10>(mv));
    let m4 = _mm256_max_pd(half, _mm256_permute_pd::<0b0101>(half)); // row max in each lane
    let mut sv = _mm256_setzero_pd();
    for q in rq.iter_mut() {
        let e = exp4_nonpositive(_mm256_sub_pd(load(q), m4));
        sv = _mm256_add_pd(sv, e);
        store(q, e);
    }
    let tail = n % 4; // the last `tail` lanes of the overlapping quad are new
    if tail > 0 {
        let e = exp4_nonpositive(_mm256_sub_pd(v_last, m4));
        let lane = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
        let new = _mm256_cmp_pd::<_CMP_GE_OQ>(lane, _mm256_set1_pd((4 - tail) as f64));
        sv = _mm256_add_pd(sv, _mm256_and_pd(e, new));
        let last: &mut [f64; 4] = (&mut row[last_at..]).try_into().expect("as above");
        store(last, e);
    }
    let mut m = [0.0; 4];
    store(&mut m, m4);
    (m[0], super::hsum(sv))
}

/// row ← row · inv (`inv` the same in every lane).
#[inline]
#[target_feature(enable = "avx2,fma")]
fn scale_row(row: &mut [f64], inv: __m256d) {
    let (rq, rt) = chunks_mut::<_, 4>(row);
    for q in rq {
        store(q, _mm256_mul_pd(load(q), inv));
    }
    let inv = _mm_cvtsd_f64(_mm256_castpd256_pd128(inv));
    for v in rt {
        *v *= inv;
    }
}

/// fdlibm's log coefficients Lg1 … Lg7: R(w) ≈ (ln((1 + z)/(1 − z)) − 2z)/z on w = z²,
/// z ∈ [−0.1716, 0.1716] (error of the fit < 2⁻⁵⁸·⁴⁵).
const LG: [f64; 7] = [
    6.666_666_666_666_735e-1,
    3.999_999_999_940_942e-1,
    2.857_142_874_366_239e-1,
    2.222_219_843_214_978_4e-1,
    1.818_357_216_161_805e-1,
    1.531_383_769_920_937_3e-1,
    1.479_819_860_511_658_6e-1,
];

/// ln s lane-wise for positive normal finite s, by fdlibm's method (module doc): within
/// 1 ulp of std's `ln`. Other inputs (0, subnormal, negative, ∞, NaN) give unspecified
/// finite values; callers exclude them.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn ln4(s: __m256d) -> __m256d {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1; // ln 2 with 21 trailing zero bits
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10; // ln 2 − LN2_HI
    const MANTISSA: i64 = 0x000f_ffff_ffff_ffff;
    const ONE: i64 = 0x3ff0_0000_0000_0000; // 1.0
    const TWO52: i64 = 0x4330_0000_0000_0000; // 2⁵²
    let one = _mm256_set1_pd(1.0);
    let bits = _mm256_castpd_si256(s);
    // s = 2^(b − 1023) · f, f ∈ [1, 2): f from the mantissa bits under a zero exponent, the
    // biased exponent b as a double from the bits of 2⁵² + b.
    let mant = _mm256_and_si256(bits, _mm256_set1_epi64x(MANTISSA));
    let f = _mm256_castsi256_pd(_mm256_or_si256(mant, _mm256_set1_epi64x(ONE)));
    let b = _mm256_or_si256(_mm256_srli_epi64::<52>(bits), _mm256_set1_epi64x(TWO52));
    let b = _mm256_sub_pd(
        _mm256_castsi256_pd(b),
        _mm256_set1_pd(4_503_599_627_370_496.0),
    );
    // f ≥ √2: f/2 ∈ [√½, 1) and k + 1, so 1 + u = f ∈ [√½, √2).
    let big = _mm256_cmp_pd::<_CMP_GE_OQ>(f, _mm256_set1_pd(std::f64::consts::SQRT_2));
    let f = _mm256_blendv_pd(f, _mm256_mul_pd(f, _mm256_set1_pd(0.5)), big);
    let k = _mm256_add_pd(
        _mm256_sub_pd(b, _mm256_set1_pd(1023.0)),
        _mm256_and_pd(big, one),
    );
    let u = _mm256_sub_pd(f, one); // exact (Sterbenz)
    let z = _mm256_div_pd(u, _mm256_add_pd(_mm256_set1_pd(2.0), u)); // u / (2 + u)
    let w = _mm256_mul_pd(z, z);
    let w2 = _mm256_mul_pd(w, w);
    /// Lg_{j+1} in every lane.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn c(j: usize) -> __m256d {
        _mm256_set1_pd(LG[j])
    }
    // R = w(Lg1 + w²(Lg3 + w²(Lg5 + w² Lg7))) + w²(Lg2 + w²(Lg4 + w² Lg6)), as fdlibm.
    let odd = _mm256_fmadd_pd(_mm256_fmadd_pd(c(6), w2, c(4)), w2, c(2));
    let odd = _mm256_mul_pd(w, _mm256_fmadd_pd(odd, w2, c(0)));
    let even = _mm256_fmadd_pd(_mm256_fmadd_pd(c(5), w2, c(3)), w2, c(1));
    let r = _mm256_fmadd_pd(w2, even, odd);
    let hfsq = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), u), u); // u²/2
    let t = _mm256_fmadd_pd(
        z,
        _mm256_add_pd(hfsq, r),
        _mm256_mul_pd(k, _mm256_set1_pd(LN2_LO)),
    );
    let inner = _mm256_sub_pd(_mm256_sub_pd(hfsq, t), u); // (u²/2 − (z(u²/2 + R) + k lo)) − u
    _mm256_fmsub_pd(k, _mm256_set1_pd(LN2_HI), inner) // k·hi exact
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Largest |ln4(s) − ln(s)| in ulps of ln(s) (ε·max(|ln s|, 2⁻¹⁰²²) units) over the
    /// given points.
    #[target_feature(enable = "avx2,fma")]
    fn ln4_worst_ulps(points: &[f64]) -> f64 {
        let mut worst = 0.0_f64;
        let (quads, _) = crate::chunks::chunks::<_, 4>(points);
        for q in quads {
            let mut got = [0.0; 4];
            store(&mut got, ln4(load(q)));
            for (s, g) in q.iter().zip(got) {
                let want = s.ln();
                let ulp = f64::EPSILON * want.abs().max(f64::MIN_POSITIVE);
                worst = worst.max((g - want).abs() / ulp);
            }
        }
        worst
    }

    #[test]
    fn ln4_is_within_2_ulp_of_std() {
        if !crate::dispatch::avx2_fma_available() {
            return;
        }
        // [1, 8] densely (the softmax's range), around 1 and √2, and 1e-300 … 1e300.
        let mut points: Vec<f64> = (0..400_000)
            .map(|i| 1.0 + 7.0 * f64::from(i) / 4e5)
            .collect();
        points.extend((1..40_000).flat_map(|i| {
            let d = f64::from(i) * 1e-12;
            [
                1.0 + d,
                1.0 - d,
                std::f64::consts::SQRT_2 + d,
                std::f64::consts::SQRT_2 - d,
            ]
        }));
        points.extend((0..200_000).map(|i| 10f64.powf(-300.0 + 600.0 * f64::from(i) / 2e5)));
        points.extend([
            f64::MIN_POSITIVE,
            f64::MAX,
            0.5,
            2.0,
            1.0,
            1.0 + f64::EPSILON,
            3.0,
            7.0,
        ]);
        // SAFETY: avx2 and fma were detected just above.
        let worst = unsafe { ln4_worst_ulps(&points) };
        assert!(worst <= 2.0, "ln4 is {worst} ulp from std's ln");
        eprintln!("ln4: worst {worst:.2} ulp (ε·|ln s| units) from std's ln");
    }
}
