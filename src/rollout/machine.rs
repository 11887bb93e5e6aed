//! The rollout as a pure state machine: `(record, step result) → (record,
//! next step)`. No I/O, no clock, no randomness: the executor
//! ([`super::executor`]) performs each [`Step`], saves the record it gets
//! back, and feeds the [`StepResult`] in again. Resuming after a crash is
//! the same loop started from the saved record: [`resume`].
//!
//! # Phases and steps
//!
//! ```text
//! Planning ──Planned──► [Waiting{0}] ──► Preparing{0} ──Prepared──► Applying{k} ──Applied──► Gating{k}
//!    │ (no participant)      ▲             │ (nothing to write) ─────────────────────────►  │
//!    ▼                       │             │                                               │
//! Done{nothingToDo}          └─ [Waiting{k+1}] ◄──── GatePassed (more batches) ────────────┤
//!                                          │ failure (beyond maxFailures)                  │ GatePassed (last)
//!                                          ▼                                               ▼
//!        Pause: Done{paused}   Rollback: RollingBack{c} ──Restored──► …         Done{succeeded}
//!                                          └─► Done{rolledBack | rollbackFailed}
//! ```
//!
//! `Waiting{k}` ([`wait`]) comes only when the policy pauses between
//! batches, sets `minSuccessTime` or time windows: `WaitStarted{at}` fixes
//! the earliest start in the phase, `Waited{at}` starts the batch. A
//! failure within `maxFailures` ([`tolerance`]) takes its cluster out of
//! the batch instead of failing it.
//!
//! Every phase has exactly one next step ([`next`]); `Done` phases step to
//! `Finish` (record the outcome in the fleet memory). A result that does
//! not belong to the phase changes nothing, so a confused caller cannot
//! corrupt a record.
//!
//! # Guarantees
//!
//! * A cluster joins `touched` (the rollback set) in the record saved
//!   *before* the step that writes it, so a crash mid-write still rolls it
//!   back.
//! * Within a batch, every read (plan, previous commit) happens before any
//!   write: an unreachable cluster fails its batch before the batch writes
//!   anything.
//! * `Previous::Unknown` never becomes a prune: such a cluster is not
//!   written (its batch fails), and were one touched anyway, its rollback
//!   ends `rollbackFailed` naming it and why, deleting nothing.
//!
//! # The seam for more phases
//!
//! Later gates are more phases of this same machine, each a variant of
//! [`Phase`] with its own [`Step`] and the [`StepResult`]s it accepts:
//! an approval wait before a batch (`AwaitingApproval{batch}` entered from
//! `Preparing` for chosen batches, left on `Approved` / `Rejected`).
//! Analysis gates are part of the `Gate` step instead
//! ([`super::analysis`]): a failed check is a [`StepResult::GateFailed`]
//! naming the check, so it takes the usual failure path. Commands from a pull request or the
//! CLI (pause, resume, abort) are results accepted in every in-flight
//! phase: abort is [`StepResult::GateFailed`]-like (the failure path), pause
//! parks the record in a `Paused{phase}` phase that only `Resume` leaves.
//! The executor only learns how to perform the new steps; resume, the
//! rollback rules and the record's atomic saves come for free.

pub mod control;
mod step;
mod tolerance;
mod wait;

pub use step::{Applied, Participant, PlanVerdict, Prepared, Step, StepResult, Terms};

use super::batch::{order_clusters, plan_batches};
use super::record::{Failure, Phase, Previous, RestoreResult, RolloutRecord};
use crate::model::OnFailure;
use crate::outcome::RolloutOutcome;
use std::collections::BTreeSet;

