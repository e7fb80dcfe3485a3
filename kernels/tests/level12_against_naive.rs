//! Every level-1/2 kernel on every variant this CPU runs, against its naive oracle.
//!
//! Integer-valued inputs (|v| ≤ 8, sums far below 2⁵³) make every result exact, so those
//! comparisons are `assert_eq!` on bits. Random real inputs use a named tolerance. Outputs
//! that β = 0 must not read are NaN-filled; gaps between strided outputs hold a sentinel
//! that must survive. Run with `PUMA_KERNEL=portable` too (CI does): the public entry
//! points then take the portable path, while these tests still reach both variants.

use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, RngSeed};
use puma_kernels::dispatch::Level;
use puma_kernels::level12 as var;
use puma_kernels::{Op, naive};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = f64::EPSILON;
/// Sentinel in the gaps between strided elements; must be left untouched.
const GAP: f64 = 777.0;

/// Every length 0..=67 (all remainders of the 4- and 16-wide loops) and two large ones.
fn lengths() -> impl Iterator<Item = usize> {
    (0..=67).chain([1000, 4099])
}

/// Integers in [−8, 8] as f64.
fn ints(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| f64::from(rng.random_range(-8..=8)))
        .collect()
}

/// Uniform in [−scale, scale].
fn reals(rng: &mut ChaCha8Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n)
        .map(|_| scale * rng.random_range(-1.0..=1.0))
        .collect()
}

/// `n` values at stride `inc`, gaps holding [`GAP`].
fn spread(values: &[f64], inc: usize) -> Vec<f64> {
    let mut out = vec![GAP; values.len().saturating_sub(1) * inc + 1];
    for (i, v) in values.iter().enumerate() {
        out[i * inc] = *v;
    }
    if values.is_empty() {
        out.clear();
    }
    out
}

#[test]
fn dot_is_exact_on_integers() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for level in var::available() {
        for n in lengths() {
            let (x, y) = (ints(&mut rng, n), ints(&mut rng, n));
            assert_eq!(
                var::dot(level, &x, &y),
                naive::dot_naive(&x, &y),
                "{level:?} n={n}"
            );
        }
    }
}

#[test]
fn dot_is_within_n_eps_at_every_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for level in var::available() {
        for scale in [1.0, 1e150, 1e-150] {
            for n in lengths() {
                let (x, y) = (reals(&mut rng, n, scale), reals(&mut rng, n, 1.0));
                let want = naive::dot_naive(&x, &y);
                let abs: f64 = x.iter().zip(&y).map(|(a, b)| (a * b).abs()).sum();
                let tol = 2.0 * n as f64 * EPS * abs; // both sums err by ≤ n ε Σ|x y|
                let got = var::dot(level, &x, &y);
                assert!(
                    (got - want).abs() <= tol,
                    "{level:?} scale={scale} n={n}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn dot_strided_is_exact_on_integers() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for level in var::available() {
        for (incx, incy) in [(1, 1), (2, 3), (3, 1), (1, 5)] {
            for n in lengths() {
                let (xs, ys) = (ints(&mut rng, n), ints(&mut rng, n));
                let (x, y) = (spread(&xs, incx), spread(&ys, incy));
                let want = naive::dot_strided_naive(n, &x, incx, &y, incy);
                assert_eq!(want, naive::dot_naive(&xs, &ys), "the oracles agree");
                assert_eq!(
                    var::dot_strided(level, n, &x, incx, &y, incy),
                    want,
                    "{level:?} n={n}"
                );
            }
        }
    }
}

#[test]
fn axpy_is_exact_on_integers_and_skips_alpha_zero() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for level in var::available() {
        for alpha in [0.0, 1.0, -2.5] {
            for n in lengths() {
                let mut x = ints(&mut rng, n);
                if alpha == 0.0 && n > 0 {
                    x[n / 2] = f64::NAN; // α = 0 must not read x
                }
                let y0 = ints(&mut rng, n);
                let (mut got, mut want) = (y0.clone(), y0.clone());
                var::axpy(level, alpha, &x, &mut got);
                naive::axpy_naive(alpha, &x, &mut want);
                assert_eq!(got, want, "{level:?} alpha={alpha} n={n}");
            }
        }
    }
}

#[test]
fn axpy_is_within_one_rounding_on_reals() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for level in var::available() {
        for scale in [1.0, 1e150, 1e-150] {
            for n in lengths() {
                let alpha = rng.random_range(-3.0..3.0);
                let x = reals(&mut rng, n, scale);
                let y0 = reals(&mut rng, n, scale);
                let (mut got, mut want) = (y0.clone(), y0.clone());
                var::axpy(level, alpha, &x, &mut got);
                naive::axpy_naive(alpha, &x, &mut want);
                for i in 0..n {
                    let tol = 2.0 * EPS * ((alpha * x[i]).abs() + y0[i].abs()); // FMA vs two roundings
                    assert!((got[i] - want[i]).abs() <= tol, "{level:?} n={n} i={i}");
                }
            }
        }
    }
}

