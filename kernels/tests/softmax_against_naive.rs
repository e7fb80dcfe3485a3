//! Row softmax with log-sum-exp on every variant against the naive oracle (std's `exp` and
//! `ln` in plain loops), the two variants against each other, rows of p summing to 1, and
//! the edge rows (NaN, ±∞, exponents below −708) exactly as the portable path has them.

use puma_kernels::level12 as var;
use puma_kernels::naive;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = f64::EPSILON;

/// Row widths: the AVX2 path's four-rows-per-register arms (1–16), and its along-the-row
/// path with and without a partial last quad (17, 20, 35).
const COLS: [usize; 19] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 35,
];
/// Row counts: empty, fewer than a block of four, whole blocks, blocks plus a remainder.
const ROWS: [usize; 6] = [0, 1, 3, 4, 7, 100];

/// Kinds of logits: moderate, around ±700, tiny, spread over ±700 (many exponents below
/// −708, i.e. subnormal or zero e^{x − m}), and a mix of all of these within each row.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Moderate,
    Large,
    Small,
    Spread,
    Mixed,
}

fn logit(rng: &mut ChaCha8Rng, kind: Kind) -> f64 {
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    match kind {
        Kind::Moderate => rng.random_range(-30.0..30.0),
        Kind::Large => sign * 700.0 + rng.random_range(-20.0..20.0),
        Kind::Small => rng.random_range(-1e-3..1e-3),
        Kind::Spread => rng.random_range(-700.0..700.0),
        Kind::Mixed => {
            let pick = [Kind::Moderate, Kind::Large, Kind::Small, Kind::Spread];
            let k = pick[rng.random_range(0..pick.len())];
            logit(rng, k)
        }
    }
}

/// p within 8 ε relatively (two exps of ≤ 1 ulp each, the sum, reciprocal and product), or
/// a few subnormal ulps where p underflows.
fn close_p(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    (got - want).abs() <= 8.0 * EPS * want.abs() + 1e-322
}

/// lse within 8 ε of max(|lse|, 1): m + ln s with s ∈ [1, cols] carrying a few ε.
fn close_lse(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    (got - want).abs() <= 8.0 * EPS * want.abs().max(1.0)
}

/// Σ v by Neumaier's compensated summation, so that the test's own rounding does not count
/// against the kernel.
fn sum_compensated(v: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0_f64, 0.0_f64);
    for &x in v {
        let t = s + x;
        c += if s.abs() >= x.abs() {
            (s - t) + x
        } else {
            (x - t) + s
        };
        s = t;
    }
    s + c
}

/// Runs `level` on a copy of `x`, returning (p, lse).
fn run(level: puma_kernels::dispatch::Level, cols: usize, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut p = x.to_vec();
    let mut lse = vec![f64::NAN; x.len().checked_div(cols).unwrap_or(0)];
    var::softmax_rows_in_place(level, cols, &mut p, &mut lse);
    (p, lse)
}

#[test]
fn softmax_matches_naive_and_rows_sum_to_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let mut checked = 0;
    for level in var::available() {
        for cols in COLS {
            for rows in ROWS {
                for kind in [
                    Kind::Moderate,
                    Kind::Large,
                    Kind::Small,
                    Kind::Spread,
                    Kind::Mixed,
                ] {
                    let x: Vec<f64> = (0..rows * cols).map(|_| logit(&mut rng, kind)).collect();
                    let (p, lse) = run(level, cols, &x);
                    let mut want_p = vec![0.0; x.len()];
                    let mut want_lse = vec![0.0; rows];
                    naive::softmax_rows_naive(cols, &x, &mut want_p, &mut want_lse);
                    let at = format!("{level:?} cols={cols} rows={rows} {kind:?}");
                    for i in 0..x.len() {
                        assert!(
                            close_p(p[i], want_p[i]),
                            "{at} p[{i}] = {:e}, want {:e}",
                            p[i],
                            want_p[i]
                        );
                    }
                    for (i, row) in p.chunks(cols).enumerate() {
                        assert!(
                            close_lse(lse[i], want_lse[i]),
                            "{at} lse[{i}] = {}, want {}",
                            lse[i],
                            want_lse[i]
                        );
                        let total = sum_compensated(row);
                        assert!((total - 1.0).abs() <= 1e-15, "{at} row {i}: Σ p = {total}");
                    }
                    checked += x.len();
                }
            }
        }
    }
    eprintln!("softmax: {checked} entries checked against the naive oracle");
}

