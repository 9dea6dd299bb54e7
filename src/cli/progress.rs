//! Progress on a terminal for long builds (spec §12): a spinner that names
//! the stage being run and how long the build has taken. Drawn only for
//! people ([`Ui::shows_progress`]: stderr is a terminal, not `-q`, not JSON)
//! and only for builds big enough to take a noticeable time. Every other
//! line [`Ui`] prints is printed with the spinner suspended, and it is
//! cleared before the summary, so logs and terminals never hold a torn line.

use super::Ui;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// Fewer instances than this build in well under a second: no spinner.
const MIN_INSTANCES: usize = 50;

impl Ui {
    /// Starts the spinner for a build of `instances` instances (when shown).
    pub fn progress_start(&mut self, instances: usize) {
        if !self.shows_progress() || instances < MIN_INSTANCES {
            return;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {msg}") {
            bar.set_style(style);
        }
        bar.set_message(format!("compiling {instances} instances"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.progress = Some(bar);
    }

    /// Names the stage now running.
    pub fn progress_stage(&self, message: impl Into<String>) {
        if let Some(bar) = &self.progress {
            bar.set_message(message.into());
        }
    }

    /// Removes the spinner.
    pub fn progress_clear(&mut self) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
    }

    /// Runs `print` with the spinner (if any) off the screen.
    pub(super) fn above_progress<T>(&self, print: impl FnOnce() -> T) -> T {
        match &self.progress {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}
