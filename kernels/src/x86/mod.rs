//! x86-64 variants (AVX2+FMA through `core::arch`).

pub(crate) mod avx2;
