//! The coordinator's account of a sharded rollout, as the same
//! [`RolloutEvent`]s the unsharded engine emits, so the daemon's observer
//! (forge statuses, badges, metrics, `/api/status`, the web view) shows
//! either mode alike. Pure: each round the [`Narrator`] is given the batch
//! plan and the shards' statuses and returns what happened since the last
//! round, remembering what it already told.
//!
//! A coordinator that takes over mid-rollout tells the plan from its
//! start (earlier batches as started and healthy); one that finds the
//! rollout already finished tells only its end, so the final commit
//! status is posted again rather than lost.

use super::protocol::{entry_of, BatchPlan, Before, ClusterState, PlanPhase, ShardStatus};
use crate::apply::ClusterReport;
use crate::outcome::RolloutOutcome;
use crate::rollout::event::RolloutEvent;
use crate::rollout::record::{Failure, Phase, Previous, RestoreResult, RolloutRecord};
use std::collections::BTreeSet;

/// What has been told of one plan.
#[derive(Debug, Default)]
struct Told {
    commit: String,
    planned: bool,
    /// Batches started (a count).
    started: usize,
    /// Batches healthy (a count).
    healthy: usize,
    /// Clusters whose apply (and gate) result was told.
    applied: BTreeSet<String>,
    failed: bool,
    /// Clusters whose restore was told.
    restored: BTreeSet<String>,
    finished: bool,
}

/// Tells a batch plan's progress as rollout events.
#[derive(Debug, Default)]
pub struct Narrator {
    told: Option<Told>,
}

impl Narrator {
    /// Forgets everything (on losing the leader Lease: whoever leads next
    /// tells the rest).
    pub fn reset(&mut self) {
        self.told = None;
    }

    /// The events of `plan` (with the shards' `statuses`, by shard) not
    /// told yet.
    pub fn tell(
        &mut self,
        plan: &BatchPlan,
        statuses: &[Option<ShardStatus>],
    ) -> Vec<RolloutEvent> {
        let first = self.told.as_ref().is_none_or(|t| t.commit != plan.commit);
        if first {
            self.told = Some(Told {
                commit: plan.commit.clone(),
                ..Told::default()
            });
        }
        let told = self.told.get_or_insert_with(Told::default);
        let mut out = Vec::new();
        if told.finished {
            return out;
        }
        if first && plan.phase.is_finished() {
            told.finished = true;
            out.push(finished(plan, statuses));
            return out;
        }
        // Shards are still finding the clusters with changes.
        if plan.phase == PlanPhase::Planning {
            return out;
        }
        if !told.planned {
            told.planned = true;
            out.push(RolloutEvent::Planned {
                commit: plan.commit.clone(),
                batches: plan.batches.clone(),
            });
        }
        let total: usize = plan.batches.iter().map(Vec::len).sum();
        let mut done = 0;
        let reached = plan.batch.min(plan.batches.len().saturating_sub(1));
        for (index, clusters) in plan.batches.iter().enumerate().take(reached + 1) {
            if told.started <= index {
                told.started = index + 1;
                out.push(RolloutEvent::BatchStarted {
                    index,
                    clusters: clusters.clone(),
                });
            }
            for c in clusters {
                let Some(e) = entry_of(plan, statuses, c) else {
                    continue;
                };
                let result = match e.state {
                    ClusterState::Healthy => None,
                    ClusterState::Failed => Some(e.reason.clone().unwrap_or_default()),
                    _ => continue,
                };
                if told.applied.insert(c.clone()) {
                    let mut report = ClusterReport::new(c, &plan.commit);
                    report.error = result;
                    out.push(RolloutEvent::ClusterApplied { index, report });
                }
            }
            done += clusters.len();
            let passed = index < plan.batch || plan.phase == PlanPhase::Deployed;
            if passed && told.healthy <= index {
                told.healthy = index + 1;
                out.push(RolloutEvent::BatchHealthy { index, done, total });
            }
        }
        if plan.rollback_at.is_some() && !told.failed {
            told.failed = true;
            out.push(RolloutEvent::Failed {
                failure: failure_of(plan),
                rolling_back: true,
            });
        }
        if plan.rollback_at.is_some() {
            for c in plan.batches.iter().take(plan.batch + 1).flatten() {
                let Some(e) = entry_of(plan, statuses, c) else {
                    continue;
                };
                let error = match e.state {
                    ClusterState::RolledBack => None,
                    ClusterState::RollbackFailed => Some(e.reason.clone().unwrap_or_default()),
                    _ => continue,
                };
                if told.restored.insert(c.clone()) {
                    let to = match &e.before {
                        Before::Commit(commit) => commit.as_str(),
                        Before::Nothing | Before::Unknown(_) => "",
                    };
                    let mut report = ClusterReport::new(c, to);
                    report.error = error;
                    out.push(RolloutEvent::ClusterRolledBack { report });
                }
            }
        }
        if plan.phase.is_finished() {
            told.finished = true;
            out.push(finished(plan, statuses));
        }
        out
    }
}

