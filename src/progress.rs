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

use std::io::IsTerminal;
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
