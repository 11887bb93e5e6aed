//! Turns rollout events into what users see: commit statuses on the forge
//! (`tranche/rollout`, optionally `tranche/cluster/<name>`), metrics, and
//! the daemon's status view (with every cluster's state, for the web view).
//! Never blocks the rollout: statuses are queued to the [`StatusReporter`],
//! which retries on its own.
//!
//! Health waits are logged (`waiting for health: …`) when the awaited
//! state changes, and otherwise at most every 30 s ([`LineThrottle`]).

use super::rollout_view::RolloutView;
use super::status::{Badge, BadgeState, CurrentRollout, LiveStatus};
use crate::outcome::{ObjectOutcome, RolloutOutcome};
use crate::progress::LineThrottle;
use crate::report::{CommitStatus, Metrics, StatusReporter, StatusState};
use crate::revision::short;
use crate::rollout::event::{Observer, RolloutEvent};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Context of the main commit status.
pub const ROLLOUT_CONTEXT: &str = "tranche/rollout";

/// Observer for one commit's rollout in the daemon.
pub struct DaemonObserver {
    /// Commit rolled out.
    pub commit: String,
    /// Where statuses go (None: no forge configured).
    pub reporter: Option<StatusReporter>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Status view.
    pub live: LiveStatus,
    /// Link for statuses.
    pub target_url: Option<String>,
    /// Also post `tranche/cluster/<name>`.
    pub per_cluster: bool,
    state: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    batches: Vec<Vec<String>>,
    batch: usize,
    done: usize,
    batch_started: Option<Instant>,
    view: Option<RolloutView>,
    waiting: LineThrottle,
}

impl DaemonObserver {
    /// An observer for `commit`.
    pub fn new(
        commit: &str,
        reporter: Option<StatusReporter>,
        metrics: Arc<Metrics>,
        live: LiveStatus,
        target_url: Option<String>,
        per_cluster: bool,
    ) -> DaemonObserver {
        DaemonObserver {
            commit: commit.to_string(),
            reporter,
            metrics,
            live,
            target_url,
            per_cluster,
            state: Mutex::new(Progress::default()),
        }
    }

    /// Posts a status on this observer's commit.
    pub fn post(&self, context: &str, state: StatusState, description: &str) {
        let Some(r) = &self.reporter else { return };
        let mut status = CommitStatus::new(context, state, description);
        if let Some(url) = &self.target_url {
            status = status.with_target_url(url.clone());
        }
        r.post(&self.commit, status);
    }

    fn progress_line(p: &Progress) -> String {
        let total: usize = p.batches.iter().map(Vec::len).sum();
        format!(
            "batch {}/{} · {}/{} clusters",
            (p.batch + 1).min(p.batches.len()),
            p.batches.len(),
            p.done,
            total
        )
    }

    fn set_current(&self, progress: String, batches: Vec<Vec<String>>, view: RolloutView) {
        let commit = self.commit.clone();
        self.live.update(|v| {
            v.current = Some(CurrentRollout {
                commit,
                progress,
                batches,
                view,
            })
        });
    }

    /// Folds `event` into the per-cluster view of this rollout.
    fn track(&self, p: &mut Progress, event: &RolloutEvent) -> RolloutView {
        let now = crate::rollout::record::now();
        let known = match event {
            RolloutEvent::Planned { .. } | RolloutEvent::BatchStarted { .. } => {
                self.live.snapshot().clusters
            }
            _ => Default::default(),
        };
        let view = p.view.get_or_insert_with(|| RolloutView::new(now));
        view.apply(event, now, &|c| known.get(c).cloned());
        view.clone()
    }
}

