//! Running a rollout: the loop around the pure [`machine`]. Load (or
//! start) the record, ask the machine for the step, perform it
//! ([`steps`]), feed the result back, save the new record atomically
//! through the [`RolloutState`], repeat until the machine says finish.
//!
//! Guarantees: the record on disk is always the state before the next
//! step, so a process killed anywhere resumes with [`Rollout::resume`]
//! (load the record, ask the machine). Every error of a step is a step
//! result (an unreachable cluster, a failed request, a timeout: the batch
//! fails and the machine rolls back). What is left is a *stop* — halted
//! from outside, or the record could not be saved — reported as
//! [`RolloutError::Stopped`] naming the clusters left behind; the saved
//! record resumes on the next start.

mod analyze;
mod steps;
mod wait;

use super::event::{Observer, RolloutEvent};
use super::machine::{self, Step, StepResult, Terms};
use super::record::{now, Failure, LeftBehind, Phase, RolloutRecord};
use super::state::RolloutState;
use super::store::StoreError;
use crate::apply::ClusterReport;
use crate::outcome::RolloutOutcome;
use crate::plan::compute::Connections;
use crate::revision::{short, Revision, RevisionError, Revisions};
use serde::Serialize;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often a held rollout looks for orders.
const HOLD_POLL: Duration = Duration::from_millis(100);

/// Why a rollout did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The commit (or the one the record in flight is for) cannot be read;
    /// this run changed nothing.
    #[error(transparent)]
    Revision(#[from] RevisionError),
    /// The state could not be read or started; this run changed nothing.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stopped between steps. The last saved record resumes on the next
    /// start; `left_behind` are the clusters it leaves half-way meanwhile.
    #[error("{}", describe_stop(commit, progress, cause, left_behind))]
    Stopped {
        /// Commit.
        commit: String,
        /// Where it stopped (`batch 2/3 · 1/4 clusters`, `rolling back b`, …).
        progress: String,
        /// Why.
        cause: StopCause,
        /// Clusters written and not yet healthy or rolled back.
        left_behind: Vec<LeftBehind>,
    },
}

/// Why a rollout stopped between steps.
#[derive(Debug, thiserror::Error)]
pub enum StopCause {
    /// Shutdown or lost leadership.
    #[error("interrupted (shutdown or leadership lost)")]
    Halted,
    /// The record could not be saved.
    #[error("the rollout record could not be saved: {0}")]
    Store(#[source] StoreError),
}

impl RolloutError {
    /// Whether the rollout was halted from outside (it resumes later, and
    /// its commit is not failed).
    pub fn is_halted(&self) -> bool {
        matches!(
            self,
            RolloutError::Stopped {
                cause: StopCause::Halted,
                ..
            }
        )
    }

    /// Clusters a stopped rollout left half-way (none for other errors).
    pub fn left_behind(&self) -> &[LeftBehind] {
        match self {
            RolloutError::Stopped { left_behind, .. } => left_behind,
            _ => &[],
        }
    }
}

fn describe_stop(commit: &str, progress: &str, cause: &StopCause, left: &[LeftBehind]) -> String {
    let left = if left.is_empty() {
        "no cluster is left half-way".to_string()
    } else {
        let list: Vec<String> = left
            .iter()
            .map(|l| format!("{} ({})", l.cluster, l.reason))
            .collect();
        format!("left half-way: {}", list.join(", "))
    };
    format!(
        "rollout of {} stopped at {progress}: {cause}; it resumes on the next start; {left}",
        short(commit)
    )
}

/// The final report of one rollout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    /// Commit rolled out.
    pub commit: String,
    /// How it ended.
    pub outcome: RolloutOutcome,
    /// One line, as in the commit status and the CLI's last line.
    pub description: String,
    /// Batches of clusters.
    pub batches: Vec<Vec<String>>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Clusters left neither on this commit (healthy) nor on what they ran
    /// before, and why.
    pub left_behind: Vec<LeftBehind>,
    /// What applying did on each cluster (in this run).
    pub applied: Vec<ClusterReport>,
    /// What rolling back did on each touched cluster (in this run).
    pub rolled_back: Vec<ClusterReport>,
    /// Where this run's time went, by kind of step.
    pub timings: super::timings::StepTimings,
}

