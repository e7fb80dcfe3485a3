//! Claim: the same seed gives identical bits with 1 and 2 rayon threads, for the objective
//! and gradient, L-BFGS + Newton training and Adam (fixed chunks reduced in a fixed order).

mod common;

use common::read_csv;
use puma::autodiff::Activation;
use puma::model::train::{AdamParams, LbfgsParams, TrainParams, adam, train};
use puma::model::{Mlp, Samples};

/// Runs `f` on a fresh rayon pool of `threads` threads.
fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn objective_gradient_and_training_are_identical_with_one_and_two_threads() {
    let all = read_csv("digits/digits.csv"); // 1797 rows: 8 chunks, the last partial
    let s = Samples::new(&all.x, all.d, &all.y).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Gelu, 1e-3).unwrap();
    let theta = mlp.init(11);
    let run = || {
        let (j, g) = mlp.value_and_grad(&theta, &s).unwrap();
        let params = TrainParams {
            seed: 2,
            lbfgs: LbfgsParams {
                max_iters: 30,
                ..Default::default()
            },
            polish: None,
        };
        let (trained, info) = train(&mlp, &s, &params).unwrap();
        let adam_params = AdamParams {
            epochs: 2,
            batch_size: 300,
            ..Default::default()
        };
        let (adam_theta, adam_info) = adam(&mlp, theta.clone(), &s, &adam_params).unwrap();
        (
            j.to_bits(),
            bits(&g),
            bits(&trained),
            info.objective.to_bits(),
            bits(&adam_theta),
            adam_info.grad_inf.to_bits(),
        )
    };
    let one = with_threads(1, run);
    let two = with_threads(2, run);
    assert!(one == two, "results differ between 1 and 2 threads");
}

#[test]
fn logistic_training_with_newton_polish_is_identical_with_one_and_two_threads() {
    let t = read_csv("reference/digits_logreg/train.csv");
    let s = Samples::new(&t.x, t.d, &t.y).unwrap();
    let mlp = Mlp::new(&[64, 10], Activation::Tanh, 1e-3).unwrap();
    let run = || {
        let (theta, info) = train(&mlp, &s, &TrainParams::default()).unwrap();
        (bits(&theta), info.grad_inf.to_bits(), info.iters)
    };
    let (one, two) = (with_threads(1, run), with_threads(2, run));
    assert!(one == two, "results differ between 1 and 2 threads");
}
