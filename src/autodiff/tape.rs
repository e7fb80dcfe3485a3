//! The tape: a list of matrix-valued nodes in creation order.
//!
//! Each method below computes one op's value now (eagerly) and records the op, so a graph
//! is whatever the calling code builds at run time: loops, a weight used twice, a skip
//! connection, two losses added. Creation order is a topological order, so the reverse
//! pass ([`Tape::backward`]) is one walk from the last node to the first. Memory: every
//! node's value is kept until the tape is dropped.
//!
//! Shape errors are programmer errors and panic (`#[track_caller]` points at the caller).

use super::mat::Mat;
use super::op::{self, Activation, Op};

/// A handle to one node of a [`Tape`] (its index in creation order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

impl Var {
    /// The node's index on its tape.
    pub fn index(self) -> usize {
        self.0
    }
}

/// One recorded node: its value, how it was made, and whether any gradient flows to it.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) value: Mat,
    pub(crate) op: Op,
    pub(crate) needs_grad: bool,
}

/// A reverse-mode autodiff tape over dense matrices.
///
/// # Examples
/// ```
/// use puma::autodiff::{Mat, Tape};
/// // J(W) = Σ tanh(x·Wᵀ) for one sample x = [1, 2] and W = [[0.5, -0.25]].
/// let mut tape = Tape::new();
/// let x = tape.constant(Mat::from_vec(1, 2, vec![1.0, 2.0]));
/// let w = tape.var(Mat::from_vec(1, 2, vec![0.5, -0.25]));
/// let z = tape.matmul_nt(x, w); // 0.5 − 0.5 = 0
/// let a = tape.tanh(z);
/// let j = tape.sum(a);
/// let grads = tape.backward(j);
/// // ∂J/∂W = (1 − tanh²(0))·x = [1, 2]
/// assert_eq!(grads.wrt(w).unwrap().data, vec![1.0, 2.0]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Tape {
    pub(crate) nodes: Vec<Node>,
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Tape::default()
    }

    /// Number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node has been recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The value of node `v`.
    pub fn value(&self, v: Var) -> &Mat {
        &self.nodes[v.0].value
    }

    /// The value of a `1 × 1` node.
    ///
    /// # Panics
    /// If `v` is not `1 × 1`.
    #[track_caller]
    pub fn scalar(&self, v: Var) -> f64 {
        let m = self.value(v);
        assert!(
            m.has_shape(1, 1),
            "Tape::scalar: node is {}x{}",
            m.rows,
            m.cols
        );
        m.data[0]
    }

    fn push(&mut self, value: Mat, op: Op) -> Var {
        let needs_grad = op.parents().iter().any(|&p| self.nodes[p].needs_grad);
        self.nodes.push(Node {
            value,
            op,
            needs_grad,
        });
        Var(self.nodes.len() - 1)
    }

    /// A differentiable input: [`Tape::backward`] returns its gradient.
    pub fn var(&mut self, value: Mat) -> Var {
        self.nodes.push(Node {
            value,
            op: Op::Leaf,
            needs_grad: true,
        });
        Var(self.nodes.len() - 1)
    }

    /// A constant input (data): no gradient is computed for it or for nodes depending only
    /// on constants, which saves e.g. the `∂/∂X` product of a first layer.
    pub fn constant(&mut self, value: Mat) -> Var {
        self.nodes.push(Node {
            value,
            op: Op::Leaf,
            needs_grad: false,
        });
        Var(self.nodes.len() - 1)
    }

    /// A·B. Cost 2·m·k·n flops forward, twice that backward.
    ///
    /// # Panics
    /// If A's columns differ from B's rows.
    #[track_caller]
    pub fn matmul(&mut self, a: Var, b: Var) -> Var {
        self.matmul_t(a, false, b, false)
    }

    /// A·Bᵀ: a batch of row vectors times a weight stored `[out, in]`, as `x · Wᵀ`.
    ///
    /// # Panics
    /// If A and B have different numbers of columns.
    #[track_caller]
    pub fn matmul_nt(&mut self, a: Var, b: Var) -> Var {
        self.matmul_t(a, false, b, true)
    }

    /// op(A)·op(B) with op(X) = Xᵀ where `trans_*` is set.
    ///
    /// # Panics
    /// If the inner dimensions differ.
    #[track_caller]
    pub fn matmul_t(&mut self, a: Var, trans_a: bool, b: Var, trans_b: bool) -> Var {
        let c = op::matmul_forward(self.value(a), trans_a, self.value(b), trans_b);
        let op = Op::MatMul {
            a: a.0,
            b: b.0,
            trans_a,
            trans_b,
        };
        self.push(c, op)
    }

    /// Z + 1·bᵀ: the bias b (any shape holding one entry per column of Z) added to every row.
    ///
    /// # Panics
    /// If `b` does not hold exactly `Z.cols` entries.
    #[track_caller]
    pub fn add_bias(&mut self, z: Var, b: Var) -> Var {
        let y = op::add_bias_forward(self.value(z), self.value(b));
        self.push(y, Op::AddBias { z: z.0, b: b.0 })
    }

    /// A + B (same shapes).
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        let mut y = self.value(a).clone();
        y.add_in_place(self.value(b));
        self.push(y, Op::Add { a: a.0, b: b.0 })
    }

    /// c·A.
    pub fn scale(&mut self, a: Var, c: f64) -> Var {
        let mut y = self.value(a).clone();
        y.data.iter_mut().for_each(|v| *v *= c);
        self.push(y, Op::Scale { a: a.0, c })
    }

    /// f(A) entry by entry for an [`Activation`] f.
    pub fn activation(&mut self, a: Var, f: Activation) -> Var {
        let mut y = self.value(a).clone();
        op::activation_in_place(f, &mut y.data);
        self.push(y, Op::Unary { a: a.0, f })
    }

    /// tanh(A) entry by entry.
    pub fn tanh(&mut self, a: Var) -> Var {
        self.activation(a, Activation::Tanh)
    }

    /// σ(A) = 1/(1 + e^{−A}) entry by entry.
    pub fn sigmoid(&mut self, a: Var) -> Var {
        self.activation(a, Activation::Sigmoid)
    }

    /// max(A, 0) entry by entry.
    pub fn relu(&mut self, a: Var) -> Var {
        self.activation(a, Activation::Relu)
    }

    /// ln(1 + e^A) entry by entry.
    pub fn softplus(&mut self, a: Var) -> Var {
        self.activation(a, Activation::Softplus)
    }

    /// A·Φ(A) entry by entry (exact GELU, erf form).
    pub fn gelu(&mut self, a: Var) -> Var {
        self.activation(a, Activation::Gelu)
    }

    /// The entries `offset .. offset + rows·cols` of A (flat, row-major) as a `rows × cols`
    /// matrix: how a model reads its weight matrices out of one flat θ.
    ///
    /// # Panics
    /// If the range exceeds A.
    #[track_caller]
    pub fn slice(&mut self, a: Var, offset: usize, rows: usize, cols: usize) -> Var {
        let src = &self.value(a).data;
        assert!(
            offset + rows * cols <= src.len(),
            "slice: range beyond the node"
        );
        let y = Mat::from_vec(rows, cols, src[offset..offset + rows * cols].to_vec());
        self.push(y, Op::Slice { a: a.0, offset })
    }

    /// Per-sample softmax cross-entropy of logits Z (`n × K`) with integer labels, an
    /// `n × 1` column: ℓ_i = log Σ_j e^{z_ij} − z_{i,y_i} (log-sum-exp shifted by the row max).
    ///
    /// # Panics
    /// If `labels.len() != n` or a label is ≥ K.
    #[track_caller]
    pub fn softmax_cross_entropy(&mut self, z: Var, labels: &[usize]) -> Var {
        let (loss, p) = op::softmax_ce_forward(self.value(z), labels);
        let labels = labels.to_vec();
        self.push(loss, Op::SoftmaxCe { z: z.0, labels, p })
    }

    /// Per-sample Brier score of logits Z (`n × K`), an `n × 1` column:
    /// b_i = Σ_j (softmax(z_i)_j − 1[j = y_i])².
    ///
    /// # Panics
    /// If `labels.len() != n` or a label is ≥ K.
    #[track_caller]
    pub fn brier(&mut self, z: Var, labels: &[usize]) -> Var {
        let (loss, p) = op::brier_forward(self.value(z), labels);
        let labels = labels.to_vec();
        self.push(loss, Op::Brier { z: z.0, labels, p })
    }

    /// Σ_i w_i a_i over all entries of A (per-sample weights), a `1 × 1` node.
    ///
    /// # Panics
    /// If `w.len()` differs from the number of entries of A.
    #[track_caller]
    pub fn weighted_sum(&mut self, a: Var, w: &[f64]) -> Var {
        let x = &self.value(a).data;
        assert_eq!(w.len(), x.len(), "weighted_sum: one weight per entry");
        let s = x.iter().zip(w).map(|(xi, wi)| xi * wi).sum();
        let w = w.to_vec();
        self.push(Mat::scalar(s), Op::WeightedSum { a: a.0, w })
    }

    /// Σ_i a_i over all entries of A, a `1 × 1` node.
    pub fn sum(&mut self, a: Var) -> Var {
        let s = self.value(a).data.iter().sum();
        self.push(Mat::scalar(s), Op::Sum { a: a.0 })
    }

    /// (1/len) Σ_i a_i over all entries of A, a `1 × 1` node.
    pub fn mean(&mut self, a: Var) -> Var {
        let len = self.value(a).len();
        let s = self.sum(a);
        self.scale(s, 1.0 / len as f64)
    }

    /// (μ/2)‖A‖² = (μ/2) Σ_i a_i², the weight-decay term of \[J\], a `1 × 1` node.
    pub fn l2(&mut self, a: Var, mu: f64) -> Var {
        let s: f64 = self.value(a).data.iter().map(|v| v * v).sum();
        self.push(Mat::scalar(0.5 * mu * s), Op::L2 { a: a.0, mu })
    }
}