#[test]
fn axpy_strided_is_exact_and_leaves_gaps() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for level in var::available() {
        for (incx, incy) in [(1, 1), (2, 3), (3, 1), (1, 4)] {
            for alpha in [0.0, 1.0, -2.5] {
                for n in lengths() {
                    let x = spread(&ints(&mut rng, n), incx);
                    let y0 = spread(&ints(&mut rng, n), incy);
                    let (mut got, mut want) = (y0.clone(), y0.clone());
                    var::axpy_strided(level, n, alpha, &x, incx, &mut got, incy);
                    naive::axpy_strided_naive(n, alpha, &x, incx, &mut want, incy);
                    assert_eq!(
                        got, want,
                        "{level:?} n={n} inc=({incx},{incy}) alpha={alpha}"
                    );
                }
            }
        }
    }
}

#[test]
fn scal_is_exact_on_integers_and_multiplies_nan() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for level in var::available() {
        for alpha in [0.0, 1.0, -2.5] {
            for n in lengths() {
                let x0 = ints(&mut rng, n);
                let (mut got, mut want) = (x0.clone(), x0);
                var::scal(level, alpha, &mut got);
                naive::scal_naive(alpha, &mut want);
                assert_eq!(got, want, "{level:?} alpha={alpha} n={n}");
            }
        }
        let mut x = vec![f64::NAN; 9];
        var::scal(level, 0.0, &mut x);
        assert!(
            x.iter().all(|v| v.is_nan()),
            "{level:?}: scal is a plain multiply, 0 · NaN = NaN"
        );
    }
}

#[test]
fn nrm2_is_exact_on_integers() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for level in var::available() {
        for n in lengths() {
            let x = ints(&mut rng, n);
            let want = x.iter().map(|v| v * v).sum::<f64>().sqrt(); // exact sum, one rounding
            assert_eq!(var::nrm2(level, &x), want, "{level:?} n={n}");
        }
        assert_eq!(var::nrm2(level, &[3.0, 4.0]), 5.0);
    }
}

#[test]
fn nrm2_neither_overflows_nor_underflows() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for level in var::available() {
        for scale in [1.0, 1e150, 1e-150, 1e300, 1e-300, 1e-310, f64::MAX / 128.0] {
            // f64::MAX / 128: the norm of 4099 such entries is still ≤ MAX / 2.
            for n in lengths() {
                let x = reals(&mut rng, n, scale);
                let want = naive::nrm2_naive(&x);
                let got = var::nrm2(level, &x);
                let tol = 2.0 * (n as f64 + 4.0) * EPS * want; // O(nε) relative, both sides
                assert!(
                    (got - want).abs() <= tol,
                    "{level:?} scale={scale} n={n}: {got} vs {want}"
                );
                assert!(
                    got.is_finite() && (n == 0 || got > 0.0),
                    "{level:?} scale={scale} n={n}"
                );
            }
        }
        // One huge entry among tiny ones; one tiny among zeros; the overflowing norm.
        let mut x = vec![1e-170; 100];
        x[37] = 1e300;
        assert_eq!(var::nrm2(level, &x), 1e300);
        let mut x = vec![0.0; 50];
        x[3] = -3e-320;
        assert_eq!(var::nrm2(level, &x), 3e-320);
        assert_eq!(
            var::nrm2(level, &[1e308, 1e308, 1e308, 1e308]),
            f64::INFINITY
        );
        let t = 2f64.powi(-1000); // (3t, 4t) has norm 5t exactly, through the rescaling pass
        assert_eq!(var::nrm2(level, &[3.0 * t, -4.0 * t]), 5.0 * t);
        assert_eq!(var::nrm2(level, &[3.0 / t, -4.0 / t]), 5.0 / t);
        assert_eq!(var::nrm2(level, &[]), 0.0);
        assert_eq!(
            var::nrm2(level, &[1.0, f64::NAN, -f64::INFINITY]),
            f64::INFINITY
        );
        assert!(var::nrm2(level, &[1.0, f64::NAN, 2.0]).is_nan());
    }
}

