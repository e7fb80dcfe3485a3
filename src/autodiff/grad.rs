//! The reverse pass and the JAX/autograd-style entry points `grad` and `value_and_grad`.
//!
//! For a scalar output J the pass seeds J̄ = 1 and walks the tape backwards, adding each
//! node's vector-Jacobian products into its parents' adjoints (see [`super::op`]). Only
//! nodes that depend on a [`Tape::var`] are visited. Cost: one gradient ≈ 2–3 forward passes
//! (each matmul C = A·B needs two products of the same size backward: Ā = C̄·Bᵀ, B̄ = Aᵀ·C̄,
//! and only one when A is data).

use super::mat::Mat;
use super::tape::{Tape, Var};

/// The adjoints ∂J/∂v of every differentiable input of a tape, from [`Tape::backward`].
#[derive(Clone, Debug)]
pub struct Gradients {
    adj: Vec<Option<Mat>>,
}

impl Gradients {
    /// ∂J/∂v, or `None` when J does not depend on `v` (or `v` is a constant).
    pub fn wrt(&self, v: Var) -> Option<&Mat> {
        self.adj.get(v.0).and_then(Option::as_ref)
    }

    /// ∂J/∂v moved out, as zeros of `v`'s shape when J does not depend on `v`.
    pub fn take(&mut self, tape: &Tape, v: Var) -> Mat {
        self.adj[v.0].take().unwrap_or_else(|| {
            let m = tape.value(v);
            Mat::zeros(m.rows, m.cols)
        })
    }
}

impl Tape {
    /// The reverse pass from the scalar node `output`: ∂output/∂v for every [`Tape::var`] v.
    ///
    /// Adjoints of intermediate nodes are freed as soon as they have been propagated.
    ///
    /// # Panics
    /// If `output` is not `1 × 1`.
    #[track_caller]
    pub fn backward(&self, output: Var) -> Gradients {
        let out = self.value(output);
        assert!(
            out.has_shape(1, 1),
            "backward: output is {}x{}, not a scalar",
            out.rows,
            out.cols
        );
        let mut adj: Vec<Option<Mat>> = vec![None; self.nodes.len()];
        adj[output.0] = Some(Mat::scalar(1.0)); // J̄ = 1
        let values = |k: usize| &self.nodes[k].value;
        let needs = |k: usize| self.nodes[k].needs_grad;
        for i in (0..=output.0).rev() {
            let node = &self.nodes[i];
            if !node.needs_grad || matches!(node.op, super::op::Op::Leaf) {
                continue;
            }
            let Some(g) = adj[i].take() else { continue };
            node.op.vjp(&values, &node.value, &g, &needs, &mut adj);
        }
        Gradients { adj }
    }
}

/// J(θ) and ∇J(θ) for a scalar function built on a tape from the flat θ.
///
/// `f` receives a fresh tape and θ as a `p × 1` [`Tape::var`] and returns the `1 × 1` node J.
/// The gradient is a fresh vector of length p.
///
/// # Panics
/// If the node `f` returns is not `1 × 1`.
///
/// # Examples
/// ```
/// use puma::autodiff::value_and_grad;
/// // J(θ) = (μ/2)‖θ‖² with μ = 2: J = ‖θ‖², ∇J = 2θ.
/// let (j, g) = value_and_grad(|tape, theta| tape.l2(theta, 2.0), &[1.0, -3.0]);
/// assert_eq!(j, 10.0);
/// assert_eq!(g, vec![2.0, -6.0]);
/// ```
pub fn value_and_grad<F>(f: F, theta: &[f64]) -> (f64, Vec<f64>)
where
    F: FnOnce(&mut Tape, Var) -> Var,
{
    let mut tape = Tape::new();
    let th = tape.var(Mat::column(theta));
    let j = f(&mut tape, th);
    let value = tape.scalar(j);
    let g = tape.backward(j).take(&tape, th).data;
    (value, g)
}

/// ∇J(θ) for a scalar function built on a tape from the flat θ (see [`value_and_grad`]).
pub fn grad<F>(f: F, theta: &[f64]) -> Vec<f64>
where
    F: FnOnce(&mut Tape, Var) -> Var,
{
    value_and_grad(f, theta).1
}
