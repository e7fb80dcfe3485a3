//! Activations, their derivatives and log-softmax on every variant, against the naive
//! oracles, and each derivative against central differences of the function one order
//! below (an oracle that shares no formula with the code under test).

use puma_kernels::level12 as var;
use puma_kernels::{Activation, naive};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const EPS: f64 = f64::EPSILON;

/// Random values in [−12, 12] plus the edges: zeros, tiny, saturating, overflowing, ±∞, NaN.
fn inputs(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let edges = [
        0.0,
        -0.0,
        1e-300,
        -1e-300,
        1e-9,
        -1e-9,
        1.0,
        -1.0,
        3.5,
        -3.5,
        20.0,
        -20.0,
        40.0,
        -40.0,
        700.0,
        -700.0,
        800.0,
        -800.0,
        1e300,
        -1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let mut x: Vec<f64> = edges.to_vec();
    x.extend((0..n).map(|_| rng.random_range(-12.0..12.0)));
    x
}

/// |got − want| ≤ 16 ε max(|want|, 1): a few ulp on the scale of each function's range. The
/// code and the oracle use different but equally valid forms (sech² x vs 1 − tanh² x,
/// σ(x)σ(−x) vs σ(1 − σ)), each within a few ulp of max(|f|, 1).
fn close(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    (got - want).abs() <= 16.0 * EPS * want.abs().max(1.0) || got == want
}

#[test]
fn activations_and_derivatives_match_naive_on_every_variant() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    for level in var::available() {
        for act in Activation::ALL {
            for n in (0..=67).chain([1000]) {
                let x = inputs(&mut rng, n);
                let len = x.len();
                let mut y = vec![f64::NAN; len];
                var::activation_apply(level, act, &x, &mut y);
                let mut y_in_place = x.clone();
                var::activation_apply_in_place(level, act, &mut y_in_place);
                let mut d1 = vec![f64::NAN; len];
                var::activation_deriv(level, act, &x, &mut d1);
                let mut d2 = vec![f64::NAN; len];
                var::activation_second_deriv(level, act, &x, &mut d2);
                for i in 0..len {
                    let xi = x[i];
                    let (f, f1, f2) = (
                        naive::activation_naive(act, xi),
                        naive::activation_deriv_naive(act, xi),
                        naive::activation_second_deriv_naive(act, xi),
                    );
                    assert!(close(y[i], f), "{level:?} {act:?}({xi}) = {} vs {f}", y[i]);
                    assert_eq!(
                        y_in_place[i].to_bits(),
                        y[i].to_bits(),
                        "{level:?} {act:?} in place, x = {xi}"
                    );
                    assert!(
                        close(d1[i], f1),
                        "{level:?} {act:?}'({xi}) = {} vs {f1}",
                        d1[i]
                    );
                    assert!(
                        close(d2[i], f2),
                        "{level:?} {act:?}''({xi}) = {} vs {f2}",
                        d2[i]
                    );
                }
            }
        }
    }
}

#[test]
fn sigmoid_is_relatively_accurate_in_its_tails() {
    // σ(x) down to σ(−700) ≈ 1e-304, where an absolute test would accept anything: the
    // oracle 1/(1 + e^{−x}) is within 2 ulp relative, the AVX2 exp within 2 ulp, so 8 ulp.
    let x: Vec<f64> = (-7000..=7000).map(|k| 0.1 * k as f64 + 0.013).collect();
    for level in var::available() {
        let mut s = vec![0.0; x.len()];
        var::activation_apply(level, Activation::Sigmoid, &x, &mut s);
        let mut d = vec![0.0; x.len()];
        var::activation_deriv(level, Activation::Sigmoid, &x, &mut d);
        let mut sp = vec![0.0; x.len()];
        var::activation_deriv(level, Activation::Softplus, &x, &mut sp);
        for i in 0..x.len() {
            let want = naive::activation_naive(Activation::Sigmoid, x[i]);
            let want_d = want * naive::activation_naive(Activation::Sigmoid, -x[i]); // σ(x)σ(−x)
            assert!(
                (s[i] - want).abs() <= 8.0 * EPS * want,
                "{level:?} σ({}) = {} vs {want}",
                x[i],
                s[i]
            );
            assert!(
                (d[i] - want_d).abs() <= 8.0 * EPS * want_d,
                "{level:?} σ'({}) = {} vs {want_d}",
                x[i],
                d[i]
            );
            assert_eq!(sp[i].to_bits(), s[i].to_bits(), "{level:?}: softplus' is σ");
        }
    }
}

