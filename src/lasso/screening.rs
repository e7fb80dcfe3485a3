//! Gap-safe screening adapted to the box [GapSafe, §3, Prop. 4 (the sphere test)], and the
//! choice of working sets [Celer, §4.1].
//!
//! **Safe sphere.** D(θ) = ½‖b‖² − ½‖b − θ‖² − Σ h*_j(a_jᵀθ) is 1-strongly concave and
//! every θ is feasible, so for the maximiser θ* (= r* = b − Aλ*, unique) and any λ, θ:
//! ½‖θ − θ*‖² ≤ D(θ*) − D(θ) ≤ P(λ) − D(θ) = gap. Hence θ* ∈ B(θ, R), R = √(2·gap), and
//! a_jᵀθ* ∈ [a_jᵀθ − R‖a_j‖, a_jᵀθ + R‖a_j‖].
//!
//! **Rule.** Optimality says λ*_j ∈ ∂h*_j(a_jᵀθ*); h*_j has derivative 0 exactly on the open
//! set where neither branch is active: z < αc_j if u_j > 0 and z > −αc_j if ℓ_j < 0 (a
//! direction the box forbids imposes nothing). So column j is fixed at λ*_j = 0 when
//!
//! ```text
//!     (u_j = 0  or  a_jᵀθ + R‖a_j‖ < αc_j)   and   (ℓ_j = 0  or  a_jᵀθ − R‖a_j‖ > −αc_j).
//! ```
//!
//! With the box [0, u] only the upper test applies, so a column with a negative correlation
//! is screened whatever αc_j (even c_j = 0). Since θ* is unique, every solution has λ_j = 0
//! there. A column is removed only when its current λ_j is already 0, so removal never changes
//! P and the objective history stays monotone. R is inflated by a rounding allowance of
//! O(ε·‖b‖²) inside the square root so that a gap computed as a difference of two rounded
//! numbers cannot make the sphere too small.
//!
//! **Working sets.** The priority of column j is the scaled distance of θ to its constraint,
//! `d_j = (αc_j − max(1[u_j > 0]·a_jᵀθ, 1[ℓ_j < 0]·(−a_jᵀθ))) / ‖a_j‖` (negative = violated);
//! columns with λ_j ≠ 0 always belong to W. Cost: O(p) to select (no full sort).

use super::solve::Spec;

/// Whether the sphere B(θ, `radius`) proves λ*_j = 0; `zt = a_jᵀθ`.
#[inline]
pub(crate) fn proves_zero(spec: &Spec, j: usize, zt: f64, radius: f64) -> bool {
    let reach = radius * spec.norm[j]; // R‖a_j‖
    let up_ok = spec.upper[j] == 0.0 || zt + reach < spec.pen[j];
    let down_ok = spec.lower[j] == 0.0 || zt - reach > -spec.pen[j];
    up_ok && down_ok
}

/// Remove from `live` the columns proven zero (with λ_j = 0 now); returns how many.
pub(crate) fn screen(
    spec: &Spec,
    live: &mut Vec<usize>,
    zt: &[f64],
    gap: f64,
    lambda: &[f64],
) -> usize {
    let allowance = 64.0 * f64::EPSILON * spec.half_bb; // rounding of P − D
    let radius = (2.0 * (gap.max(0.0) + allowance)).sqrt(); // R = √(2·gap)
    if radius >= spec.screen_radius_max {
        return 0; // a test passes only if R‖a_j‖ < αc_j for some j
    }
    let before = live.len();
    live.retain(|&j| !(lambda[j] == 0.0 && proves_zero(spec, j, zt[j], radius)));
    before - live.len()
}

/// Distance-to-constraint priority d_j of column j for the dual point with correlations `zt`.
#[inline]
fn priority(spec: &Spec, j: usize, zt: f64) -> f64 {
    let up = if spec.upper[j] > 0.0 {
        zt
    } else {
        f64::NEG_INFINITY
    };
    let down = if spec.lower[j] < 0.0 {
        -zt
    } else {
        f64::NEG_INFINITY
    };
    (spec.pen[j] - up.max(down)) / spec.norm[j]
}

/// The `size` live columns of smallest priority (non-zeros first), in increasing index order,
/// for the dual point θ = s·r (`z[j] = a_jᵀr`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn working_set(
    spec: &Spec,
    live: &[usize],
    z: &[f64],
    s: f64,
    lambda: &[f64],
    size: usize,
    scratch: &mut Vec<(f64, usize)>,
    out: &mut Vec<usize>,
) {
    scratch.clear();
    scratch.extend(live.iter().map(|&j| {
        let d = if lambda[j] != 0.0 {
            f64::NEG_INFINITY
        } else {
            priority(spec, j, s * z[j])
        };
        (d, j)
    }));
    out.clear();
    if size < scratch.len() {
        scratch.select_nth_unstable_by(size, |x, y| x.0.total_cmp(&y.0));
        out.extend(scratch[..size].iter().map(|&(_, j)| j));
    } else {
        out.extend(scratch.iter().map(|&(_, j)| j));
    }
    out.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lasso::LassoProblem;

    #[test]
    fn one_sided_box_screens_an_unpenalised_column_on_its_closed_side() {
        // A = I, b = (−1, 2), box [0, 1], c = (0, 1), α = 0.5: λ* = (0, 1), θ* = r* = (−1, 1).
        let a = [1.0, 0.0, 0.0, 1.0];
        let b = [-1.0, 2.0];
        let c = [0.0, 1.0];
        let prob = LassoProblem::new(&a, 2, 2, &b, 0.5).with_weights(&c);
        let spec = Spec::new(&prob).unwrap();
        let zt = [-1.0, 1.0]; // a_jᵀθ*
        assert!(
            proves_zero(&spec, 0, zt[0], 0.5),
            "a_0ᵀθ* + R = −0.5 < αc_0 = 0"
        );
        assert!(
            !proves_zero(&spec, 0, zt[0], 1.5),
            "the sphere reaches a_0ᵀθ = 0.5 > 0"
        );
        assert!(
            !proves_zero(&spec, 1, zt[1], 0.1),
            "column 1 is at its bound, not zero"
        );
        // With the symmetric box the same column cannot be screened: αc_0 = 0 leaves no
        // flat part of h*_0 at all.
        let sym = Spec::new(&prob.with_box(-1.0, 1.0)).unwrap();
        assert!(!proves_zero(&sym, 0, zt[0], 0.5));
    }
}
