//! `Activation::apply_with_bias` (a layer's bias and activation in one call, one pass for
//! tanh on AVX-512F) gives the bits of adding the bias to each row and then `apply`, for
//! every row length (those dividing 16 take the fused path), length and activation.

use puma_kernels::Activation;

/// Deterministic values in about [−6, 6], with the edge values of tanh among them.
fn values(n: usize, seed: u64) -> Vec<f64> {
    let edges = [
        0.0,
        -0.0,
        1e-300,
        19.1,
        -20.5,
        400.0,
        f64::NAN,
        f64::INFINITY,
    ];
    (0..n)
        .map(|i| {
            let h = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
            if h.is_multiple_of(29) {
                edges[(h / 29 % edges.len() as u64) as usize]
            } else {
                ((h >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 12.0
            }
        })
        .collect()
}

#[test]
fn apply_with_bias_has_the_bits_of_add_then_apply() {
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Relu] {
        for d in [1, 2, 3, 4, 8, 10, 16] {
            for rows in [0, 1, 2, 3, 5, 7, 8, 9, 17, 64, 65, 257] {
                let b = values(d, 7 + d as u64);
                let z0 = values(rows * d, rows as u64);
                let (mut z, mut y) = (z0.clone(), vec![f64::NAN; rows * d]);
                act.apply_with_bias(&b, &mut z, &mut y);
                let mut want_z = z0.clone();
                for row in want_z.chunks_exact_mut(d) {
                    row.iter_mut().zip(&b).for_each(|(z, b)| *z += b);
                }
                let mut want_y = vec![0.0; rows * d];
                act.apply(&want_z, &mut want_y);
                for i in 0..rows * d {
                    let what = format!("{act:?}, d = {d}, {rows} rows, entry {i}");
                    assert_eq!(z[i].to_bits(), want_z[i].to_bits(), "z: {what}");
                    assert_eq!(y[i].to_bits(), want_y[i].to_bits(), "y: {what}");
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "not a multiple of the bias length")]
fn apply_with_bias_rejects_a_ragged_block() {
    let (mut z, mut y) = (vec![0.0; 5], vec![0.0; 5]);
    Activation::Tanh.apply_with_bias(&[1.0, 2.0], &mut z, &mut y);
}
