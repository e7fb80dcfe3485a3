//! The tape's operations: each op's forward value and its local derivative, side by side.
//!
//! For a node y = f(x₁, …, x_k) the reverse pass receives ȳ = ∂J/∂y and adds the
//! vector-Jacobian products x̄_j += (∂f/∂x_j)ᵀ ȳ into the parents' adjoints. Each op below is
//! a `forward` that computes y (and saves what its derivative needs) next to a `vjp` arm
//! in `Op::vjp` that applies the transposed Jacobian. Nothing is ever formed as a
//! Jacobian matrix: every vjp costs about as much as its forward.
//!
//! Designed for Pearlmutter's forward-over-reverse HVP \[Pearl94\] (issue 5): every op keeps
//! the indices of its parents and the few saved values (softmax probabilities) a second
//! pass needs, and every vjp is a function of (parent values, ȳ) only, so an R-op pass can
//! push tangents (ẋ, ȳ̇) through the same arms in creation order and then in reverse.

use super::mat::Mat;
use super::matmul::matmul;

/// The element-wise activations, one enum for the whole project (from `puma_kernels`, which
/// also gives f″ for the HVP pass \[Pearl94\]):
///
/// | name | f(x) | f′ as the tape computes it |
/// |---|---|---|
/// | `tanh` | tanh x (vectorised, ≤ 6 ulp) | 1 − y², y = f(x) |
/// | `sigmoid` | σ(x) = 1/(1 + e^{−x}) | y(1 − y) |
/// | `relu` | max(x, 0) | 1 for x > 0, else 0 (0 at x = 0, as PyTorch) |
/// | `softplus` | ln(1 + eˣ) | σ(x) |
/// | `gelu` | x·Φ(x) (exact erf form, PyTorch's default) | Φ(x) + x·φ(x) |
///
/// Forward values come from the kernels (tanh, sigmoid and relu vectorised with AVX2 where
/// available); the reverse pass reuses y = f(x) for tanh and sigmoid.
pub use puma_kernels::Activation;

/// y ← f(y) entry by entry (the kernels' slice form).
pub fn activation_in_place(f: Activation, y: &mut [f64]) {
    f.apply_in_place(y);
}

/// d ← d + g ⊙ f′(x), given y = f(x) (the variant is matched once, outside the loop).
///
/// # Panics
/// If the slices differ in length.
#[track_caller]
pub fn accumulate_activation_vjp(f: Activation, g: &[f64], x: &[f64], y: &[f64], d: &mut [f64]) {
    let len = d.len();
    assert!(
        g.len() == len && x.len() == len && y.len() == len,
        "activation vjp: lengths differ"
    );
    match f {
        Activation::Tanh => (0..len).for_each(|i| d[i] += g[i] * (1.0 - y[i] * y[i])),
        Activation::Sigmoid => (0..len).for_each(|i| d[i] += g[i] * y[i] * (1.0 - y[i])),
        Activation::Relu => (0..len).for_each(|i| {
            if x[i] > 0.0 {
                d[i] += g[i]
            }
        }),
        f => (0..len).for_each(|i| d[i] += g[i] * f.deriv_at(x[i])),
    }
}

/// One recorded operation: which nodes it read and what its derivative needs.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// An input: a differentiable variable or a constant.
    Leaf,
    /// C = op(A)·op(B), op ∈ {X, Xᵀ}.
    MatMul {
        a: usize,
        b: usize,
        trans_a: bool,
        trans_b: bool,
    },
    /// Y = Z + 1·bᵀ: the row vector b added to every row of Z.
    AddBias { z: usize, b: usize },
    /// Y = A + B.
    Add { a: usize, b: usize },
    /// Y = c·A.
    Scale { a: usize, c: f64 },
    /// Y = f(A) entry by entry.
    Unary { a: usize, f: Activation },
    /// Y = `rows × cols` view of A's flat entries `offset..offset + rows·cols` (a copy).
    Slice { a: usize, offset: usize },
    /// ℓ_i = log Σ_j e^{z_ij} − z_{i,y_i}; saves the softmax P.
    SoftmaxCe {
        z: usize,
        labels: Vec<usize>,
        p: Mat,
    },
    /// b_i = Σ_j (p_ij − 1[j = y_i])²; saves the softmax P.
    Brier {
        z: usize,
        labels: Vec<usize>,
        p: Mat,
    },
    /// s = Σ_i w_i a_i over all entries of A.
    WeightedSum { a: usize, w: Vec<f64> },
    /// s = Σ_i a_i over all entries of A.
    Sum { a: usize },
    /// s = (μ/2)·Σ_i a_i².
    L2 { a: usize, mu: f64 },
}

// ---------------------------------------------------------------- forward values

/// op(A)·op(B) for a stored `ra × ca` A and `rb × cb` B.
#[track_caller]
pub(crate) fn matmul_forward(a: &Mat, trans_a: bool, b: &Mat, trans_b: bool) -> Mat {
    let (m, k) = if trans_a {
        (a.cols, a.rows)
    } else {
        (a.rows, a.cols)
    };
    let (k2, n) = if trans_b {
        (b.cols, b.rows)
    } else {
        (b.rows, b.cols)
    };
    assert_eq!(k, k2, "matmul: inner dimensions {k} and {k2} differ");
    let mut c = Mat::zeros(m, n);
    matmul(
        m,
        k,
        n,
        &a.data,
        trans_a,
        &b.data,
        trans_b,
        &mut c.data,
        false,
    );
    c
}

