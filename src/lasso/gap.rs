//! Primal objective, box-aware dual, duality gap and α_max of the Lasso \[eq9\].
//!
//! **Dual.** Write P(λ) = f(Aλ) + Σ_j g_j(λ_j) with f(y) = ½‖y − b‖² and
//! g_j(x) = αc_j|x| + ι_\[ℓ_j,u_j\](x). Fenchel–Rockafellar duality gives, for every θ ∈ Rᵐ,
//! P(λ) ≥ D(θ) = −f*(−θ) − Σ_j g*_j(a_jᵀθ), with f*(w) = ½‖w‖² + wᵀb, so
//! −f*(−θ) = θᵀb − ½‖θ‖² = ½‖b‖² − ½‖b − θ‖². The conjugate of g_j splits on the sign of x:
//!
//! ```text
//!     g*_j(z) = sup_{ℓ ≤ x ≤ u} zx − αc|x|
//!             = max( sup_{0 ≤ x ≤ u} (z − αc)x,  sup_{ℓ ≤ x ≤ 0} (z + αc)x )
//!             = max( 0, u(z − αc), ℓ(z + αc) )  =: h*_j(z),
//! ```
//!
//! each sup of a linear function on an interval being attained at an end point (0, u or ℓ).
//! With finite bounds h*_j is finite everywhere, so every θ is dual-feasible and the gap is
//! always finite. h*_j is zero on [−αc_j, αc_j] (on (−∞, αc_j] when ℓ_j = 0, on
//! [−αc_j, ∞) when u_j = 0) and grows with slope u_j or ℓ_j outside; at the optimum
//! θ* = r* = b − Aλ* and λ*_j ∈ ∂h*_j(a_jᵀθ*).
//!
//! **Dual point.** For a residual r, D(s·r) = s·bᵀr − ½s²‖r‖² − Σ_j h*_j(s·a_jᵀr) is concave
//! and piecewise quadratic in s ≥ 0: each h*_j(s z_j) = k_j (s − s_j)⁺ with s_j = αc_j/|z_j|
//! and k_j = u_j z_j (z_j > 0) or ℓ_j z_j (z_j < 0). `ray_dual` finds its exact maximiser
//! by quickselect on the break points s_j (expected O(p)); the ray contains r itself (s = 1, good with a
//! tight box such as [0, 1]) and the classical rescaled residual r / max(1, max_j ratio_j)
//! (good with a wide box), so it is never worse than either.
//!
//! **α_max.** λ = 0 is optimal iff 0 ∈ ∂P(0), coordinate by coordinate: with z_j = a_jᵀb,
//! moving λ_j up (allowed iff u_j > 0) must not decrease P, i.e. z_j ≤ αc_j, and moving it
//! down (allowed iff ℓ_j < 0) requires −z_j ≤ αc_j. Hence
//!
//! ```text
//!     α_max = max_j  max( [u_j > 0]·(z_j)⁺, [ℓ_j < 0]·(z_j)⁻ ) / c_j      (0/0 := 0, x/0 := ∞),
//! ```
//!
//! which is ‖Aᵀb‖_∞ for a symmetric box and unit weights, and max_j (a_jᵀb)⁺ for [0, u].
//! Cost: everything here is one Aᵀr product (2mp flops) plus O(p log p) for the sort.

use super::LassoProblem;
use super::solve::Spec;
use crate::error::Result;
use puma_kernels::dot;

/// h*_j(z) = max(0, u(z − αc), ℓ(z + αc)), the conjugate of αc|x| + ι_\[ℓ,u\](x).
///
/// `pen` is αc_j.
#[inline]
pub fn h_star(z: f64, pen: f64, lower: f64, upper: f64) -> f64 {
    0f64.max(upper * (z - pen)).max(lower * (z + pen))
}

