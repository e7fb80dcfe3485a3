//! Claims about the calibration surrogate [ece] (DESIGN.md §1):
//! 1. its θ-gradient (closed-form ∂ECE/∂c_i chained through the softmax and one reverse
//!    pass) matches central differences, on the moons MLP and on digits logistic regression;
//! 2. it tracks the hard 15-bin ECE measured on a separate split: from the trained
//!    (calibrated) reference model to over-confident versions (logits scaled by T = 2, 4:
//!    the same predictions, sharper probabilities) both rise together, and they agree within
//!    a stated tolerance on each model.

mod common;

use common::{fixture, read_csv};
use puma::criteria::{Criterion, SoftEce, hard_ece};
use puma::model::{Mlp, Samples};
use puma::valuation::pearson;

fn load(problem: &str) -> (Mlp, Vec<f64>, common::Table) {
    let model = puma::io::load(fixture(&format!("reference/{problem}/model.safetensors"))).unwrap();
    (
        model.mlp,
        model.theta,
        read_csv(&format!("reference/{problem}/test.csv")),
    )
}

/// θ with the last layer (weights and bias) scaled by t: logits × t.
fn sharpen(mlp: &Mlp, theta: &[f64], t: f64) -> Vec<f64> {
    let last = mlp.layout().layers.last().unwrap();
    let mut out = theta.to_vec();
    for k in last.weight_range().chain(last.bias_range()) {
        out[k] *= t;
    }
    out
}

#[test]
fn soft_ece_gradient_matches_central_differences() {
    for problem in ["moons_mlp", "digits_logreg"] {
        let (mlp, theta, te) = load(problem);
        let eval = Samples::new(&te.x, te.d, &te.y).unwrap();
        let theta = sharpen(&mlp, &theta, 2.0); // away from the optimum: a larger gradient
        let c = SoftEce::new(eval, &mlp, &theta).unwrap();
        let g = c.jacobian_t(&mlp, &theta).unwrap();
        // A fixed direction u: gᵀu against the five-point central difference of f(θ + s·u).
        let p = mlp.n_params();
        let u: Vec<f64> = (0..p)
            .map(|k| ((k * 7919 % 1009) as f64 / 504.5) - 1.0)
            .collect();
        let f = |s: f64| {
            let t: Vec<f64> = theta.iter().zip(&u).map(|(a, b)| a + s * b).collect();
            c.values(&mlp, &t).unwrap()[0]
        };
        let h = 1e-4;
        let fd = (f(-2.0 * h) - 8.0 * f(-h) + 8.0 * f(h) - f(2.0 * h)) / (12.0 * h);
        let an: f64 = g.iter().zip(&u).map(|(a, b)| a * b).sum();
        // Fourth-order differences: O(h⁴) truncation (≈ 1e-12 here) plus O(ε/h) ≈ 1e-12 rounding.
        let rel = (an - fd).abs() / fd.abs().max(1e-3);
        println!(
            "{problem}: directional derivative {an:.9e} vs central difference {fd:.9e} (rel {rel:.1e})"
        );
        assert!(rel < 1e-7, "{problem}: {an} vs {fd}");
        // And three single coordinates.
        for k in [0, p / 2, p - 1] {
            let (mut tp, mut tm) = (theta.clone(), theta.clone());
            tp[k] += h;
            tm[k] -= h;
            let fdk =
                (c.values(&mlp, &tp).unwrap()[0] - c.values(&mlp, &tm).unwrap()[0]) / (2.0 * h);
            assert!(
                (g[k] - fdk).abs() < 1e-7 + 1e-6 * fdk.abs(),
                "{problem} θ_{k}: {} vs {fdk}",
                g[k]
            );
        }
    }
}

#[test]
fn soft_ece_tracks_hard_ece_from_calibrated_to_over_confident() {
    for problem in ["moons_mlp", "digits_logreg"] {
        let (mlp, theta, te) = load(problem);
        let half = te.y.len() / 2;
        let all = Samples::new(&te.x, te.d, &te.y).unwrap();
        let (a, b) = (all.rows(0..half), all.rows(half..te.y.len())); // soft on A, hard on B
        // A temperature sweep: logits × T, the same predictions with sharper or flatter
        // probabilities. Calibrated = the T whose hard ECE on A is smallest (temperature
        // scaling fitted on A); over-confident = 3 × that T.
        let temps: Vec<f64> = (1..=24).map(|k| 0.25 * k as f64).collect();
        let (mut soft, mut hard) = (Vec::new(), Vec::new());
        let mut fit = (f64::INFINITY, 0.0);
        for &t in &temps {
            let th = sharpen(&mlp, &theta, t);
            soft.push(
                SoftEce::new(a, &mlp, &th)
                    .unwrap()
                    .values(&mlp, &th)
                    .unwrap()[0],
            );
            hard.push(hard_ece(&mlp, &th, &b).unwrap().ece);
            let on_a = hard_ece(&mlp, &th, &a).unwrap().ece;
            if on_a < fit.0 {
                fit = (on_a, t);
            }
        }
        let t_cal = fit.1;
        let at = |t: f64| {
            let th = sharpen(&mlp, &theta, t);
            let s = SoftEce::new(a, &mlp, &th)
                .unwrap()
                .values(&mlp, &th)
                .unwrap()[0];
            (s, hard_ece(&mlp, &th, &b).unwrap().ece)
        };
        let (cal, over, trained) = (at(t_cal), at(3.0 * t_cal), at(1.0));
        let r = pearson(&soft, &hard);
        println!(
            "{problem}: trained (T = 1) soft {:.4} / hard {:.4}; calibrated (T = {t_cal}) soft \
             {:.4} / hard {:.4}; over-confident (T = {}) soft {:.4} / hard {:.4}; Pearson of \
             soft (split A) and hard (split B) over T = 0.25..6: {r:.4}",
            trained.0,
            trained.1,
            cal.0,
            cal.1,
            3.0 * t_cal,
            over.0,
            over.1
        );
        // Moons is 95.8% accurate, so over-confidence can open a gap of at most ≈ 0.04:
        // ask for a rise of one point in both.
        assert!(
            over.0 > cal.0 + 0.01,
            "{problem}: soft ECE {cal:?} → {over:?}"
        );
        assert!(
            over.1 > cal.1 + 0.01,
            "{problem}: hard ECE {cal:?} → {over:?}"
        );
        for (s, h) in [cal, over, trained] {
            // Halves of 180 and 250 rows: the hard ECE's own sampling error is a few
            // points, and the soft bins (τ = one bin width) blur it by about as much.
            assert!((s - h).abs() < 0.05, "{problem}: soft {s} vs hard {h}");
        }
        assert!(
            r > 0.9,
            "{problem}: soft and hard ECE do not move together (r = {r})"
        );
    }
}
