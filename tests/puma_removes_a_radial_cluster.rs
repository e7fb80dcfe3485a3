//! Figure 6 of the blog post: on the radial data set (a disc inside a ring), remove one
//! 60° angular cluster of the ring class from a trained MLP [2, 16, 16, 2].
//!
//! Retraining without the cluster ([retrain]) flips the prediction of most of its points;
//! the PUMA patch (the [eq10] step, then iterated patching toward [retrain-w]) reproduces
//! ≥ 90% of those flips while accuracy on the unmarked training points stays within one
//! point of θ̂'s, and the guards (per-sample cross-entropy on a guard split outside the
//! cluster's sector) move less under PUMA's step than under naive removal's (η shrinking
//! off, so a step that does nothing cannot pass).

use std::f64::consts::PI;

use puma::autodiff::Activation;
use puma::criteria::{Criterion, LossKind, PerSampleLoss};
use puma::data::synthetic::radial;
use puma::model::train::{TrainParams, train};
use puma::model::{Mlp, Samples};
use puma::puma::{Guard, PatchInput, PatchParams, patch};
use puma::solvers::{Exact, ExactParams};

/// The marked cluster: ring points (class 1) with polar angle in [0°, 60°).
fn in_sector(x: &[f64]) -> bool {
    let a = x[1].atan2(x[0]).rem_euclid(2.0 * PI);
    a < PI / 3.0
}

#[test]
fn puma_removes_a_radial_cluster() {
    let ds = radial(700, 0.15, 1).unwrap(); // rows are shuffled: 400 train, 150 guard, 150 test
    let train_s = Samples::of(&ds).rows(0..400);
    let test_s = Samples::of(&ds).rows(550..700);
    let outside: Vec<usize> = (400..550).filter(|&i| !in_sector(ds.row(i))).collect();
    let guard_ds = ds.subset(&outside).unwrap();
    let guard_s = Samples::of(&guard_ds);
    let mlp = Mlp::new(&[2, 16, 16, 2], Activation::Tanh, 1e-3).unwrap();
    let (theta, info) = train(&mlp, &train_s, &TrainParams::default()).unwrap();
    assert!(
        info.grad_inf < 1e-10,
        "θ̂ must be a minimiser: ‖∇J‖∞ = {:e}",
        info.grad_inf
    );
    let marked: Vec<usize> = (0..400)
        .filter(|&i| train_s.y[i] == 1 && in_sector(&train_s.x[2 * i..2 * i + 2]))
        .collect();

    let guard = PerSampleLoss::new(guard_s, LossKind::CrossEntropy).unwrap();
    let mut input = PatchInput::new(&mlp, &theta, train_s, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 0.05,
    });
    input.eval_sets.push(("guard".into(), guard_s));
    input.eval_sets.push(("test".into(), test_s));
    let params = PatchParams {
        alpha_rel: 0.1,
        shrink: false,
        iterate: 300,
        iterate_tol: 1e-10,
        retrain: true,
        ..PatchParams::default()
    };
    let mut solver = Exact::new(ExactParams::default()).unwrap();
    let out = patch(&input, &params, &mut solver).unwrap();
    let r = &out.report;
    let flips = |model: &str| {
        r.model(model)
            .unwrap()
            .flips
            .iter()
            .find(|(s, _)| s == "marked")
            .unwrap()
            .1
    };
    for m in &r.models {
        println!(
            "{:9} marked acc {:.3}, unmarked train acc {:.3}, guard acc {:.3}, test acc {:.3}, \
             ‖θ − θ_r‖/‖θ̂ − θ_r‖ = {:.3}, flips of M reproduced {}/{}",
            m.name,
            m.on("marked").unwrap().accuracy,
            m.on("upweighted").unwrap().accuracy,
            m.on("guard").unwrap().accuracy,
            m.on("test").unwrap().accuracy,
            m.rel_dist_to_retrain.unwrap(),
            flips(&m.name).reproduced,
            flips(&m.name).flipped_by_retrain,
        );
    }
    let it = r.iterate.as_ref().unwrap();
    println!(
        "|M| = {}, λ: {} non-zero, Σ = {:.3}; iterated {} steps to ‖∇J_w‖∞ = {:.2e}",
        r.marked, r.lambda_nnz, r.lambda_sum, it.steps, it.grad_inf
    );

    // 1. Retraining must flip at least half of the cluster, or the test proves nothing.
    let f = flips("iterated");
    assert!(
        2 * f.flipped_by_retrain >= marked.len(),
        "[retrain] flips only {} of {} marked points",
        f.flipped_by_retrain,
        marked.len()
    );
    // 2. The patch reproduces ≥ 90% of those flips.
    assert!(
        f.rate() >= 0.9,
        "the patch reproduces {}/{} flips",
        f.reproduced,
        f.flipped_by_retrain
    );
    // 3. Accuracy on the unmarked training points within one point of θ̂'s.
    let acc = |m: &str| r.model(m).unwrap().on("upweighted").unwrap().accuracy;
    assert!((acc("iterated") - acc("theta_hat")).abs() <= 0.01);
    // 4. PUMA's guards move less than naive removal's (row RMS of C(θ) − C(θ̂)).
    let g = r.criterion(&guard.name()).unwrap();
    let (puma, naive) = (g.actual_of("puma").unwrap(), g.actual_of("naive").unwrap());
    println!(
        "guard rows move: puma rms {:.3e}, naive rms {:.3e}",
        puma.rms, naive.rms
    );
    assert!(
        puma.rms < naive.rms,
        "PUMA rms {:e} vs naive {:e}",
        puma.rms,
        naive.rms
    );
    assert!(out.theta_mod != theta, "the patch must move θ");
}