/// Best dual point on the ray {s·r : s ≥ 0}: returns (D(s·r), s).
///
/// `z[j] = a_jᵀr` for j in `cols` (the other columns are absent from the problem), `br = bᵀr`,
/// `rr = ‖r‖²`; D is written s·bᵀr − ½s²‖r‖² − Σ h* (no cancellation against ½‖b‖²).
pub(crate) fn ray_dual(
    spec: &Spec,
    cols: &[usize],
    z: &[f64],
    br: f64,
    rr: f64,
    breaks: &mut Vec<(f64, f64)>,
) -> (f64, f64) {
    if rr <= 0.0 {
        return (0.0, 0.0); // r = 0: θ = 0, D = 0
    }
    let s_free = (br / rr).max(0.0); // maximiser of the quadratic part alone
    breaks.clear();
    for &j in cols {
        let zj = z[j];
        let (k, sj) = if zj > 0.0 && spec.upper[j] > 0.0 {
            (spec.upper[j] * zj, spec.pen[j] / zj)
        } else if zj < 0.0 && spec.lower[j] < 0.0 {
            (spec.lower[j] * zj, spec.pen[j] / -zj)
        } else {
            continue;
        };
        if sj < s_free {
            breaks.push((sj, k));
        }
    }
    let s = ray_argmax(br, rr, breaks);
    // Σ_j h*_j(s z_j) = Σ_{s_j < s} k_j (s − s_j): summed from the break points, so a wide box
    // (k_j ~ u_j|z_j| huge) does not multiply the rounding of s·z_j − αc_j at a kink.
    let conj: f64 = breaks
        .iter()
        .filter(|&&(sj, _)| sj < s)
        .map(|&(sj, k)| k * (s - sj))
        .sum();
    (s * br - 0.5 * s * s * rr - conj, s)
}

/// Maximiser over s ≥ 0 of s·bᵀr − ½s²‖r‖² − Σ_j k_j (s − s_j)⁺, all s_j below bᵀr/‖r‖².
///
/// The derivative bᵀr − s‖r‖² − Σ_{s_j < s} k_j decreases; its zero is found by quickselect on
/// the break points (expected O(n), no sort). At a kink s_j the point is taken just below s_j
/// (factor 1 − 2ε), so that s·z_j ≤ αc_j holds for the computed numbers. Any s ≥ 0 gives a
/// valid dual point; this only makes it the best one.
fn ray_argmax(br: f64, rr: f64, breaks: &mut [(f64, f64)]) -> f64 {
    let below = |s: f64| s * (1.0 - 2.0 * f64::EPSILON);
    // Fast path, typical of a wide box (huge k_j): the maximiser is the first kink.
    if let Some(&(s0, k0)) = breaks.iter().min_by(|x, y| x.0.total_cmp(&y.0)) {
        let slope_before = br - s0 * rr; // nothing is active below the smallest s_j
        if slope_before <= 0.0 {
            return (br / rr).max(0.0); // cannot happen (s_j < bᵀr/‖r‖²), kept for safety
        }
        if slope_before - k0 <= 0.0 {
            return below(s0);
        }
    }
    let mut lo = 0.0; // the zero lies above lo; the k_j of the break points below are in k_below
    let mut k_below = 0.0;
    let mut part = breaks;
    while !part.is_empty() {
        let mid = part.len() / 2;
        part.select_nth_unstable_by(mid, |x, y| x.0.total_cmp(&y.0));
        let (sm, km) = part[mid];
        let k_left: f64 = part[..mid].iter().map(|x| x.1).sum();
        let slope_before = br - sm * rr - k_below - k_left; // derivative just below s_m
        if slope_before <= 0.0 {
            part = &mut part[..mid];
        } else if slope_before - km <= 0.0 {
            return below(sm); // the maximiser is the kink s_m
        } else {
            k_below += k_left + km;
            lo = sm;
            part = &mut part[mid + 1..];
        }
    }
    let s = (br - k_below) / rr;
    if s >= lo { s } else { below(lo) }
}

