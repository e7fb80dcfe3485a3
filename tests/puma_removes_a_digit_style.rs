//! Figure 7 of the blog post: remove one style of handwritten 4 from a digits MLP.
//!
//! K-means (seeded) splits the training 4s into styles; one cluster is marked. Retraining
//! without it flips the prediction of at least half of the cluster; the PUMA patch (the
//! [eq10] step, then iterated patching toward [retrain-w]) reaches a minimiser of the
//! reweighted objective that flips at least 90% as many,
//! the other 4s lose at most 2 points of accuracy, and the test accuracy stays within 1
//! point; the guards (per-sample cross-entropy on a guard split, the marked style excluded)
//! move less under PUMA's step than under naive removal's (η shrinking off).
//!
//! "Test accuracy within 1 point" is checked on the test points outside the removed style
//! (against θ̂) and on the whole test split (against [retrain]): the test 4s of the removed
//! style flip too, as they do under retraining, which costs ≈ 3 points of the overall test
//! accuracy here (a style that retraining flips by at least half has ≥ 40 training rows).

use puma::autodiff::Activation;
use puma::criteria::{Criterion, LossKind, PerSampleLoss};
use puma::data::Dataset;
use puma::data::csv::read_csv;
use puma::model::train::{TrainParams, train};
use puma::model::{Mlp, Samples};
use puma::puma::{Guard, PatchInput, PatchParams, patch};
use puma::solvers::{Exact, ExactParams};
use rand::SeedableRng;
use rand::seq::SliceRandom;

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Lloyd's k-means on the rows `idx` of `ds` from k seeded distinct starting rows; returns
/// the centroids (k × d) after `iters` rounds.
fn kmeans(ds: &Dataset, idx: &[usize], k: usize, seed: u64, iters: usize) -> Vec<Vec<f64>> {
    let mut order = idx.to_vec();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let mut c: Vec<Vec<f64>> = order[..k].iter().map(|&i| ds.row(i).to_vec()).collect();
    for _ in 0..iters {
        let mut sum = vec![vec![0.0; ds.d()]; k];
        let mut cnt = vec![0usize; k];
        for &i in idx {
            let j = nearest(&c, ds.row(i));
            cnt[j] += 1;
            sum[j].iter_mut().zip(ds.row(i)).for_each(|(s, x)| *s += x);
        }
        for j in 0..k {
            if cnt[j] > 0 {
                c[j] = sum[j].iter().map(|s| s / cnt[j] as f64).collect();
            }
        }
    }
    c
}

fn nearest(c: &[Vec<f64>], x: &[f64]) -> usize {
    (0..c.len())
        .min_by(|&a, &b| sq_dist(&c[a], x).total_cmp(&sq_dist(&c[b], x)))
        .unwrap()
}