/// Runs gemv on `level` and the oracle on NaN/GAP-prepared copies and compares.
#[allow(clippy::too_many_arguments)]
fn gemv_case(
    rng: &mut ChaCha8Rng,
    level: Level,
    trans: Op,
    m: usize,
    n: usize,
    lda: usize,
    incx: usize,
    incy: usize,
    alpha: f64,
    beta: f64,
) {
    let (len_x, len_y) = if trans == Op::NoTrans { (n, m) } else { (m, n) };
    let mut a = ints(rng, if m == 0 { 0 } else { (m - 1) * lda + n });
    for i in 0..m {
        for j in n..lda.min(a.len() - i * lda) {
            a[i * lda + j] = f64::NAN; // padding columns must never be read
        }
    }
    if alpha == 0.0 && !a.is_empty() {
        a[0] = f64::NAN; // α = 0 must not read a
    }
    let x = spread(&ints(rng, len_x), incx);
    let y_vals = if beta == 0.0 {
        vec![f64::NAN; len_y]
    } else {
        ints(rng, len_y)
    };
    let y0 = spread(&y_vals, incy);
    let (mut got, mut want) = (y0.clone(), y0);
    var::gemv(
        level, trans, m, n, alpha, &a, lda, &x, incx, beta, &mut got, incy,
    );
    naive::gemv_naive(trans, m, n, alpha, &a, lda, &x, incx, beta, &mut want, incy);
    // Values, not bits: α·(exact 0) is −0 in the oracle but +0 after y ← 0; y ← y + αAᵀx.
    assert_eq!(
        got, want,
        "{level:?} {trans:?} m={m} n={n} lda={lda} inc=({incx},{incy}) α={alpha} β={beta}"
    );
    assert!(
        got.iter().all(|v| !v.is_nan()),
        "NaN leaked: {trans:?} m={m} n={n} α={alpha} β={beta}"
    );
}