/// The smallest α for which λ = 0 is optimal (see the module doc for the derivation).
///
/// Uses A, b, the box and the weights of `problem` (its α and warm start are ignored).
/// Returns +∞ when a column with c_j = 0 can still lower the objective from λ = 0.
///
/// # Errors
/// As [`super::lasso_with`] for A, b, bounds and weights.
///
/// # Examples
/// ```
/// use puma::lasso::{alpha_max, LassoProblem};
/// let a = [1.0, 0.0, 0.0, 1.0]; // identity, columns e_1, e_2
/// let b = [-3.0, 2.0];
/// let box01 = LassoProblem::new(&a, 2, 2, &b, 0.0); // box [0, 1]: only up-moves count
/// assert_eq!(alpha_max(&box01).unwrap(), 2.0);
/// assert_eq!(alpha_max(&box01.with_box(-1.0, 1.0)).unwrap(), 3.0);
/// ```
pub fn alpha_max(problem: &LassoProblem) -> Result<f64> {
    let spec = Spec::without_alpha(problem)?;
    Ok(alpha_max_spec(&spec))
}

/// α_max of a validated problem.
pub(crate) fn alpha_max_spec(spec: &Spec) -> f64 {
    let mut amax: f64 = 0.0;
    for j in 0..spec.p {
        let zj = spec.atb[j]; // a_jᵀb
        let up = if spec.upper[j] > 0.0 {
            zj.max(0.0)
        } else {
            0.0
        };
        let down = if spec.lower[j] < 0.0 {
            (-zj).max(0.0)
        } else {
            0.0
        };
        let need = up.max(down);
        if need > 0.0 {
            amax = amax.max(need / spec.c[j]); // c_j = 0 gives +∞
        }
    }
    amax
}

/// P(λ) = ½‖Aλ − b‖² + α Σ c_j|λ_j| (+∞ if λ leaves the box).
///
/// # Errors
/// As [`super::lasso_with`], and [`crate::Error::ShapeMismatch`] if `lambda.len() != p`.
pub fn objective(problem: &LassoProblem, lambda: &[f64]) -> Result<f64> {
    Ok(duality_gap(problem, lambda)?.primal)
}

/// A duality-gap certificate for a candidate λ: P(λ) − P(λ*) ≤ `gap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapCertificate {
    /// P(λ).
    pub primal: f64,
    /// D(θ) at the best point of the ray through the residual.
    pub dual: f64,
    /// P(λ) − D(θ).
    pub gap: f64,
}

