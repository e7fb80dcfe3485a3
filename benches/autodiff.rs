//! How fast is one loss-and-gradient evaluation of [J] on the tape?
//!
//! `loss_and_grad/{model}/threads{1,2}`: `Mlp::value_and_grad` (the fused forward, softmax
//! cross-entropy and backward pass over the layer chain, decay), and `tape_threads1` the same
//! recorded on the autodiff tape (`Mlp::value_and_grad_tape`, the oracle), for [2,16,16,2] on the moons training set (n = 1000), [64,32,10] on
//! UCI digits (n = 1797) and [784,128,10] on 1000 MNIST images (seeded shuffle, pixels/255).
//! Throughput is the GEMM flop count of one gradient,
//! 2n·(3·Σ_l d_l·d_{l+1} − d_0·d_1) (forward, ∂W for every layer, ∂h for all but the first),
//! so criterion's "elements/s" reads as flop/s. Targets (issue 4, one thread): [784,128,10]
//! ≥ 30 GFLOP/s; [2,16,16,2] under 0.08 ms.

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

mod common;

use std::hint::black_box;

use common::problems;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use puma::model::{Mlp, Samples};

/// GEMM flops of one gradient: 2n·(3·Σ d_l d_{l+1} − d_0 d_1).
fn gradient_flops(mlp: &Mlp, n: usize) -> u64 {
    let s = mlp.sizes();
    let sum: usize = s.windows(2).map(|w| w[0] * w[1]).sum();
    (2 * n * (3 * sum - s[0] * s[1])) as u64
}

fn loss_and_grad(c: &mut Criterion) {
    let mut group = c.benchmark_group("loss_and_grad");
    group
        .sample_size(20)
        .measurement_time(std::time::Duration::from_secs(3));
    for (name, mlp, ds) in problems() {
        let s = Samples::of(&ds);
        let theta = mlp.init(0);
        group.throughput(Throughput::Elements(gradient_flops(&mlp, ds.n())));
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            group.bench_function(BenchmarkId::new(name, format!("threads{threads}")), |b| {
                pool.install(|| {
                    b.iter(|| black_box(mlp.value_and_grad(black_box(&theta), &s).unwrap()))
                })
            });
            if threads == 1 {
                group.bench_function(BenchmarkId::new(name, "tape_threads1"), |b| {
                    pool.install(|| {
                        b.iter(|| {
                            black_box(mlp.value_and_grad_tape(black_box(&theta), &s).unwrap())
                        })
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, loss_and_grad);
criterion_main!(benches);
