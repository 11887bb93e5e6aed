//! The sharded rollout protocol as pure data and decisions. Its state is
//! two kinds of objects in the management cluster: the coordinator's
//! [`BatchPlan`] (one per rollout: commit, batches, current batch, phase)
//! and each shard's [`ShardStatus`] (what it did to each of its
//! clusters). Whoever holds a Lease reads them and carries on, so a
//! replica that replaces a dead one needs nothing else.
//!
//! Flow: the coordinator writes a plan in `planning`; each shard plans the
//! clusters it owns against their live state and reports those with
//! changes ([`must_plan`]); once every shard has, the coordinator batches
//! only those clusters ([`changed_clusters`], [`BatchPlan::batched`]), as
//! the unsharded planner does; each shard applies the clusters
//! it owns in the current batch and gates them ([`shard_tasks`]); the
//! coordinator moves to the next batch when every cluster of the batch is
//! healthy, or orders a rollback when one failed ([`coordinate`]); the
//! shards restore every cluster they touched to what it ran before; the
//! rollout is failed once every shard has seen the rollback order and
//! restored its clusters.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a sharded rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanPhase {
    /// Shards find which of their clusters have changes.
    Planning,
    /// Batches go out one after the other.
    Rolling,
    /// A batch failed: shards restore the clusters they touched.
    RollingBack,
    /// Every batch was healthy.
    Deployed,
    /// Rolled back (or the rollback is as complete as it can be).
    Failed,
}

impl PlanPhase {
    /// Whether the rollout is over.
    pub fn is_finished(self) -> bool {
        matches!(self, PlanPhase::Deployed | PlanPhase::Failed)
    }
}

/// The coordinator's plan of one rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchPlan {
    /// Commit rolled out.
    pub commit: String,
    /// Shard count the plan was made for.
    pub shards: usize,
    /// Clusters of each batch, in rollout order.
    pub batches: Vec<Vec<String>>,
    /// Index of the current batch.
    pub batch: usize,
    /// Phase.
    pub phase: PlanPhase,
    /// Bumped on every change; shards echo the last one they acted on.
    pub generation: u64,
    /// Generation at which the rollback was ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_at: Option<u64>,
    /// Why it failed (`cluster: reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl BatchPlan {
    /// A new rollout of `commit`, to be planned by the shards.
    pub fn planning(commit: &str, shards: usize) -> BatchPlan {
        BatchPlan {
            phase: PlanPhase::Planning,
            ..BatchPlan::new(commit, shards, vec![])
        }
    }

    /// The planned rollout: the clusters with changes in `batches` (none:
    /// deployed at once).
    pub fn batched(&self, batches: Vec<Vec<String>>) -> BatchPlan {
        let next = BatchPlan::new(&self.commit, self.shards, batches);
        BatchPlan {
            generation: self.generation + 1,
            ..next
        }
    }

    /// A new rollout of `commit` in `batches`.
    pub fn new(commit: &str, shards: usize, batches: Vec<Vec<String>>) -> BatchPlan {
        let phase = if batches.iter().all(Vec::is_empty) {
            PlanPhase::Deployed
        } else {
            PlanPhase::Rolling
        };
        BatchPlan {
            commit: commit.to_string(),
            shards,
            batches,
            batch: 0,
            phase,
            generation: 1,
            rollback_at: None,
            failure: None,
        }
    }

    /// One line for logs and statuses: `batch 2/3 · rolling`.
    pub fn progress(&self) -> String {
        format!(
            "batch {}/{} · {:?}",
            (self.batch + 1).min(self.batches.len()),
            self.batches.len(),
            self.phase
        )
    }

    fn all_up_to_current(&self) -> impl Iterator<Item = &String> {
        self.batches.iter().take(self.batch + 1).flatten()
    }
}

/// What a shard did to one cluster of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClusterState {
    /// About to be written (what it ran before is recorded).
    Applying,
    /// Written and healthy through the bake time (or had no changes).
    Healthy,
    /// Apply or gate failed.
    Failed,
    /// Restored to what it ran before.
    RolledBack,
    /// Could not be restored.
    RollbackFailed,
}

/// What a cluster ran before the rollout (from its cluster record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Before {
    /// This commit.
    Commit(String),
    /// Nothing of tranche's.
    Nothing,
    /// Could not be read: never restored to "nothing".
    Unknown(String),
}

/// One cluster's line in a shard's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterEntry {
    /// State.
    pub state: ClusterState,
    /// What it ran before; restored on rollback.
    pub before: Before,
    /// Whether the apply wrote (or tried to write) something; a cluster
    /// without changes has nothing to restore.
    #[serde(default)]
    pub changed: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ClusterEntry {
    /// Whether a rollback must restore the cluster: the rollout wrote (or
    /// may have written) it, and it is not restored yet.
    pub fn needs_restore(&self) -> bool {
        match self.state {
            ClusterState::Applying => true,
            ClusterState::Healthy | ClusterState::Failed => self.changed,
            ClusterState::RolledBack | ClusterState::RollbackFailed => false,
        }
    }
}

/// A shard's status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardStatus {
    /// Commit the entries are for.
    pub commit: String,
    /// Replica that wrote it last.
    pub holder: String,
    /// Plan generation the shard last finished acting on.
    pub seen: u64,
    /// Entries by cluster.
    pub clusters: BTreeMap<String, ClusterEntry>,
    /// Once the shard has planned the commit: its clusters with changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<BTreeSet<String>>,
}

impl ShardStatus {
    /// The entries of `commit` (empty when the status is of another one).
    pub fn for_commit(&self, commit: &str) -> Option<&BTreeMap<String, ClusterEntry>> {
        (self.commit == commit).then_some(&self.clusters)
    }
}

