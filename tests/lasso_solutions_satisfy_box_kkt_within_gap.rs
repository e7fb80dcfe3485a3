//! Every returned λ lies in the box exactly, no single coordinate can lower P by more than the
//! reported gap (the coordinate-wise KKT conditions with the box, within the gap), the gap
//! certifies P(λ) − P(λ*), and the objective never increases over the epochs.

#[path = "lasso_support/mod.rs"]
mod support;

use puma::lasso::{
    Bounds, GramMode, LassoParams, LassoProblem, StopReason, duality_gap, lasso_with,
};

/// Settings covering the solver's paths: residual/Gram, screening and working sets on/off.
fn variants() -> Vec<LassoParams> {
    let mut out = Vec::new();
    for gram in [GramMode::Off, GramMode::On] {
        for (screening, working_sets, extrapolation) in [
            (true, true, true),
            (false, false, false),
            (true, false, true),
            (false, true, false),
        ] {
            out.push(LassoParams {
                tol: 1e-9,
                max_epochs: 100_000, // plain CD needs ~13 000 on the rank-deficient m = 10 case
                gram,
                screening,
                working_sets,
                extrapolation,
                ..LassoParams::default()
            });
        }
    }
    out
}

#[test]
fn returned_solutions_meet_box_kkt_within_the_reported_gap() {
    let shapes = [(1, 30), (10, 200), (50, 20), (30, 90), (120, 100)];
    for (seed, &(m, p)) in shapes.iter().enumerate() {
        let (a, b) = support::correlated_problem(seed as u64, m, p, 0.5, 0.1);
        let c: Vec<f64> = support::uniform(100 + seed as u64, p)
            .iter()
            .map(|x| 0.5 + x.abs())
            .collect();
        let lo: Vec<f64> = support::uniform(200 + seed as u64, p)
            .iter()
            .map(|x| -x.abs())
            .collect();
        let up: Vec<f64> = support::uniform(300 + seed as u64, p)
            .iter()
            .map(|x| 0.3 + x.abs())
            .collect();
        let boxes = [
            Bounds::default(),
            Bounds::Uniform {
                lower: -1.0,
                upper: 1.0,
            },
            Bounds::Uniform {
                lower: -1e3,
                upper: 1e3,
            },
            Bounds::PerCoefficient {
                lower: &lo,
                upper: &up,
            },
        ];
        for bounds in boxes {
            let base = LassoProblem::new(&a, m, p, &b, 0.0)
                .with_bounds(bounds)
                .with_weights(&c);
            let amax = puma::lasso::alpha_max(&base).unwrap();
            for frac in [0.5, 0.1, 0.01] {
                let prob = base.with_alpha(frac * amax);
                for params in variants() {
                    check(&prob, &params, &a, m, p, &b);
                }
            }
        }
    }
}

fn check(prob: &LassoProblem, params: &LassoParams, a: &[f64], m: usize, p: usize, b: &[f64]) {
    let (lambda, info) = lasso_with(prob, params).unwrap();
    let what = format!("m={m} p={p} α={} {:?} {params:?}", prob.alpha, prob.bounds);
    assert_eq!(
        info.stop,
        StopReason::Converged,
        "{what} {:?} {:?}",
        &info.gap_history[..info.gap_history.len().min(20)],
        (info.epochs, info.working_set, info.screened)
    );
    let (lo, up): (Vec<f64>, Vec<f64>) = match prob.bounds {
        Bounds::Uniform { lower, upper } => (vec![lower; p], vec![upper; p]),
        Bounds::PerCoefficient { lower, upper } => (lower.to_vec(), upper.to_vec()),
    };
    let c = prob.weights.unwrap();
    let half_bb = 0.5 * b.iter().map(|x| x * x).sum::<f64>();
    let round = 1e3 * f64::EPSILON * half_bb; // rounding of P and D, O(pε·‖b‖²) with margin
    // The bounds hold exactly.
    for j in 0..p {
        assert!(
            lo[j] <= lambda[j] && lambda[j] <= up[j],
            "{what}: λ_{j} = {} leaves the box",
            lambda[j]
        );
    }
    // The gap met the target and bounds the suboptimality of every coordinate move.
    assert!(
        info.gap <= params.tol * half_bb,
        "{what}: gap {} too large",
        info.gap
    );
    let mut r = b.to_vec();
    for j in 0..p {
        for i in 0..m {
            r[i] -= a[j * m + i] * lambda[j];
        }
    }
    for j in 0..p {
        let col = &a[j * m..(j + 1) * m];
        let n2: f64 = col.iter().map(|x| x * x).sum();
        if n2 == 0.0 {
            continue;
        }
        let corr: f64 = col.iter().zip(&r).map(|(x, y)| x * y).sum();
        let pen = prob.alpha * c[j];
        let z = lambda[j] + corr / n2;
        let best = (z.signum() * (z.abs() - pen / n2).max(0.0)).clamp(lo[j], up[j]);
        let delta = best - lambda[j];
        // P(λ) − P(λ + δe_j): the decrease of the exact coordinate minimisation.
        let decrease =
            delta * corr - 0.5 * delta * delta * n2 - pen * (best.abs() - lambda[j].abs());
        assert!(
            decrease <= info.gap + round,
            "{what}: coordinate {j} can still gain {decrease} > gap {}",
            info.gap
        );
    }
    // The independent certificate agrees on P and is itself a valid gap.
    let cert = duality_gap(prob, &lambda).unwrap();
    assert!(
        (cert.primal - info.primal).abs() <= round,
        "{what}: P {} vs {}",
        cert.primal,
        info.primal
    );
    assert!(cert.gap >= -round, "{what}: negative gap {}", cert.gap);
    let p_naive = support::objective_naive(a, m, b, prob.alpha, c, &lambda);
    assert!((p_naive - info.primal).abs() <= round, "{what}");
    // The objective never increases over the epochs.
    let h = &info.objective_history;
    assert_eq!(h.len(), info.epochs + 1, "{what}");
    for k in 1..h.len() {
        assert!(
            h[k] <= h[k - 1] + round,
            "{what}: P rose at epoch {k}: {} -> {}",
            h[k - 1],
            h[k]
        );
    }
    assert!((h[h.len() - 1] - info.primal).abs() <= round, "{what}");
    assert_eq!(info.nnz, lambda.iter().filter(|&&l| l != 0.0).count());
    assert_eq!(*info.gap_history.last().unwrap(), info.gap);
}
