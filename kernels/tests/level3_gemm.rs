//! gemm on every variant equals the naive triple loop exactly, for all shapes up to 67,
//! a few large ones, every layout of A, B and C, and β ∈ {0, 1, −2.5} (NaN in C for β = 0).

mod level3_common;

use level3_common::{KINDS, Kind, Strided, ints, rng};
use puma_kernels::naive::gemm_naive;
use puma_kernels::variants::{self, Level};
use puma_kernels::{Op, gemm, gemm_op, gemm_strided};
use rand::Rng;

const BETAS: [f64; 3] = [0.0, 1.0, -2.5];

/// Runs `variant` (or the public dispatching `gemm_strided` when `None`) and the oracle on the
/// same inputs and asserts equality of every element and that no gap of C was written.
#[allow(clippy::too_many_arguments)]
fn check(
    level: Option<Level>,
    seed: u64,
    m: usize,
    k: usize,
    n: usize,
    kinds: [Kind; 3],
    alpha: f64,
    beta: f64,
) {
    let mut r = rng(seed);
    let a = Strided::random(&mut r, m, k, kinds[0], f64::NAN);
    let b = Strided::random(&mut r, k, n, kinds[1], f64::NAN);
    let gap = -777.0;
    let c0 = if beta == 0.0 {
        Strided::new(m, n, kinds[2], &vec![f64::NAN; m * n], gap)
    } else {
        Strided::random(&mut r, m, n, kinds[2], gap)
    };
    let (mut got, mut want) = (c0.clone(), c0);
    let args = |c: &mut Strided| (c.rs, c.cs);
    let (rsc, csc) = args(&mut got);
    match level {
        Some(l) => variants::gemm_strided(
            l,
            m,
            k,
            n,
            alpha,
            &a.data,
            a.rs,
            a.cs,
            &b.data,
            b.rs,
            b.cs,
            beta,
            &mut got.data,
            rsc,
            csc,
            true,
        ),
        None => gemm_strided(
            m,
            k,
            n,
            alpha,
            &a.data,
            a.rs,
            a.cs,
            &b.data,
            b.rs,
            b.cs,
            beta,
            &mut got.data,
            rsc,
            csc,
        ),
    }
    gemm_naive(
        m,
        k,
        n,
        alpha,
        &a.data,
        a.rs,
        a.cs,
        &b.data,
        b.rs,
        b.cs,
        beta,
        &mut want.data,
        rsc,
        csc,
    );
    for i in 0..m {
        for j in 0..n {
            let idx = i * rsc + j * csc;
            assert_eq!(
                got.data[idx], want.data[idx],
                "{level:?} {m}×{k}×{n} {kinds:?} α={alpha} β={beta} at ({i}, {j})"
            );
        }
    }
    assert!(
        got.gaps_hold(gap),
        "{level:?} {m}×{k}×{n} {kinds:?}: wrote outside C"
    );
}

fn levels() -> Vec<Option<Level>> {
    let mut v: Vec<Option<Level>> = variants::available().into_iter().map(Some).collect();
    v.push(None);
    v
}

#[test]
fn every_square_size_up_to_67_matches_naive() {
    for level in levels() {
        for n in 0..=67 {
            for (t, &beta) in BETAS.iter().enumerate() {
                let kinds = [KINDS[n % 5], KINDS[(n + t) % 5], KINDS[(n + 2 * t) % 5]];
                check(level, n as u64, n, n, n, kinds, 1.5, beta);
            }
        }
    }
}

#[test]
fn random_shapes_up_to_67_match_naive_in_random_layouts() {
    let mut r = rng(7);
    for case in 0..400 {
        let (m, k, n) = (
            r.random_range(0..=67),
            r.random_range(0..=67),
            r.random_range(0..=67),
        );
        let kinds = [
            KINDS[r.random_range(0..5)],
            KINDS[r.random_range(0..5)],
            KINDS[r.random_range(0..5)],
        ];
        let beta = BETAS[case % 3];
        let alpha = [1.0, -0.5, 2.0][(case / 3) % 3];
        for level in levels() {
            check(level, case as u64, m, k, n, kinds, alpha, beta);
        }
    }
}

