//! Level-3 and factorisation oracles (gemm, syrk, Cholesky, trsm).
