//! Every point of a warm-started path over α agrees with a cold solve at the same α.

#[path = "lasso_support/mod.rs"]
mod support;

use puma::lasso::{
    LassoParams, LassoProblem, StopReason, alpha_max, geometric_alphas, lasso_path, lasso_with,
};

#[test]
fn warm_started_path_agrees_with_cold_solves() {
    for (m, p, lower, upper) in [
        (80, 40, 0.0, 1.0),
        (80, 40, -1e9, 1e9),
        (30, 300, -1.0, 1.0),
    ] {
        let (a, b) = support::correlated_problem(5, m, p, 0.5, 0.2);
        let prob = LassoProblem::new(&a, m, p, &b, 0.0).with_box(lower, upper);
        let params = LassoParams {
            tol: 1e-12,
            ..LassoParams::default()
        };
        let path = lasso_path(&prob, 0.01, 20, &params).unwrap();
        let amax = alpha_max(&prob).unwrap();
        assert_eq!(path.alphas, geometric_alphas(amax, 0.01, 20).unwrap());
        assert!(path.lambdas[0].iter().all(|&l| l == 0.0), "λ = 0 at α_max");
        for (k, &alpha) in path.alphas.iter().enumerate() {
            let (cold, cold_info) = lasso_with(&prob.with_alpha(alpha), &params).unwrap();
            let warm_info = &path.infos[k];
            assert_eq!(warm_info.stop, StopReason::Converged);
            // Certified: both objective values are within their gaps of the same optimum.
            let slack = warm_info.gap + cold_info.gap + 1e-13 * cold_info.primal;
            assert!(
                (warm_info.primal - cold_info.primal).abs() <= slack,
                "k={k}"
            );
            if m > p {
                // Strongly convex: the minimiser itself agrees (gap 1e-12 gives ~1e-6 in λ).
                for (j, (w, c)) in path.lambdas[k].iter().zip(&cold).enumerate() {
                    assert!(
                        (w - c).abs() <= 1e-5,
                        "[{lower},{upper}] k={k} j={j}: {w} vs {c}"
                    );
                }
            }
        }
        let warm_epochs: usize = path.infos.iter().map(|i| i.epochs).sum();
        assert!(warm_epochs > 0);
    }
}