#[test]
fn gemv_is_exact_on_integers_for_every_shape_stride_alpha_beta() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let sizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 67];
    for level in var::available() {
        for trans in [Op::NoTrans, Op::Trans] {
            for &m in &sizes {
                for &n in &sizes {
                    for lda in [n, n + 3] {
                        for (incx, incy) in [(1, 1), (2, 1), (1, 3), (3, 2)] {
                            for alpha in [0.0, 1.0, -2.5] {
                                for beta in [0.0, 1.0, -2.5] {
                                    gemv_case(
                                        &mut rng, level, trans, m, n, lda, incx, incy, alpha, beta,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    // Fixed seed and algorithm (STYLE.md): the same 256 layouts on every run.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x9e37_79b9),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random shapes, paddings, strides, α, β and trans on every variant, exact on integers.
    #[test]
    fn gemv_matches_naive_on_random_layouts(
        trans in prop_oneof![Just(Op::NoTrans), Just(Op::Trans)],
        m in 0usize..40,
        n in 0usize..40,
        pad in 0usize..4,
        (incx, incy) in (1usize..5, 1usize..5),
        (ia, ib) in (0usize..3, 0usize..3),
        seed in any::<u64>(),
    ) {
        let scalars = [0.0, 1.0, -2.5];
        for level in var::available() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            gemv_case(&mut rng, level, trans, m, n, n + pad, incx, incy, scalars[ia], scalars[ib]);
        }
    }
}

#[test]
fn gemv_is_exact_on_large_integer_matrices() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for level in var::available() {
        for trans in [Op::NoTrans, Op::Trans] {
            for (m, n) in [(1000, 37), (37, 1000), (257, 301)] {
                gemv_case(&mut rng, level, trans, m, n, n + 1, 1, 1, -2.5, 1.0);
                gemv_case(&mut rng, level, trans, m, n, n, 2, 3, 1.0, 0.0);
            }
        }
    }
}

#[test]
fn gemv_is_within_n_eps_on_reals_at_every_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for level in var::available() {
        for scale in [1.0, 1e150, 1e-150] {
            for trans in [Op::NoTrans, Op::Trans] {
                for (m, n) in [(67, 45), (45, 67), (300, 257)] {
                    let a = reals(&mut rng, m * n, scale);
                    let (len_x, len_y) = if trans == Op::NoTrans { (n, m) } else { (m, n) };
                    let x = reals(&mut rng, len_x, 1.0);
                    let y0 = reals(&mut rng, len_y, scale);
                    let (alpha, beta) = (-2.5, 0.75);
                    let (mut got, mut want) = (y0.clone(), y0.clone());
                    var::gemv(level, trans, m, n, alpha, &a, n, &x, 1, beta, &mut got, 1);
                    naive::gemv_naive(trans, m, n, alpha, &a, n, &x, 1, beta, &mut want, 1);
                    // |error| ≤ 2 (len_x + 2) ε (|α| |op(A)| |x| + |β y|), both sides.
                    let mut abs = vec![0.0; len_y];
                    let a_abs: Vec<f64> = a.iter().map(|v| v.abs()).collect();
                    let x_abs: Vec<f64> = x.iter().map(|v| v.abs()).collect();
                    naive::gemv_naive(
                        trans,
                        m,
                        n,
                        alpha.abs(),
                        &a_abs,
                        n,
                        &x_abs,
                        1,
                        0.0,
                        &mut abs,
                        1,
                    );
                    for j in 0..len_y {
                        let tol =
                            2.0 * (len_x as f64 + 2.0) * EPS * (abs[j] + (beta * y0[j]).abs());
                        assert!(
                            (got[j] - want[j]).abs() <= tol,
                            "{level:?} {trans:?} {m}×{n} scale={scale} j={j}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "too short")]
fn gemv_rejects_a_short_matrix() {
    let a = [0.0; 11];
    let mut y = [0.0; 3];
    puma_kernels::gemv(Op::NoTrans, 3, 4, 1.0, &a, 4, &[0.0; 4], 1, 0.0, &mut y, 1);
}

#[test]
#[should_panic(expected = "do not fit")]
fn gemv_rejects_a_short_strided_y() {
    let a = [0.0; 12];
    let mut y = [0.0; 6];
    puma_kernels::gemv(Op::NoTrans, 3, 4, 1.0, &a, 4, &[0.0; 4], 1, 0.0, &mut y, 3);
}

#[test]
#[should_panic(expected = "lda")]
fn gemv_rejects_lda_below_n() {
    let a = [0.0; 12];
    let mut y = [0.0; 3];
    puma_kernels::gemv(Op::NoTrans, 3, 4, 1.0, &a, 3, &[0.0; 4], 1, 0.0, &mut y, 1);
}

#[test]
#[should_panic(expected = "differ in length")]
fn dot_rejects_unequal_lengths() {
    puma_kernels::dot(&[1.0; 5], &[1.0; 4]);
}

#[test]
#[should_panic(expected = "stride must be at least 1")]
fn axpy_strided_rejects_stride_zero() {
    let mut y = [0.0; 4];
    puma_kernels::axpy_strided(4, 1.0, &[1.0; 4], 0, &mut y, 1);
}

#[test]
fn public_entry_points_match_the_dispatched_variant() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let level = puma_kernels::dispatch::level();
    let (x, y) = (reals(&mut rng, 1001, 1.0), reals(&mut rng, 1001, 1.0));
    assert_eq!(
        puma_kernels::dot(&x, &y).to_bits(),
        var::dot(level, &x, &y).to_bits()
    );
    assert_eq!(
        puma_kernels::nrm2(&x).to_bits(),
        var::nrm2(level, &x).to_bits()
    );
    if std::env::var("PUMA_KERNEL").as_deref() == Ok("portable") {
        assert_eq!(
            level,
            Level::Portable,
            "PUMA_KERNEL=portable must force the portable path"
        );
    }
}