/// Why the plan failed, as the engine's [`Failure`] (the plan keeps it
/// as `cluster: reason`).
fn failure_of(plan: &BatchPlan) -> Failure {
    let text = plan.failure.as_deref().unwrap_or("failed");
    let (cluster, reason) = text.split_once(": ").unwrap_or(("", text));
    Failure {
        cluster: cluster.to_string(),
        object: None,
        reason: reason.to_string(),
    }
}

/// How a finished plan ended: `None` while it runs.
pub fn outcome_of(plan: &BatchPlan, statuses: &[Option<ShardStatus>]) -> Option<RolloutOutcome> {
    let outcome = match plan.phase {
        PlanPhase::Planning | PlanPhase::Rolling | PlanPhase::RollingBack => return None,
        PlanPhase::Deployed if plan.batches.iter().all(Vec::is_empty) => {
            RolloutOutcome::NothingToDo
        }
        PlanPhase::Deployed => RolloutOutcome::Succeeded,
        // Failed without a rollback order: the commit could not be read.
        PlanPhase::Failed if plan.rollback_at.is_none() => RolloutOutcome::Invalid,
        PlanPhase::Failed => {
            let incomplete = plan
                .batches
                .iter()
                .take(plan.batch + 1)
                .flatten()
                .filter_map(|c| entry_of(plan, statuses, c))
                .any(|e| e.state == ClusterState::RollbackFailed);
            if incomplete {
                RolloutOutcome::RollbackFailed
            } else {
                RolloutOutcome::RolledBack
            }
        }
    };
    Some(outcome)
}

/// The plan as the unsharded engine's record (its description, and what
/// the fleet memory keeps of it), `started_at` in Unix seconds.
pub fn record_of(
    plan: &BatchPlan,
    statuses: &[Option<ShardStatus>],
    started_at: u64,
) -> RolloutRecord {
    let mut r = RolloutRecord::new(&plan.commit, started_at);
    r.batches = plan.batches.clone();
    if let Some(outcome) = outcome_of(plan, statuses) {
        r.phase = Phase::Done { outcome };
    }
    if plan.rollback_at.is_some() {
        r.failure = Some(failure_of(plan));
    }
    for c in plan.batches.iter().take(plan.batch + 1).flatten() {
        let Some(e) = entry_of(plan, statuses, c) else {
            continue;
        };
        r.previous.insert(
            c.clone(),
            match &e.before {
                Before::Commit(commit) => Previous::Commit(commit.clone()),
                Before::Nothing => Previous::Nothing,
                Before::Unknown(why) => Previous::Unknown(why.clone()),
            },
        );
        if e.state == ClusterState::Healthy {
            r.done.insert(c.clone());
        }
        if e.changed || e.state == ClusterState::Applying {
            r.touched.insert(c.clone());
        }
        match e.state {
            ClusterState::RolledBack => {
                r.rollback.insert(c.clone(), RestoreResult::Restored);
            }
            ClusterState::RollbackFailed => {
                let why = e.reason.clone().unwrap_or_default();
                r.rollback.insert(c.clone(), RestoreResult::Failed(why));
            }
            _ => {}
        }
    }
    r
}

/// The `Finished` event of a finished plan.
fn finished(plan: &BatchPlan, statuses: &[Option<ShardStatus>]) -> RolloutEvent {
    let outcome = outcome_of(plan, statuses).unwrap_or(RolloutOutcome::Invalid);
    let description = match outcome {
        // The engine's record says only "invalid commit"; the plan says why.
        RolloutOutcome::Invalid => plan
            .failure
            .clone()
            .unwrap_or_else(|| "invalid commit".into()),
        _ => record_of(plan, statuses, 0).describe(),
    };
    RolloutEvent::Finished {
        outcome,
        description,
    }
}

#[cfg(test)]
#[path = "narrate_tests.rs"]
mod tests;