/// The step a record calls for.
pub fn next(record: &RolloutRecord) -> Step {
    let pending = |k: usize| -> Vec<String> {
        record
            .batch(k)
            .iter()
            .filter(|c| !record.done.contains(*c) && !record.tolerated.contains_key(*c))
            .cloned()
            .collect()
    };
    if let (Some(by), Some(index)) = (&record.paused, control::forward(&record.phase)) {
        return Step::Hold {
            index,
            why: format!("paused by {by}"),
        };
    }
    match &record.phase {
        Phase::Planning => Step::PlanRollout,
        Phase::AwaitingApproval { batch } => Step::Hold {
            index: *batch,
            why: "waiting for approval".into(),
        },
        Phase::Waiting { batch, until } => Step::Wait {
            index: *batch,
            until: *until,
        },
        Phase::Preparing { batch } => {
            let clusters = pending(*batch);
            let reread = clusters
                .iter()
                .filter(|c| matches!(record.previous_of(c), Previous::Unknown(_)))
                .cloned()
                .collect();
            Step::PrepareBatch {
                index: *batch,
                clusters,
                reread,
            }
        }
        Phase::Applying { batch } => Step::ApplyBatch {
            index: *batch,
            clusters: pending(*batch)
                .into_iter()
                .filter(|c| record.touched.contains(c))
                .collect(),
        },
        Phase::Gating { batch } => Step::Gate {
            index: *batch,
            clusters: pending(*batch),
        },
        Phase::RollingBack { cluster } => match record.previous_of(cluster).restore_target() {
            Some(to) if record.touched.contains(cluster) => Step::Restore {
                cluster: cluster.clone(),
                to: to.map(str::to_string),
            },
            // Only a record edited by hand gets here (settle() moves past
            // such clusters): stop without touching anything.
            _ => Step::Finish {
                outcome: RolloutOutcome::RollbackFailed,
            },
        },
        Phase::Done { outcome } => Step::Finish { outcome: *outcome },
    }
}

/// Feeds one step result into the record; returns the new record (to be
/// saved before anything else happens) and the next step.
pub fn advance(
    mut record: RolloutRecord,
    result: StepResult,
    terms: &Terms,
) -> (RolloutRecord, Step) {
    match (record.phase.clone(), result) {
        (Phase::Planning, StepResult::Planned(participants)) => {
            planned(&mut record, participants, terms)
        }
        (Phase::Waiting { batch, until }, result) => {
            wait::on_result(&mut record, batch, until, result, terms)
        }
        (Phase::Preparing { batch }, StepResult::Prepared(prepared)) => {
            prepared_batch(&mut record, batch, prepared, terms)
        }
        (Phase::Applying { batch }, StepResult::Applied(applied)) => {
            applied_batch(&mut record, batch, applied, terms)
        }
        (Phase::Gating { batch }, StepResult::GatePassed) => {
            let passed: Vec<String> = record
                .batch(batch)
                .iter()
                .filter(|c| !record.tolerated.contains_key(*c))
                .cloned()
                .collect();
            record.done.extend(passed);
            record.phase = if batch + 1 < record.batches.len() {
                wait::enter(batch + 1, terms)
            } else {
                Phase::Done {
                    outcome: RolloutOutcome::Succeeded,
                }
            };
        }
        (Phase::Gating { batch }, StepResult::GateFailed(f)) => {
            // Within maxFailures the cluster leaves the batch and the gate
            // runs again for the rest.
            if let Some(f) = tolerance::judge(&mut record, batch, vec![f], terms) {
                fail(&mut record, f, terms)
            }
        }
        (
            Phase::RollingBack { cluster },
            StepResult::Restored {
                cluster: c,
                failure,
            },
        ) if c == cluster => {
            let result = match failure {
                None => RestoreResult::Restored,
                Some(why) => RestoreResult::Failed(why),
            };
            record.rollback.insert(c, result);
        }
        // A result that does not belong to the phase: nothing changes.
        _ => {}
    }
    settle(&mut record);
    let step = next(&record);
    (record, step)
}

/// The step to take for a record loaded from disk. A rollback that ended
/// incomplete is tried again for the clusters it could not restore.
pub fn resume(mut record: RolloutRecord) -> (RolloutRecord, Step) {
    if record.outcome() == Some(RolloutOutcome::RollbackFailed) {
        record
            .rollback
            .retain(|_, r| matches!(r, RestoreResult::Restored));
        record.phase = Phase::RollingBack {
            cluster: String::new(),
        };
    }
    settle(&mut record);
    let step = next(&record);
    (record, step)
}

fn planned(record: &mut RolloutRecord, participants: Vec<Participant>, terms: &Terms) {
    if participants.is_empty() {
        record.phase = Phase::Done {
            outcome: RolloutOutcome::NothingToDo,
        };
        return;
    }
    let mut order = Vec::new();
    for p in participants {
        record.previous.insert(p.cluster.clone(), p.previous);
        order.push((p.cluster, p.rank));
    }
    record.batches = plan_batches(&order_clusters(order), &terms.steps);
    record.phase = wait::enter(0, terms);
}

