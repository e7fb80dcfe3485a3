//! The normal distribution, for the exact GELU x·Φ(x) and its tests:
//!
//! ```text
//! Φ(x) = ½ erfc(−x/√2),      φ(x) = e^{−x²/2} / √(2π).
//! ```
//!
//! erf and erfc are `puma_kernels::special`'s (W. J. Cody's rational Chebyshev
//! approximations, a few ulps over the whole line, tested there against mpmath), the same
//! ones the kernels' GELU uses; erfc has no cancellation in the tail, so Φ keeps its
//! relative accuracy far into the left tail. Cost: about 20 flops and two `exp`.

pub use puma_kernels::{erf, erfc};

/// The standard normal distribution function Φ(x) = ½ erfc(−x/√2).
///
/// # Examples
/// ```
/// use puma::autodiff::special::normal_cdf;
/// assert_eq!(normal_cdf(0.0), 0.5);
/// ```
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

    #[test]
    fn normal_cdf_and_pdf_agree_with_known_values() {
        // Φ(1.96) = 0.9750021048517796 (16 digits), Φ(−8) = 6.22096057427178e-16: the left
        // tail keeps relative accuracy because Φ comes from erfc, not from 1 − Φ(−x).
        assert!(rel(normal_cdf(1.96), 0.975_002_104_851_779_6) < 4.0 * f64::EPSILON);
        assert!(rel(normal_cdf(-8.0), 6.220_960_574_271_784e-16) < 1e-14);
        assert!(rel(normal_pdf(0.0), 0.398_942_280_401_432_7) < f64::EPSILON);
        // φ = Φ′: a central difference at x = 0.7 (h = 1e-5: error O(h²) ≈ 1e-11).
        let h = 1e-5;
        let d = (normal_cdf(0.7 + h) - normal_cdf(0.7 - h)) / (2.0 * h);
        assert!(rel(d, normal_pdf(0.7)) < 1e-9);
    }
}