/// Z + 1·bᵀ, with b holding one entry per column of Z.
#[track_caller]
pub(crate) fn add_bias_forward(z: &Mat, b: &Mat) -> Mat {
    assert_eq!(b.len(), z.cols, "add_bias: bias length vs columns");
    let mut y = z.clone();
    for row in y.data.chunks_exact_mut(z.cols.max(1)) {
        for (yj, bj) in row.iter_mut().zip(&b.data) {
            *yj += bj;
        }
    }
    y
}

/// The softmax of each row of Z: p_ij = e^{z_ij − m_i} / s_i with m_i = max_k z_ik and
/// s_i = Σ_k e^{z_ik − m_i} ∈ [1, K], and the per-row cross-entropy pieces (m_i, ln s_i):
/// log Σ_k e^{z_ik} = m_i + ln s_i, stable for any logits.
pub(crate) fn softmax_rows(z: &Mat) -> (Mat, Vec<(f64, f64)>) {
    let mut p = z.clone();
    let mut shift = Vec::with_capacity(z.rows);
    for row in p.data.chunks_exact_mut(z.cols.max(1)) {
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut s = 0.0;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            s += *v;
        }
        for v in row.iter_mut() {
            *v /= s;
        }
        shift.push((m, s.ln()));
    }
    (p, shift)
}

/// CE = log Σ_j e^{z_j} − z_y computed as (m − z_y) + ln s: no cancellation of m.
pub(crate) fn cross_entropy_from(shift: (f64, f64), z_y: f64) -> f64 {
    (shift.0 - z_y) + shift.1
}

/// Per-sample softmax cross-entropy ℓ_i = lse_i − z_{i,y_i} (an `n × 1` column) and P.
#[track_caller]
pub(crate) fn softmax_ce_forward(z: &Mat, labels: &[usize]) -> (Mat, Mat) {
    assert_eq!(
        labels.len(),
        z.rows,
        "softmax_cross_entropy: one label per row"
    );
    let (p, shift) = softmax_rows(z);
    let loss = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            assert!(
                y < z.cols,
                "softmax_cross_entropy: label {y} >= {} classes",
                z.cols
            );
            cross_entropy_from(shift[i], z.data[i * z.cols + y])
        })
        .collect();
    (Mat::from_vec(z.rows, 1, loss), p)
}

/// Per-sample Brier score b_i = Σ_j (p_ij − 1[j = y_i])² (an `n × 1` column) and P.
#[track_caller]
pub(crate) fn brier_forward(z: &Mat, labels: &[usize]) -> (Mat, Mat) {
    assert_eq!(labels.len(), z.rows, "brier: one label per row");
    let (p, _) = softmax_rows(z);
    let loss = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            assert!(y < z.cols, "brier: label {y} >= {} classes", z.cols);
            let row = p.row(i);
            (0..z.cols)
                .map(|j| {
                    let r = row[j] - if j == y { 1.0 } else { 0.0 };
                    r * r
                })
                .sum()
        })
        .collect();
    (Mat::from_vec(z.rows, 1, loss), p)
}

// ---------------------------------------------------------------- local derivatives

/// The adjoint slot of node `i`, created as zeros of the node's shape on first use.
fn slot<'a>(adj: &'a mut [Option<Mat>], i: usize, like: &Mat) -> &'a mut Mat {
    adj[i].get_or_insert_with(|| Mat::zeros(like.rows, like.cols))
}

impl Op {
    /// The parents of this node, in argument order.
    pub(crate) fn parents(&self) -> Vec<usize> {
        match *self {
            Op::Leaf => vec![],
            Op::MatMul { a, b, .. } | Op::Add { a, b } => vec![a, b],
            Op::AddBias { z, b } => vec![z, b],
            Op::Scale { a, .. }
            | Op::Unary { a, .. }
            | Op::Slice { a, .. }
            | Op::WeightedSum { a, .. }
            | Op::Sum { a }
            | Op::L2 { a, .. } => vec![a],
            Op::SoftmaxCe { z, .. } | Op::Brier { z, .. } => vec![z],
        }
    }

