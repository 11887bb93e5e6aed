//! Showing a rollout as it happens: progress bars per batch on a terminal
//! (indicatif), plain lines otherwise. Reads only [`RolloutEvent`]s.
//!
//! Without a terminal (CI logs), a health wait prints its line only when
//! it changes, plus a heartbeat at most every 30 s ([`LineThrottle`]).

use crate::outcome::ObjectOutcome;
use crate::progress::LineThrottle;
use crate::revision::short;
use crate::rollout::event::{Observer, RolloutEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

/// Progress bars (TTY) or plain lines on stderr.
pub struct Progress {
    bars: Option<Bars>,
    /// Repeated health-wait lines, without a terminal.
    waiting: Mutex<LineThrottle>,
}

struct Bars {
    multi: MultiProgress,
    current: Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        let bars = std::io::stderr().is_terminal().then(|| Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            current: Mutex::new(None),
        });
        Progress {
            bars,
            waiting: Mutex::new(LineThrottle::default()),
        }
    }

    /// Prints a health-wait line if it changed or is due for a heartbeat.
    fn waiting_line(&self, text: &str) {
        let mut throttle = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(line) = throttle.offer(text, Instant::now()) {
            eprintln!("{line}");
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(text);
            }
            None => super::write_err(text),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Some(b) = &self.bars {
            if let Ok(guard) = b.current.lock() {
                if let Some(bar) = guard.as_ref() {
                    f(bar);
                }
            }
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &RolloutEvent) {
        if !matches!(event, RolloutEvent::GateWaiting { .. }) {
            // The wait is over: the next one prints its first line.
            self.waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reset();
        }
        match event {
            RolloutEvent::Planned { commit, batches } => {
                let sizes: Vec<String> = batches.iter().map(|b| b.len().to_string()).collect();
                self.line(&format!(
                    "rolling out {} to {} cluster(s) in batches of {}",
                    short(commit),
                    batches.iter().map(Vec::len).sum::<usize>(),
                    sizes.join(":")
                ));
            }
            RolloutEvent::Waiting { index, reason } => {
                self.line(&format!("batch {} {reason}", index + 1));
            }
            RolloutEvent::BatchStarted { index, clusters } => {
                self.line(&format!("batch {}: {}", index + 1, clusters.join(", ")));
                if let Some(b) = &self.bars {
                    let bar = b.multi.add(ProgressBar::new(clusters.len() as u64));
                    let style =
                        ProgressStyle::with_template("  {prefix} [{bar:24}] {pos}/{len} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(format!("batch {}", index + 1));
                    bar.set_message("applying");
                    if let Ok(mut cur) = b.current.lock() {
                        *cur = Some(bar);
                    }
                }
            }
            RolloutEvent::ClusterApplied { report, .. } => {
                let changed = report.changed().len();
                let status = match &report.error {
                    Some(e) => format!("FAILED: {e}"),
                    None => format!("{changed} object(s) changed"),
                };
                self.line(&format!("  {} applied: {status}", report.cluster));
                for r in report
                    .results
                    .iter()
                    .filter(|r| r.outcome != ObjectOutcome::Unchanged)
                {
                    let why = r
                        .message
                        .as_deref()
                        .map(|m| format!(" — {m}"))
                        .unwrap_or_default();
                    self.line(&format!(
                        "    {:<10} {} [{}]{why}",
                        r.outcome.as_str(),
                        r.id,
                        r.app
                    ));
                }
                let unchanged = report.count(ObjectOutcome::Unchanged);
                if unchanged > 0 {
                    self.line(&format!("    {unchanged} unchanged"));
                }
                self.with_bar(|b| b.inc(1));
            }
            RolloutEvent::GateWaiting { pending, .. } => {
                let first = pending.first().cloned().unwrap_or_default();
                self.with_bar(|b| b.set_message(format!("waiting for health: {first}")));
                if self.bars.is_none() {
                    self.waiting_line(&format!(
                        "  waiting for health: {first} ({} pending)",
                        pending.len()
                    ));
                }
            }
            RolloutEvent::Baking { bake, .. } => {
                let text = format!("healthy, baking for {}", humantime::format_duration(*bake));
                self.with_bar(|b| b.set_message(text.clone()));
                if self.bars.is_none() {
                    super::write_err(&format!("  {text}"));
                }
            }
            RolloutEvent::Analysis {
                cluster,
                check,
                passed,
                value,
                ..
            } => {
                let mark = crate::rollout::analysis::mark(*passed);
                self.line(&format!(
                    "  analysis {check} on {cluster}: {value} ({mark})"
                ));
            }
            RolloutEvent::BatchHealthy { index, done, total } => {
                self.with_bar(|b| b.finish_with_message("healthy"));
                self.line(&format!(
                    "batch {} healthy ({done}/{total} clusters)",
                    index + 1
                ));
            }
            RolloutEvent::Failed {
                failure,
                rolling_back,
            } => {
                self.with_bar(|b| b.abandon_with_message("failed"));
                let next = if *rolling_back {
                    "rolling back"
                } else {
                    "pausing"
                };
                self.line(&format!("FAILED: {failure}; {next}"));
            }
            RolloutEvent::ClusterRolledBack { report } => {
                let status = match &report.error {
                    Some(e) => format!("rollback FAILED: {e}"),
                    None => format!(
                        "rolled back to {}",
                        if report.commit.is_empty() {
                            "nothing"
                        } else {
                            short(&report.commit)
                        }
                    ),
                };
                self.line(&format!("  {}: {status}", report.cluster));
            }
            RolloutEvent::Finished { description, .. } => self.line(description),
        }
    }
}
