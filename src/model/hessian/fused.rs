//! Pearlmutter's R-operator \[Pearl94\] written out by hand for the MLP's dense-layer chain:
//! H·v_j of Σ_i w_i CE_i over one chunk of c samples, for k directions at once, without
//! the tape (the tape's [`crate::autodiff::hvp_batch`] stays the general engine and the
//! oracle, see tests/hvp_fused_matches_tape.rs).
//!
//! With the forward pass z_l = a_l W_lᵀ + 1b_lᵀ, a_{l+1} = f(z_l), the error
//! G_{L−1} = diag(w)(P − Y), U_l = G_l W_l, G_{l−1} = U_l ⊙ f′(z_{l−1}), and a direction
//! (Ẇ, ḃ):
//!
//! ```text
//! tangents:  ż_l = ȧ_l W_lᵀ + a_l Ẇ_lᵀ + 1ḃ_lᵀ,   ȧ_{l+1} = f′(z_l) ⊙ ż_l,   ȧ_0 = 0
//!            Ġ_{L−1} = diag(w) Ṗ,   Ṗ_i = p_i ⊙ ż_i − p_i (p_iᵀ ż_i)
//! R-adjoint: (Hv)_{W_l} = Ġ_lᵀ a_l + G_lᵀ ȧ_l,   (Hv)_{b_l} = Ġ_lᵀ 1
//!            Ġ_{l−1} = (Ġ_l W_l + G_l Ẇ_l) ⊙ f′(z_{l−1}) + U_l ⊙ f″(z_{l−1}) ⊙ ż_{l−1}
//! ```
//!
//! The primal quantities (a_l, f′, f″, P, G_l, U_l) are computed once per chunk
//! ([`primal`]); the directions then go through [`directions`] in groups small enough
//! for their tangents to stay in cache ([`GROUP_ENTRIES`]). Within a group the tangents and
//! R-adjoints are stored sample-major ([i][j][·], a (c·k) × d matrix), so every product
//! with W_l (ȧ_l W_lᵀ, Ġ_l W_l) is one GEMM for the group; the products with a direction's
//! own Ẇ_l, and its rows of (Hv)_{W_l}, are one GEMM per direction on strided views,
//! reading v and writing the direction-major result in place.
//! [`Curvature::GaussNewton`] runs the same pass without the G_l terms (the Gauss-Newton
//! product, a positive semi-definite alternative to H for CG and LiSSA).
//! Cost per direction: the first layer needs a_0 Ẇ_0ᵀ and Ġ_0ᵀ a_0 only (2 products of
//! its size, against the gradient's 2 with the forward), every other layer 5; the forward
//! pass and G_l, U_l (the gradient's backward pass without ∂W) once per chunk.

use std::borrow::Cow;

use puma_kernels::dispatch::Pass;
use puma_kernels::{Op, gemm_op};

use super::super::loss::Samples;
use super::super::mlp::Mlp;
use super::super::params::LayerSpan;
use super::super::scratch::{add_column_sums_to, add_to_rows, affine, linear, mm, sized, slot};
use crate::autodiff::Activation;

/// Directions per group are chosen so that a group's widest tangent, c·k·max d_l entries,
/// stays below this (256 KiB of f64, a quarter of this machine's per-core L2: the group's
/// five tangent and adjoint buffers then stay in L2). Measured with 32 directions, CPU time
/// per direction: 2¹⁴ and 2¹⁵ alike, 2¹⁶ 1.2–1.3× slower, 2¹⁸ 1.6× (\[2,16,16,2\], whose
/// 1 MiB tangents then spill to L3). One direction at a time for MNIST's 128-wide layer,
/// 8 at once for 16-wide ones.
pub const GROUP_ENTRIES: usize = 1 << 15;

/// Which second-order product the pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curvature {
    /// The exact Hessian of \[J\] (the full R-adjoint above).
    Hessian,
    /// The Gauss-Newton matrix Σ_i w_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i, J_i = ∂z_i/∂θ the
    /// logits' Jacobian: the same tangents and Ġ_{L−1}, back-propagated by the first-order
    /// adjoint alone, Ġ_{l−1} = (Ġ_l W_l) ⊙ f′(z_{l−1}) (no G_l terms: positive
    /// semi-definite whatever the model).
    GaussNewton,
}

/// The row length for loops that pair each sample's row of d (f′, f″, U) with its k
/// direction rows (ż, ȧ, Ġ): d, or with one direction the whole chunk c·d, so that the
/// loop is one flat vectorised pass instead of c short ones.
fn flat_row(k: usize, c: usize, d: usize) -> usize {
    if k == 1 { c * d } else { d }
}

