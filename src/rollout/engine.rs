//! The rollout of one commit as a resumable step machine.
//!
//! Expected flow: plan every cluster → only clusters whose plan is not
//! empty take part → order them (rolloutOrder, then name) and cut batches
//! by the policy's ratio → for each batch: re-plan and apply its clusters
//! concurrently, then wait for the health gate and bake → done.
//!
//! Guarantees: the [`RolloutRecord`] is saved (atomically) before every
//! step, so a process killed anywhere resumes with [`Rollout::resume`]:
//! an unfinished batch is re-applied (applying is idempotent), a rollback in
//! progress is finished. A cluster is never left on an unknown commit
//! without the record saying so.
//!
//! On a failed apply or gate: with `onFailure: Rollback` every touched
//! cluster is re-applied at the commit it ran before (re-rendered from git
//! history; what the bad commit added is pruned, what it removed restored)
//! and verified healthy again; with `Pause` clusters are left as they are.
//! Either way the commit is remembered as failed and not retried.

use super::batch::{order_clusters, plan_batches};
use super::event::{Observer, RolloutEvent};
use super::gate::{self, GateEnd, GateTarget, GateTiming};
use super::record::{
    now, AppOutcome, Failure, FleetMemory, HistoryEntry, Phase, RolloutOutcome, RolloutRecord,
    FLEET_KEY, ROLLOUT_KEY,
};
use super::store::{StateStore, StoreError};
use crate::apply::{apply_cluster, ClusterReport};
use crate::cluster::ClusterApi;
use crate::inventory;
use crate::model::{OnFailure, RolloutPolicy};
use crate::plan::compute::{plan_cluster, plan_fleet, Connections};
use crate::plan::ClusterPlan;
use crate::revision::{Revision, RevisionError, Revisions};
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::Instrument;

/// Why a rollout could not run at all (nothing was changed by it).
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The commit (or the previous one to roll back to) cannot be read.
    #[error(transparent)]
    Revision(#[from] RevisionError),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stopped between steps (shutdown, or leadership lost); the record is
    /// saved and the rollout resumes on the next start.
    #[error("rollout of {commit} interrupted at batch {batch}; it resumes on the next start")]
    Interrupted {
        /// Commit.
        commit: String,
        /// Batch index it stopped before.
        batch: usize,
    },
}

/// The final report of one rollout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutReport {
    /// Commit rolled out.
    pub commit: String,
    /// How it ended.
    pub outcome: RolloutOutcome,
    /// One line, as in the commit status.
    pub description: String,
    /// Batches of clusters.
    pub batches: Vec<Vec<String>>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What applying did on each cluster.
    pub applied: Vec<ClusterReport>,
    /// What rolling back did on each touched cluster.
    pub rolled_back: Vec<ClusterReport>,
}

/// Everything a rollout needs; borrowed, so callers own the resources.
pub struct Rollout<'a> {
    /// Where commits are read from.
    pub revisions: &'a dyn Revisions,
    /// Connections to every cluster of the registry.
    pub clusters: &'a Connections,
    /// Durable state.
    pub store: &'a StateStore,
    /// Who hears about progress.
    pub observer: &'a dyn Observer,
    /// Clusters applied at once (capped by the policy's maxParallel).
    pub parallel: usize,
    /// Time between health checks.
    pub poll: Duration,
    /// Checked before each step: when set, stop and leave the record for
    /// a later resume (SIGTERM, lost leadership).
    pub halt: Option<&'a AtomicBool>,
    /// Take fields other managers wrote, whatever the RolloutPolicy says:
    /// drift correction must win back fields changed behind tranche's back.
    pub force_conflicts: bool,
}