#[test]
fn tanh_and_sech2_are_relatively_accurate() {
    // Relative, not absolute: tanh near 0 (down to 1e-300) and sech² in its tail (down to
    // ≈ 1e-300 at |x| = 345). Oracles: std's tanh and 1/cosh², each within 2–3 ulp; the AVX2
    // forms |x|P(x²), 1 − 2/(e^{2|x|} + 1) and 4e/(1 + e)² add ≤ 3 ulp: 6 and 8 ulp.
    let mut x: Vec<f64> = (-3450..=3450).map(|k| 0.1 * k as f64 + 0.0071).collect();
    x.extend((-300..=0).map(|e| 10f64.powi(e)));
    x.extend((-300..=0).map(|e| -(10f64.powi(e))));
    for level in var::available() {
        let mut t = vec![0.0; x.len()];
        var::activation_apply(level, Activation::Tanh, &x, &mut t);
        let mut d = vec![0.0; x.len()];
        var::activation_deriv(level, Activation::Tanh, &x, &mut d);
        for i in 0..x.len() {
            let want = x[i].tanh();
            assert!(
                (t[i] - want).abs() <= 6.0 * EPS * want.abs(),
                "{level:?} tanh({}) = {} vs {want}",
                x[i],
                t[i]
            );
            let want_d = 1.0 / (x[i].cosh() * x[i].cosh());
            let tol = 8.0 * EPS * want_d;
            assert!(
                (d[i] - want_d).abs() <= tol,
                "{level:?} sech²({}) = {} vs {want_d}",
                x[i],
                d[i]
            );
        }
        let mut z = [-0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 400.0];
        var::activation_apply_in_place(level, Activation::Tanh, &mut z);
        assert!(
            z[0] == 0.0 && z[0].is_sign_negative(),
            "{level:?}: tanh(−0) = −0"
        );
        assert!(
            z[1].is_nan() && z[2] == 1.0 && z[3] == -1.0 && z[4] == 1.0,
            "{level:?}: {z:?}"
        );
    }
}

#[test]
fn tanh_is_accurate_at_its_reduction_boundaries_and_odd() {
    // The AVX2 tanh reduces t = −2|x| = k ln2 + r: k turns from 0 to −1 at |x| = ln2/4 ≈ 0.173
    // and from −1 to −2 at 3 ln2/4 ≈ 0.520, where eᵗ − 1 changes form (2ᵏ − 1 stops being
    // 0); and tanh rounds to 1 from |x| ≈ 19.1, below the clamp at 20. Dense sweeps of those
    // regions, the boundaries ± a few ulp, against std's tanh (6 ε relative, as above);
    // exactly ±1 where std's tanh is; and tanh(−x) = −tanh(x) bit for bit.
    let ln2 = std::f64::consts::LN_2;
    let mut x: Vec<f64> = (0..=20_000)
        .map(|k| 0.17 + 0.18 * k as f64 / 20_000.0)
        .collect();
    x.extend((0..=2_000).map(|k| 0.5 + 0.04 * k as f64 / 2_000.0));
    x.extend((0..=3_000).map(|k| 18.5 + 2.0 * k as f64 / 3_000.0));
    for b in [0.25 * ln2, 0.75 * ln2, 1.25 * ln2] {
        let mut lo = b;
        let mut hi = b;
        for _ in 0..8 {
            x.extend([lo, hi]);
            lo = lo.next_down();
            hi = hi.next_up();
        }
    }
    let neg: Vec<f64> = x.iter().map(|v| -v).collect();
    for level in var::available() {
        let mut t = vec![0.0; x.len()];
        var::activation_apply(level, Activation::Tanh, &x, &mut t);
        let mut t_neg = vec![0.0; x.len()];
        var::activation_apply(level, Activation::Tanh, &neg, &mut t_neg);
        for i in 0..x.len() {
            let want = x[i].tanh();
            assert!(
                (t[i] - want).abs() <= 6.0 * EPS * want,
                "{level:?} tanh({}) = {} vs {want}",
                x[i],
                t[i]
            );
            if want == 1.0 {
                assert_eq!(t[i], 1.0, "{level:?} tanh({}) should round to 1", x[i]);
            }
            assert_eq!(
                t_neg[i].to_bits(),
                (-t[i]).to_bits(),
                "{level:?}: tanh(−{}) ≠ −tanh({})",
                x[i],
                x[i]
            );
        }
    }
}

