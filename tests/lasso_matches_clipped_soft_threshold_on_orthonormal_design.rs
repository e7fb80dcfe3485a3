//! On a design with orthonormal columns the Lasso separates: λ*_j = clip(S(a_jᵀb, αc_j), ℓ_j, u_j).

#[path = "lasso_support/mod.rs"]
mod support;

use puma::lasso::{Bounds, GramMode, LassoParams, LassoProblem, StopReason, alpha_max, lasso_with};

fn soft(x: f64, t: f64) -> f64 {
    x.signum() * (x.abs() - t).max(0.0)
}

#[test]
fn solution_equals_clipped_soft_threshold_for_every_box_and_mode() {
    let (m, p) = (40, 25);
    let a = support::orthonormal_columns(1, m, p);
    let b: Vec<f64> = support::uniform(2, m).iter().map(|x| 3.0 * x).collect();
    let atb: Vec<f64> = (0..p)
        .map(|j| (0..m).map(|i| a[j * m + i] * b[i]).sum())
        .collect();
    let c: Vec<f64> = support::uniform(3, p)
        .iter()
        .map(|x| x.abs() * 2.0)
        .collect(); // some near 0
    let lo_var: Vec<f64> = support::uniform(4, p).iter().map(|x| -x.abs()).collect();
    let up_var: Vec<f64> = support::uniform(5, p)
        .iter()
        .map(|x| 2.0 * x.abs())
        .collect();
    let boxes = [
        Bounds::Uniform {
            lower: 0.0,
            upper: 1.0,
        },
        Bounds::Uniform {
            lower: -1.0,
            upper: 1.0,
        },
        Bounds::Uniform {
            lower: -1e9,
            upper: 1e9,
        },
        Bounds::Uniform {
            lower: -0.5,
            upper: 0.0,
        },
        Bounds::PerCoefficient {
            lower: &lo_var,
            upper: &up_var,
        },
    ];
    let tol = 1e-12; // rounding of one sweep plus the orthogonality error O(pε) of Gram–Schmidt
    for bounds in boxes {
        let (lo, up): (Vec<f64>, Vec<f64>) = match bounds {
            Bounds::Uniform { lower, upper } => (vec![lower; p], vec![upper; p]),
            Bounds::PerCoefficient { lower, upper } => (lower.to_vec(), upper.to_vec()),
        };
        for alpha in [0.0, 0.1, 0.7, 2.0] {
            for weights in [None, Some(&c[..])] {
                for gram in [GramMode::Off, GramMode::On] {
                    let prob = LassoProblem::new(&a, m, p, &b, alpha).with_bounds(bounds);
                    let prob = match weights {
                        Some(w) => prob.with_weights(w),
                        None => prob,
                    };
                    let params = LassoParams {
                        tol: 1e-14,
                        gram,
                        ..LassoParams::default()
                    };
                    let (lambda, info) = lasso_with(&prob, &params).unwrap();
                    // With α = 0 the dual's h*_j = u_j·(a_jᵀr)⁺ multiplies the rounding of
                    // a_jᵀr ≈ ε by u_j = 1e9: that gap cannot reach 1e-14, only λ is checked.
                    let wide = up.iter().any(|&u| u >= 1e9);
                    if !(alpha == 0.0 && wide) {
                        assert_eq!(
                            info.stop,
                            StopReason::Converged,
                            "{bounds:?} α={alpha} {gram:?}"
                        );
                    }
                    for j in 0..p {
                        let cj = weights.map_or(1.0, |w| w[j]);
                        let want = soft(atb[j], alpha * cj).clamp(lo[j], up[j]);
                        assert!(
                            (lambda[j] - want).abs() <= tol,
                            "{bounds:?} α={alpha} {gram:?} j={j}: {} vs {want}",
                            lambda[j]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn alpha_max_is_the_smallest_penalty_with_zero_solution() {
    let (m, p) = (30, 12);
    let a = support::orthonormal_columns(7, m, p);
    let b = support::uniform(8, m);
    let atb: Vec<f64> = (0..p)
        .map(|j| (0..m).map(|i| a[j * m + i] * b[i]).sum())
        .collect();
    for (lower, upper, want) in [
        (0.0, 1.0, atb.iter().fold(0.0f64, |acc, &z| acc.max(z))),
        (-1.0, 0.0, atb.iter().fold(0.0f64, |acc, &z| acc.max(-z))),
        (
            -1.0,
            1.0,
            atb.iter().fold(0.0f64, |acc, &z| acc.max(z.abs())),
        ),
    ] {
        let prob = LassoProblem::new(&a, m, p, &b, 0.0).with_box(lower, upper);
        let amax = alpha_max(&prob).unwrap();
        assert!(
            (amax - want).abs() <= 1e-14 * want.max(1.0),
            "[{lower}, {upper}]: {amax} vs {want}"
        );
        let (at, _) = lasso_with(&prob.with_alpha(amax), &LassoParams::default()).unwrap();
        assert!(at.iter().all(|&l| l == 0.0), "λ = 0 at α_max");
        let (below, _) =
            lasso_with(&prob.with_alpha(0.99 * amax), &LassoParams::default()).unwrap();
        assert!(below.iter().any(|&l| l != 0.0), "λ ≠ 0 just below α_max");
    }
}
