//! AVX2+FMA level-1/2 and element-wise kernels.
