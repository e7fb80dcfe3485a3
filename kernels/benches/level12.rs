//! How close do dot, axpy and gemv come to the machine's memory bandwidth?
//!
//! Each kernel runs on the AVX2+FMA variant (what dispatch picks on this machine), the
//! portable variant and the naive oracle, single-threaded, at sizes inside the caches and
//! far outside L3, and reports GB/s (criterion `Throughput::Bytes`, counting each byte the
//! definition must move once, as STREAM does):
//!
//! | kernel | bytes counted |
//! |---|---|
//! | dot | 16 n (read x, y) |
//! | axpy | 24 n (read x, y; write y) |
//! | gemv | 8 (m n + len x + 2 len y) (read A, x, y; write y) |
//!
//! The last groups time the element-wise kernels in elements per second and the row
//! softmax (`softmax_rows/*`) in rows per second.
//!
//! Compare the out-of-cache figures with `bash ../shared/tools/peak/run.sh mem` (dot and
//! triad at DRAM size, one thread). Run with modest times, e.g.
//! `cargo bench -p puma-kernels --bench level12 -- --measurement-time 2 --warm-up-time 1`.

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use puma_kernels::dispatch::Level;
use puma_kernels::level12 as var;
use puma_kernels::{Activation, Op, naive};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// Bytes per vector (dot, axpy): three in cache (L1, L2, L2/L3 edge), then 2× and 8× the
/// 32 MiB L3.
const VECTOR_BYTES: [(usize, &str); 5] = [
    (4 << 10, "4KiB"),
    (32 << 10, "32KiB"),
    (256 << 10, "256KiB"),
    (64 << 20, "64MiB"),
    (256 << 20, "256MiB"),
];

/// gemv shapes (m, n): A of 32 KiB and 256 KiB in cache, 256 MiB (8× L3) out of cache.
const GEMV_SHAPES: [(usize, usize, &str); 3] = [
    (64, 64, "32KiB"),
    (128, 256, "256KiB"),
    (4096, 8192, "256MiB"),
];

fn seeded(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

fn name(level: Level) -> &'static str {
    match level {
        Level::Portable => "portable",
        Level::Avx2Fma => "avx2",
    }
}

/// Fewer samples for the out-of-cache sizes, where one call takes milliseconds.
fn samples(bytes: usize) -> usize {
    if bytes >= 16 << 20 { 10 } else { 50 }
}

fn bench_dot(c: &mut Criterion) {
    let mut g = c.benchmark_group("dot");
    for (bytes, label) in VECTOR_BYTES {
        let n = bytes / 8;
        let (x, y) = (seeded(n, 1), seeded(n, 2));
        g.throughput(Throughput::Bytes(16 * n as u64));
        g.sample_size(samples(bytes));
        for level in var::available() {
            g.bench_function(BenchmarkId::new(name(level), label), |b| {
                b.iter(|| var::dot(level, black_box(&x), black_box(&y)))
            });
        }
        g.bench_function(BenchmarkId::new("naive", label), |b| {
            b.iter(|| naive::dot_naive(black_box(&x), black_box(&y)))
        });
    }
    g.finish();
}

fn bench_axpy(c: &mut Criterion) {
    let mut g = c.benchmark_group("axpy");
    let alpha = 1e-9; // y drifts by ≤ 1e-9 per call: no overflow over any run length
    for (bytes, label) in VECTOR_BYTES {
        let n = bytes / 8;
        let (x, mut y) = (seeded(n, 3), seeded(n, 4));
        g.throughput(Throughput::Bytes(24 * n as u64));
        g.sample_size(samples(bytes));
        for level in var::available() {
            g.bench_function(BenchmarkId::new(name(level), label), |b| {
                b.iter(|| var::axpy(level, alpha, black_box(&x), black_box(&mut y)))
            });
        }
        g.bench_function(BenchmarkId::new("naive", label), |b| {
            b.iter(|| naive::axpy_naive(alpha, black_box(&x), black_box(&mut y)))
        });
    }
    g.finish();
}

