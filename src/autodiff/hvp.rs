//! Exact Hessian-vector products by Pearlmutter's R-operator, forward-over-reverse \[Pearl94\].
//!
//! For J(θ) on a tape and a direction v, write R{·} = d/dt (·)(θ + tv)|_{t=0}. Then
//! R{∇J} = ∇²J·v = Hv (the Hessian of \[J\], DESIGN.md §1 \[H\]). Two passes compute it:
//!
//! ```text
//! forward:  ẏ = R{y} = Σ_j (∂f/∂x_j) ẋ_j             (the tangent, θ̇ = v)
//! reverse:  x̄_j += (∂f/∂x_j)ᵀ ȳ                      (the ordinary adjoint)
//!           R{x̄_j} += (∂f/∂x_j)ᵀ R{ȳ} + R{(∂f/∂x_j)ᵀ} ȳ
//! ```
//!
//! The first R term is the op's own vjp applied to R{ȳ} (reused from [`super::op`]); the
//! second is non-zero only for ops whose local derivative depends on their inputs: matmul
//! (R{Ā} = Ġ·op(Ḃ)ᵀ-type products, again the op's vjp with tangents in place of values),
//! the activations (ȳ ⊙ f″(x) ⊙ ẋ), softmax cross-entropy and Brier (ṗ = p ⊙ ż − p (pᵀż))
//! and the weight decay (ȳ μ ȧ). The result is exact to rounding for any graph the tape
//! supports: nothing is differenced.
//!
//! Batched: k directions share one forward and one ordinary reverse pass; each carries its
//! own tangents and R-adjoints. Cost: one HVP ≈ 2–4 gradient evaluations' worth of flops
//! (DESIGN.md §2); each extra direction of a batch costs the tangent and R parts only.

use super::mat::Mat;
use super::matmul::matmul;
use super::op::{Activation, Op, accumulate_activation_vjp};
use super::tape::{Tape, Var};

/// J, ∇J and the products H·v_j for `k` directions, from one [`Tape::hvp_batch`] pass.
#[derive(Clone, Debug, PartialEq)]
pub struct HvpBatch {
    /// J(θ).
    pub value: f64,
    /// ∇J(θ), length p.
    pub grad: Vec<f64>,
    /// H v_j for j = 0..k, direction-major: entries `j·p .. (j+1)·p` are H v_j.
    pub hv: Vec<f64>,
}

/// The adjoint slot of node `i`, created as zeros of the node's shape on first use.
fn slot<'a>(adj: &'a mut [Option<Mat>], i: usize, like: &Mat) -> &'a mut Mat {
    adj[i].get_or_insert_with(|| Mat::zeros(like.rows, like.cols))
}