/// The buffers of one chunk's R-operator pass, kept between chunks (`super::super::scratch`).
#[derive(Default)]
pub(super) struct Scratch {
    /// Primal: a_{l+1} = f(z_l), f′(z_l), f″(z_l) for the hidden layers; z_l while computed.
    acts: Vec<Vec<f64>>,
    fp: Vec<Vec<f64>>,
    fpp: Vec<Vec<f64>>,
    z: Vec<f64>,
    /// Primal: the softmax rows P, G_l for every layer, U_l = G_l W_l for l ≥ 1 (at l − 1).
    probs: Vec<f64>,
    gs: Vec<Vec<f64>>,
    us: Vec<Vec<f64>>,
    /// A group's ż_l for every layer and ȧ_{l+1} = f′(z_l) ⊙ ż_l, (c·k) × d.
    zdot: Vec<Vec<f64>>,
    adot: Vec<Vec<f64>>,
    /// A group's Ġ_l, and U̇ under construction (then Ġ_{l−1}).
    gdot: Vec<f64>,
    udot: Vec<f64>,
    /// A group's products, layer-major (more than one direction only).
    layer_major: Vec<f64>,
    /// The k directions' bias blocks side by side, ḃ⁽⁰⁾ | ḃ⁽¹⁾ | …, for 1ḃᵀ.
    b_dots: Vec<f64>,
}

impl Mlp {
    /// acc_j += Σ_i w_i ∇²CE_i · v_j (or the Gauss-Newton product, by `curvature`) over the
    /// chunk `s` for the k = `v.len() / p` direction-major directions v_j in `v`, into the
    /// direction-major `acc` (k·p); `scratch` keeps the buffers between calls.
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
        curvature: Curvature,
    ) {
        puma_kernels::dispatch::vectorised(HvpChunk {
            mlp: self,
            theta,
            s,
            v,
            acc,
            scratch,
            curvature,
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
    curvature: Curvature,
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
            curvature,
        } = self;
        let p = mlp.n_params();
        let (k, c) = (v.len() / p, s.n());
        let widest = mlp.layout().layers.iter().map(|l| l.fan_out).max();
        let group = (GROUP_ENTRIES / (c * widest.unwrap_or(1)).max(1)).clamp(1, k.max(1));
        primal(mlp, theta, s, scratch, curvature);
        for (vg, accg) in v.chunks(group * p).zip(acc.chunks_mut(group * p)) {
            directions(mlp, theta, s, vg, accg, scratch, curvature);
        }
    }
}

