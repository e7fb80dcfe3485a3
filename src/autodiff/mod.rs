//! Reverse-mode automatic differentiation over dense matrices.
//!
//! A [`Tape`] records matrix-valued nodes in creation order (already a topological order);
//! [`Tape::backward`] walks it once in reverse and returns fresh gradients. Graphs are built
//! at run time by ordinary Rust code, so a skip connection, a weight used twice or a sum of
//! two losses need nothing special. The ops are those of the objective \[J\] of DESIGN.md §1:
//! matmul, bias add, add, scale, the activations tanh/sigmoid/relu/softplus/gelu, softmax
//! cross-entropy with integer labels, Brier score, per-sample weights, sum/mean and the
//! weight decay (μ/2)‖θ‖².
//!
//! Entry points follow JAX/autograd: [`value_and_grad`] and [`grad()`] take a closure that
//! builds J from a flat θ. [`check::check_grad`] is the finite-difference oracle every
//! gradient is tested against. [`hvp()`] and [`hvp_batch`] are Pearlmutter's exact
//! forward-over-reverse Hessian-vector products \[Pearl94\] ([`mod@hvp`]); [`hessian()`] is the
//! dense Hessian \[H\] for small p, checked column by column against them ([`mod@hessian`]).
//! One gradient costs about 2–3 forward passes, one HVP about 2–4 gradients (DESIGN.md §2);
//! every matrix product goes through [`matmul::matmul`].

pub mod check;
pub mod eigen;
pub mod grad;
pub mod hessian;
pub mod hvp;
pub mod mat;
pub mod matmul;
pub mod op;
pub mod special;
pub mod tape;

pub use check::{CheckParams, GradCheck, check_grad};
pub use grad::{Gradients, grad, value_and_grad};
pub use hessian::{hessian, hessian_by_columns};
pub use hvp::{HvpBatch, hvp, hvp_batch, value_grad_hvp_batch};
pub use mat::Mat;
pub use op::Activation;
pub use tape::{Tape, Var};
