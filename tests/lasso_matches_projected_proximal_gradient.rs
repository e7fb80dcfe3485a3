//! Coordinate descent agrees with a slow projected proximal-gradient method (FISTA with the
//! prox of the weighted ℓ1 norm followed by projection onto the box) on seeded random problems.

#[path = "lasso_support/mod.rs"]
mod support;

use puma::lasso::{
    Bounds, GramMode, LassoParams, LassoProblem, alpha_max, duality_gap, lasso_with,
};

/// Agreement of λ to 1e-8 needs a gap near 1e-17, below the rounding floor of P − D, so both
/// methods run to their floating-point fixed point: CD with tol = 0 and a fixed epoch budget.
fn to_fixed_point(gram: GramMode) -> LassoParams {
    LassoParams {
        tol: 0.0,
        max_epochs: 3000,
        gram,
        ..LassoParams::default()
    }
}

#[test]
fn coordinate_descent_matches_fista_on_overdetermined_problems() {
    // m > p: P is strongly convex, λ* is unique and both methods converge linearly.
    for seed in 0..4u64 {
        let (m, p) = (60, 30);
        let (a, b) = support::correlated_problem(seed, m, p, 0.5, 0.3);
        let c: Vec<f64> = support::uniform(10 + seed, p)
            .iter()
            .map(|x| 0.2 + x.abs())
            .collect();
        let lo: Vec<f64> = support::uniform(20 + seed, p)
            .iter()
            .map(|x| -0.5 * x.abs())
            .collect();
        let up: Vec<f64> = support::uniform(30 + seed, p)
            .iter()
            .map(|x| 0.2 + 0.6 * x.abs())
            .collect();
        for (bounds, weighted) in [
            (Bounds::default(), false),
            (
                Bounds::Uniform {
                    lower: -1e9,
                    upper: 1e9,
                },
                false,
            ),
            (
                Bounds::PerCoefficient {
                    lower: &lo,
                    upper: &up,
                },
                true,
            ),
        ] {
            let base = LassoProblem::new(&a, m, p, &b, 0.0).with_bounds(bounds);
            let base = if weighted {
                base.with_weights(&c)
            } else {
                base
            };
            let cc = if weighted { c.clone() } else { vec![1.0; p] };
            let (lov, upv): (Vec<f64>, Vec<f64>) = match bounds {
                Bounds::Uniform { lower, upper } => (vec![lower; p], vec![upper; p]),
                Bounds::PerCoefficient { lower, upper } => (lower.to_vec(), upper.to_vec()),
            };
            let amax = alpha_max(&base).unwrap();
            for frac in [0.3, 0.05] {
                let prob = base.with_alpha(frac * amax);
                let reference =
                    support::projected_fista(&a, m, p, &b, prob.alpha, &lov, &upv, &cc, 20_000);
                let ref_gap = duality_gap(&prob, &reference).unwrap();
                assert!(
                    ref_gap.gap <= 1e-11 * ref_gap.primal,
                    "the reference itself converged: {ref_gap:?} seed {seed} {bounds:?} frac {frac}"
                );
                for gram in [GramMode::Off, GramMode::On] {
                    let (lambda, _) = lasso_with(&prob, &to_fixed_point(gram)).unwrap();
                    for j in 0..p {
                        assert!(
                            (lambda[j] - reference[j]).abs() <= 1e-8,
                            "seed {seed} {bounds:?} α={} {gram:?} j={j}: {} vs {}",
                            prob.alpha,
                            lambda[j],
                            reference[j]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn coordinate_descent_reaches_fista_objective_on_wide_problems() {
    // p > m: λ* need not be unique, so compare objective values, certified by the gap.
    for seed in 0..3u64 {
        let (m, p) = (20, 80);
        let (a, b) = support::correlated_problem(40 + seed, m, p, 0.5, 0.3);
        let base = LassoProblem::new(&a, m, p, &b, 0.0).with_box(-1.0, 1.0);
        let alpha = 0.1 * alpha_max(&base).unwrap();
        let prob = base.with_alpha(alpha);
        let params = LassoParams {
            tol: 1e-12,
            ..LassoParams::default()
        };
        let (_, info) = lasso_with(&prob, &params).unwrap();
        let reference = support::projected_fista(
            &a,
            m,
            p,
            &b,
            alpha,
            &vec![-1.0; p],
            &vec![1.0; p],
            &vec![1.0; p],
            20_000,
        );
        let p_ref = support::objective_naive(&a, m, &b, alpha, &vec![1.0; p], &reference);
        let tol = 1e-8 * p_ref; // relative agreement of the objective values
        assert!(
            (info.primal - p_ref).abs() <= tol,
            "seed {seed}: P_cd {} vs P_fista {}",
            info.primal,
            p_ref
        );
        assert!(
            info.primal - p_ref <= info.gap + 1e-12 * p_ref,
            "the gap bounds P(λ) − P*"
        );
    }
}