/// The tangent ẏ = Σ_j (∂f/∂x_j) ẋ_j of one node, `None` when every parent's tangent is
/// zero. `tan[x]` is the tangent of node x (`None` = 0).
fn tangent<'a>(
    op: &Op,
    values: &dyn Fn(usize) -> &'a Mat,
    y: &Mat,
    tan: &[Option<Mat>],
) -> Option<Mat> {
    match *op {
        Op::Leaf => None,
        Op::MatMul {
            a,
            b,
            trans_a,
            trans_b,
        } => {
            // Ċ = op(Ȧ)·op(B) + op(A)·op(Ḃ)
            let (ta, tb) = (tan[a].as_ref(), tan[b].as_ref());
            if ta.is_none() && tb.is_none() {
                return None;
            }
            let (va, vb) = (values(a), values(b));
            let (m, n) = (y.rows, y.cols);
            let k = if trans_a { va.rows } else { va.cols };
            let mut c = Mat::zeros(m, n);
            if let Some(da) = ta {
                matmul(
                    m,
                    k,
                    n,
                    &da.data,
                    trans_a,
                    &vb.data,
                    trans_b,
                    &mut c.data,
                    true,
                );
            }
            if let Some(db) = tb {
                matmul(
                    m,
                    k,
                    n,
                    &va.data,
                    trans_a,
                    &db.data,
                    trans_b,
                    &mut c.data,
                    true,
                );
            }
            Some(c)
        }
        Op::AddBias { z, b } => {
            // Ẏ = Ż + 1·ḃᵀ
            let (tz, tb) = (tan[z].as_ref(), tan[b].as_ref());
            if tz.is_none() && tb.is_none() {
                return None;
            }
            let mut out = tz.cloned().unwrap_or_else(|| Mat::zeros(y.rows, y.cols));
            if let Some(db) = tb {
                for row in out.data.chunks_exact_mut(y.cols.max(1)) {
                    for (o, bj) in row.iter_mut().zip(&db.data) {
                        *o += bj;
                    }
                }
            }
            Some(out)
        }
        Op::Add { a, b } => match (tan[a].as_ref(), tan[b].as_ref()) {
            (None, None) => None,
            (Some(t), None) | (None, Some(t)) => Some(t.clone()),
            (Some(ta), Some(tb)) => {
                let mut out = ta.clone();
                out.add_in_place(tb); // Ȧ + Ḃ
                Some(out)
            }
        },
        Op::Scale { a, c } => tan[a].as_ref().map(|t| {
            let mut out = t.clone();
            out.data.iter_mut().for_each(|v| *v *= c); // c·Ȧ
            out
        }),
        Op::Unary { a, f } => tan[a].as_ref().map(|t| {
            let mut out = Mat::zeros(y.rows, y.cols);
            accumulate_activation_vjp(f, &t.data, &values(a).data, &y.data, &mut out.data); // f′(A) ⊙ Ȧ
            out
        }),
        Op::Slice { a, offset } => tan[a]
            .as_ref()
            .map(|t| Mat::from_vec(y.rows, y.cols, t.data[offset..offset + y.len()].to_vec())),
        Op::SoftmaxCe {
            z,
            ref labels,
            ref p,
        } => tan[z].as_ref().map(|tz| {
            // ℓ̇_i = Σ_j (p_ij − 1[j = y_i]) ż_ij
            let c = p.cols;
            let data = labels
                .iter()
                .enumerate()
                .map(|(i, &yi)| {
                    let zr = &tz.data[i * c..(i + 1) * c];
                    p.row(i).iter().zip(zr).map(|(pj, zj)| pj * zj).sum::<f64>() - zr[yi]
                })
                .collect();
            Mat::from_vec(y.rows, 1, data)
        }),
        Op::Brier {
            z,
            ref labels,
            ref p,
        } => tan[z].as_ref().map(|tz| {
            // ḃ_i = Σ_j 2 p_ij (r_ij − Σ_k r_ik p_ik) ż_ij, r = p − e_y
            let c = p.cols;
            let data = labels
                .iter()
                .enumerate()
                .map(|(i, &yi)| {
                    let pr = p.row(i);
                    let r = |j: usize| pr[j] - if j == yi { 1.0 } else { 0.0 };
                    let rp: f64 = (0..c).map(|k| r(k) * pr[k]).sum();
                    (0..c)
                        .map(|j| 2.0 * pr[j] * (r(j) - rp) * tz.data[i * c + j])
                        .sum()
                })
                .collect();
            Mat::from_vec(y.rows, 1, data)
        }),
        Op::WeightedSum { a, ref w } => tan[a].as_ref().map(|t| {
            Mat::scalar(t.data.iter().zip(w).map(|(x, wi)| x * wi).sum()) // Σ w_i ȧ_i
        }),
        Op::Sum { a } => tan[a].as_ref().map(|t| Mat::scalar(t.data.iter().sum())),
        Op::L2 { a, mu } => tan[a].as_ref().map(|t| {
            let s: f64 = t.data.iter().zip(&values(a).data).map(|(d, x)| d * x).sum();
            Mat::scalar(mu * s) // μ Σ a_i ȧ_i
        }),
    }
}

/// ṗ_i = p_i ⊙ ż_i − p_i (p_iᵀ ż_i) for every row: the tangent of the softmax.
fn softmax_tangent(p: &Mat, tz: &Mat) -> Mat {
    let c = p.cols;
    let mut out = Mat::zeros(p.rows, c);
    for i in 0..p.rows {
        let (pr, zr) = (p.row(i), &tz.data[i * c..(i + 1) * c]);
        let pz: f64 = pr.iter().zip(zr).map(|(a, b)| a * b).sum();
        for j in 0..c {
            out.data[i * c + j] = pr[j] * (zr[j] - pz);
        }
    }
    out
}

