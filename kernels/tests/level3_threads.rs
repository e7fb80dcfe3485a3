//! gemm, syrk, trsm and Cholesky give bit-identical results on one and on two threads:
//! each element of C is computed by one thread in a fixed k order.

mod level3_common;

use level3_common::{rng, spd};
use puma_kernels::variants::{self, Level, PAR_MIN_FLOPS};
use puma_kernels::{Diag, Op, Side, Uplo};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn real(r: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len).map(|_| r.random_range(-1.0..1.0)).collect()
}

fn gemm_on(level: Level, threads: usize, m: usize, k: usize, n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let (a, b, mut c) = (
        real(&mut r, m * k),
        real(&mut r, k * n),
        real(&mut r, m * n),
    );
    on_threads(threads, || {
        variants::gemm_strided(
            level, m, k, n, 0.7, &a, k, 1, &b, n, 1, -1.3, &mut c, n, 1, true,
        )
    });
    c
}

#[test]
fn gemm_is_bit_identical_on_one_and_two_threads() {
    // Split by rows (m ≥ n), by columns (n > m), a skinny m (computed as Cᵀ = BᵀAᵀ), and
    // column-major C; all above the threshold.
    for (m, k, n) in [
        (400, 300, 350),
        (48, 700, 1500),
        (333, 257, 401),
        (24, 1100, 900),
    ] {
        assert!(2.0 * (m * k * n) as f64 >= PAR_MIN_FLOPS);
        for level in variants::available() {
            let (one, two) = (gemm_on(level, 1, m, k, n, 9), gemm_on(level, 2, m, k, n, 9));
            assert!(
                one.iter()
                    .zip(&two)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{level:?} {m}×{k}×{n}"
            );
        }
    }
    for level in variants::available() {
        let (m, k, n) = (350, 300, 400);
        let mut r = rng(4);
        let (a, b) = (real(&mut r, m * k), real(&mut r, k * n));
        let run = |threads| {
            let mut c = vec![f64::NAN; m * n];
            on_threads(threads, || {
                variants::gemm_strided(
                    level, m, k, n, 1.0, &a, 1, m, &b, 1, k, 0.0, &mut c, 1, m, true,
                )
            });
            c
        };
        assert_eq!(
            run(1).iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            run(2).iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn factorisations_and_solves_are_bit_identical_on_one_and_two_threads() {
    for level in variants::available() {
        let n = 700;
        let (a0, _) = spd(&mut rng(1), n, n, true, 0.0);
        let mut r = rng(2);
        let b0 = real(&mut r, n * 300);
        let run = |threads| {
            on_threads(threads, || {
                let mut a = a0.clone();
                variants::potrf_with(level, Uplo::Lower, n, &mut a, n, true).unwrap();
                let mut b = b0.clone();
                variants::potrs_with(level, Uplo::Lower, n, 300, &a, n, &mut b, 300, true);
                let mut x = b0.clone();
                variants::trsm_with(
                    level,
                    Side::Right,
                    Uplo::Lower,
                    Op::Trans,
                    Diag::NonUnit,
                    300,
                    n,
                    1.0,
                    &a,
                    n,
                    &mut x,
                    n,
                    true,
                );
                let mut c = vec![f64::NAN; n * n];
                variants::syrk_with(
                    level,
                    Uplo::Upper,
                    Op::Trans,
                    n,
                    300,
                    1.0,
                    &b0,
                    n,
                    0.0,
                    &mut c,
                    n,
                    true,
                );
                [a, b, x, c]
                    .concat()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            })
        };
        assert!(run(1) == run(2), "{level:?}");
    }
}
