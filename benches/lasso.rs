//! How long does the box-constrained Lasso [eq9] take to a relative duality gap of 1e-6?
//!
//! A is m × p, m ∈ {1, 10, 200, 2000}, p ∈ {200, 2000, 20000}, Toeplitz-correlated Gaussian
//! columns (an AR(1) chain across columns, corr(a_i, a_j) = 0.5^|i−j|), b = the sum of 5
//! columns + 0.1·N(0, I) noise (without noise, every m ≥ 200 case is exact recovery in one
//! round). Penalties α = 0.1·α_max and 0.01·α_max, boxes [−1e9, 1e9] ("wide", the standard
//! Lasso of scikit-learn and celer) and [0, 1] ("box01", PUMA's default), plus a 50-point
//! warm-started path down to 0.01·α_max (skipped at 2000 × 20000, where it takes ~10 s).
//! The accuracy of each configuration (stop reason, relative gap) is printed once, outside
//! the timed loop. Throughput is in matrix entries (m·p).
//!
//! Run: `cargo bench -p puma --bench lasso` (filter with e.g. `-- lasso/wide/a0.01/10x20000`).

#![allow(missing_docs)] // criterion_group! generates an undocumented public fn

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use puma::lasso::{LassoParams, LassoProblem, StopReason, alpha_max, lasso_path, lasso_with};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::time::Duration;

/// Seeded A (column-major) and b as described in the module doc.
fn problem(m: usize, p: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(2022);
    let rho: f64 = 0.5;
    let tail = (1.0 - rho * rho).sqrt();
    let mut a = vec![0.0; m * p];
    for j in 0..p {
        for i in 0..m {
            let fresh: f64 = StandardNormal.sample(&mut rng);
            a[j * m + i] = if j == 0 {
                fresh
            } else {
                rho * a[(j - 1) * m + i] + tail * fresh
            };
        }
    }
    let mut b: Vec<f64> = (0..m)
        .map(|_| {
            let e: f64 = StandardNormal.sample(&mut rng);
            0.1 * e
        })
        .collect();
    for k in 0..5 {
        let j = (k * p) / 5 + p / 10;
        for i in 0..m {
            b[i] += a[j * m + i];
        }
    }
    (a, b)
}

const BOXES: [(&str, f64, f64); 2] = [("wide", -1e9, 1e9), ("box01", 0.0, 1.0)];

fn bench_lasso(c: &mut Criterion) {
    let params = LassoParams::default(); // tol = 1e-6 relative gap
    for m in [1, 10, 200, 2000] {
        for p in [200, 2000, 20000] {
            let (a, b) = problem(m, p);
            for (name, lower, upper) in BOXES {
                let base = LassoProblem::new(&a, m, p, &b, 0.0).with_box(lower, upper);
                let amax = alpha_max(&base).unwrap();
                for frac in [0.1, 0.01] {
                    let prob = base.with_alpha(frac * amax);
                    let (_, info) = lasso_with(&prob, &params).unwrap();
                    eprintln!(
                        "accuracy lasso/{name}/a{frac}/{m}x{p}: {:?}, rel gap {:.1e}, {} epochs, {} non-zeros, {} screened, gram {}",
                        info.stop, info.rel_gap, info.epochs, info.nnz, info.screened, info.gram
                    );
                    let mut group = c.benchmark_group(format!("lasso/{name}/a{frac}"));
                    group.sample_size(10);
                    group.warm_up_time(Duration::from_millis(300));
                    group.measurement_time(Duration::from_secs(1));
                    group.throughput(Throughput::Elements((m * p) as u64));
                    group
                        .bench_function(BenchmarkId::from_parameter(format!("{m}x{p}")), |bench| {
                            bench.iter(|| lasso_with(&prob, &params).unwrap())
                        });
                    group.finish();
                }
                if m * p > 4_000_000 {
                    continue; // the 2000 × 20000 path: ~100 full checks of 80 Mflop each
                }
                let path = lasso_path(&base, 0.01, 50, &params).unwrap();
                let unconverged = path
                    .infos
                    .iter()
                    .filter(|i| i.stop != StopReason::Converged)
                    .count();
                let worst = path.infos.iter().map(|i| i.rel_gap).fold(0.0, f64::max);
                eprintln!(
                    "accuracy lasso_path50/{name}/{m}x{p}: {unconverged} of 50 unconverged, worst rel gap {worst:.1e}"
                );
                let mut group = c.benchmark_group(format!("lasso_path50/{name}"));
                group.sample_size(10);
                group.warm_up_time(Duration::from_millis(300));
                group.measurement_time(Duration::from_secs(1));
                group.throughput(Throughput::Elements((m * p) as u64));
                group.bench_function(BenchmarkId::from_parameter(format!("{m}x{p}")), |bench| {
                    bench.iter(|| lasso_path(&base, 0.01, 50, &params).unwrap())
                });
                group.finish();
            }
        }
    }
}

criterion_group!(benches, bench_lasso);
criterion_main!(benches);
