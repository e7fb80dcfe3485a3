//! Which kernel variant runs: detected once per process, overridable for tests.
//!
//! `PUMA_KERNEL=portable` forces the portable path, `PUMA_KERNEL=avx2` asks for the
//! AVX2+FMA path (and falls back to portable, with a warning on stderr, when the CPU lacks
//! it, so that the process stays sound). Any other value is ignored with a warning. This
//! mirrors matrixmultiply's `MMTEST_FEATURE`: CI runs every kernel test once per path.

use std::sync::OnceLock;

/// A kernel variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Runs everywhere: plain Rust, auto-vectorised by the compiler.
    Portable,
    /// x86-64 with AVX2 and FMA, through `core::arch` intrinsics.
    Avx2Fma,
}

static LEVEL: OnceLock<Level> = OnceLock::new();

/// The variant every kernel uses in this process (detected on first call, then cached).
pub fn level() -> Level {
    *LEVEL.get_or_init(detect)
}

/// Whether this CPU can run the AVX2+FMA path, whatever `PUMA_KERNEL` says.
pub fn avx2_fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn detect() -> Level {
    let hw = if avx2_fma_available() {
        Level::Avx2Fma
    } else {
        Level::Portable
    };
    match std::env::var("PUMA_KERNEL").as_deref() {
        Err(_) | Ok("") => hw,
        Ok("portable") => Level::Portable,
        Ok("avx2") if hw == Level::Avx2Fma => Level::Avx2Fma,
        Ok("avx2") => {
            eprintln!("puma-kernels: PUMA_KERNEL=avx2 but this CPU lacks avx2+fma; using portable");
            Level::Portable
        }
        Ok(other) => {
            eprintln!("puma-kernels: ignoring PUMA_KERNEL={other:?} (expected portable or avx2)");
            hw
        }
    }
}