fn prepared_batch(
    record: &mut RolloutRecord,
    batch: usize,
    prepared: Vec<Prepared>,
    terms: &Terms,
) {
    let wanted: BTreeSet<String> = record
        .batch(batch)
        .iter()
        .filter(|c| !record.done.contains(*c) && !record.tolerated.contains_key(*c))
        .cloned()
        .collect();
    let mut failures = Vec::new();
    let mut writes = Vec::new();
    for p in prepared.into_iter().filter(|p| wanted.contains(&p.cluster)) {
        if let Some(previous) = p.previous {
            record.previous.insert(p.cluster.clone(), previous);
        }
        match p.plan {
            PlanVerdict::NoChanges => {}
            PlanVerdict::Failed(f) => failures.push(f),
            PlanVerdict::Changes(objects) => match record.previous_of(&p.cluster) {
                Previous::Unknown(why) => {
                    failures.push(Failure {
                        cluster: p.cluster.clone(),
                        object: None,
                        reason: format!(
                            "cannot tell which commit it runs ({why}); not written, \
                             since it could not be rolled back"
                        ),
                    });
                }
                Previous::Commit(_) | Previous::Nothing => writes.push((p.cluster, objects)),
            },
        }
    }
    if let Some(f) = tolerance::judge(record, batch, failures, terms) {
        return fail(record, f, terms);
    }
    record.phase = if writes.is_empty() {
        Phase::Gating { batch }
    } else {
        Phase::Applying { batch }
    };
    for (cluster, objects) in writes {
        if !objects.is_empty() {
            record
                .changed
                .entry(cluster.clone())
                .or_default()
                .extend(objects);
        }
        record.touched.insert(cluster);
    }
}

fn applied_batch(record: &mut RolloutRecord, batch: usize, applied: Vec<Applied>, terms: &Terms) {
    let mut failures = Vec::new();
    for a in applied {
        if !record.touched.contains(&a.cluster) || !record.batch(batch).contains(&a.cluster) {
            continue;
        }
        if !a.changed.is_empty() {
            record
                .changed
                .entry(a.cluster.clone())
                .or_default()
                .extend(a.changed);
        }
        if let Some(f) = a.failure {
            failures.push(f);
        }
    }
    match tolerance::judge(record, batch, failures, terms) {
        Some(f) => fail(record, f, terms),
        None => record.phase = Phase::Gating { batch },
    }
}

/// A batch failed: pause, or start rolling the touched clusters back.
pub(super) fn fail(record: &mut RolloutRecord, failure: Failure, terms: &Terms) {
    record.failure.get_or_insert(failure);
    record.phase = match terms.on_failure {
        OnFailure::Pause => Phase::Done {
            outcome: RolloutOutcome::Paused,
        },
        OnFailure::Rollback => Phase::RollingBack {
            cluster: String::new(),
        },
    };
}

/// Points a rollback at the next touched cluster to restore, recording
/// clusters whose previous commit is unknown as failed without any step
/// (nothing is deleted), and ends it once every touched cluster has a
/// result.
pub(super) fn settle(record: &mut RolloutRecord) {
    if !matches!(record.phase, Phase::RollingBack { .. }) {
        return;
    }
    loop {
        let Some(cluster) = record
            .touched
            .iter()
            .find(|c| !record.rollback.contains_key(*c))
            .cloned()
        else {
            let complete = record
                .rollback
                .values()
                .all(|r| matches!(r, RestoreResult::Restored));
            record.phase = Phase::Done {
                outcome: if complete {
                    RolloutOutcome::RolledBack
                } else {
                    RolloutOutcome::RollbackFailed
                },
            };
            return;
        };
        match record.previous_of(&cluster) {
            Previous::Unknown(why) => {
                let reason = format!(
                    "cannot tell which commit {cluster} ran before ({why}); \
                     left as it is, nothing deleted"
                );
                record
                    .rollback
                    .insert(cluster, RestoreResult::Failed(reason));
            }
            Previous::Commit(_) | Previous::Nothing => {
                record.phase = Phase::RollingBack { cluster };
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