impl Rollout<'_> {
    /// Finishes a rollout left in flight by a previous process, if any.
    pub async fn resume(&self) -> Result<Option<RolloutReport>, RolloutError> {
        let Some(record) = self.store.load::<RolloutRecord>(ROLLOUT_KEY)? else {
            return Ok(None);
        };
        tracing::info!(commit = %record.commit, phase = ?record.phase, "resuming rollout left in flight");
        let rev = self.read(&record.commit)?;
        let report = match record.phase {
            Phase::Applying => self.drive(record, &rev).await?,
            Phase::RollingBack => self.roll_back(record, &rev, Vec::new()).await?,
        };
        Ok(Some(report))
    }

    /// Rolls `commit` out (after finishing any rollout left in flight).
    pub async fn run(&self, commit: &str) -> Result<RolloutReport, RolloutError> {
        if let Some(previous) = self.resume().await? {
            if previous.commit == commit {
                return Ok(previous);
            }
        }
        let rev = self.read(commit)?;
        let policies = &rev.fleet.policies;
        let fleet_clusters: Connections = self
            .clusters
            .iter()
            .filter(|(name, _)| rev.fleet.clusters.contains_key(*name))
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        let plan = plan_fleet(&fleet_clusters, &rev.rendering, policies, self.parallel).await;
        let participants: Vec<&ClusterPlan> =
            plan.clusters.iter().filter(|c| !c.is_empty()).collect();
        let mut record = RolloutRecord {
            commit: rev.commit.clone(),
            phase: Phase::Applying,
            batches: vec![],
            batch: 0,
            done: Default::default(),
            touched: Default::default(),
            previous: BTreeMap::new(),
            changed: BTreeMap::new(),
            failure: None,
            started_at: now(),
        };
        if participants.is_empty() {
            return self
                .finish(record, RolloutOutcome::NothingToDo, vec![], vec![])
                .await;
        }
        for p in &participants {
            let before = match self.api(&p.name) {
                Some(api) if p.reachable => inventory::cluster_commit(api).await.ok().flatten(),
                _ => None,
            };
            record.previous.insert(p.name.clone(), before);
        }
        let ordered = order_clusters(
            participants
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        rev.fleet
                            .clusters
                            .get(&p.name)
                            .and_then(|c| c.rollout_order),
                    )
                })
                .collect(),
        );
        record.batches = plan_batches(&ordered, &policies.rollout.steps);
        self.store.save(ROLLOUT_KEY, &record)?;
        self.observer.on_event(&RolloutEvent::Planned {
            commit: record.commit.clone(),
            batches: record.batches.clone(),
        });
        self.drive(record, &rev).await
    }

    /// Reads a revision, applying the `force_conflicts` override.
    pub(super) fn read(&self, commit: &str) -> Result<Revision, RevisionError> {
        let mut rev = self.revisions.read(commit)?;
        if self.force_conflicts {
            rev.fleet.policies.rollout.force_conflicts = true;
        }
        Ok(rev)
    }

    fn api(&self, name: &str) -> Option<&dyn ClusterApi> {
        self.clusters
            .get(name)
            .and_then(|c| c.as_ref().ok())
            .map(|a| a.as_ref())
    }

    fn parallel(&self, policy: &RolloutPolicy) -> usize {
        self.parallel.min(policy.max_parallel).max(1)
    }

    /// Applies and gates batches from `record.batch` on.
    async fn drive(
        &self,
        mut record: RolloutRecord,
        rev: &Revision,
    ) -> Result<RolloutReport, RolloutError> {
        let policy = &rev.fleet.policies.rollout;
        let mut applied = Vec::new();
        while record.batch < record.batches.len() {
            let index = record.batch;
            if self.halt.is_some_and(|h| h.load(Ordering::Acquire)) {
                return Err(RolloutError::Interrupted {
                    commit: record.commit,
                    batch: index,
                });
            }
            let clusters: Vec<String> = record.batches[index]
                .iter()
                .filter(|c| !record.done.contains(*c))
                .cloned()
                .collect();
            self.observer.on_event(&RolloutEvent::BatchStarted {
                index,
                clusters: clusters.clone(),
            });
            let plans = self.plan_clusters(&clusters, rev).await;
            for p in plans.iter().filter(|p| p.reachable && !p.is_empty()) {
                record.touched.insert(p.name.clone());
            }
            self.store.save(ROLLOUT_KEY, &record)?;
            let reports = self.apply_plans(&plans, &rev.commit, policy).await;
            for r in &reports {
                record
                    .changed
                    .entry(r.cluster.clone())
                    .or_default()
                    .extend(r.changed().into_iter().cloned());
                self.observer.on_event(&RolloutEvent::ClusterApplied {
                    index,
                    report: r.clone(),
                });
            }
            self.store.save(ROLLOUT_KEY, &record)?;
            let failure = reports.iter().find(|r| r.failed()).map(failure_of);
            applied.extend(reports);
            if let Some(f) = failure {
                return self.fail(record, rev, f, applied).await;
            }
            let empty = Default::default();
            let targets: Vec<GateTarget> = clusters
                .iter()
                .filter_map(|c| {
                    Some(GateTarget {
                        api: self.api(c)?,
                        objects: record.changed.get(c).unwrap_or(&empty),
                    })
                })
                .collect();
            let timing = GateTiming {
                timeout: policy.health_timeout,
                bake: policy.bake_time,
                poll: self.poll,
            };
            match gate::wait(&targets, timing, index, self.observer, self.halt).await {
                GateEnd::Passed => {}
                GateEnd::Failed(f) => return self.fail(record, rev, f, applied).await,
                GateEnd::Halted => {
                    return Err(RolloutError::Interrupted {
                        commit: record.commit,
                        batch: index,
                    })
                }
            }
            record.done.extend(clusters);
            record.batch += 1;
            self.store.save(ROLLOUT_KEY, &record)?;
            let (done, total) = (record.done.len(), record.cluster_count());
            self.observer
                .on_event(&RolloutEvent::BatchHealthy { index, done, total });
        }
        self.finish(record, RolloutOutcome::Succeeded, applied, vec![])
            .await
    }

    /// Re-plans clusters against `rev` just before applying them.
    async fn plan_clusters(&self, clusters: &[String], rev: &Revision) -> Vec<ClusterPlan> {
        let policies = &rev.fleet.policies;
        futures::stream::iter(clusters)
            .map(|name| async move {
                let desired = rev
                    .rendering
                    .clusters
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| empty_rendering(name));
                match self.clusters.get(name) {
                    Some(Ok(api)) => plan_cluster(api.as_ref(), &desired, policies).await,
                    Some(Err(e)) => ClusterPlan::unreachable(name, e.to_string()),
                    None => ClusterPlan::unreachable(name, "not connected".into()),
                }
            })
            .buffered(self.parallel(&policies.rollout))
            .collect()
            .await
    }

    async fn apply_plans(
        &self,
        plans: &[ClusterPlan],
        commit: &str,
        policy: &RolloutPolicy,
    ) -> Vec<ClusterReport> {
        futures::stream::iter(plans)
            .map(|plan| async move {
                match self.api(&plan.name) {
                    Some(api) => {
                        let span = tracing::info_span!("cluster", cluster = %plan.name);
                        apply_cluster(api, plan, commit, policy)
                            .instrument(span)
                            .await
                    }
                    None => {
                        let mut r = ClusterReport::new(&plan.name, commit);
                        r.reachable = false;
                        r.error = Some(plan.error.clone().unwrap_or_else(|| "unreachable".into()));
                        r
                    }
                }
            })
            .buffered(self.parallel(policy))
            .collect()
            .await
    }

    async fn fail(
        &self,
        mut record: RolloutRecord,
        rev: &Revision,
        failure: Failure,
        applied: Vec<ClusterReport>,
    ) -> Result<RolloutReport, RolloutError> {
        tracing::warn!(commit = %record.commit, %failure, "rollout failed");
        let rolling_back = rev.fleet.policies.rollout.on_failure == OnFailure::Rollback;
        self.observer.on_event(&RolloutEvent::Failed {
            failure: failure.clone(),
            rolling_back,
        });
        record.failure = Some(failure);
        if rev.fleet.policies.rollout.on_failure == OnFailure::Pause {
            return self
                .finish(record, RolloutOutcome::Paused, applied, vec![])
                .await;
        }
        record.phase = Phase::RollingBack;
        self.store.save(ROLLOUT_KEY, &record)?;
        self.roll_back(record, rev, applied).await
    }

    /// Re-applies each touched cluster's previous commit and verifies it.
    async fn roll_back(
        &self,
        record: RolloutRecord,
        rev: &Revision,
        applied: Vec<ClusterReport>,
    ) -> Result<RolloutReport, RolloutError> {
        let policy = &rev.fleet.policies.rollout;
        let mut reports = Vec::new();
        let mut incomplete = Vec::new();
        for cluster in &record.touched {
            let previous = record.previous.get(cluster).cloned().flatten();
            let report =
                super::rollback::restore(self, cluster, previous.as_deref(), policy).await?;
            self.observer.on_event(&RolloutEvent::ClusterRolledBack {
                report: report.clone(),
            });
            if report.failed() {
                incomplete.push(cluster.clone());
            }
            reports.push(report);
        }
        let outcome = if incomplete.is_empty() {
            RolloutOutcome::RolledBack
        } else {
            RolloutOutcome::RollbackFailed
        };
        self.finish(record, outcome, applied, reports).await
    }

    /// Records the outcome in the fleet memory, clears the in-flight record
    /// (kept when a rollback is incomplete, so it is retried) and reports.
    async fn finish(
        &self,
        record: RolloutRecord,
        outcome: RolloutOutcome,
        applied: Vec<ClusterReport>,
        rolled_back: Vec<ClusterReport>,
    ) -> Result<RolloutReport, RolloutError> {
        let description = describe(&record, outcome, &rolled_back);
        let mut memory: FleetMemory = self.store.load(FLEET_KEY)?.unwrap_or_default();
        if outcome.is_success() {
            memory.last_good = Some(record.commit.clone());
            for c in record.batches.iter().flatten() {
                memory
                    .cluster_commits
                    .insert(c.clone(), record.commit.clone());
            }
        } else {
            memory.failed.insert(record.commit.clone());
            for r in rolled_back.iter().filter(|r| !r.failed()) {
                if let Some(Some(prev)) = record.previous.get(&r.cluster) {
                    memory
                        .cluster_commits
                        .insert(r.cluster.clone(), prev.clone());
                }
            }
        }
        let app_outcome = AppOutcome {
            commit: record.commit.clone(),
            outcome,
            description: description.clone(),
        };
        for r in applied.iter().flat_map(|c| &c.results) {
            if r.outcome != crate::outcome::Outcome::Unchanged {
                memory.apps.insert(r.app.clone(), app_outcome.clone());
            }
        }
        memory.remember(HistoryEntry {
            commit: record.commit.clone(),
            outcome,
            description: description.clone(),
            batches: record.batches.clone(),
            started_at: record.started_at,
            finished_at: now(),
        });
        self.store.save(FLEET_KEY, &memory)?;
        if outcome == RolloutOutcome::RollbackFailed {
            self.store.save(ROLLOUT_KEY, &record)?;
        } else {
            self.store.remove(ROLLOUT_KEY)?;
        }
        self.observer.on_event(&RolloutEvent::Finished {
            outcome,
            description: description.clone(),
        });
        Ok(RolloutReport {
            commit: record.commit,
            outcome,
            description,
            batches: record.batches,
            failure: record.failure,
            applied,
            rolled_back,
        })
    }
}