/// Adds the second R term R{(∂f/∂x_j)ᵀ}·ȳ into `radj` for one node and one direction.
#[allow(clippy::too_many_arguments)]
fn r_second_term<'a>(
    op: &Op,
    values: &dyn Fn(usize) -> &'a Mat,
    y: &Mat,
    g: &Mat,
    tan: &[Option<Mat>],
    needs: &dyn Fn(usize) -> bool,
    radj: &mut [Option<Mat>],
) {
    match *op {
        Op::MatMul { a, b, .. } => {
            // R{Ā} += (vjp_A with Ḃ in place of B)(G), R{B̄} += (vjp_B with Ȧ)(G): the op's
            // own vjp, bilinear in (value, adjoint), evaluated on the tangents.
            let (ta, tb) = (tan[a].is_some(), tan[b].is_some());
            let swapped = |x: usize| tan[x].as_ref().unwrap_or_else(|| values(x));
            let needs2 = |x: usize| needs(x) && if x == a { tb } else { ta };
            if a == b {
                // A weight used twice in one product: both parts see the same tangent.
                if ta && needs(a) {
                    op.vjp(&swapped, y, g, needs, radj);
                }
            } else {
                op.vjp(&swapped, y, g, &needs2, radj);
            }
        }
        Op::Unary { a, f } => {
            if let (Some(t), true) = (tan[a].as_ref(), needs(a)) {
                let x = values(a);
                let d = slot(radj, a, x);
                let (g, t, yv) = (&g.data, &t.data, &y.data);
                // d += ȳ ⊙ f″(x) ⊙ ẋ, with f″ from y = f(x) where that is cheaper
                match f {
                    Activation::Relu => {} // f″ = 0 almost everywhere
                    Activation::Tanh => (0..d.len()).for_each(|i| {
                        d.data[i] += g[i] * (-2.0 * yv[i] * (1.0 - yv[i] * yv[i])) * t[i]
                    }),
                    Activation::Sigmoid => (0..d.len()).for_each(|i| {
                        let s = yv[i];
                        d.data[i] += g[i] * (s * (1.0 - s) * (1.0 - 2.0 * s)) * t[i]
                    }),
                    f => (0..d.len())
                        .for_each(|i| d.data[i] += g[i] * f.second_deriv_at(x.data[i]) * t[i]),
                }
            }
        }
        Op::SoftmaxCe { z, ref p, .. } => {
            if let (Some(tz), true) = (tan[z].as_ref(), needs(z)) {
                let pd = softmax_tangent(p, tz); // ṗ
                let c = p.cols;
                let dz = slot(radj, z, values(z));
                for (i, gi) in g.data.iter().enumerate() {
                    for j in 0..c {
                        dz.data[i * c + j] += gi * pd.data[i * c + j]; // ȳ_i ṗ_i
                    }
                }
            }
        }
        Op::Brier {
            z,
            ref labels,
            ref p,
        } => {
            if let (Some(tz), true) = (tan[z].as_ref(), needs(z)) {
                // R{2 p_ij (r_ij − rp_i)} = 2[ṗ_ij (r_ij − rp_i) + p_ij (ṗ_ij − ṙp_i)],
                // ṙp_i = Σ_k ṗ_ik (p_ik + r_ik)
                let pd = softmax_tangent(p, tz);
                let c = p.cols;
                let dz = slot(radj, z, values(z));
                for (i, &yi) in labels.iter().enumerate() {
                    let (pr, dr) = (p.row(i), &pd.data[i * c..(i + 1) * c]);
                    let r = |j: usize| pr[j] - if j == yi { 1.0 } else { 0.0 };
                    let rp: f64 = (0..c).map(|k| r(k) * pr[k]).sum();
                    let rp_dot: f64 = (0..c).map(|k| dr[k] * (pr[k] + r(k))).sum();
                    for j in 0..c {
                        dz.data[i * c + j] +=
                            g.data[i] * 2.0 * (dr[j] * (r(j) - rp) + pr[j] * (dr[j] - rp_dot));
                    }
                }
            }
        }
        Op::L2 { a, mu } => {
            if let (Some(t), true) = (tan[a].as_ref(), needs(a)) {
                let s = g.data[0] * mu;
                let da = slot(radj, a, values(a));
                for (d, ti) in da.data.iter_mut().zip(&t.data) {
                    *d += s * ti; // ȳ μ ȧ
                }
            }
        }
        // Linear ops: their Jacobian does not depend on their inputs.
        Op::Leaf
        | Op::AddBias { .. }
        | Op::Add { .. }
        | Op::Scale { .. }
        | Op::Slice { .. }
        | Op::WeightedSum { .. }
        | Op::Sum { .. } => {}
    }
}

