//! x86-64 variants (AVX2+FMA through `core::arch`). The AVX2 level's tanh runs its whole
//! octets on AVX-512F where the CPU has it (`avx512.rs`), with the same bits.

pub(crate) mod avx2;
pub(crate) mod avx512;