#[test]
fn every_combination_of_layouts_matches_naive() {
    for level in levels() {
        for (s, &(m, k, n)) in [(13, 17, 11), (37, 29, 41), (6, 1, 8)].iter().enumerate() {
            for ka in KINDS {
                for kb in KINDS {
                    for kc in KINDS {
                        for beta in BETAS {
                            check(level, s as u64, m, k, n, [ka, kb, kc], -1.0, beta);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn large_shapes_match_naive() {
    // 300 > MC rows, 257 > KC depth (two k blocks), 2100 > NC columns, 513 odd.
    for level in levels() {
        check(
            level,
            1,
            300,
            257,
            513,
            [Kind::RowMajor, Kind::RowPadded, Kind::RowMajor],
            1.0,
            -2.5,
        );
        check(
            level,
            2,
            300,
            257,
            513,
            [Kind::ColMajor, Kind::RowMajor, Kind::RowPadded],
            0.5,
            0.0,
        );
        check(
            level,
            3,
            257,
            513,
            300,
            [Kind::RowPadded, Kind::ColPadded, Kind::ColMajor],
            1.0,
            1.0,
        );
        check(
            level,
            4,
            7,
            3,
            2100,
            [Kind::RowMajor, Kind::RowMajor, Kind::RowMajor],
            1.0,
            1.0,
        );
        check(
            level,
            5,
            131,
            600,
            19,
            [Kind::General, Kind::ColMajor, Kind::General],
            -2.0,
            0.0,
        );
    }
}

#[test]
fn zero_alpha_or_zero_k_scales_c_without_reading_a_or_b() {
    for level in variants::available() {
        for (k, alpha) in [(0, 1.0), (5, 0.0)] {
            let a = vec![f64::NAN; 4 * k];
            let b = vec![f64::NAN; k * 3];
            let mut c = vec![2.0; 12];
            variants::gemm_strided(
                level, 4, k, 3, alpha, &a, k, 1, &b, 3, 1, -2.5, &mut c, 3, 1, true,
            );
            assert_eq!(c, vec![-5.0; 12]);
            let mut c = vec![f64::NAN; 12];
            variants::gemm_strided(
                level, 4, k, 3, alpha, &a, k, 1, &b, 3, 1, 0.0, &mut c, 3, 1, true,
            );
            assert_eq!(c, vec![0.0; 12]);
        }
    }
}

#[test]
fn gemm_op_transposes_match_naive() {
    let mut r = rng(11);
    for (m, k, n) in [(1, 1, 1), (23, 31, 17), (64, 5, 70)] {
        for ta in [Op::NoTrans, Op::Trans] {
            for tb in [Op::NoTrans, Op::Trans] {
                let (lda, ldb, ldc) = (
                    if ta == Op::NoTrans { k } else { m } + 2,
                    if tb == Op::NoTrans { n } else { k } + 1,
                    n + 4,
                );
                let a = ints(&mut r, (if ta == Op::NoTrans { m } else { k }) * lda, -4, 4);
                let b = ints(&mut r, (if tb == Op::NoTrans { k } else { n }) * ldb, -4, 4);
                let c0 = ints(&mut r, m * ldc, -4, 4);
                let (mut got, mut want) = (c0.clone(), c0);
                gemm_op(ta, tb, m, k, n, 2.0, &a, lda, &b, ldb, -2.5, &mut got, ldc);
                let (rsa, csa) = if ta == Op::NoTrans {
                    (lda, 1)
                } else {
                    (1, lda)
                };
                let (rsb, csb) = if tb == Op::NoTrans {
                    (ldb, 1)
                } else {
                    (1, ldb)
                };
                gemm_naive(
                    m, k, n, 2.0, &a, rsa, csa, &b, rsb, csb, -2.5, &mut want, ldc, 1,
                );
                assert_eq!(got, want, "{ta:?} {tb:?} {m}×{k}×{n}");
            }
        }
    }
    // The contiguous form.
    let (a, b) = (ints(&mut r, 12, -4, 4), ints(&mut r, 20, -4, 4));
    let (mut got, mut want) = (vec![f64::NAN; 15], vec![0.0; 15]);
    gemm(3, 4, 5, 1.0, &a, &b, 0.0, &mut got);
    gemm_naive(3, 4, 5, 1.0, &a, 4, 1, &b, 5, 1, 0.0, &mut want, 5, 1);
    assert_eq!(got, want);
}

#[test]
fn extreme_scales_1e150_stay_exact() {
    // Powers of two scale products exactly: (2^e A)(2^-e B) = AB and (2^e A)B = 2^e AB.
    let s = 2f64.powi(498); // ≈ 1e150
    let mut r = rng(13);
    let (m, k, n) = (29, 70, 33);
    let (a, b) = (ints(&mut r, m * k, -4, 4), ints(&mut r, k * n, -4, 4));
    let mut want = vec![0.0; m * n];
    gemm_naive(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &mut want, n, 1);
    for level in variants::available() {
        for (ea, eb, ec) in [
            (s, 1.0 / s, 1.0),
            (1.0 / s, 1.0 / s, 1.0 / s / s),
            (s, s, s * s),
        ] {
            let sa: Vec<f64> = a.iter().map(|x| x * ea).collect();
            let sb: Vec<f64> = b.iter().map(|x| x * eb).collect();
            let mut got = vec![f64::NAN; m * n];
            variants::gemm_strided(
                level, m, k, n, 1.0, &sa, k, 1, &sb, n, 1, 0.0, &mut got, n, 1, true,
            );
            let back: Vec<f64> = got.iter().map(|x| x / ec).collect();
            assert_eq!(back, want, "{level:?} scale {ea:e}");
        }
    }
}

#[test]
#[should_panic(expected = "too short")]
fn a_short_slice_panics() {
    let mut c = vec![0.0; 4];
    gemm_strided(
        2, 2, 2, 1.0, &[1.0; 3], 2, 1, &[1.0; 4], 2, 1, 0.0, &mut c, 2, 1,
    );
}

#[test]
#[should_panic(expected = "map two elements to one index")]
fn overlapping_c_strides_panic() {
    let mut c = vec![0.0; 4];
    gemm_strided(
        2, 2, 2, 1.0, &[1.0; 4], 2, 1, &[1.0; 4], 2, 1, 0.0, &mut c, 1, 1,
    );
}
