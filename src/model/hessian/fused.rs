//! Pearlmutter's R-operator \[Pearl94\] written out by hand for the MLP's dense-layer chain:
//! H·v_j of Σ_i w_i CE_i over one chunk of c samples, for k directions at once, without
//! the tape (the tape's [`crate::autodiff::hvp_batch`] stays the general engine and the
//! oracle, see tests/hvp_fused_matches_tape.rs).
//!
//! With the forward pass z_l = a_l W_lᵀ + 1b_lᵀ, a_{l+1} = f(z_l), the error
//! G_{L−1} = diag(w)(P − Y), G_{l−1} = (G_l W_l) ⊙ f′(z_{l−1}), and a direction (Ẇ, ḃ):
//!
//! ```text
//! tangents:  ż_l = ȧ_l W_lᵀ + a_l Ẇ_lᵀ + 1ḃ_lᵀ,   ȧ_{l+1} = f′(z_l) ⊙ ż_l,   ȧ_0 = 0
//!            Ġ_{L−1} = diag(w) Ṗ,   Ṗ_i = p_i ⊙ ż_i − p_i (p_iᵀ ż_i)
//! R-adjoint: (Hv)_{W_l} = Ġ_lᵀ a_l + G_lᵀ ȧ_l,   (Hv)_{b_l} = Ġ_lᵀ 1
//!            Ġ_{l−1} = (Ġ_l W_l + G_l Ẇ_l) ⊙ f′(z_{l−1}) + (G_l W_l) ⊙ f″(z_{l−1}) ⊙ ż_{l−1}
//! ```
//!
//! The k directions are stored sample-major ([i][j][·], a (c·k) × d matrix), so every
//! product with a shared matrix (W_l, a_l, G_l) is one GEMM for all k directions.
//! Cost per direction: the first layer needs a_0 Ẇ_0ᵀ and Ġ_0ᵀ a_0 only (2 products of
//! its size, against the gradient's 2 with the forward), every other layer 6; the gradient
//! ∂W itself is not formed.

use puma_kernels::{Op, gemm_op};

use super::super::loss::Samples;
use super::super::mlp::Mlp;
use crate::autodiff::Activation;

/// C (m × n, row-major, leading dimension n) ← op(A)·op(B) + β·C on contiguous operands.
#[allow(clippy::too_many_arguments, non_snake_case)]
fn mm(
    ta: bool,
    tb: bool,
    m: usize,
    k: usize,
    n: usize,
    A: &[f64],
    B: &[f64],
    beta: f64,
    C: &mut [f64],
) {
    let op = |t: bool| if t { Op::Trans } else { Op::NoTrans };
    let lda = if ta { m } else { k };
    let ldb = if tb { k } else { n };
    gemm_op(op(ta), op(tb), m, k, n, 1.0, A, lda, B, ldb, beta, C, n);
}

/// The k directions' weight blocks rearranged once for all chunks: per layer, Ẇ stacked
/// (`stack[l]`, rows (j, a), k·d_out × d_in) and side by side (`side[l]`, d_out × k·d_in).
pub(super) struct Directions {
    stack: Vec<Vec<f64>>,
    side: Vec<Vec<f64>>,
}

impl Directions {
    /// The rearranged weight blocks of the direction-major `v` for `mlp`.
    pub(super) fn new(mlp: &Mlp, v: &[f64]) -> Self {
        let p = mlp.n_params();
        let k = v.len() / p;
        let layers = &mlp.layout().layers;
        let stack: Vec<Vec<f64>> = layers
            .iter()
            .map(|span| {
                let mut b = Vec::with_capacity(k * span.fan_out * span.fan_in);
                for j in 0..k {
                    b.extend_from_slice(&v[j * p + span.weight..j * p + span.bias]);
                }
                b
            })
            .collect();
        let side = layers
            .iter()
            .zip(&stack)
            .map(|(span, st)| {
                let (din, dout) = (span.fan_in, span.fan_out);
                let mut b = vec![0.0; dout * k * din];
                for j in 0..k {
                    for a in 0..dout {
                        b[(a * k + j) * din..(a * k + j + 1) * din]
                            .copy_from_slice(&st[(j * dout + a) * din..(j * dout + a + 1) * din]);
                    }
                }
                b
            })
            .collect();
        Directions { stack, side }
    }
}

