//! `dispatch::vectorised` runs a pass compiled for AVX2+FMA (when the CPU has them) and must
//! give the same bits as the baseline compilation of the same pass (`Pass::run` called
//! directly): element-wise products and sums, a sequential reduction, and a division.

use puma_kernels::dispatch::{Pass, vectorised};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// y_i = a_i·b_i + c_i·d_i·e_i, then Σ_i y_i / (1 + |y_i|) in index order.
struct MixedLoops<'a> {
    inputs: [&'a [f64]; 5],
}

impl Pass for MixedLoops<'_> {
    type Output = (Vec<f64>, f64);

    #[inline(always)]
    fn run(self) -> (Vec<f64>, f64) {
        let [a, b, c, d, e] = self.inputs;
        let y: Vec<f64> = a
            .iter()
            .zip(b)
            .zip(c.iter().zip(d).zip(e))
            .map(|((a, b), ((c, d), e))| a * b + c * d * e)
            .collect();
        let s = y.iter().map(|v| v / (1.0 + v.abs())).sum();
        (y, s)
    }
}

#[test]
fn vectorised_pass_matches_the_baseline_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for n in [0, 1, 3, 4, 7, 16, 17, 1001] {
        let cols: Vec<Vec<f64>> = (0..5)
            .map(|_| (0..n).map(|_| rng.random_range(-10.0..10.0)).collect())
            .collect();
        let inputs = [&cols[0][..], &cols[1], &cols[2], &cols[3], &cols[4]];
        let (y_vec, s_vec) = vectorised(MixedLoops { inputs });
        let (y_base, s_base) = MixedLoops { inputs }.run();
        assert_eq!(y_vec.len(), n);
        for (i, (u, w)) in y_vec.iter().zip(&y_base).enumerate() {
            assert_eq!(u.to_bits(), w.to_bits(), "n = {n}, y[{i}]: {u} vs {w}");
        }
        assert_eq!(
            s_vec.to_bits(),
            s_base.to_bits(),
            "n = {n}: sum {s_vec} vs {s_base}"
        );
    }
}
