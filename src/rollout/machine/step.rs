//! The machine's vocabulary: the steps it asks for, the results it takes,
//! and the policy terms it decides with. Plain data.

use crate::model::{Allowance, OnFailure, RolloutPolicy, Steps};
use crate::object::ObjectRef;
use crate::outcome::RolloutOutcome;
use crate::rollout::record::{Failure, Previous};
use std::collections::BTreeSet;
use std::time::Duration;

/// The parts of the commit's RolloutPolicy the machine decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Batch sizes.
    pub steps: Steps,
    /// What a failed batch does.
    pub on_failure: OnFailure,
    /// Clusters of a batch allowed to fail.
    pub max_failures: Allowance,
    /// Time between a batch's gate and the next batch.
    pub pause: Duration,
    /// Least time from a batch's start to the next batch's start.
    pub min_success: Duration,
    /// Whether time windows restrict when a batch starts.
    pub windowed: bool,
    /// Batches (0-based) that wait for a person's approval.
    pub approval_before: BTreeSet<usize>,
}

impl Terms {
    /// Terms with only a step ratio and a failure mode (no waits, no
    /// tolerated failures).
    pub fn basic(steps: Vec<u32>, on_failure: OnFailure) -> Terms {
        Terms {
            steps: Steps::Ratio(steps),
            on_failure,
            max_failures: Allowance::default(),
            pause: Duration::ZERO,
            min_success: Duration::ZERO,
            windowed: false,
            approval_before: BTreeSet::new(),
        }
    }

    /// Whether a batch waits before it starts (pause, minSuccessTime or
    /// windows).
    pub fn waits(&self) -> bool {
        !self.pause.is_zero() || !self.min_success.is_zero() || self.windowed
    }
}

impl From<&RolloutPolicy> for Terms {
    fn from(p: &RolloutPolicy) -> Terms {
        Terms {
            steps: p.steps.clone(),
            on_failure: p.on_failure,
            max_failures: p.max_failures,
            pause: p.pause_between_batches,
            min_success: p.min_success_time,
            windowed: !p.windows.is_empty(),
            approval_before: p
                .approval_before
                .iter()
                .map(|n| n.saturating_sub(1))
                .collect(),
        }
    }
}

/// What the executor is asked to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Plan every cluster; read what each participant ran before.
    PlanRollout,
    /// Before batch `index` starts: with `until` unset, tell the time
    /// ([`StepResult::WaitStarted`]); with it set, wait until then and
    /// until a time window is open ([`StepResult::Waited`]).
    Wait {
        /// Batch index.
        index: usize,
        /// Earliest start (unix seconds), once fixed.
        until: Option<u64>,
    },
    /// Do nothing until a person acts: batch `index` waits for approval,
    /// or the rollout is paused (`why`).
    Hold {
        /// Batch index.
        index: usize,
        /// `waiting for approval`, `paused by alice`.
        why: String,
    },
    /// Re-plan batch `index`'s `clusters` (reads only); re-read the
    /// previous commit of `reread` (it was unknown).
    PrepareBatch {
        /// Batch index.
        index: usize,
        /// Clusters of the batch not yet done.
        clusters: Vec<String>,
        /// Clusters whose previous commit must be read again.
        reread: Vec<String>,
    },
    /// Write batch `index`'s `clusters` (those with changes).
    ApplyBatch {
        /// Batch index.
        index: usize,
        /// Clusters to write.
        clusters: Vec<String>,
    },
    /// Wait for the health gate of batch `index`: the objects the record
    /// says changed on `clusters`, then the bake time.
    Gate {
        /// Batch index.
        index: usize,
        /// Clusters of the batch not yet done.
        clusters: Vec<String>,
    },
    /// Re-apply `to` (`None`: nothing) on `cluster` and gate it.
    Restore {
        /// Touched cluster.
        cluster: String,
        /// The commit it ran before, or `None` for nothing.
        to: Option<String>,
    },
    /// Record the outcome in the fleet memory and clear the record (kept
    /// when the rollback is incomplete, so the next start retries it).
    Finish {
        /// How it ended.
        outcome: RolloutOutcome,
    },
}

/// A cluster that takes part in the rollout (its plan is not empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Cluster.
    pub cluster: String,
    /// Its place in the order: canary cohort and `spec.rolloutOrder`.
    pub rank: crate::rollout::batch::Rank,
    /// What it ran before.
    pub previous: Previous,
}

/// What re-planning one cluster of a batch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanVerdict {
    /// It has changes to write; these objects will be created or
    /// changed (the gate watches them, even if a crash comes between the
    /// write and the record of it).
    Changes(BTreeSet<ObjectRef>),
    /// It already runs this commit.
    NoChanges,
    /// It could not be planned (unreachable, or an error listing it).
    Failed(Failure),
}

/// One cluster's share of [`StepResult::Prepared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Cluster.
    pub cluster: String,
    /// Its previous commit, read again when the step asked.
    pub previous: Option<Previous>,
    /// What its plan says.
    pub plan: PlanVerdict,
}

/// One cluster's share of [`StepResult::Applied`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Cluster.
    pub cluster: String,
    /// Objects created or changed (the gate watches them).
    pub changed: BTreeSet<ObjectRef>,
    /// Why applying failed, if it did.
    pub failure: Option<Failure>,
}

/// What performing a step gave. Every error of a step is one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// [`Step::PlanRollout`]: the participants.
    Planned(Vec<Participant>),
    /// [`Step::Wait`] without `until`: the time now (unix seconds).
    WaitStarted {
        /// Now.
        at: u64,
    },
    /// [`Step::Wait`] with `until`: the batch may start; the time now.
    Waited {
        /// Now.
        at: u64,
    },
    /// [`Step::PrepareBatch`]: one entry per cluster asked about.
    Prepared(Vec<Prepared>),
    /// [`Step::ApplyBatch`]: one entry per cluster written.
    Applied(Vec<Applied>),
    /// [`Step::Gate`]: healthy through the bake time.
    GatePassed,
    /// [`Step::Gate`]: an object failed, timed out or regressed.
    GateFailed(Failure),
    /// [`Step::Restore`]: restored, or why not.
    Restored {
        /// Cluster.
        cluster: String,
        /// Why it is not back on its previous commit and healthy.
        failure: Option<String>,
    },
}