#[test]
fn relu_is_exact_and_keeps_nan() {
    for level in var::available() {
        let x = [
            -2.0,
            -0.0,
            0.0,
            1e-310,
            3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5.0,
        ];
        let mut y = [7.0; 9];
        var::activation_apply(level, Activation::Relu, &x, &mut y);
        let want = [
            0.0,
            0.0,
            0.0,
            1e-310,
            3.0,
            f64::NAN,
            f64::INFINITY,
            0.0,
            5.0,
        ];
        for (g, w) in y.iter().zip(&want) {
            assert_eq!(g.to_bits(), w.to_bits(), "{level:?}: relu gave {y:?}");
        }
    }
}

#[test]
fn derivatives_match_central_differences() {
    // (f(x+h) − f(x−h)) / 2h = f′(x) + h² f‴/6 + O(ε/h): with h = 1e-5 the error is ≲ 1e-10
    // on these smooth functions, so 1e-8 catches any wrong formula (which errs by ≳ 1e-2).
    let h = 1e-5;
    let tol = 1e-8;
    for level in var::available() {
        for act in Activation::ALL {
            let x: Vec<f64> = (0..=240).map(|k| -6.0 + 0.05 * k as f64 + 0.0123).collect();
            let (xp, xm): (Vec<f64>, Vec<f64>) = (
                x.iter().map(|v| v + h).collect(),
                x.iter().map(|v| v - h).collect(),
            );
            let eval = |f: &dyn Fn(&[f64], &mut [f64]), v: &[f64]| {
                let mut out = vec![0.0; v.len()];
                f(v, &mut out);
                out
            };
            let value = |v: &[f64], o: &mut [f64]| var::activation_apply(level, act, v, o);
            let first = |v: &[f64], o: &mut [f64]| var::activation_deriv(level, act, v, o);
            let second = |v: &[f64], o: &mut [f64]| var::activation_second_deriv(level, act, v, o);
            let (fp, fm, d1) = (eval(&value, &xp), eval(&value, &xm), eval(&first, &x));
            let (gp, gm, d2) = (eval(&first, &xp), eval(&first, &xm), eval(&second, &x));
            for i in 0..x.len() {
                let fd1 = (fp[i] - fm[i]) / (2.0 * h);
                let fd2 = (gp[i] - gm[i]) / (2.0 * h);
                assert!(
                    (fd1 - d1[i]).abs() <= tol,
                    "{level:?} {act:?}' at {}: {} vs fd {fd1}",
                    x[i],
                    d1[i]
                );
                assert!(
                    (fd2 - d2[i]).abs() <= tol,
                    "{level:?} {act:?}'' at {}: {} vs fd {fd2}",
                    x[i],
                    d2[i]
                );
            }
        }
    }
}

