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
//! The k tangents and R-adjoints are stored sample-major ([i][j][·], a (c·k) × d matrix), so
//! every product with W_l (ȧ_l W_lᵀ, Ġ_l W_l) is one GEMM for all k directions; the
//! products with a direction's own Ẇ_l, and its rows of (Hv)_{W_l}, are one GEMM per
//! direction on strided views, reading v and writing the direction-major result in place
//! (no rearranged copies of the k·p directions or outputs).
//! Cost per direction: the first layer needs a_0 Ẇ_0ᵀ and Ġ_0ᵀ a_0 only (2 products of
//! its size, against the gradient's 2 with the forward), every other layer 6; the gradient
//! ∂W itself is not formed.

use puma_kernels::dispatch::Pass;
use puma_kernels::{Op, gemm_op};

use super::super::loss::Samples;
use super::super::mlp::Mlp;
use super::super::scratch::{add_bias_rows, add_column_sums, ones, sized, slot};
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

/// The row length for loops that pair each sample's row of d (f′, f″, G) with its k
/// direction rows (ż, ȧ, Ġ): d, or with one direction the whole chunk c·d, so that the
/// loop is one flat vectorised pass instead of c short ones.
fn flat_row(k: usize, c: usize, d: usize) -> usize {
    if k == 1 { c * d } else { d }
}

/// The buffers of one chunk's R-operator pass, kept between chunks (`super::super::scratch`).
#[derive(Default)]
pub(super) struct Scratch {
    /// z_l of the hidden layer being computed.
    z: Vec<f64>,
    /// a_{l+1} = f(z_l), f′(z_l) and f″(z_l) for the hidden layers.
    acts: Vec<Vec<f64>>,
    fp: Vec<Vec<f64>>,
    fpp: Vec<Vec<f64>>,
    /// ż_l for every layer and ȧ_{l+1} = f′(z_l) ⊙ ż_l for the hidden ones, (c·k) × d.
    zdot: Vec<Vec<f64>>,
    adot: Vec<Vec<f64>>,
    /// The logits, then G_l; Ṗ, then Ġ_l; and G_l W_l, U̇ under construction.
    g: Vec<f64>,
    gdot: Vec<f64>,
    u: Vec<f64>,
    udot: Vec<f64>,
    /// c ones, for the bias terms 1bᵀ and Gᵀ1.
    ones: Vec<f64>,
}

impl Mlp {
    /// acc_j += Σ_i w_i ∇²CE_i · v_j over the chunk `s` for the k = `v.len() / p`
    /// direction-major directions v_j in `v`, into the direction-major `acc` (k·p);
    /// `scratch` keeps the buffers between calls.
    ///
    /// The element-wise loops between the GEMMs run vectorised for the kernels' dispatch
    /// level ([`puma_kernels::dispatch::vectorised`]).
    pub(super) fn chunk_hvp_fused(
        &self,
        theta: &[f64],
        s: &Samples,
        v: &[f64],
        acc: &mut [f64],
        scratch: &mut Scratch,
    ) {
        puma_kernels::dispatch::vectorised(HvpChunk {
            mlp: self,
            theta,
            s,
            v,
            acc,
            scratch,
        });
    }
}

/// The arguments of [`Mlp::chunk_hvp_fused`], as a [`Pass`].
struct HvpChunk<'a> {
    mlp: &'a Mlp,
    theta: &'a [f64],
    s: &'a Samples<'a>,
    v: &'a [f64],
    acc: &'a mut [f64],
    scratch: &'a mut Scratch,
}