fn bench_gemv(c: &mut Criterion) {
    for trans in [Op::NoTrans, Op::Trans] {
        let group = if trans == Op::NoTrans {
            "gemv_n"
        } else {
            "gemv_t"
        };
        let mut g = c.benchmark_group(group);
        for (m, n, label) in GEMV_SHAPES {
            let a = seeded(m * n, 5);
            let (len_x, len_y) = if trans == Op::NoTrans { (n, m) } else { (m, n) };
            let x = seeded(len_x, 6);
            let mut y = seeded(len_y, 7);
            g.throughput(Throughput::Bytes(8 * (m * n + len_x + 2 * len_y) as u64));
            g.sample_size(samples(8 * m * n));
            let (alpha, beta) = (1.0, 0.5); // β = 0.5 keeps y bounded over repeated calls
            for level in var::available() {
                g.bench_function(BenchmarkId::new(name(level), label), |b| {
                    b.iter(|| {
                        var::gemv(
                            level,
                            trans,
                            m,
                            n,
                            alpha,
                            black_box(&a),
                            n,
                            &x,
                            1,
                            beta,
                            black_box(&mut y),
                            1,
                        )
                    })
                });
            }
            g.bench_function(BenchmarkId::new("naive", label), |b| {
                b.iter(|| {
                    naive::gemv_naive(
                        trans,
                        m,
                        n,
                        alpha,
                        black_box(&a),
                        n,
                        &x,
                        1,
                        beta,
                        black_box(&mut y),
                        1,
                    )
                })
            });
        }
        g.finish();
    }
}

/// Element-wise kernels in cache (4096 elements), in elements per second: the vectorised
/// exp (sigmoid, tanh, their derivatives, log-softmax over rows of 16 classes) and relu
/// against std calls.
fn bench_elementwise(c: &mut Criterion) {
    let n = 4096;
    let x: Vec<f64> = seeded(n, 8).iter().map(|v| 8.0 * v).collect();
    let mut y = vec![0.0; n];
    for act in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
    ] {
        let mut g = c.benchmark_group(act.name());
        g.throughput(Throughput::Elements(n as u64));
        for level in var::available() {
            g.bench_function(BenchmarkId::new(name(level), n), |b| {
                b.iter(|| var::activation_apply(level, act, black_box(&x), black_box(&mut y)))
            });
        }
        g.bench_function(BenchmarkId::new("naive", n), |b| {
            b.iter(|| {
                for (yi, xi) in y.iter_mut().zip(black_box(&x)) {
                    *yi = naive::activation_naive(act, *xi);
                }
            })
        });
        g.finish();
    }
    for act in [Activation::Sigmoid, Activation::Tanh] {
        // σ′ and sech²: the derivative kernels, on the same vectorised exp.
        let mut g = c.benchmark_group(format!("{}_deriv", act.name()));
        g.throughput(Throughput::Elements(n as u64));
        for level in var::available() {
            g.bench_function(BenchmarkId::new(name(level), n), |b| {
                b.iter(|| var::activation_deriv(level, act, black_box(&x), black_box(&mut y)))
            });
        }
        g.finish();
    }
    let mut g = c.benchmark_group("log_softmax");
    g.throughput(Throughput::Elements(n as u64));
    let cols = 16;
    for level in var::available() {
        g.bench_function(BenchmarkId::new(name(level), n), |b| {
            b.iter(|| var::log_softmax_rows(level, cols, black_box(&x), black_box(&mut y)))
        });
    }
    g.bench_function(BenchmarkId::new("naive", n), |b| {
        b.iter(|| naive::log_softmax_rows_naive(cols, black_box(&x), black_box(&mut y)))
    });
    g.finish();
}

/// Row softmax with log-sum-exp on MLP logits (the softmax cross-entropy's forward pass):
/// 1000 rows × 2 classes and 256 rows × 10 classes, logits in [−8, 8], in rows per second.
/// The in-place variants get a fresh copy of the logits per call, outside the timing.
fn bench_softmax_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("softmax_rows");
    for (rows, cols) in [(1000, 2), (256, 10)] {
        let x: Vec<f64> = seeded(rows * cols, 9).iter().map(|v| 8.0 * v).collect();
        let shape = format!("{rows}x{cols}");
        g.throughput(Throughput::Elements(rows as u64));
        let mut lse = vec![0.0; rows];
        for level in var::available() {
            g.bench_function(BenchmarkId::new(name(level), &shape), |b| {
                b.iter_batched_ref(
                    || x.clone(),
                    |p| var::softmax_rows_in_place(level, cols, black_box(p), black_box(&mut lse)),
                    BatchSize::SmallInput,
                )
            });
        }
        let mut p = vec![0.0; rows * cols];
        g.bench_function(BenchmarkId::new("naive", &shape), |b| {
            b.iter(|| naive::softmax_rows_naive(cols, black_box(&x), black_box(&mut p), &mut lse))
        });
    }
    g.finish();
}

/// Runs every group (what `criterion_group!` + `criterion_main!` expand to, documented).
fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_dot(&mut c);
    bench_axpy(&mut c);
    bench_gemv(&mut c);
    bench_elementwise(&mut c);
    bench_softmax_rows(&mut c);
    c.final_summary();
}
