//! Progress bars on stderr for long work: training, inverse-HVP solves, valuation blocks,
//! retraining (issue #10).
//!
//! A [`Progress`] draws an indicatif bar only when stderr is a terminal
//! ([`std::io::IsTerminal`]) and `PUMA_PROGRESS` is not `0`; otherwise, and for
//! [`Progress::hidden`], every method is a no-op costing one branch. Nothing is ever
//! written to stdout, so reports piped to a file are unchanged, and a bar never affects a
//! result: it only counts.
//!
//! ```
//! use puma::progress::Progress;
//!
//! let bar = Progress::new(3, "valuation blocks");
//! for _ in 0..3 {
//!     // ... one block of work ...
//!     bar.inc(1);
//! }
//! bar.finish();
//! ```
//!
//! A `Progress` is cheap to clone and `Send + Sync`: rayon workers may each hold a clone and
//! call [`Progress::inc`] on the same bar.
//!
//! Library loops that take no bar (the L-BFGS iterations of training) call [`iteration`],
//! which writes to the bar a command made current with [`Progress::as_current`], and costs
//! one atomic load when there is none.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

/// A progress bar on stderr, or nothing (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Whether bars are drawn: stderr is a terminal and `PUMA_PROGRESS` is not `0`.
pub fn enabled() -> bool {
    std::env::var_os("PUMA_PROGRESS").is_none_or(|v| v != "0") && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar counting `total` steps of `what` ("training", "solves", ...), with elapsed time
    /// and an estimate of the time left; hidden when [`enabled`] is false.
    pub fn new(total: u64, what: &str) -> Progress {
        if !enabled() {
            return Progress::hidden();
        }
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        Progress::drawn(ProgressBar::new(total).with_style(style), what)
    }

    /// A spinner for work of unknown length (an L-BFGS run to a tolerance), showing its
    /// message and the elapsed time, ticking by itself ten times a second; hidden when
    /// [`enabled`] is false.
    pub fn spinner(what: &str) -> Progress {
        if !enabled() {
            return Progress::hidden();
        }
        let style = ProgressStyle::with_template("{prefix:>12} {spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let p = Progress::drawn(ProgressBar::new_spinner().with_style(style), what);
        if let Some(bar) = &p.bar {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        p
    }

    /// The no-op variant: for library calls and tests, and wherever no bar is wanted.
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    fn drawn(bar: ProgressBar, what: &str) -> Progress {
        // A bar whose last clone drops unfinished (an early return on an error) is cleared
        // too, so it never stays drawn above the error line.
        let bar = bar.with_finish(ProgressFinish::AndClear);
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.set_prefix(what.to_string());
        Progress { bar: Some(bar) }
    }

    /// Whether this bar is drawn.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// Advances by `k` steps.
    pub fn inc(&self, k: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(k);
        }
    }

    /// Sets the position to `pos` steps (for loops that know where they are).
    pub fn set_position(&self, pos: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(pos);
        }
    }

    /// Shows a short message after the count (for example "‖∇J‖∞ 3.1e-7").
    pub fn set_message(&self, msg: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg.into());
        }
    }

    /// Stops the bar and removes it from the terminal, leaving the report on stdout alone.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The bar [`iteration`] writes to, set by [`Progress::as_current`].
static CURRENT: Mutex<Option<ProgressBar>> = Mutex::new(None);
/// Whether [`CURRENT`] holds a bar (checked without the lock).
static HAS_CURRENT: AtomicBool = AtomicBool::new(false);

/// Keeps a bar current for [`iteration`] until dropped (see [`Progress::as_current`]).
#[derive(Debug)]
#[must_use = "the bar stops being current when the guard drops"]
pub struct CurrentGuard(());

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        HAS_CURRENT.store(false, Ordering::Release);
        if let Ok(mut current) = CURRENT.lock() {
            *current = None;
        }
    }
}

impl Progress {
    /// Makes this bar the one [`iteration`] reports to until the returned guard drops (a
    /// hidden bar makes none current).
    pub fn as_current(&self) -> CurrentGuard {
        if let Some(bar) = &self.bar
            && let Ok(mut current) = CURRENT.lock()
        {
            *current = Some(bar.clone());
            HAS_CURRENT.store(true, Ordering::Release);
        }
        CurrentGuard(())
    }
}

/// Reports iteration `k` of an optimiser (`method`, e.g. "L-BFGS") at ‖∇J‖∞ = `grad_inf` to
/// the current bar, if a command made one current; otherwise one atomic load.
pub fn iteration(method: &str, k: usize, grad_inf: f64) {
    if !HAS_CURRENT.load(Ordering::Acquire) {
        return;
    }
    if let Ok(current) = CURRENT.lock()
        && let Some(bar) = current.as_ref()
    {
        bar.set_message(format!("{method} iteration {k}, ‖∇J‖∞ {grad_inf:.2e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bars_accept_every_call() {
        let p = Progress::hidden();
        assert!(!p.is_visible());
        p.inc(3);
        p.set_position(5);
        p.set_message("x");
        let guard = p.as_current();
        iteration("L-BFGS", 3, 1e-3);
        drop(guard);
        p.finish();
        let q = p.clone();
        q.inc(1);
    }

    #[test]
    fn bars_are_hidden_when_stderr_is_not_a_terminal() {
        // Test harnesses capture stderr, so it is not a terminal here (unless run with
        // --nocapture from one, when the bar is drawn and that is right too).
        if !std::io::stderr().is_terminal() {
            assert!(!Progress::new(10, "test").is_visible());
            assert!(!Progress::spinner("test").is_visible());
        }
    }
}