#[test]
fn saturated_derivatives_keep_their_tails() {
    // 1 − tanh²(20) and σ(1 − σ) at 40 cancel to 0; the kernels' forms do not.
    for level in var::available() {
        let mut d = [0.0; 2];
        var::activation_deriv(level, Activation::Tanh, &[20.0, -20.0], &mut d);
        let want = 4.0 * (-40.0_f64).exp(); // sech² 20 ≈ 4 e^{−40}
        assert!(
            d.iter().all(|v| (v - want).abs() <= 1e-6 * want),
            "{level:?}: {d:?}"
        );
        var::activation_deriv(level, Activation::Sigmoid, &[40.0, -40.0], &mut d);
        let want = (-40.0_f64).exp(); // σ(40) σ(−40) ≈ e^{−40}
        assert!(
            d.iter().all(|v| (v - want).abs() <= 1e-6 * want),
            "{level:?}: {d:?}"
        );
    }
}

#[test]
fn gelu_matches_pytorch_reference_values() {
    // x Φ(x) from mpmath at 200 bits: what PyTorch's default (erf) GELU computes. The
    // tanh approximation misses them by 2e-5 to 4e-4, so this test tells the two apart.
    let table = [
        (-3.0, -0.0040496940948902835),
        (-1.0, -0.15865525393145705),
        (0.5, 0.34573123063700656),
        (2.0, 1.9544997361036416),
    ];
    for (x, want) in table {
        let got = Activation::Gelu.value(x);
        assert!(
            (got - want).abs() <= 16.0 * EPS * want.abs().max(1.0),
            "gelu({x}) = {got}, want {want}"
        );
    }
}

#[test]
fn log_softmax_matches_naive_and_normalises() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for level in var::available() {
        for cols in (1..=20).chain([67, 300]) {
            for shift in [0.0, 1000.0, -1000.0] {
                let rows = 3;
                let x: Vec<f64> = (0..rows * cols)
                    .map(|_| shift + rng.random_range(-30.0..30.0))
                    .collect();
                let mut got = vec![f64::NAN; x.len()];
                var::log_softmax_rows(level, cols, &x, &mut got);
                let mut want = vec![0.0; x.len()];
                naive::log_softmax_rows_naive(cols, &x, &mut want);
                let mut in_place = x.clone();
                var::log_softmax_rows_in_place(level, cols, &mut in_place);
                for (r, row) in got.chunks(cols).enumerate() {
                    // Σ exp(y) = 1: each y carries ≈ 2ε|x − m| error, exp turns it relative.
                    let total: f64 = row.iter().map(|v| v.exp()).sum();
                    assert!(
                        (total - 1.0).abs() <= 64.0 * cols as f64 * EPS * 60.0,
                        "{level:?} cols={cols} row {r}: Σ = {total}"
                    );
                }
                for i in 0..x.len() {
                    // x − m loses ε|x| when |x| ≈ 1000: compare on that scale.
                    let tol = 8.0 * EPS * (x[i].abs() + want[i].abs() + 1.0);
                    assert!(
                        (got[i] - want[i]).abs() <= tol,
                        "{level:?} cols={cols} shift={shift} i={i}"
                    );
                    assert_eq!(in_place[i].to_bits(), got[i].to_bits());
                }
            }
        }
        let mut y = [0.0; 3];
        var::log_softmax_rows(level, 3, &[1.0, f64::NAN, 2.0], &mut y);
        assert!(
            y.iter().all(|v| v.is_nan()),
            "{level:?}: NaN must poison its row, got {y:?}"
        );
    }
}

#[test]
#[should_panic(expected = "not a multiple")]
fn log_softmax_rejects_a_ragged_matrix() {
    let mut y = [0.0; 5];
    puma_kernels::log_softmax_rows(2, &[0.0; 5], &mut y);
}

#[test]
fn names_round_trip() {
    for act in Activation::ALL {
        assert_eq!(Activation::from_name(act.name()), Some(act));
    }
    assert_eq!(Activation::from_name("Tanh"), None);
}