#[test]
fn variants_agree_within_a_few_ulp() {
    let mut rng = ChaCha8Rng::seed_from_u64(32);
    let levels = var::available();
    let (mut differ, mut worst) = (0, 0.0_f64); // entries not bit-equal; largest |Δp| / (ε p)
    for cols in COLS {
        for rows in ROWS {
            let x: Vec<f64> = (0..rows * cols)
                .map(|_| logit(&mut rng, Kind::Mixed))
                .collect();
            let (p0, lse0) = run(levels[0], cols, &x);
            for &level in &levels[1..] {
                let (p, lse) = run(level, cols, &x);
                for i in 0..x.len() {
                    assert!(close_p(p[i], p0[i]), "{level:?} cols={cols} p[{i}]");
                    if p[i].to_bits() != p0[i].to_bits() {
                        differ += 1;
                        worst = worst
                            .max((p[i] - p0[i]).abs() / (EPS * p0[i].abs().max(f64::MIN_POSITIVE)));
                    }
                }
                for i in 0..rows {
                    assert!(close_lse(lse[i], lse0[i]), "{level:?} cols={cols} lse[{i}]");
                }
            }
        }
    }
    eprintln!("variants: {differ} entries of p differ, by at most {worst:.2} ε·p");
}

#[test]
fn edge_rows_match_the_portable_path() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    for level in var::available() {
        for cols in COLS {
            // Rows: NaN in the middle, +∞, all −∞, a −∞ beside finite values, all NaN, and
            // an ordinary row, so that the edge rows share blocks with ordinary ones.
            let special: [(f64, usize); 5] = [
                (nan, cols / 2),
                (inf, 0),
                (-inf, usize::MAX),
                (-inf, cols - 1),
                (nan, usize::MAX),
            ];
            let mut x = Vec::new();
            for (r, &(v, at)) in special.iter().enumerate() {
                for j in 0..cols {
                    x.push(if at == usize::MAX || j == at {
                        v
                    } else {
                        (r + j) as f64
                    });
                }
            }
            x.extend((0..cols).map(|j| j as f64 * 0.5));
            let (p, lse) = run(level, cols, &x);
            let (want_p, want_lse) = run(puma_kernels::dispatch::Level::Portable, cols, &x);
            let at = format!("{level:?} cols={cols}");
            for (r, (row, want)) in p.chunks(cols).zip(want_p.chunks(cols)).enumerate() {
                // −∞ beside finite values (row 3, when cols > 1) gives p = 0 there; the other
                // edge rows are NaN throughout.
                let nan_row = r != 5 && !(r == 3 && cols > 1);
                assert_eq!(lse[r].is_nan(), nan_row, "{at} row {r}: lse = {}", lse[r]);
                assert!(close_lse(lse[r], want_lse[r]), "{at} row {r}");
                for (g, w) in row.iter().zip(want) {
                    assert_eq!(g.is_nan(), nan_row, "{at} row {r}: {row:?}");
                    assert!(close_p(*g, *w), "{at} row {r}: {row:?} vs {want:?}");
                }
            }
            if cols > 1 {
                assert_eq!(p[3 * cols + cols - 1], 0.0, "{at}: e^(−∞) = 0");
            }
        }
    }
}

#[test]
fn public_entry_point_and_lse_identity() {
    // ln Σ e^{x} written out, and p = e^{x − lse}, on rows of two and ten logits.
    for cols in [2, 10] {
        let x: Vec<f64> = (0..3 * cols)
            .map(|i| (i as f64 * 0.37).sin() * 5.0)
            .collect();
        let mut p = x.clone();
        let mut lse = vec![0.0; 3];
        puma_kernels::softmax_rows_in_place(cols, &mut p, &mut lse);
        for (i, xr) in x.chunks(cols).enumerate() {
            let want = xr.iter().map(|v| v.exp()).sum::<f64>().ln();
            assert!((lse[i] - want).abs() <= 4.0 * EPS * want.abs().max(1.0));
            for (j, v) in xr.iter().enumerate() {
                let want_p = (v - lse[i]).exp();
                assert!((p[i * cols + j] - want_p).abs() <= 16.0 * EPS * want_p);
            }
        }
    }
}

#[test]
#[should_panic(expected = "not a multiple")]
fn softmax_rejects_a_ragged_matrix() {
    let mut x = [0.0; 5];
    let mut lse = [0.0; 2];
    puma_kernels::softmax_rows_in_place(2, &mut x, &mut lse);
}

#[test]
#[should_panic(expected = "one entry per row")]
fn softmax_rejects_a_wrong_lse_length() {
    let mut x = [0.0; 6];
    let mut lse = [0.0; 2];
    puma_kernels::softmax_rows_in_place(2, &mut x, &mut lse);
}
