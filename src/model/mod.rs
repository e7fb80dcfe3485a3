//! Models: the MLP, its loss on samples, its flat parameter layout, and its training.
//!
//! [`Mlp`] evaluates the objective \[J\] of DESIGN.md §1 and its exact gradient on the
//! autodiff tape; [`params::Layout`] says where each layer sits in the flat θ (DESIGN.md §4);
//! [`hessian`] adds exact Hessian-vector products and the dense Hessian \[H\] \[Pearl94\];
//! [`per_example`] the products s_cᵀ g_i with every per-example gradient \[g\];
//! [`train`] minimises \[J\] by L-BFGS (plus a Newton polish for logistic regression) or Adam.

pub mod hessian;
pub mod logit_vjp;
pub mod loss;
pub mod mlp;
pub mod params;
pub mod per_example;
mod scratch;
pub mod train;

pub use loss::{Evaluation, Samples};
pub use mlp::Mlp;
pub use params::Layout;