/// The k products from the layer-major layout the chunks accumulate in (layer l's weight
/// blocks of all directions at k·weight_l, rows (j, a), then its biases at k·bias_l,
/// [j][a]: so each layer's Ġ_lᵀ a_l is one GEMM) to direction-major.
pub(super) fn to_direction_major(mlp: &Mlp, k: usize, acc: &[f64]) -> Vec<f64> {
    let p = mlp.n_params();
    let mut hv = vec![0.0; k * p];
    for span in &mlp.layout().layers {
        let (pw, dout) = (span.fan_out * span.fan_in, span.fan_out);
        for j in 0..k {
            hv[j * p + span.weight..j * p + span.bias]
                .copy_from_slice(&acc[k * span.weight + j * pw..k * span.weight + (j + 1) * pw]);
            hv[j * p + span.bias..j * p + span.bias + dout]
                .copy_from_slice(&acc[k * span.bias + j * dout..k * span.bias + (j + 1) * dout]);
        }
    }
    hv
}

impl Mlp {
    /// acc += Σ_i w_i ∇²CE_i · v_j over the chunk `s` for the k = `v.len() / p`
    /// direction-major directions in `v` (rearranged in `dirs`), in the layer-major layout
    /// of [`to_direction_major`] (module docs).
    pub(super) fn chunk_hvp_fused(
        &self,
        theta: &[f64],
        s: &Samples,
        v: &[f64],
        dirs: &Directions,
        acc: &mut [f64],
    ) {
        let p = self.n_params();
        let k = v.len() / p;
        let c = s.n();
        let layers = &self.layout().layers;
        let last = layers.len() - 1;
        // Forward: a_l (a_0 = X), f′(z_l) and f″(z_l) for hidden layers, the logits.
        let mut acts: Vec<Vec<f64>> = Vec::with_capacity(last);
        let mut fp: Vec<Vec<f64>> = Vec::with_capacity(last);
        let mut fpp: Vec<Vec<f64>> = Vec::with_capacity(last);
        let mut logits = Vec::new();
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
            let mut z = Vec::with_capacity(c * dout);
            for _ in 0..c {
                z.extend_from_slice(&theta[span.bias_range()]); // 1b_lᵀ
            }
            mm(
                false,
                true,
                c,
                din,
                dout,
                input,
                &theta[span.weight_range()],
                1.0,
                &mut z,
            ); // + a_l W_lᵀ
            if l == last {
                logits = z;
                break;
            }
            let mut a = vec![0.0; z.len()];
            self.activation.apply(&z, &mut a);
            let (mut d1, mut d2) = (vec![0.0; z.len()], vec![0.0; z.len()]);
            match self.activation {
                // f′ and f″ from y = f(z), as the tape does
                Activation::Tanh => {
                    for ((d1, d2), y) in d1.iter_mut().zip(&mut d2).zip(&a) {
                        *d1 = 1.0 - y * y;
                        *d2 = -2.0 * y * (1.0 - y * y);
                    }
                }
                Activation::Sigmoid => {
                    for ((d1, d2), y) in d1.iter_mut().zip(&mut d2).zip(&a) {
                        *d1 = y * (1.0 - y);
                        *d2 = y * (1.0 - y) * (1.0 - 2.0 * y);
                    }
                }
                Activation::Relu => {
                    for (d1, x) in d1.iter_mut().zip(&z) {
                        *d1 = if *x > 0.0 { 1.0 } else { 0.0 }; // f″ = 0
                    }
                }
                f => {
                    for ((d1, d2), x) in d1.iter_mut().zip(&mut d2).zip(&z) {
                        *d1 = f.deriv_at(*x);
                        *d2 = f.second_deriv_at(*x);
                    }
                }
            }
            acts.push(a);
            fp.push(d1);
            fpp.push(d2);
        }
        let wdot = &dirs.stack;
        // Tangents ż_l (sample-major (c·k) × d_out) for every layer.
        // ȧ_l = f′(z_{l−1}) ⊙ ż_{l−1} at `adot[l − 1]`, kept for the R-adjoint.
        let mut zdot: Vec<Vec<f64>> = Vec::with_capacity(layers.len());
        let mut adot: Vec<Vec<f64>> = Vec::with_capacity(last);
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
            let mut zd = vec![0.0; c * k * dout];
            mm(false, true, c, din, k * dout, input, &wdot[l], 0.0, &mut zd); // a_l Ẇ_lᵀ
            for row in zd.chunks_exact_mut(k * dout) {
                for (j, part) in row.chunks_exact_mut(dout).enumerate() {
                    let bd = &v[j * p + span.bias..j * p + span.bias + dout];
                    part.iter_mut().zip(bd).for_each(|(z, b)| *z += b); // + 1ḃ_lᵀ
                }
            }
            if l > 0 {
                // ȧ_l = f′(z_{l−1}) ⊙ ż_{l−1}, then + ȧ_l W_lᵀ for all directions at once
                let mut ad = zdot[l - 1].clone();
                for (i, row) in ad.chunks_exact_mut(k * din).enumerate() {
                    let f1 = &fp[l - 1][i * din..(i + 1) * din];
                    for part in row.chunks_exact_mut(din) {
                        part.iter_mut().zip(f1).for_each(|(a, f)| *a *= f);
                    }
                }
                mm(
                    false,
                    true,
                    c * k,
                    din,
                    dout,
                    &ad,
                    &theta[span.weight_range()],
                    1.0,
                    &mut zd,
                );
                adot.push(ad);
            }
            zdot.push(zd);
        }
        // G_{L−1} = diag(w)(P − Y) and Ġ_{L−1} = diag(w) Ṗ.
        let kc = self.n_classes();
        let mut g = logits;
        let mut gdot = vec![0.0; c * k * kc];
        for (i, row) in g.chunks_exact_mut(kc).enumerate() {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for z in row.iter_mut() {
                *z = (*z - m).exp();
                sum += *z;
            }
            row.iter_mut().for_each(|z| *z /= sum); // p_i
            let wi = s.w.map_or(1.0, |w| w[i]);
            let zr = &zdot[last][i * k * kc..(i + 1) * k * kc];
            let gr = &mut gdot[i * k * kc..(i + 1) * k * kc];
            for (zj, gj) in zr.chunks_exact(kc).zip(gr.chunks_exact_mut(kc)) {
                let pz: f64 = row.iter().zip(zj).map(|(a, b)| a * b).sum();
                for ((gv, pv), zv) in gj.iter_mut().zip(row.iter()).zip(zj) {
                    *gv = wi * (pv * (zv - pz)); // w_i ṗ_i
                }
            }
            row.iter_mut().for_each(|z| *z *= wi);
            row[s.y[i]] -= wi; // w_i (p_i − e_{y_i})
        }
        // R-adjoint, last layer first.
        for l in (0..=last).rev() {
            let span = &layers[l];
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
            let ad = (l > 0).then(|| &adot[l - 1]); // ȧ_l
            // (Hv)_{W_l} += Ġ_lᵀ a_l for all directions: rows (j, a) of a (k·d_out) × d_in product
            let acc_w = &mut acc[k * span.weight..k * span.bias];
            mm(true, false, k * dout, c, din, &gdot, input, 1.0, acc_w);
            if let Some(ad) = ad {
                for j in 0..k {
                    // (Hv)_{W_l} += G_lᵀ ȧ_l for direction j
                    gemm_op(
                        Op::Trans,
                        Op::NoTrans,
                        dout,
                        c,
                        din,
                        1.0,
                        &g,
                        dout,
                        &ad[j * din..],
                        k * din,
                        1.0,
                        &mut acc_w[j * dout * din..],
                        din,
                    );
                }
            }
            let acc_b = &mut acc[k * span.bias..k * (span.bias + dout)];
            for row in gdot.chunks_exact(k * dout) {
                acc_b.iter_mut().zip(row).for_each(|(h, x)| *h += x); // Ġ_lᵀ 1, [j][a]
            }
            if l == 0 {
                break;
            }
            // U = G_l W_l, U̇ = Ġ_l W_l + G_l Ẇ_l, then G_{l−1}, Ġ_{l−1}.
            let w = &theta[span.weight_range()];
            let mut u = vec![0.0; c * din];
            mm(false, false, c, dout, din, &g, w, 0.0, &mut u);
            let mut udot = vec![0.0; c * k * din];
            mm(false, false, c * k, dout, din, &gdot, w, 0.0, &mut udot);
            // G_l Ẇ_l for every direction: G (c × d_out) times [Ẇ^{(0)} | … ] (d_out × k·d_in).
            mm(
                false,
                false,
                c,
                dout,
                k * din,
                &g,
                &dirs.side[l],
                1.0,
                &mut udot,
            );
            let (f1, f2, zd) = (&fp[l - 1], &fpp[l - 1], &zdot[l - 1]);
            for i in 0..c {
                let (f1i, f2i, ui) = (
                    &f1[i * din..(i + 1) * din],
                    &f2[i * din..(i + 1) * din],
                    &u[i * din..(i + 1) * din],
                );
                for j in 0..k {
                    let o = (i * k + j) * din;
                    let (ud, zj) = (&mut udot[o..o + din], &zd[o..o + din]);
                    for b in 0..din {
                        ud[b] = ud[b] * f1i[b] + ui[b] * f2i[b] * zj[b]; // Ġ_{l−1}
                    }
                }
            }
            u.iter_mut().zip(f1).for_each(|(x, f)| *x *= f); // G_{l−1}
            g = u;
            gdot = udot;
        }
    }
}