#[test]
fn puma_removes_a_digit_style() {
    let mut ds = read_csv(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/digits/digits.csv"
    ))
    .unwrap();
    ds.standardise_in_place();
    let (ds, _) = ds.shuffled(0);
    let (n_train, n_guard) = (1100, 350);
    let train_ds = ds.subset(&(0..n_train).collect::<Vec<_>>()).unwrap();
    let rest_guard: Vec<usize> = (n_train..n_train + n_guard).collect();
    let test_rows: Vec<usize> = (n_train + n_guard..ds.n()).collect();
    let test_ds = ds.subset(&test_rows).unwrap();
    let hidden = 16;
    let mlp = Mlp::new(&[64, hidden, 10], Activation::Tanh, 1e-2).unwrap();
    let train_s = Samples::of(&train_ds);
    let t0 = std::time::Instant::now();
    let (theta, info) = train(&mlp, &train_s, &TrainParams::default()).unwrap();
    println!(
        "trained p = {} in {:.2} s: ‖∇J‖∞ = {:e}",
        mlp.n_params(),
        t0.elapsed().as_secs_f64(),
        info.grad_inf
    );

    let fours: Vec<usize> = (0..n_train)
        .filter(|&i| train_ds.labels()[i] == 4)
        .collect();
    let k = 3;
    let cent = kmeans(&train_ds, &fours, k, 0, 20);
    let which = 2; // the style retraining flips by more than half
    let marked: Vec<usize> = fours
        .iter()
        .copied()
        .filter(|&i| nearest(&cent, train_ds.row(i)) == which)
        .collect();
    let other4: Vec<usize> = fours
        .iter()
        .copied()
        .filter(|&i| nearest(&cent, train_ds.row(i)) != which)
        .collect();
    let guard_rows: Vec<usize> = rest_guard
        .iter()
        .copied()
        .filter(|&i| !(ds.labels()[i] == 4 && nearest(&cent, ds.row(i)) == which))
        .collect();
    let guard_ds = ds.subset(&guard_rows).unwrap();
    let test_other: Vec<usize> = test_rows
        .iter()
        .copied()
        .filter(|&i| !(ds.labels()[i] == 4 && nearest(&cent, ds.row(i)) == which))
        .collect();
    let test_other_ds = ds.subset(&test_other).unwrap();
    let other4_ds = train_ds.subset(&other4).unwrap();
    let guard_s = Samples::of(&guard_ds);
    let guard = PerSampleLoss::new(guard_s, LossKind::CrossEntropy).unwrap();
    let mut input = PatchInput::new(&mlp, &theta, train_s, &marked);
    input.guards.push(Guard {
        criterion: &guard,
        delta: 0.05,
    });
    input
        .eval_sets
        .push(("other4".into(), Samples::of(&other4_ds)));
    input.eval_sets.push(("guard".into(), guard_s));
    input.eval_sets.push(("test".into(), Samples::of(&test_ds)));
    input
        .eval_sets
        .push(("test_other".into(), Samples::of(&test_other_ds)));
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
    println!(
        "{}",
        serde_json::to_string(&r.to_json()["seconds"]).unwrap()
    );
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
            "{:9} marked acc {:.3}, other 4s {:.3}, guard {:.3}, test {:.3}, rel dist {:.3}, flips {}/{} ({:.1} s)",
            m.name,
            m.on("marked").unwrap().accuracy,
            m.on("other4").unwrap().accuracy,
            m.on("guard").unwrap().accuracy,
            m.on("test").unwrap().accuracy,
            m.rel_dist_to_retrain.unwrap(),
            flips(&m.name).reproduced,
            flips(&m.name).flipped_by_retrain,
            m.seconds,
        );
    }
    let it = r.iterate.as_ref().unwrap();
    println!(
        "|M| = {} of {} fours, λ: {} non-zero, Σ = {:.3}; iterated {} steps to {:.2e}",
        r.marked,
        fours.len(),
        r.lambda_nnz,
        r.lambda_sum,
        it.steps,
        it.grad_inf
    );
    let acc = |m: &str, set: &str| r.model(m).unwrap().on(set).unwrap().accuracy;
    println!(
        "test accuracy: θ̂ {:.3}, patch {:.3}, retrain {:.3}; outside the style: θ̂ {:.3}, patch {:.3}",
        acc("theta_hat", "test"),
        acc("iterated", "test"),
        acc("retrain", "test"),
        acc("theta_hat", "test_other"),
        acc("iterated", "test_other"),
    );
    let g = r.criterion(&guard.name()).unwrap();
    let (pu, na) = (g.actual_of("puma").unwrap(), g.actual_of("naive").unwrap());
    println!(
        "guard rows move: puma rms {:.3e}, naive rms {:.3e}",
        pu.rms, na.rms
    );

    // 1. Retraining must flip at least half of the style, or the test proves nothing.
    let f = flips("iterated");
    assert!(
        2 * f.flipped_by_retrain >= marked.len(),
        "[retrain] flips only {} of {}",
        f.flipped_by_retrain,
        marked.len()
    );
    // 2. The patch removes the style as retraining does: it is a minimiser of the reweighted
    //    objective [J_w] and flips at least 90% as many of the marked points. Which points
    //    flip is not asserted: J_w is not convex, and the iterated patch (quasi-Newton from
    //    the [eq10] step) and L-BFGS retraining, both from θ̂, can settle in different
    //    minima of it (seen when the chunking of the gradient sums changed the rounding:
    //    rel dist 1.9, 28/33 of [retrain]'s flips, 36 flips of its own against 33).
    assert!(
        it.grad_inf <= 1e-8,
        "iterated patch: ‖∇J_w‖∞ = {:e}",
        it.grad_inf
    );
    assert!(
        10 * f.flipped_by_model >= 9 * f.flipped_by_retrain,
        "the patch flips {} of the style, retraining {} (reproducing {})",
        f.flipped_by_model,
        f.flipped_by_retrain,
        f.reproduced
    );
    // 3. The other 4s lose at most 2 points (they may gain), the test accuracy within 1 point.
    let other4 = (acc("theta_hat", "other4"), acc("iterated", "other4"));
    assert!(other4.1 >= other4.0 - 0.02 - 1e-12, "other 4s: {other4:?}");
    assert!((acc("iterated", "test_other") - acc("theta_hat", "test_other")).abs() <= 0.01);
    assert!((acc("iterated", "test") - acc("retrain", "test")).abs() <= 0.01);
    // 4. PUMA's guards move less than naive removal's.
    assert!(
        pu.rms < na.rms,
        "PUMA rms {:e} vs naive {:e}",
        pu.rms,
        na.rms
    );
}
