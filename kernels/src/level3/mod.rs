//! Level-3 kernels and factorisations: gemm, syrk, Cholesky (potrf), trsm.
