//! puma: data-centric model debugging in pure Rust.
//!
//! A model fails a test; puma finds the training points responsible (influence functions)
//! and patches the trained model so that their influence is removed while chosen
//! performance criteria stay unchanged (the PUMA algorithm, Wu, Hashemi & Srinivasa,
//! AAAI 2022), without retraining. The numerics are written from scratch: SIMD kernels in
//! [`puma_kernels`], reverse-mode autodiff, inverse-HVP solvers and a coordinate-descent
//! Lasso. No BLAS, no LAPACK, no Python at run time.
//!
//! The library is built in layers; see the module table in README.md for what exists.
#![forbid(unsafe_code)]

pub mod autodiff;
pub mod cli;
pub mod criteria;
pub mod data;
pub mod demo;
pub mod error;
pub mod influence;
pub mod io;
pub mod lasso;
pub mod model;
pub mod progress;
pub mod puma;
pub mod solvers;
pub mod valuation;

pub use error::{Error, Result};
pub use puma_kernels as kernels;
