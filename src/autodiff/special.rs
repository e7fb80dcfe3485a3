//! The error function and the normal distribution, for the exact GELU x·Φ(x).
//!
//! ```text
//! erf(x)  = (2/√π) ∫₀ˣ e^{−t²} dt,      erfc(x) = 1 − erf(x),
//! Φ(x)    = ½ erfc(−x/√2),               φ(x)    = e^{−x²/2} / √(2π).
//! ```
//!
//! Rust's `std` has no `erf`, so this is W. J. Cody's rational Chebyshev approximation
//! (W. J. Cody, *Rational Chebyshev approximations for the error function*, Math. Comp. 23
//! (1969) 631–637; the coefficients of his SPECFUN routine CALERF, 1990), accurate to a few
//! ulps in f64 over the whole line. Three ranges:
//! - |x| ≤ 0.46875: erf(x) = x·R₁(x²), a (4,4) rational function;
//! - 0.46875 < |x| ≤ 4: erfc(x) = e^{−x²}·R₂(x), an (8,8) rational function;
//! - |x| > 4: erfc(x) = e^{−x²}/x · (1/√π + R₃(1/x²)/x²), a (5,5) rational function.
//!
//! e^{−x²} is evaluated as e^{−t²}·e^{−(x−t)(x+t)} with t = x rounded down to 1/16, so the
//! rounding error of x² is not amplified. erfc never cancels: erfc(x) for x > 0 comes from
//! the tail formula, not from 1 − erf(x). Cost: about 20 flops and two `exp`.

// Coefficients as Cody published them (more digits than f64 holds; the compiler rounds).
#![allow(clippy::excessive_precision)]

const A: [f64; 5] = [
    3.161_123_743_870_565_6,
    113.864_154_151_050_16,
    377.485_237_685_302_02,
    3_209.377_589_138_469_5,
    0.185_777_706_184_603_15,
];
const B: [f64; 4] = [
    23.601_290_952_344_12,
    244.024_637_934_444_17,
    1_282.616_526_077_372_3,
    2_844.236_833_439_170_6,
];
const C: [f64; 9] = [
    0.564_188_496_988_670_1,
    8.883_149_794_388_376,
    66.119_190_637_141_63,
    298.635_138_197_400_13,
    881.952_221_241_769_1,
    1_712.047_612_634_070_6,
    2_051.078_377_826_071_5,
    1_230.339_354_797_997_2,
    2.153_115_354_744_038_5e-8,
];
const D: [f64; 8] = [
    15.744_926_110_709_835,
    117.693_950_891_312_5,
    537.181_101_862_009_9,
    1_621.389_574_566_690_2,
    3_290.799_235_733_459_6,
    4_362.619_090_143_247,
    3_439.367_674_143_721_6,
    1_230.339_354_803_749_4,
];
const P: [f64; 6] = [
    0.305_326_634_961_232_34,
    0.360_344_899_949_804_45,
    0.125_781_726_111_229_25,
    0.016_083_785_148_742_277,
    6.587_491_615_298_378e-4,
    0.016_315_387_137_302_098,
];
const Q: [f64; 5] = [
    2.568_520_192_289_822_4,
    1.872_952_849_923_460_5,
    0.527_905_102_951_428_4,
    0.060_518_341_312_441_32,
    0.002_335_204_976_268_691_8,
];
/// 1/√π.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
/// Below this, erf(x) = 2x/√π to rounding.
const X_SMALL: f64 = 1.11e-16;
/// Above this, erfc(x) underflows to 0.
const X_BIG: f64 = 26.543;

/// erf(x) for |x| ≤ 0.46875: x·R₁(x²).
fn erf_small(x: f64) -> f64 {
    let y = x.abs();
    let ysq = if y > X_SMALL { y * y } else { 0.0 };
    let mut num = A[4] * ysq;
    let mut den = ysq;
    for i in 0..3 {
        num = (num + A[i]) * ysq;
        den = (den + B[i]) * ysq;
    }
    x * (num + A[3]) / (den + B[3])
}

/// erfc(y) for y > 0.46875.
fn erfc_large(y: f64) -> f64 {
    debug_assert!(y > 0.46875);
    let r = if y <= 4.0 {
        let mut num = C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + C[i]) * y;
            den = (den + D[i]) * y;
        }
        (num + C[7]) / (den + D[7])
    } else {
        if y >= X_BIG {
            return 0.0;
        }
        let ysq = 1.0 / (y * y);
        let mut num = P[5] * ysq;
        let mut den = ysq;
        for i in 0..4 {
            num = (num + P[i]) * ysq;
            den = (den + Q[i]) * ysq;
        }
        (FRAC_1_SQRT_PI - ysq * (num + P[4]) / (den + Q[4])) / y
    };
    // e^{−y²} = e^{−t²} · e^{−(y−t)(y+t)}, t = ⌊16y⌋/16, so t² is exact.
    let t = (y * 16.0).trunc() / 16.0;
    let del = (y - t) * (y + t);
    (-t * t).exp() * (-del).exp() * r
}

