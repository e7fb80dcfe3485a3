//! Gap-safe screening at α = 0.5·α_max removes at least half of the columns of a sparse
//! problem, and the screened solution equals the unscreened one.

#[path = "lasso_support/mod.rs"]
mod support;

use puma::lasso::{GramMode, LassoParams, LassoProblem, alpha_max, lasso_with};

#[test]
fn screening_removes_half_the_columns_and_changes_nothing() {
    let (m, p) = (100, 400);
    let (a, b) = support::correlated_problem(11, m, p, 0.5, 0.05); // b ≈ three columns
    for (lower, upper) in [(0.0, 1.0), (-1.0, 1.0), (-1e9, 1e9)] {
        for (gram, working_sets) in [
            (GramMode::Off, true),
            (GramMode::Off, false),
            (GramMode::On, false),
        ] {
            let base = LassoProblem::new(&a, m, p, &b, 0.0).with_box(lower, upper);
            let prob = base.with_alpha(0.5 * alpha_max(&base).unwrap());
            // Both run to their floating-point fixed point (tol = 0), see lasso_matches_projected_proximal_gradient.rs.
            let params = LassoParams {
                tol: 0.0,
                max_epochs: 2000,
                gram,
                working_sets,
                ..LassoParams::default()
            };
            let (screened, info) = lasso_with(&prob, &params).unwrap();
            let (plain, _) = lasso_with(
                &prob,
                &LassoParams {
                    screening: false,
                    ..params.clone()
                },
            )
            .unwrap();
            let what = format!("[{lower}, {upper}] {gram:?} ws={working_sets}");
            assert!(
                info.screened >= p / 2,
                "{what}: only {} of {p} columns screened (gaps {:?}, {} epochs)",
                info.screened,
                info.gap_history,
                info.epochs
            );
            for j in 0..p {
                assert!(
                    (screened[j] - plain[j]).abs() <= 1e-10,
                    "{what} j={j}: {} vs {}",
                    screened[j],
                    plain[j]
                );
            }
        }
    }
}