/// The direction-free part of the pass: a_l, f′(z_l), f″(z_l), P, and for the Hessian G_l
/// and U_l, into `scratch`.
#[inline(always)]
fn primal(mlp: &Mlp, theta: &[f64], s: &Samples, scratch: &mut Scratch, curvature: Curvature) {
    let c = s.n();
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    let Scratch {
        acts,
        fp,
        fpp,
        z,
        probs,
        gs,
        us,
        ..
    } = scratch;
    // Forward: a_l (a_0 = X), f′(z_l) and f″(z_l) for hidden layers, the logits in `probs`.
    for (l, span) in layers.iter().enumerate() {
        let dout = span.fan_out;
        let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
        let zl = sized(if l == last { &mut *probs } else { &mut *z }, c * dout);
        if l == last {
            affine(theta, span, input, zl); // a_l W_lᵀ + 1b_lᵀ
            break;
        }
        linear(theta, span, input, zl);
        let a = slot(acts, l, c * dout);
        mlp.activation
            .apply_with_bias(&theta[span.bias_range()], zl, a); // + 1b_lᵀ, f
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
    // P = softmax rows and G_{L−1} = diag(w)(P − Y).
    let kc = mlp.n_classes();
    let g = slot(gs, last, c * kc);
    let probs = &mut probs[..c * kc];
    puma_kernels::softmax_rows_in_place(kc, probs, sized(z, c)); // p_i (z: scratch for lse)
    for (i, (row, gi)) in probs
        .chunks_exact(kc)
        .zip(g.chunks_exact_mut(kc))
        .enumerate()
    {
        let wi = s.w.map_or(1.0, |w| w[i]);
        gi.iter_mut().zip(row.iter()).for_each(|(g, p)| *g = wi * p);
        gi[s.y[i]] -= wi; // w_i (p_i − e_{y_i})
    }
    if curvature == Curvature::GaussNewton {
        return; // no G_l terms
    }
    // U_l = G_l W_l and G_{l−1} = U_l ⊙ f′(z_{l−1}), last layer first.
    for l in (1..=last).rev() {
        let span = &layers[l];
        let (din, dout) = (span.fan_in, span.fan_out);
        let u = slot(us, l - 1, c * din);
        mm(
            false,
            false,
            c,
            dout,
            din,
            &gs[l],
            &theta[span.weight_range()],
            0.0,
            u,
        );
        let g = slot(gs, l - 1, c * din);
        let terms = g.iter_mut().zip(u.iter()).zip(&fp[l - 1]);
        terms.for_each(|((g, u), f)| *g = u * f);
    }
}

/// The weight blocks Ẇ_l of the k direction-major directions in `v`, as the two operands
/// the group's products need:
/// - `[Ẇ^{(0)ᵀ} | … ]` (d_in × k·d_out) for a_l Ẇ_lᵀ, with its [`Op`]: with one direction
///   v's own block, borrowed and read transposed;
/// - `[Ẇ^{(0)} | … ]` (d_out × k·d_in) for G_l Ẇ_l: with one direction v's own block.
#[allow(clippy::type_complexity)]
fn stacked<'v>(v: &'v [f64], p: usize, span: &LayerSpan) -> ((Cow<'v, [f64]>, Op), Cow<'v, [f64]>) {
    let k = v.len() / p;
    let (din, dout) = (span.fan_in, span.fan_out);
    let block = |j: usize| &v[j * p + span.weight..j * p + span.bias];
    if k == 1 {
        return (
            (Cow::Borrowed(block(0)), Op::Trans),
            Cow::Borrowed(block(0)),
        );
    }
    let (mut wt, mut side) = (vec![0.0; din * k * dout], vec![0.0; dout * k * din]);
    for j in 0..k {
        for (a, row) in block(j).chunks_exact(din).enumerate() {
            side[(a * k + j) * din..(a * k + j + 1) * din].copy_from_slice(row);
            for (q, w) in row.iter().enumerate() {
                wt[q * k * dout + j * dout + a] = *w;
            }
        }
    }
    ((Cow::Owned(wt), Op::NoTrans), Cow::Owned(side))
}

/// acc_j += the chunk's H·v_j for the directions in `v` (a group), from the primal
/// quantities in `scratch`. The products are accumulated layer-major (layer l's weight
/// rows (j, a) at k·weight_l, its biases [j][a] at k·bias_l: each product with a_l or G_l
/// is one GEMM for the group), which is direction-major itself for one direction; for
/// more, the group's result is added into `acc` at the end.
#[inline(always)]
fn directions(
    mlp: &Mlp,
    theta: &[f64],
    s: &Samples,
    v: &[f64],
    acc: &mut [f64],
    scratch: &mut Scratch,
    curvature: Curvature,
) {
    let p = mlp.n_params();
    let k = v.len() / p;
    let c = s.n();
    let layers = &mlp.layout().layers;
    let last = layers.len() - 1;
    let Scratch {
        acts,
        fp,
        fpp,
        probs,
        gs,
        us,
        zdot,
        adot,
        gdot,
        udot,
        layer_major,
        b_dots,
        ..
    } = scratch;
    let dots: Vec<_> = layers.iter().map(|span| stacked(v, p, span)).collect();
    let out: &mut [f64] = if k == 1 {
        acc
    } else {
        let lm = sized(layer_major, k * p);
        lm.fill(0.0);
        lm
    };
    // Tangents ż_l (sample-major (c·k) × d_out) for every layer, and
    // ȧ_l = f′(z_{l−1}) ⊙ ż_{l−1} at `adot[l − 1]`, kept for the R-adjoint.
    zdot.resize_with(layers.len().max(zdot.len()), Vec::new);
    for (l, span) in layers.iter().enumerate() {
        let (din, dout) = (span.fan_in, span.fan_out);
        let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
        let (below, here) = zdot.split_at_mut(l);
        let zd = sized(&mut here[0], c * k * dout);
        let (wt, op) = &dots[l].0;
        let ld = if *op == Op::Trans { din } else { k * dout };
        gemm_op(
            Op::NoTrans,
            *op,
            c,
            din,
            k * dout,
            1.0,
            input,
            din,
            wt,
            ld,
            0.0,
            zd,
            k * dout,
        ); // a_l Ẇ_lᵀ
        // + 1ḃ_lᵀ: row i of ż is [ż_i⁽⁰⁾ | ż_i⁽¹⁾ | …], so ḃ⁽⁰⁾ | ḃ⁽¹⁾ | … goes on each row
        let b_dot = sized(b_dots, k * dout);
        for (j, bj) in b_dot.chunks_exact_mut(dout).enumerate() {
            bj.copy_from_slice(&v[j * p + span.bias..j * p + span.bias + dout]);
        }
        add_to_rows(zd, b_dot);
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
    // Ġ_{L−1} = diag(w) Ṗ.
    let kc = mlp.n_classes();
    let gd = sized(gdot, c * k * kc);
    let rows = probs.chunks_exact(kc).zip(zdot[last].chunks_exact(k * kc));
    for (i, ((pi, zr), gr)) in rows.zip(gd.chunks_exact_mut(k * kc)).enumerate() {
        let wi = s.w.map_or(1.0, |w| w[i]);
        for (zj, gj) in zr.chunks_exact(kc).zip(gr.chunks_exact_mut(kc)) {
            let pz: f64 = pi.iter().zip(zj).map(|(a, b)| a * b).sum();
            for ((gv, pv), zv) in gj.iter_mut().zip(pi).zip(zj) {
                *gv = wi * (pv * (zv - pz)); // w_i ṗ_i
            }
        }
    }
    // R-adjoint, last layer first.
    for l in (0..=last).rev() {
        let span = &layers[l];
        let (din, dout) = (span.fan_in, span.fan_out);
        let input: &[f64] = if l == 0 { s.x } else { &acts[l - 1] };
        let hv_w = &mut out[k * span.weight..k * span.bias];
        mm(true, false, k * dout, c, din, gdot, input, 1.0, hv_w); // (Hv)_{W_l} += Ġ_lᵀ a_l
        let hessian = curvature == Curvature::Hessian;
        if l > 0 && hessian {
            for j in 0..k {
                gemm_op(
                    Op::Trans,
                    Op::NoTrans,
                    dout,
                    c,
                    din,
                    1.0,
                    &gs[l],
                    dout,
                    &adot[l - 1][j * din..],
                    k * din,
                    1.0,
                    &mut hv_w[j * dout * din..],
                    din,
                ); // (Hv)_{W_l} += G_lᵀ ȧ_l for direction j
            }
        }
        let hv_b = &mut out[k * span.bias..k * (span.bias + dout)];
        add_column_sums_to(&gdot[..c * k * dout], hv_b); // (Hv)_{b_l} += Ġ_lᵀ 1, [j][a]
        if l == 0 {
            break;
        }
        // U̇ = Ġ_l W_l (+ G_l Ẇ_l for the Hessian), then Ġ_{l−1}.
        let udl = sized(udot, c * k * din);
        mm(
            false,
            false,
            c * k,
            dout,
            din,
            gdot,
            &theta[span.weight_range()],
            0.0,
            udl,
        );
        if !hessian {
            // Gauss-Newton: Ġ_{l−1} = (Ġ_l W_l) ⊙ f′(z_{l−1})
            let w = flat_row(k, c, din);
            let rows = udl.chunks_exact_mut(k * w);
            for (udi, f1i) in rows.zip(fp[l - 1].chunks_exact(w)) {
                for ud in udi.chunks_exact_mut(w) {
                    ud.iter_mut().zip(f1i).for_each(|(u, f)| *u *= f);
                }
            }
            std::mem::swap(gdot, udot);
            continue;
        }
        mm(false, false, c, dout, k * din, &gs[l], &dots[l].1, 1.0, udl); // + G_l Ẇ_l
        let (f1, f2, zd, u) = (&fp[l - 1], &fpp[l - 1], &zdot[l - 1], &us[l - 1]);
        let w = flat_row(k, c, din);
        let per_sample = f1
            .chunks_exact(w)
            .zip(f2.chunks_exact(w))
            .zip(u.chunks_exact(w));
        let rows = udl.chunks_exact_mut(k * w).zip(zd.chunks_exact(k * w));
        for ((udi, zdi), ((f1i, f2i), ui)) in rows.zip(per_sample) {
            for (ud, zj) in udi.chunks_exact_mut(w).zip(zdi.chunks_exact(w)) {
                let terms = ud.iter_mut().zip(zj).zip(f1i.iter().zip(f2i).zip(ui));
                for ((ud, z), ((f1, f2), u)) in terms {
                    *ud = *ud * f1 + u * f2 * z; // Ġ_{l−1}
                }
            }
        }
        std::mem::swap(gdot, udot);
    }
    if k > 1 {
        // layer-major to direction-major, added
        for span in layers {
            let (pw, dout) = (span.fan_out * span.fan_in, span.fan_out);
            for j in 0..k {
                let w_src = &layer_major[k * span.weight + j * pw..k * span.weight + (j + 1) * pw];
                let b_src = &layer_major[k * span.bias + j * dout..k * span.bias + (j + 1) * dout];
                let dst = &mut acc[j * p + span.weight..j * p + span.bias + dout];
                let src = w_src.iter().chain(b_src);
                dst.iter_mut().zip(src).for_each(|(h, x)| *h += x);
            }
        }
    }
}
