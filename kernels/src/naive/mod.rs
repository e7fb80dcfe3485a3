//! Obviously-correct loops: the oracle for every kernel test.
//!
//! Nothing here is fast and nothing here is clever; each function is the definition of
//! its kernel written out as a loop, so that a test failure points at the fast path.

mod blas1;
mod blas3;

pub use blas1::*;
pub use blas3::*;