/// Everything a rollout needs; borrowed, so callers own the resources.
pub struct Rollout<'a> {
    /// Where commits are read from.
    pub revisions: &'a dyn Revisions,
    /// Where rollback targets are read from, when not from `revisions`:
    /// set for an input-change rollout (the same commit with the inputs
    /// before the change), which its record then remembers.
    pub rollback_revisions: Option<&'a dyn Revisions>,
    /// Connections to every cluster of the registry.
    pub clusters: &'a Connections,
    /// The rollout record and the fleet memory.
    pub state: &'a RolloutState,
    /// Who hears about progress.
    pub observer: &'a dyn Observer,
    /// Clusters planned and applied at once (within a batch also capped by
    /// the policy's maxParallel).
    pub parallel: usize,
    /// Time between health checks.
    pub poll: Duration,
    /// Checked before each step: when set, stop and leave the record for
    /// a later resume (SIGTERM, lost leadership).
    pub halt: Option<&'a AtomicBool>,
    /// Take fields other managers wrote, whatever the RolloutPolicy says:
    /// drift correction must win back fields changed behind tranche's back.
    pub force_conflicts: bool,
    /// The time waits before batches (pauses, windows) go by.
    pub clock: &'a dyn super::clock::Clock,
    /// Orders from people (approve, pause, resume, abort), if anyone can
    /// give them.
    pub control: Option<&'a super::inbox::Inbox>,
}

/// How long after the planning step its plans stand in for the first
/// batch's: only when the batch follows at once (no wait, no approval, no
/// restart), so they describe the clusters as they are.
pub const FRESH_PLANS: Duration = Duration::from_secs(5);

/// What one run of the loop keeps in memory besides the record.
#[derive(Default)]
pub struct RunLog {
    /// Reports of clusters applied in this run.
    pub applied: Vec<ClusterReport>,
    /// Reports of clusters rolled back in this run.
    pub rolled_back: Vec<ClusterReport>,
    /// Apps whose objects this run changed.
    pub apps: std::collections::BTreeSet<String>,
    /// Plans of the batch just prepared (`(index, plans)`), reused by its
    /// apply step when it follows in the same process.
    plans: Option<(usize, Vec<crate::plan::ClusterPlan>)>,
    /// The planning step's plans and when it made them: the first batch
    /// prepared right after it reuses them instead of planning again
    /// ([`FRESH_PLANS`]).
    planned: Option<(std::time::Instant, Vec<crate::plan::ClusterPlan>)>,
    /// Batch whose start was announced to the observer.
    announced: Option<usize>,
    /// Time spent per kind of step.
    timings: super::timings::StepTimings,
}