impl Tape {
    /// ∇J and H·v_j (H = ∇²J with respect to the input `wrt`) for `k` directions at once,
    /// by Pearlmutter's forward-over-reverse R-operator \[Pearl94\].
    ///
    /// `v` holds the k directions direction-major (`v[j·p .. (j+1)·p]` is v_j, shaped like
    /// `wrt`'s value). Every other [`Tape::var`] is held fixed (zero tangent). Returns
    /// (∇J, [H v_0 | … | H v_{k−1}]) with the same layouts.
    ///
    /// # Panics
    /// If `output` is not `1 × 1`, or `v.len()` is not a multiple of `wrt`'s size.
    #[track_caller]
    pub fn hvp_batch(&self, output: Var, wrt: Var, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let out = self.value(output);
        assert!(out.has_shape(1, 1), "hvp: output is not a scalar");
        let shape = self.value(wrt);
        let p = shape.len();
        assert!(
            p > 0 && v.len().is_multiple_of(p),
            "hvp: v is not k directions of length {p}"
        );
        let k = v.len() / p;
        let len = output.0 + 1;
        let values = |i: usize| &self.nodes[i].value;
        let needs = |i: usize| self.nodes[i].needs_grad;

        // Forward: the tangents of every node, one list per direction.
        let mut tan: Vec<Vec<Option<Mat>>> = (0..k)
            .map(|j| {
                let mut t: Vec<Option<Mat>> = vec![None; len];
                t[wrt.0] = Some(Mat::from_vec(
                    shape.rows,
                    shape.cols,
                    v[j * p..(j + 1) * p].to_vec(),
                ));
                t
            })
            .collect();
        for i in 0..len {
            let node = &self.nodes[i];
            if !node.needs_grad || i == wrt.0 {
                continue;
            }
            for t in tan.iter_mut() {
                t[i] = tangent(&node.op, &values, &node.value, t);
            }
        }

        // Reverse: adjoints ȳ and, per direction, R{ȳ}.
        let mut adj: Vec<Option<Mat>> = vec![None; len];
        let mut radj: Vec<Vec<Option<Mat>>> = vec![vec![None; len]; k];
        adj[output.0] = Some(Mat::scalar(1.0)); // J̄ = 1, R{J̄} = 0
        for i in (0..len).rev() {
            let node = &self.nodes[i];
            if !node.needs_grad || matches!(node.op, Op::Leaf) {
                continue;
            }
            let Some(g) = adj[i].take() else { continue };
            node.op.vjp(&values, &node.value, &g, &needs, &mut adj);
            for (t, r) in tan.iter_mut().zip(radj.iter_mut()) {
                if let Some(rg) = r[i].take() {
                    node.op.vjp(&values, &node.value, &rg, &needs, r); // (∂f/∂x)ᵀ R{ȳ}
                }
                r_second_term(&node.op, &values, &node.value, &g, t, &needs, r); // R{(∂f/∂x)ᵀ} ȳ
                t[i] = None; // this node's tangent is no longer needed
            }
        }
        let grad = adj[wrt.0].take().map_or_else(|| vec![0.0; p], |m| m.data);
        let mut hv = Vec::with_capacity(k * p);
        for r in radj.iter_mut() {
            match r[wrt.0].take() {
                Some(m) => hv.extend_from_slice(&m.data),
                None => hv.extend(std::iter::repeat_n(0.0, p)),
            }
        }
        (grad, hv)
    }
}

/// J(θ), ∇J(θ) and H v_j for k directions (direction-major in `v`, length k·p) of a
/// scalar function built on a tape from the flat θ \[Pearl94\].
///
/// # Panics
/// If the node `f` returns is not `1 × 1` or `v.len()` is not a multiple of p.
pub fn value_grad_hvp_batch<F>(f: F, theta: &[f64], v: &[f64]) -> HvpBatch
where
    F: FnOnce(&mut Tape, Var) -> Var,
{
    let mut tape = Tape::new();
    let th = tape.var(Mat::column(theta));
    let j = f(&mut tape, th);
    let value = tape.scalar(j);
    let (grad, hv) = tape.hvp_batch(j, th, v);
    HvpBatch { value, grad, hv }
}

/// H(θ)·v, the exact Hessian-vector product of a scalar function built on a tape from the
/// flat θ (JAX's `hvp`), by Pearlmutter's R-operator \[Pearl94\]. Cost ≈ 2–4 gradients.
///
/// # Panics
/// If the node `f` returns is not `1 × 1` or `v.len() != theta.len()`.
///
/// # Examples
/// ```
/// use puma::autodiff::hvp;
/// // J(θ) = (μ/2)‖θ‖² with μ = 3: H = 3I, so Hv = 3v.
/// let hv = hvp(|tape, th| tape.l2(th, 3.0), &[1.0, -2.0], &[0.5, 1.0]);
/// assert_eq!(hv, vec![1.5, 3.0]);
/// ```
#[track_caller]
pub fn hvp<F>(f: F, theta: &[f64], v: &[f64]) -> Vec<f64>
where
    F: FnOnce(&mut Tape, Var) -> Var,
{
    assert_eq!(v.len(), theta.len(), "hvp: v and theta differ in length");
    value_grad_hvp_batch(f, theta, v).hv
}

/// H(θ)·V for the k columns of V, given direction-major (`v[j·p..(j+1)·p]` = v_j), sharing
/// one forward and one reverse pass \[Pearl94\].
///
/// # Panics
/// If the node `f` returns is not `1 × 1` or `v.len()` is not a multiple of p.
pub fn hvp_batch<F>(f: F, theta: &[f64], v: &[f64]) -> Vec<f64>
where
    F: FnOnce(&mut Tape, Var) -> Var,
{
    value_grad_hvp_batch(f, theta, v).hv
}