impl Pass for HvpChunk<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let HvpChunk {
            mlp,
            theta,
            s,
            v,
            acc,
            scratch,
        } = self;
        let p = mlp.n_params();
        let k = v.len() / p;
        let c = s.n();
        let layers = &mlp.layout().layers;
        let last = layers.len() - 1;
        let Scratch {
            z,
            acts,
            fp,
            fpp,
            zdot,
            adot,
            g,
            gdot,
            u,
            udot,
            ones: ones_buf,
        } = scratch;
        let ones = ones(ones_buf, c);
        // Forward: a_l (a_0 = X), f′(z_l) and f″(z_l) for hidden layers, the logits in g.
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
            let zl = sized(if l == last { &mut *g } else { &mut *z }, c * dout);
            add_bias_rows(&theta[span.bias_range()], 0.0, zl, dout, ones); // 1b_lᵀ
            mm(
                false,
                true,
                c,
                din,
                dout,
                input,
                &theta[span.weight_range()],
                1.0,
                zl,
            ); // + a_l W_lᵀ
            if l == last {
                break;
            }
            let a = slot(acts, l, c * dout);
            mlp.activation.apply(zl, a);
            let (d1, d2) = (slot(fp, l, c * dout), slot(fpp, l, c * dout));
            match mlp.activation {
                // f′ and f″ from y = f(z), as the tape does
                Activation::Tanh => {
                    for ((d1, d2), y) in d1.iter_mut().zip(d2.iter_mut()).zip(a.iter()) {
                        *d1 = 1.0 - y * y;
                        *d2 = -2.0 * y * (1.0 - y * y);
                    }
                }
                Activation::Sigmoid => {
                    for ((d1, d2), y) in d1.iter_mut().zip(d2.iter_mut()).zip(a.iter()) {
                        *d1 = y * (1.0 - y);
                        *d2 = y * (1.0 - y) * (1.0 - 2.0 * y);
                    }
                }
                Activation::Relu => {
                    for ((d1, d2), x) in d1.iter_mut().zip(d2.iter_mut()).zip(zl.iter()) {
                        *d1 = if *x > 0.0 { 1.0 } else { 0.0 };
                        *d2 = 0.0;
                    }
                }
                f => {
                    for ((d1, d2), x) in d1.iter_mut().zip(d2.iter_mut()).zip(zl.iter()) {
                        *d1 = f.deriv_at(*x);
                        *d2 = f.second_deriv_at(*x);
                    }
                }
            }
        }
        // Tangents ż_l (sample-major (c·k) × d_out) for every layer, and
        // ȧ_l = f′(z_{l−1}) ⊙ ż_{l−1} at `adot[l − 1]`, kept for the R-adjoint.
        zdot.resize_with(layers.len().max(zdot.len()), Vec::new);
        for (l, span) in layers.iter().enumerate() {
            let (din, dout) = (span.fan_in, span.fan_out);
            let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
            let (below, here) = zdot.split_at_mut(l);
            let zd = sized(&mut here[0], c * k * dout);
            for j in 0..k {
                // 1ḃ_lᵀ + a_l Ẇ_lᵀ into direction j's columns
                let bd = &v[j * p + span.bias..j * p + span.bias + dout];
                add_bias_rows(bd, 0.0, &mut zd[j * dout..], k * dout, ones);
                gemm_op(
                    Op::NoTrans,
                    Op::Trans,
                    c,
                    din,
                    dout,
                    1.0,
                    input,
                    din,
                    &v[j * p + span.weight..j * p + span.bias],
                    din,
                    1.0,
                    &mut zd[j * dout..],
                    k * dout,
                );
            }
            if l > 0 {
                // ȧ_l = f′(z_{l−1}) ⊙ ż_{l−1}, then + ȧ_l W_lᵀ for all directions at once
                let ad = slot(adot, l - 1, c * k * din);
                let w = flat_row(k, c, din);
                let rows = ad
                    .chunks_exact_mut(k * w)
                    .zip(below[l - 1].chunks_exact(k * w));
                for ((ad_i, zd_i), f1) in rows.zip(fp[l - 1].chunks_exact(w)) {
                    for (a, z) in ad_i.chunks_exact_mut(w).zip(zd_i.chunks_exact(w)) {
                        a.iter_mut()
                            .zip(z)
                            .zip(f1)
                            .for_each(|((a, z), f)| *a = f * z);
                    }
                }
                mm(
                    false,
                    true,
                    c * k,
                    din,
                    dout,
                    ad,
                    &theta[span.weight_range()],
                    1.0,
                    zd,
                );
            }
        }
        // G_{L−1} = diag(w)(P − Y) and Ġ_{L−1} = diag(w) Ṗ.
        let kc = mlp.n_classes();
        let gd = sized(gdot, c * k * kc);
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
            let gr = &mut gd[i * k * kc..(i + 1) * k * kc];
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
            for j in 0..k {
                let hv_w = &mut acc[j * p + span.weight..j * p + span.bias];
                gemm_op(
                    Op::Trans,
                    Op::NoTrans,
                    dout,
                    c,
                    din,
                    1.0,
                    &gdot[j * dout..],
                    k * dout,
                    input,
                    din,
                    1.0,
                    hv_w,
                    din,
                ); // (Hv)_{W_l} += Ġ_lᵀ a_l
                if l > 0 {
                    gemm_op(
                        Op::Trans,
                        Op::NoTrans,
                        dout,
                        c,
                        din,
                        1.0,
                        g,
                        dout,
                        &adot[l - 1][j * din..],
                        k * din,
                        1.0,
                        hv_w,
                        din,
                    ); // (Hv)_{W_l} += G_lᵀ ȧ_l
                }
                let hv_b = &mut acc[j * p + span.bias..j * p + span.bias + dout];
                add_column_sums(&gdot[j * dout..], k * dout, 1.0, hv_b, ones); // (Hv)_{b_l} += Ġ_lᵀ 1
            }
            if l == 0 {
                break;
            }
            // U = G_l W_l, U̇ = Ġ_l W_l + G_l Ẇ_l, then G_{l−1}, Ġ_{l−1}.
            let w = &theta[span.weight_range()];
            let (ul, udl) = (sized(u, c * din), sized(udot, c * k * din));
            mm(false, false, c, dout, din, g, w, 0.0, ul);
            mm(false, false, c * k, dout, din, gdot, w, 0.0, udl);
            for j in 0..k {
                // + G_l Ẇ_l into direction j's columns
                gemm_op(
                    Op::NoTrans,
                    Op::NoTrans,
                    c,
                    dout,
                    din,
                    1.0,
                    g,
                    dout,
                    &v[j * p + span.weight..j * p + span.bias],
                    din,
                    1.0,
                    &mut udl[j * din..],
                    k * din,
                );
            }
            let (f1, f2, zd) = (&fp[l - 1], &fpp[l - 1], &zdot[l - 1]);
            let w = flat_row(k, c, din);
            let rows = ul.chunks_exact_mut(w).zip(udl.chunks_exact_mut(k * w));
            let per_sample = f1.chunks_exact(w).zip(f2.chunks_exact(w));
            for ((ui, udi), ((f1i, f2i), zdi)) in rows.zip(per_sample.zip(zd.chunks_exact(k * w))) {
                for (ud, zj) in udi.chunks_exact_mut(w).zip(zdi.chunks_exact(w)) {
                    let terms = ud
                        .iter_mut()
                        .zip(zj)
                        .zip(f1i.iter().zip(f2i).zip(ui.iter()));
                    for ((ud, z), ((f1, f2), u)) in terms {
                        *ud = *ud * f1 + u * f2 * z; // Ġ_{l−1}
                    }
                }
                ui.iter_mut().zip(f1i).for_each(|(x, f)| *x *= f); // G_{l−1}
            }
            std::mem::swap(g, u);
            std::mem::swap(gdot, udot);
        }
    }
}
