//! How close do gemm, Cholesky and trsm get to the machine's peak, on one thread?
//!
//! Throughput is in flops, so criterion's "elem/s" reads as FLOP/s. Compare against the
//! measured peak (`bash ../shared/tools/peak/run.sh fma`: 51 GFLOP/s f64 per core on the
//! reference machine) and against matrixmultiply's `dgemm` (single-threaded by default).
//!
//! ```text
//! cargo bench -p puma-kernels --bench gemm -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `gemm/{avx2,portable,matrixmultiply,naive}/n`: square n × n · n × n (naive and portable
//!   only up to 256).
//! - `gemm_mlp/{avx2,matrixmultiply}/m×k×n`: the MLP shapes, forward and weight-gradient;
//!   `gemm_mlp/…/fwd0_256x2x16` etc.: the eight products of a [2, 16, 16, 2] MLP gradient
//!   over 256 samples and four MNIST-size ones, in the `gemm_op` layouts the model uses
//!   (`cargo bench -p puma-kernels --bench gemm -- gemm_mlp`).
//! - `potrf/{avx2,naive}/n` (n³/3 flops) and `trsm/avx2/n` (left, lower, n right-hand
//!   sides: n³ flops).

#![allow(missing_docs)] // criterion_group! defines an undocumented `benches` fn

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use puma_kernels::naive::{gemm_naive, potrf_naive};
use puma_kernels::variants::{self, Level};
use puma_kernels::{Diag, Op, Side, Uplo};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// The fastest variant this CPU has (the AVX2 path on the reference machine).
fn best() -> (Level, &'static str) {
    if variants::available().contains(&Level::Avx2Fma) {
        (Level::Avx2Fma, "avx2")
    } else {
        (Level::Portable, "portable")
    }
}

/// C ← AB for an m × k A with strides (rsa, csa) and row-major B and C, with one variant.
#[allow(clippy::too_many_arguments)]
fn ours(
    level: Level,
    m: usize,
    k: usize,
    n: usize,
    a: &[f64],
    rsa: usize,
    csa: usize,
    b: &[f64],
    c: &mut [f64],
) {
    variants::gemm_strided(
        level, m, k, n, 1.0, a, rsa, csa, b, n, 1, 0.0, c, n, 1, false,
    );
}

#[allow(clippy::too_many_arguments)]
fn mm(m: usize, k: usize, n: usize, a: &[f64], rsa: usize, csa: usize, b: &[f64], c: &mut [f64]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let (rsa, csa, ni) = (rsa as isize, csa as isize, n as isize);
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    // SAFETY: A is m × k at strides (rsa, csa) inside `a` (the callers pass exact
    // layouts); B (k × n) and C (m × n) are row-major and fit, as asserted.
    unsafe { matrixmultiply::dgemm(m, k, n, 1.0, pa, rsa, csa, pb, ni, 1, 0.0, pc, ni, 1) };
}

fn square(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("gemm");
    let (level, name) = best();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [16, 32, 64, 128, 256, 512, 1024] {
        let (a, b) = (random(&mut rng, n * n), random(&mut rng, n * n));
        let mut c = vec![0.0; n * n];
        g.throughput(Throughput::Elements(2 * (n * n * n) as u64));
        g.sample_size(if n >= 512 { 10 } else { 30 });
        g.bench_function(BenchmarkId::new(name, n), |bch| {
            bch.iter(|| ours(level, n, n, n, &a, n, 1, &b, black_box(&mut c)))
        });
        g.bench_function(BenchmarkId::new("matrixmultiply", n), |bch| {
            bch.iter(|| mm(n, n, n, &a, n, 1, &b, black_box(&mut c)))
        });
        if n <= 256 {
            if level != Level::Portable {
                g.bench_function(BenchmarkId::new("portable", n), |bch| {
                    bch.iter(|| ours(Level::Portable, n, n, n, &a, n, 1, &b, black_box(&mut c)))
                });
            }
            g.bench_function(BenchmarkId::new("naive", n), |bch| {
                bch.iter(|| {
                    gemm_naive(
                        n,
                        n,
                        n,
                        1.0,
                        &a,
                        n,
                        1,
                        &b,
                        n,
                        1,
                        0.0,
                        black_box(&mut c),
                        n,
                        1,
                    )
                })
            });
        }
    }
    g.finish();
}