    /// Adds (∂y/∂x_j)ᵀ ȳ into `adj[x_j]` for every parent x_j with `needs[x_j]`.
    ///
    /// `values[k]` is node k's forward value, `y` this node's value, `g` its adjoint ȳ.
    pub(crate) fn vjp<'a>(
        &self,
        values: &dyn Fn(usize) -> &'a Mat,
        y: &Mat,
        g: &Mat,
        needs: &dyn Fn(usize) -> bool,
        adj: &mut [Option<Mat>],
    ) {
        match *self {
            Op::Leaf => {}
            Op::MatMul {
                a,
                b,
                trans_a,
                trans_b,
            } => {
                // C = op(A)·op(B), m × k times k × n.
                let (va, vb) = (values(a), values(b));
                let (m, n) = (g.rows, g.cols);
                let k = if trans_a { va.rows } else { va.cols };
                if needs(a) {
                    let da = slot(adj, a, va);
                    if trans_a {
                        // Ā (stored k × m) += op(B)·Gᵀ
                        matmul(
                            k,
                            n,
                            m,
                            &vb.data,
                            trans_b,
                            &g.data,
                            true,
                            &mut da.data,
                            true,
                        );
                    } else {
                        // Ā (m × k) += G·op(B)ᵀ
                        matmul(
                            m,
                            n,
                            k,
                            &g.data,
                            false,
                            &vb.data,
                            !trans_b,
                            &mut da.data,
                            true,
                        );
                    }
                }
                if needs(b) {
                    let db = slot(adj, b, vb);
                    if trans_b {
                        // B̄ (stored n × k) += Gᵀ·op(A)
                        matmul(
                            n,
                            m,
                            k,
                            &g.data,
                            true,
                            &va.data,
                            trans_a,
                            &mut db.data,
                            true,
                        );
                    } else {
                        // B̄ (k × n) += op(A)ᵀ·G
                        matmul(
                            k,
                            m,
                            n,
                            &va.data,
                            !trans_a,
                            &g.data,
                            false,
                            &mut db.data,
                            true,
                        );
                    }
                }
            }
            Op::AddBias { z, b } => {
                if needs(z) {
                    slot(adj, z, values(z)).add_in_place(g); // Z̄ += G
                }
                if needs(b) {
                    // b̄_j += Σ_i G_ij (the broadcast's transpose sums over rows)
                    let db = slot(adj, b, values(b));
                    for row in g.data.chunks_exact(g.cols.max(1)) {
                        for (d, gj) in db.data.iter_mut().zip(row) {
                            *d += gj;
                        }
                    }
                }
            }
            Op::Add { a, b } => {
                for x in [a, b] {
                    if needs(x) {
                        slot(adj, x, values(x)).add_in_place(g);
                    }
                }
            }
            Op::Scale { a, c } => {
                if needs(a) {
                    let da = slot(adj, a, values(a));
                    for (d, gi) in da.data.iter_mut().zip(&g.data) {
                        *d += c * gi; // Ā += c·G
                    }
                }
            }
            Op::Unary { a, f } => {
                if needs(a) {
                    let x = values(a);
                    let da = slot(adj, a, x);
                    accumulate_activation_vjp(f, &g.data, &x.data, &y.data, &mut da.data); // Ā += G ⊙ f′(A)
                }
            }
            Op::Slice { a, offset } => {
                if needs(a) {
                    let da = slot(adj, a, values(a));
                    for (d, gi) in da.data[offset..offset + g.len()].iter_mut().zip(&g.data) {
                        *d += gi;
                    }
                }
            }
            Op::SoftmaxCe {
                z,
                ref labels,
                ref p,
            } => {
                if needs(z) {
                    // ∂ℓ_i/∂z_ij = p_ij − 1[j = y_i]
                    let dz = slot(adj, z, values(z));
                    let c = p.cols;
                    for (i, &yi) in labels.iter().enumerate() {
                        let gi = g.data[i];
                        let (d, pr) = (&mut dz.data[i * c..(i + 1) * c], p.row(i));
                        for j in 0..c {
                            d[j] += gi * pr[j];
                        }
                        d[yi] -= gi;
                    }
                }
            }
            Op::Brier {
                z,
                ref labels,
                ref p,
            } => {
                if needs(z) {
                    // With r = p − e_y: ∂b_i/∂z_ij = 2 p_ij (r_ij − Σ_k r_ik p_ik)
                    let dz = slot(adj, z, values(z));
                    let c = p.cols;
                    for (i, &yi) in labels.iter().enumerate() {
                        let gi = g.data[i];
                        let pr = p.row(i);
                        let r = |j: usize| pr[j] - if j == yi { 1.0 } else { 0.0 };
                        let rp: f64 = (0..c).map(|k| r(k) * pr[k]).sum();
                        let d = &mut dz.data[i * c..(i + 1) * c];
                        for j in 0..c {
                            d[j] += gi * 2.0 * pr[j] * (r(j) - rp);
                        }
                    }
                }
            }
            Op::WeightedSum { a, ref w } => {
                if needs(a) {
                    let s = g.data[0];
                    let da = slot(adj, a, values(a));
                    for (d, wi) in da.data.iter_mut().zip(w) {
                        *d += s * wi; // ā_i += ḡ·w_i
                    }
                }
            }
            Op::Sum { a } => {
                if needs(a) {
                    let s = g.data[0];
                    for d in slot(adj, a, values(a)).data.iter_mut() {
                        *d += s;
                    }
                }
            }
            Op::L2 { a, mu } => {
                if needs(a) {
                    let s = g.data[0] * mu;
                    let x = values(a);
                    let da = slot(adj, a, x);
                    for (d, xi) in da.data.iter_mut().zip(&x.data) {
                        *d += s * xi; // ā += ḡ·μ·a
                    }
                }
            }
        }
    }
}