/// What a shard must do to one of its clusters now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    /// Apply the plan's commit and gate it (`before` already recorded, or
    /// to be read first when `None`).
    Apply {
        /// Cluster.
        cluster: String,
        /// What it ran before, when an earlier holder recorded it.
        before: Option<Before>,
    },
    /// Restore what the cluster ran before.
    Restore {
        /// Cluster.
        cluster: String,
        /// What to restore.
        before: Before,
    },
}

/// The work of shard `shard` under `plan`, given its status. Clusters are
/// the shard's own (by [`super::shard_of`]); an `Applying` entry left by
/// a dead holder is applied again (server-side apply is idempotent).
pub fn shard_tasks(plan: &BatchPlan, shard: usize, status: &ShardStatus) -> Vec<Task> {
    let entries = status.for_commit(&plan.commit);
    let entry = |c: &String| entries.and_then(|e| e.get(c));
    let mine = |c: &&String| super::shard_of(c, plan.shards) == shard;
    match plan.phase {
        PlanPhase::Rolling => plan
            .batches
            .get(plan.batch)
            .into_iter()
            .flatten()
            .filter(mine)
            .filter_map(|c| match entry(c) {
                None => Some(Task::Apply {
                    cluster: c.clone(),
                    before: None,
                }),
                Some(e) if e.state == ClusterState::Applying => Some(Task::Apply {
                    cluster: c.clone(),
                    before: Some(e.before.clone()),
                }),
                Some(_) => None,
            })
            .collect(),
        PlanPhase::RollingBack => plan
            .all_up_to_current()
            .filter(mine)
            .filter_map(|c| {
                let e = entry(c)?;
                e.needs_restore().then(|| Task::Restore {
                    cluster: c.clone(),
                    before: e.before.clone(),
                })
            })
            .collect(),
        PlanPhase::Planning | PlanPhase::Deployed | PlanPhase::Failed => vec![],
    }
}

/// Whether shard's holder must plan the commit now: plan every cluster of
/// its registry that the shard owns against its live state, and report
/// those with changes ([`ShardStatus::changed`]).
pub fn must_plan(plan: &BatchPlan, status: &ShardStatus) -> bool {
    plan.phase == PlanPhase::Planning
        && (status.for_commit(&plan.commit).is_none() || status.changed.is_none())
}

/// Once every shard has planned the commit: the clusters with changes
/// (each shard's own); `None` while one has not.
pub fn changed_clusters(
    plan: &BatchPlan,
    statuses: &[Option<ShardStatus>],
) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for i in 0..plan.shards {
        let s = statuses.get(i)?.as_ref()?;
        s.for_commit(&plan.commit)?;
        let mine = s.changed.as_ref()?;
        out.extend(
            mine.iter()
                .filter(|c| super::shard_of(c, plan.shards) == i)
                .cloned(),
        );
    }
    Some(out)
}

/// `cluster`'s entry for the plan's commit in the status of the shard
/// that owns it (`statuses` by shard; `None`: not written yet).
pub fn entry_of<'a>(
    plan: &BatchPlan,
    statuses: &'a [Option<ShardStatus>],
    cluster: &str,
) -> Option<&'a ClusterEntry> {
    let s = statuses
        .get(super::shard_of(cluster, plan.shards))?
        .as_ref()?;
    s.for_commit(&plan.commit)?.get(cluster)
}

/// The coordinator's decision: the next plan, or `None` to wait. `status`
/// holds the status of each shard (`None`: none written yet).
pub fn coordinate(plan: &BatchPlan, statuses: &[Option<ShardStatus>]) -> Option<BatchPlan> {
    let entry = |c: &String| entry_of(plan, statuses, c);
    let mut next = plan.clone();
    next.generation += 1;
    match plan.phase {
        // The coordinator batches the planned clusters ([`changed_clusters`]).
        PlanPhase::Planning => None,
        PlanPhase::Rolling => {
            let failed = plan.all_up_to_current().find_map(|c| {
                let e = entry(c)?;
                (e.state == ClusterState::Failed).then(|| {
                    let why = e.reason.clone().unwrap_or_else(|| "failed".into());
                    format!("{c}: {why}")
                })
            });
            if let Some(why) = failed {
                next.phase = PlanPhase::RollingBack;
                next.rollback_at = Some(next.generation);
                next.failure = Some(why);
                return Some(next);
            }
            let batch = plan.batches.get(plan.batch)?;
            let healthy = batch
                .iter()
                .all(|c| entry(c).is_some_and(|e| e.state == ClusterState::Healthy));
            if !healthy {
                return None;
            }
            if plan.batch + 1 >= plan.batches.len() {
                next.phase = PlanPhase::Deployed;
            } else {
                next.batch += 1;
            }
            Some(next)
        }
        PlanPhase::RollingBack => {
            let ordered = plan.rollback_at.unwrap_or(plan.generation);
            // Every shard has acted on the order: none is still applying.
            let all_seen = (0..plan.shards).all(|i| {
                statuses
                    .get(i)
                    .and_then(Option::as_ref)
                    .is_some_and(|s| s.commit == plan.commit && s.seen >= ordered)
            });
            let restored = plan
                .all_up_to_current()
                .all(|c| entry(c).is_none_or(|e| !e.needs_restore()));
            if !(all_seen && restored) {
                return None;
            }
            next.phase = PlanPhase::Failed;
            Some(next)
        }
        PlanPhase::Deployed | PlanPhase::Failed => None,
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
pub(crate) mod tests;