/// The error function erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt, to a few ulps (Cody 1969).
///
/// # Examples
/// ```
/// use puma::autodiff::special::erf;
/// assert!((erf(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
/// ```
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let y = x.abs();
    if y <= 0.46875 {
        return erf_small(x);
    }
    let e = (0.5 - erfc_large(y)) + 0.5;
    if x < 0.0 { -e } else { e }
}

/// The complementary error function erfc(x) = 1 − erf(x), without cancellation for large x.
///
/// # Examples
/// ```
/// use puma::autodiff::special::erfc;
/// assert!((erfc(5.0) / 1.537_459_794_428_035e-12 - 1.0).abs() < 1e-14);
/// ```
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let y = x.abs();
    if y <= 0.46875 {
        return (0.5 - erf_small(x)) + 0.5;
    }
    let c = erfc_large(y);
    if x < 0.0 { 2.0 - c } else { c }
}

/// The standard normal distribution function Φ(x) = ½ erfc(−x/√2).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal density φ(x) = e^{−x²/2} / √(2π).
pub fn normal_pdf(x: f64) -> f64 {
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error of `got` against `want`.
    fn rel(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    // Reference values to 30 digits (computed with mpmath at 35 digits), rounded to the
    // nearest f64 by the compiler.
    const ERF: [(f64, f64); 9] = [
        (1e-20, 1.128_379_167_095_512_573_896_158_903_12e-20),
        (0.1, 0.112_462_916_018_284_892_203_275_071_744),
        (0.3, 0.328_626_759_459_127_427_638_914_047_867),
        (0.46875, 0.492_613_473_217_937_991_588_176_101_935),
        (0.5, 0.520_499_877_813_046_537_682_746_653_892),
        (1.0, 0.842_700_792_949_714_869_341_220_635_083),
        (2.0, 0.995_322_265_018_952_734_162_069_256_367),
        (-0.7, -0.677_801_193_837_418_472_975_258_562_7),
        (-2.5, -0.999_593_047_982_555_041_060_435_784_260),
    ];
    const ERFC: [(f64, f64); 6] = [
        (3.0, 2.209_049_699_858_544_137_277_612_958_23e-5),
        (4.0, 1.541_725_790_028_001_885_215_967_348_69e-8),
        (4.5, 1.966_160_441_542_887_476_279_160_367_66e-10),
        (6.0, 2.151_973_671_249_891_311_659_335_039_92e-17),
        (10.0, 2.088_487_583_762_544_757_000_786_294_96e-45),
        (26.0, 5.663_192_408_856_142_846_475_727_262_1e-296),
    ];

    #[test]
    fn erf_matches_high_precision_values() {
        // Cody's approximations are accurate to ~1e-18 in exact arithmetic; in f64 the
        // evaluation adds a few roundings, so allow 4 ulps.
        let tol = 4.0 * f64::EPSILON;
        for (x, want) in ERF {
            assert!(
                rel(erf(x), want) <= tol,
                "erf({x}) = {:e}, want {want:e}",
                erf(x)
            );
            // erfc = 1 − erf, up to an absolute rounding of 1 (the reference 1 − want cancels).
            assert!(
                (erfc(x) - (1.0 - want)).abs() <= 4.0 * f64::EPSILON,
                "erfc({x})"
            );
        }
    }

    #[test]
    fn erfc_keeps_relative_accuracy_in_the_tail() {
        // No cancellation in the tail: relative error stays at a few ulps even at 1e-296.
        let tol = 8.0 * f64::EPSILON;
        for (x, want) in ERFC {
            assert!(
                rel(erfc(x), want) <= tol,
                "erfc({x}) = {:e}, want {want:e}",
                erfc(x)
            );
            assert!(rel(erfc(-x), 2.0 - want) <= tol);
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erf(30.0), 1.0);
        assert_eq!(erf(-30.0), -1.0);
        assert!(erf(f64::NAN).is_nan());
    }

    #[test]
    fn erf_is_odd_and_continuous_at_the_range_boundaries() {
        for x in [0.2, 0.46875, 0.47, 1.3, 3.99, 4.0, 4.01, 7.0] {
            assert_eq!(erf(-x), -erf(x));
        }
        for b in [0.46875_f64, 4.0] {
            let (lo, hi) = (erf(b - 1e-12), erf(b + 1e-12));
            // The slope 2/√π·e^{−b²} ≤ 1.13 over 2e-12, plus rounding.
            assert!((hi - lo).abs() < 3e-12, "jump at {b}");
        }
    }

    #[test]
    fn normal_cdf_and_pdf_agree_with_known_values() {
        // Φ(1.96) = 0.9750021048517796 (16 digits), Φ(−8) = 6.22096057427178e-16.
        assert!(rel(normal_cdf(1.96), 0.975_002_104_851_779_6) < 4.0 * f64::EPSILON);
        assert!(rel(normal_cdf(-8.0), 6.220_960_574_271_784e-16) < 1e-14);
        assert!(rel(normal_pdf(0.0), 0.398_942_280_401_432_7) < f64::EPSILON);
    }
}
