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

/// A piece of element-wise work to run through [`vectorised`]: the caller's loops between
/// kernel calls, as a struct of its inputs.
pub trait Pass {
    /// What the pass returns.
    type Output;
    /// Runs the pass. Mark implementations `#[inline(always)]`, so that they are compiled
    /// into each instance of [`vectorised`] (a closure or a function item would be called
    /// through a shim that is not inlined, and so not vectorised).
    fn run(self) -> Self::Output;
}

/// `pass.run()`, compiled for AVX2+FMA when [`level`] is [`Level::Avx2Fma`]: for the
/// element-wise loops callers write between kernel calls (crates that forbid `unsafe`
/// cannot enable a target feature themselves). The loops are then auto-vectorised 4 wide.
/// The operations are the same on both paths, and so are the results (Rust does not
/// contract a·b + c into an FMA).
///
/// # Examples
/// ```
/// use puma_kernels::dispatch::{Pass, vectorised};
/// struct Squares<'a>(&'a [f64]);
/// impl Pass for Squares<'_> {
///     type Output = Vec<f64>;
///     #[inline(always)]
///     fn run(self) -> Vec<f64> {
///         self.0.iter().map(|v| v * v).collect()
///     }
/// }
/// assert_eq!(vectorised(Squares(&[1.0, 2.0, 3.0])), [1.0, 4.0, 9.0]);
/// ```
#[inline(always)]
pub fn vectorised<P: Pass>(pass: P) -> P::Output {
    #[cfg(target_arch = "x86_64")]
    if level() == Level::Avx2Fma {
        // SAFETY: the level is Avx2Fma only on a CPU with AVX2 and FMA (`detect`).
        return unsafe { run_avx2_fma(pass) };
    }
    pass.run()
}

/// `pass.run()` in a function compiled with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma<P: Pass>(pass: P) -> P::Output {
    pass.run()
}