impl Rollout<'_> {
    /// Finishes a rollout left in flight by a previous process, if any.
    pub async fn resume(&self) -> Result<Option<RolloutReport>, RolloutError> {
        let Some(record) = self.state.record()? else {
            return Ok(None);
        };
        tracing::info!(commit = %short(&record.commit), progress = %record.progress(),
            "resuming rollout left in flight");
        let rev = self.read(&record.commit)?;
        let (record, step) = machine::resume(record);
        self.drive(record, step, &rev).await.map(Some)
    }

    /// Rolls `commit` out, after finishing any rollout left in flight.
    pub async fn run(&self, commit: &str) -> Result<RolloutReport, RolloutError> {
        if let Some(previous) = self.resume().await? {
            if previous.commit == commit {
                return Ok(previous);
            }
        }
        let rev = self.read(commit)?;
        let mut record = RolloutRecord::new(&rev.commit, now());
        record.inputs_change = self.rollback_revisions.is_some();
        self.state.save_record(&record)?;
        let step = machine::next(&record);
        self.drive(record, step, &rev).await
    }

    /// Reads a revision, applying the `force_conflicts` override.
    fn read(&self, commit: &str) -> Result<Revision, RevisionError> {
        self.read_from(self.revisions, commit)
    }

    /// Reads a rollback target (from `rollback_revisions` when set).
    fn read_rollback(&self, commit: &str) -> Result<Revision, RevisionError> {
        self.read_from(self.rollback_revisions.unwrap_or(self.revisions), commit)
    }

    fn read_from(&self, from: &dyn Revisions, commit: &str) -> Result<Revision, RevisionError> {
        let mut rev = from.read(commit)?;
        if self.force_conflicts {
            rev.fleet.policies.rollout.force_conflicts = true;
        }
        Ok(rev)
    }

    fn halted(&self) -> bool {
        self.halt.is_some_and(|h| h.load(Ordering::Acquire))
    }

    /// The loop: perform, advance, save — until the machine says finish.
    pub async fn drive(
        &self,
        mut record: RolloutRecord,
        mut step: Step,
        rev: &Revision,
    ) -> Result<RolloutReport, RolloutError> {
        let terms = Terms::from(&rev.fleet.policies.rollout);
        let mut log = RunLog::default();
        let mut held = String::new();
        loop {
            (record, step) = self.take_orders(record, step, &terms)?;
            if let Step::Finish { outcome } = step {
                self.state
                    .finish(&record, &log.apps)
                    .map_err(|e| stopped(&record, StopCause::Store(e)))?;
                let description = record.describe();
                self.observer.on_event(&RolloutEvent::Finished {
                    outcome,
                    description: description.clone(),
                });
                return Ok(RolloutReport {
                    commit: record.commit.clone(),
                    outcome,
                    description,
                    batches: record.batches.clone(),
                    failure: record.failure.clone(),
                    left_behind: record.left_behind(),
                    applied: log.applied,
                    rolled_back: log.rolled_back,
                    timings: log.timings,
                });
            }
            if self.halted() {
                return Err(stopped(&record, StopCause::Halted));
            }
            if let Step::Hold { index, why } = &step {
                if *why != held {
                    tracing::info!(batch = index + 1, %why, "rollout holds");
                    self.observer.on_event(&RolloutEvent::Waiting {
                        index: *index,
                        reason: why.clone(),
                    });
                    held = why.clone();
                }
                tokio::time::sleep(HOLD_POLL).await;
                continue;
            }
            held.clear();
            self.announce(&record, &step, &mut log);
            let started = std::time::Instant::now();
            let Some(result) = self.perform(&step, &record, rev, &mut log).await else {
                return Err(stopped(&record, StopCause::Halted));
            };
            log.timings.add(&step, started.elapsed());
            let before = record.clone();
            let (after, next) = machine::advance(record, result, &terms);
            self.state
                .save_record(&after)
                .map_err(|e| stopped(&after, StopCause::Store(e)))?;
            self.tell(&before, &after, &terms);
            record = after;
            step = next;
        }
    }

    /// Applies the orders waiting in the inbox, saving the record after
    /// each one that changes it; returns the record and its next step.
    fn take_orders(
        &self,
        mut record: RolloutRecord,
        mut step: Step,
        terms: &Terms,
    ) -> Result<(RolloutRecord, Step), RolloutError> {
        let Some(inbox) = self.control else {
            return Ok((record, step));
        };
        for request in inbox.take() {
            let mut changed = record.clone();
            let answer = machine::control::command(&mut changed, &request.order, terms);
            match &answer {
                Ok(what) => {
                    self.state
                        .save_record(&changed)
                        .map_err(|e| stopped(&changed, StopCause::Store(e)))?;
                    tracing::info!(commit = %short(&changed.commit), "{what}");
                    self.tell(&record, &changed, terms);
                    record = changed;
                    step = machine::next(&record);
                }
                Err(why) => tracing::info!(order = %request.order.command, %why, "order refused"),
            }
            let _ = request.reply.send(answer);
        }
        Ok((record, step))
    }

    /// Performs one step; `None` when it was halted from outside before
    /// it could give a result.
    pub async fn perform(
        &self,
        step: &Step,
        record: &RolloutRecord,
        rev: &Revision,
        log: &mut RunLog,
    ) -> Option<StepResult> {
        match step {
            Step::PlanRollout => Some(self.plan_rollout(rev, log).await),
            Step::Wait { index, until } => match until {
                None => Some(StepResult::WaitStarted {
                    at: self.clock.now(),
                }),
                Some(until) => self.wait(*index, *until, rev).await,
            },
            Step::PrepareBatch {
                index,
                clusters,
                reread,
            } => Some(self.prepare(*index, clusters, reread, rev, log).await),
            Step::ApplyBatch { index, clusters } => {
                Some(self.apply_batch(*index, clusters, rev, log).await)
            }
            Step::Gate { index, clusters } => self.gate(*index, clusters, record, rev).await,
            Step::Restore { cluster, to } => {
                let policy = &rev.fleet.policies.rollout;
                let (report, failure) = self.restore(cluster, to.as_deref(), policy).await?;
                self.observer.on_event(&RolloutEvent::ClusterRolledBack {
                    report: report.clone(),
                });
                log.rolled_back.push(report);
                Some(StepResult::Restored {
                    cluster: cluster.clone(),
                    failure,
                })
            }
            // The loop finishes and holds on its own; performing them is a
            // no-op.
            Step::Finish { .. } | Step::Hold { .. } => None,
        }
    }

    /// Tells the observer a batch starts (once per batch and run).
    fn announce(&self, record: &RolloutRecord, step: &Step, log: &mut RunLog) {
        let index = match step {
            Step::PrepareBatch { index, .. }
            | Step::ApplyBatch { index, .. }
            | Step::Gate { index, .. } => *index,
            _ => return,
        };
        if log.announced == Some(index) {
            return;
        }
        log.announced = Some(index);
        let clusters = record
            .batch(index)
            .iter()
            .filter(|c| !record.done.contains(*c))
            .cloned()
            .collect();
        self.observer
            .on_event(&RolloutEvent::BatchStarted { index, clusters });
    }

    /// Tells the observer what a transition means.
    fn tell(&self, before: &RolloutRecord, after: &RolloutRecord, terms: &Terms) {
        if before.phase == Phase::Planning && !after.batches.is_empty() {
            self.observer.on_event(&RolloutEvent::Planned {
                commit: after.commit.clone(),
                batches: after.batches.clone(),
            });
        }
        if let (Phase::Gating { batch }, None) = (&before.phase, &after.failure) {
            if after.phase != before.phase {
                self.observer.on_event(&RolloutEvent::BatchHealthy {
                    index: *batch,
                    done: after.done.len(),
                    total: after.cluster_count(),
                });
            }
        }
        if let (None, Some(failure)) = (&before.failure, &after.failure) {
            tracing::warn!(commit = %short(&after.commit), %failure, "rollout failed");
            self.observer.on_event(&RolloutEvent::Failed {
                failure: failure.clone(),
                rolling_back: terms.on_failure == crate::model::OnFailure::Rollback,
            });
        }
        // Clusters the machine gave up on without a step (their previous
        // commit is unknown): shown like any failed rollback.
        let restore_step = match &before.phase {
            Phase::RollingBack { cluster } => Some(cluster.as_str()),
            _ => None,
        };
        for (cluster, result) in &after.rollback {
            if before.rollback.contains_key(cluster) || Some(cluster.as_str()) == restore_step {
                continue;
            }
            if let super::record::RestoreResult::Failed(why) = result {
                let mut report = ClusterReport::new(cluster, "");
                report.error = Some(why.clone());
                self.observer
                    .on_event(&RolloutEvent::ClusterRolledBack { report });
            }
        }
    }
}

/// The stop error for `record`.
fn stopped(record: &RolloutRecord, cause: StopCause) -> RolloutError {
    RolloutError::Stopped {
        commit: record.commit.clone(),
        progress: record.progress(),
        cause,
        left_behind: record.left_behind(),
    }
}

impl fmt::Display for RolloutReport {
    /// The description: what the CLI prints last.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}