/// The duality gap of \[eq9\] at λ, with θ the best point of the ray through r = b − Aλ.
///
/// One residual and one Aᵀr product: 4mp flops. Independent of the solver's state, so
/// tests and callers can certify any λ.
///
/// # Errors
/// As [`super::lasso_with`], and [`crate::Error::ShapeMismatch`] if `lambda.len() != p`.
pub fn duality_gap(problem: &LassoProblem, lambda: &[f64]) -> Result<GapCertificate> {
    let spec = Spec::new(problem)?;
    spec.check_len("lambda vs p", lambda.len())?;
    let mut r = spec.b.to_vec();
    for (j, &lj) in lambda.iter().enumerate() {
        if lj != 0.0 {
            puma_kernels::axpy(-lj, spec.col(j), &mut r); // r = b − Aλ
        }
    }
    let outside = lambda
        .iter()
        .enumerate()
        .any(|(j, &l)| !(spec.lower[j]..=spec.upper[j]).contains(&l));
    let penalty: f64 = lambda.iter().zip(&spec.pen).map(|(l, w)| w * l.abs()).sum();
    let rr = dot(&r, &r);
    let primal = if outside {
        f64::INFINITY
    } else {
        0.5 * rr + penalty
    };
    let z: Vec<f64> = (0..spec.p).map(|j| dot(spec.col(j), &r)).collect(); // Aᵀr
    let cols: Vec<usize> = (0..spec.p).collect();
    let (dual, _) = ray_dual(&spec, &cols, &z, dot(spec.b, &r), rr, &mut Vec::new());
    Ok(GapCertificate {
        primal,
        dual,
        gap: primal - dual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_star_matches_brute_force_sup() {
        // g*(z) = sup over a fine grid of [ℓ, u] of zx − pen|x| (grid includes 0, ℓ, u).
        for &(l, u) in &[
            (0.0, 1.0),
            (-1.0, 1.0),
            (-0.5, 0.0),
            (-2.0, 3.0),
            (0.0, 0.0),
        ] {
            for &pen in &[0.0, 0.3, 1.0] {
                for k in -40..=40 {
                    let z = k as f64 / 10.0;
                    let brute = (0..=1000)
                        .map(|i| l + (u - l) * i as f64 / 1000.0)
                        .chain([0.0])
                        .map(|x| z * x - pen * f64::abs(x))
                        .fold(f64::NEG_INFINITY, f64::max);
                    let h = h_star(z, pen, l, u);
                    assert!(
                        (h - brute).abs() < 1e-12,
                        "l={l} u={u} pen={pen} z={z}: {h} vs {brute}"
                    );
                }
            }
        }
    }

    #[test]
    fn ray_dual_beats_every_sampled_scale() {
        // A = I (3 × 3), box [-1, 2], so D(s r) can be brute-forced over s.
        let a = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let b = [3.0, -0.2, -4.0];
        let prob = LassoProblem::new(&a, 3, 3, &b, 0.5).with_box(-1.0, 2.0);
        let spec = Spec::new(&prob).unwrap();
        let r = [2.5, -0.1, -1.0];
        let z = r; // Aᵀr
        let br = dot(&b, &r);
        let rr = dot(&r, &r);
        let (d, s) = ray_dual(&spec, &[0, 1, 2], &z, br, rr, &mut Vec::new());
        let d_at = |s: f64| {
            s * br
                - 0.5 * s * s * rr
                - (0..3)
                    .map(|j| h_star(s * z[j], 0.5, -1.0, 2.0))
                    .sum::<f64>()
        };
        assert!((d - d_at(s)).abs() < 1e-12);
        for i in 0..=3000 {
            let t = i as f64 / 1000.0;
            assert!(d_at(t) <= d + 1e-12, "s={t} beats the ray maximiser {s}");
        }
    }

    #[test]
    fn ray_dual_finds_the_maximum_among_many_kinks() {
        // 60 columns of A = I (60 × 60), mixed boxes and weights: 60 break points.
        let p = 60;
        let mut a = vec![0.0; p * p];
        for j in 0..p {
            a[j * p + j] = 1.0;
        }
        let pseudo = |k: usize| ((k * 7919 + 13) % 101) as f64 / 50.0 - 1.0; // in [−1, 1]
        let b: Vec<f64> = (0..p).map(|k| 3.0 * pseudo(k)).collect();
        let lo: Vec<f64> = (0..p).map(|k| -pseudo(k + 7).abs()).collect();
        let up: Vec<f64> = (0..p).map(|k| pseudo(k + 3).abs() * 5.0).collect();
        let c: Vec<f64> = (0..p).map(|k| pseudo(k + 11).abs()).collect();
        let bounds = crate::lasso::Bounds::PerCoefficient {
            lower: &lo,
            upper: &up,
        };
        let prob = LassoProblem::new(&a, p, p, &b, 0.4)
            .with_bounds(bounds)
            .with_weights(&c);
        let spec = Spec::new(&prob).unwrap();
        let r: Vec<f64> = (0..p).map(|k| b[k] - 0.5 * pseudo(k + 5)).collect();
        let cols: Vec<usize> = (0..p).collect();
        let (br, rr) = (dot(&b, &r), dot(&r, &r));
        let (d, s) = ray_dual(&spec, &cols, &r, br, rr, &mut Vec::new());
        let d_at = |t: f64| {
            t * br
                - 0.5 * t * t * rr
                - (0..p)
                    .map(|j| h_star(t * r[j], 0.4 * c[j], lo[j], up[j]))
                    .sum::<f64>()
        };
        assert!(
            (d - d_at(s)).abs() <= 1e-10 * d.abs().max(1.0),
            "{d} vs {}",
            d_at(s)
        );
        for i in 0..=20_000 {
            let t = i as f64 / 10_000.0;
            assert!(
                d_at(t) <= d + 1e-10 * d.abs().max(1.0),
                "s={t}: {} beats {d} at {s}",
                d_at(t)
            );
        }
    }
}