/// An empty rendering (the cluster runs nothing of this commit).
pub(super) fn empty_rendering(name: &str) -> crate::render::ClusterRendering {
    crate::render::ClusterRendering {
        cluster: name.to_string(),
        apps: BTreeMap::new(),
    }
}

fn failure_of(r: &ClusterReport) -> Failure {
    match r
        .results
        .iter()
        .find(|o| o.outcome == crate::outcome::Outcome::Failed)
    {
        Some(o) => Failure {
            cluster: r.cluster.clone(),
            object: Some(o.id.to_string()),
            reason: o.message.clone().unwrap_or_else(|| "failed".into()),
        },
        None => Failure {
            cluster: r.cluster.clone(),
            object: None,
            reason: r.error.clone().unwrap_or_else(|| "failed".into()),
        },
    }
}

fn describe(
    record: &RolloutRecord,
    outcome: RolloutOutcome,
    rolled_back: &[ClusterReport],
) -> String {
    let failure = record
        .failure
        .as_ref()
        .map(|f| f.to_string())
        .unwrap_or_default();
    match outcome {
        RolloutOutcome::NothingToDo => "no changes: every cluster already runs this".into(),
        RolloutOutcome::Succeeded => format!(
            "deployed to {} cluster(s) in {} batch(es)",
            record.cluster_count(),
            record.batches.len()
        ),
        RolloutOutcome::RolledBack => format!("rolled back: {failure}"),
        RolloutOutcome::Paused => format!("paused: {failure}"),
        RolloutOutcome::RollbackFailed => {
            let bad: Vec<&str> = rolled_back
                .iter()
                .filter(|r| r.failed())
                .map(|r| r.cluster.as_str())
                .collect();
            format!("rollback incomplete on {}: {failure}", bad.join(", "))
        }
        RolloutOutcome::Superseded => "superseded by a newer commit".into(),
        RolloutOutcome::Invalid => "invalid commit".into(),
    }
}