impl Observer for DaemonObserver {
    fn on_event(&self, event: &RolloutEvent) {
        let mut p = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let view = self.track(&mut p, event);
        log_event(event, p.batches.len());
        if !matches!(event, RolloutEvent::GateWaiting { .. }) {
            p.waiting.reset();
        }
        match event {
            RolloutEvent::Planned { batches, .. } => {
                p.batches = batches.clone();
                let line = Self::progress_line(&p);
                self.post(ROLLOUT_CONTEXT, StatusState::Pending, &line);
                self.set_current(line, batches.clone(), view);
            }
            RolloutEvent::BatchStarted { index, clusters } => {
                p.batch = *index;
                p.batch_started = Some(Instant::now());
                let line = Self::progress_line(&p);
                self.post(ROLLOUT_CONTEXT, StatusState::Pending, &line);
                self.set_current(line, p.batches.clone(), view.clone());
                if self.per_cluster {
                    for c in clusters {
                        self.post(
                            &format!("tranche/cluster/{c}"),
                            StatusState::Pending,
                            "applying",
                        );
                    }
                }
            }
            RolloutEvent::ClusterApplied { report, .. } => {
                self.set_current(Self::progress_line(&p), p.batches.clone(), view);
                for o in ObjectOutcome::ALL {
                    let n = report.count(o) as u64;
                    if n > 0 {
                        self.metrics.record_apply(&report.cluster, o, n);
                    }
                }
                if report.error.is_some() && !report.reachable {
                    self.metrics.record_api_error(&report.cluster);
                }
            }
            RolloutEvent::GateWaiting { index, pending } => {
                let first = pending.first().map(String::as_str).unwrap_or_default();
                let line = format!("waiting for health: {first}");
                if let Some(line) = p.waiting.offer(&line, Instant::now()) {
                    tracing::info!(batch = index + 1, pending = pending.len(), "{line}");
                }
                self.set_current(Self::progress_line(&p), p.batches.clone(), view);
            }
            RolloutEvent::Baking { .. } | RolloutEvent::Analysis { .. } => {
                self.set_current(Self::progress_line(&p), p.batches.clone(), view);
            }
            RolloutEvent::Waiting { index, reason } => {
                let line = format!("batch {}/{} {reason}", index + 1, p.batches.len());
                self.post(ROLLOUT_CONTEXT, StatusState::Pending, &line);
                self.set_current(line, p.batches.clone(), view);
            }
            RolloutEvent::BatchHealthy { index, done, .. } => {
                p.done = *done;
                if let Some(started) = p.batch_started.take() {
                    self.metrics.observe_batch_duration(started.elapsed());
                }
                let line = Self::progress_line(&p);
                self.post(ROLLOUT_CONTEXT, StatusState::Pending, &line);
                self.set_current(line, p.batches.clone(), view.clone());
                if self.per_cluster {
                    for c in p.batches.get(*index).cloned().unwrap_or_default() {
                        self.post(
                            &format!("tranche/cluster/{c}"),
                            StatusState::Success,
                            "deployed and healthy",
                        );
                    }
                }
            }
            RolloutEvent::Failed {
                failure,
                rolling_back,
            } => {
                let next = if *rolling_back {
                    "rolling back"
                } else {
                    "pausing"
                };
                let line = format!("failed: {failure}; {next}");
                self.post(ROLLOUT_CONTEXT, StatusState::Pending, &line);
                self.set_current(line, p.batches.clone(), view.clone());
            }
            RolloutEvent::ClusterRolledBack { report } => {
                let line = self
                    .live
                    .snapshot()
                    .current
                    .map(|c| c.progress)
                    .unwrap_or_default();
                self.set_current(line, p.batches.clone(), view);
                if self.per_cluster {
                    let (state, text) = match &report.error {
                        None => (
                            StatusState::Failure,
                            format!("rolled back to {}", short(&report.commit)),
                        ),
                        Some(e) => (StatusState::Error, format!("rollback failed: {e}")),
                    };
                    self.post(&format!("tranche/cluster/{}", report.cluster), state, &text);
                }
            }
            RolloutEvent::Finished {
                outcome,
                description,
            } => {
                let state = match outcome {
                    RolloutOutcome::Succeeded | RolloutOutcome::NothingToDo => StatusState::Success,
                    RolloutOutcome::RolledBack | RolloutOutcome::Paused => StatusState::Failure,
                    RolloutOutcome::RollbackFailed
                    | RolloutOutcome::Superseded
                    | RolloutOutcome::Invalid => StatusState::Error,
                };
                self.post(ROLLOUT_CONTEXT, state, description);
                self.metrics.record_rollout(*outcome);
                let result = Badge {
                    commit: self.commit.clone(),
                    state: BadgeState::from_outcome(*outcome),
                    description: description.clone(),
                };
                // Per-app outcomes come from the fleet memory, which the
                // daemon reloads into the view once the rollout returns.
                let finished = CurrentRollout {
                    commit: self.commit.clone(),
                    progress: description.clone(),
                    batches: p.batches.clone(),
                    view,
                };
                self.live.update(|v| {
                    v.current = None;
                    v.last = Some(result);
                    v.last_rollout = Some(finished);
                });
            }
        }
    }
}

/// One log line per step, so `tranche run`'s log tells the rollout too
/// (the engine itself logs the failure).
fn log_event(event: &RolloutEvent, batches: usize) {
    match event {
        RolloutEvent::Planned { batches, .. } => {
            let sizes: Vec<String> = batches.iter().map(|b| b.len().to_string()).collect();
            tracing::info!("planned {} batch(es) of {}", batches.len(), sizes.join(":"));
        }
        RolloutEvent::BatchStarted { index, clusters } => {
            tracing::info!(
                "batch {}/{batches} applying: {}",
                index + 1,
                clusters.join(", ")
            );
        }
        RolloutEvent::BatchHealthy { index, done, total } => {
            tracing::info!(
                "batch {}/{batches} healthy ({done}/{total} clusters)",
                index + 1
            );
        }
        RolloutEvent::Analysis {
            index,
            cluster,
            check,
            passed,
            value,
        } => tracing::info!(
            "batch {}/{batches} analysis {check} on {cluster}: {value} ({})",
            index + 1,
            crate::rollout::analysis::mark(*passed)
        ),
        RolloutEvent::ClusterRolledBack { report } => match report.first_failure() {
            None => tracing::info!(
                "{} rolled back to {}",
                report.cluster,
                short(&report.commit)
            ),
            Some(e) => tracing::warn!("{} rollback failed: {e}", report.cluster),
        },
        _ => {}
    }
}