/// One MLP product as `gemm_op(ta, tb, m, k, n)` with row-major stored operands and C
/// (ldc = n): its name, the two ops, the sizes and β.
type MlpCase = (&'static str, Op, Op, usize, usize, usize, f64);

/// The eight products of one gradient of a [2, 16, 16, 2] MLP over a chunk of c = 256
/// samples (forward z = aWᵀ with β = 1 onto the bias, weight gradients GᵀA and back-propagated
/// GW with β = 0), then MNIST-size ones ([784, 128, 10], c = 256). `mnist_fwd_nn` is
/// `mnist_fwd0` with B stored k × n (A·B instead of A·Wᵀ), so the two read the cost of packing
/// B from W's rows (column-strided op(B)) against packing it from contiguous rows.
const MLP_CASES: [MlpCase; 14] = [
    ("fwd0", Op::NoTrans, Op::Trans, 256, 2, 16, 1.0),
    ("fwd1", Op::NoTrans, Op::Trans, 256, 16, 16, 1.0),
    ("fwd2", Op::NoTrans, Op::Trans, 256, 16, 2, 1.0),
    ("dW2", Op::Trans, Op::NoTrans, 2, 256, 16, 0.0),
    ("prev2", Op::NoTrans, Op::NoTrans, 256, 2, 16, 0.0),
    ("dW1", Op::Trans, Op::NoTrans, 16, 256, 16, 0.0),
    ("prev1", Op::NoTrans, Op::NoTrans, 256, 16, 16, 0.0),
    ("dW0", Op::Trans, Op::NoTrans, 16, 256, 2, 0.0),
    ("mnist_fwd0", Op::NoTrans, Op::Trans, 256, 784, 128, 1.0),
    ("mnist_fwd_nn", Op::NoTrans, Op::NoTrans, 256, 784, 128, 1.0),
    ("mnist_fwd1", Op::NoTrans, Op::Trans, 256, 128, 10, 1.0),
    ("mnist_dW1", Op::Trans, Op::NoTrans, 10, 256, 128, 0.0),
    ("mnist_dW0", Op::Trans, Op::NoTrans, 128, 256, 784, 0.0),
    ("mnist_prev1", Op::NoTrans, Op::NoTrans, 256, 10, 128, 0.0),
];

/// (row stride, column stride) of op(X) for X stored row-major as op = NoTrans (rows × cols)
/// or Trans (cols × rows).
fn op_strides(op: Op, cols: usize, rows: usize) -> (usize, usize) {
    match op {
        Op::NoTrans => (cols, 1),
        Op::Trans => (1, rows),
    }
}

fn mlp(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("gemm_mlp");
    let (level, name) = best();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    // (m, k, n, A transposed): forward X·Wᵀ-like products, then a weight gradient Xᵀ·E.
    for (m, k, n, at) in [
        (1000, 16, 16, false),
        (256, 128, 10, false),
        (1797, 64, 32, false),
        (256, 784, 128, false),
        (32, 1797, 64, true),
    ] {
        let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
        let (rsa, csa) = if at { (1, m) } else { (k, 1) }; // Aᵀ stored k × m, row-major
        let mut c = vec![0.0; m * n];
        let id = format!("{m}x{k}x{n}{}", if at { "_at" } else { "" });
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(BenchmarkId::new(name, &id), |bch| {
            bch.iter(|| ours(level, m, k, n, &a, rsa, csa, &b, black_box(&mut c)))
        });
        g.bench_function(BenchmarkId::new("matrixmultiply", &id), |bch| {
            bch.iter(|| mm(m, k, n, &a, rsa, csa, &b, black_box(&mut c)))
        });
    }
    // The same products in the layouts the model code passes to `gemm_op`.
    for (what, ta, tb, m, k, n, beta) in MLP_CASES {
        let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
        let ((rsa, csa), (rsb, csb)) = (op_strides(ta, k, m), op_strides(tb, n, k));
        let mut c = random(&mut rng, m * n);
        let id = format!("{what}_{m}x{k}x{n}");
        g.throughput(Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(BenchmarkId::new(name, &id), |bch| {
            bch.iter(|| {
                variants::gemm_strided(
                    level,
                    m,
                    k,
                    n,
                    1.0,
                    &a,
                    rsa,
                    csa,
                    &b,
                    rsb,
                    csb,
                    beta,
                    black_box(&mut c),
                    n,
                    1,
                    false,
                )
            })
        });
        let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let st = |x: usize| x as isize;
        g.bench_function(BenchmarkId::new("matrixmultiply", &id), |bch| {
            bch.iter(|| {
                // SAFETY: A (m × k at (rsa, csa)), B (k × n at (rsb, csb)) and C (m × n,
                // row-major) are exactly the slices allocated above.
                unsafe {
                    matrixmultiply::dgemm(
                        m,
                        k,
                        n,
                        1.0,
                        pa,
                        st(rsa),
                        st(csa),
                        pb,
                        st(rsb),
                        st(csb),
                        beta,
                        black_box(pc),
                        st(n),
                        1,
                    )
                }
            })
        });
    }
    g.finish();
}

/// A well-conditioned SPD matrix: BBᵀ/n + I.
fn spd(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let b = random(rng, n * n);
    let mut a = vec![0.0; n * n];
    variants::gemm_strided(
        best().0,
        n,
        n,
        n,
        1.0 / n as f64,
        &b,
        n,
        1,
        &b,
        1,
        n,
        0.0,
        &mut a,
        n,
        1,
        true,
    );
    for i in 0..n {
        a[i * n + i] += 1.0;
    }
    a
}

fn factor_and_solve(cr: &mut Criterion) {
    let (level, name) = best();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let sizes = [64, 256, 1024, 2048];
    let spds: Vec<Vec<f64>> = sizes.iter().map(|&n| spd(&mut rng, n)).collect();
    let mut g = cr.benchmark_group("potrf");
    for (&n, a) in sizes.iter().zip(&spds) {
        g.throughput(Throughput::Elements((n * n * n / 3) as u64));
        g.sample_size(10);
        g.bench_function(BenchmarkId::new(name, n), |bch| {
            bch.iter_batched_ref(
                || a.clone(),
                |x| variants::potrf_with(level, Uplo::Lower, n, x, n, false).unwrap(),
                BatchSize::LargeInput,
            )
        });
        if n <= 256 {
            g.bench_function(BenchmarkId::new("naive", n), |bch| {
                bch.iter_batched_ref(
                    || a.clone(),
                    |x| potrf_naive(n, x, n).unwrap(),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    g.finish();
    let mut g = cr.benchmark_group("trsm");
    for (&n, a) in sizes.iter().zip(&spds) {
        let mut l = a.clone();
        variants::potrf_with(level, Uplo::Lower, n, &mut l, n, true).unwrap();
        let b = random(&mut rng, n * n);
        g.throughput(Throughput::Elements((n * n * n) as u64));
        g.sample_size(10);
        g.bench_function(BenchmarkId::new(name, n), |bch| {
            bch.iter_batched_ref(
                || b.clone(),
                |x| {
                    variants::trsm_with(
                        level,
                        Side::Left,
                        Uplo::Lower,
                        Op::NoTrans,
                        Diag::NonUnit,
                        n,
                        n,
                        1.0,
                        &l,
                        n,
                        x,
                        n,
                        false,
                    )
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, square, mlp, factor_and_solve);
criterion_main!(benches);
