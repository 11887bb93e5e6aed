//! A rollout as people watch it: the state of every cluster of every
//! batch (pending → applying → gating → healthy, or failed → rolled back),
//! what the gate is waiting on, why it failed, and what applying changed
//! per object. Pure: built only from [`RolloutEvent`]s and the time given,
//! so the daemon's observer feeds it and tests replay event lists.

use crate::apply::{ClusterReport, ObjectResult};
use crate::outcome::{ObjectOutcome, RolloutOutcome};
use crate::rollout::event::RolloutEvent;
use crate::rollout::record::Failure;
use serde::Serialize;
use std::collections::BTreeMap;

/// Object results kept per cluster (the rest are counted, not listed), so
/// a huge change cannot make the status view unbounded.
pub const MAX_LISTED_CHANGES: usize = 500;
/// Gate lines kept (the first ones: they name what is still awaited).
pub const MAX_GATE_LINES: usize = 20;

/// Where one cluster is in a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ClusterState {
    /// Its batch has not started.
    Pending,
    /// Being planned and applied.
    Applying,
    /// Applied; the health gate (or bake time) is running.
    Gating,
    /// Its batch passed the gate.
    Healthy,
    /// Applying it failed, or its objects failed the gate.
    Failed,
    /// The rollout failed and this cluster is being set back.
    RollingBack,
    /// Set back to the commit it ran before.
    RolledBack,
    /// Setting it back failed (retried on the next start).
    RollbackFailed,
    /// The rollout ended before its batch started.
    NotStarted,
}

/// Phase of the whole rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ViewPhase {
    /// Clusters planned and batched.
    Planned,
    /// A batch waits to start (pause, minSuccessTime, time window); the
    /// reason is the first gate line.
    Waiting,
    /// A batch is being applied.
    Applying,
    /// Waiting for a batch's objects to become healthy.
    Gating,
    /// The batch is healthy and must stay so for the bake time.
    Baking,
    /// A batch failed; touched clusters are being set back.
    RollingBack,
    /// A batch failed and the policy says Pause.
    Pausing,
    /// Over (see `outcome`).
    Finished,
}

/// One cluster of the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterProgress {
    /// 0-based batch index.
    pub batch: usize,
    /// Where it is.
    pub state: ClusterState,
    /// Unix seconds when it entered `state`.
    pub since: u64,
    /// Commit it ran before this rollout, as the daemon last knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Objects applied, per outcome (`created`, `configured`, …; zeros left out).
    pub counts: BTreeMap<ObjectOutcome, usize>,
    /// Objects that did not end `unchanged` (at most [`MAX_LISTED_CHANGES`]).
    pub changes: Vec<ObjectResult>,
    /// Further changed objects not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub unlisted: usize,
    /// What the gate still waits on in this cluster.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<String>,
    /// Why it failed (apply error, failed object, failed rollback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The rollout of one commit, cluster by cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutView {
    /// Phase.
    pub phase: ViewPhase,
    /// 0-based index of the batch under way (or last reached).
    pub batch: usize,
    /// Unix seconds when this process saw it start.
    pub started_at: u64,
    /// Unix seconds when it finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// How it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RolloutOutcome>,
    /// The final description (as in the commit status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Why it failed, once it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What the gate waits on (every cluster of the batch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gate: Vec<String>,
    /// Bake time of the batch baking now, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake_seconds: Option<u64>,
    /// Every cluster taking part.
    pub clusters: BTreeMap<String, ClusterProgress>,
    /// State of each cluster marked `rollingBack`, before that: restored
    /// at the end for a cluster the rollback did not have to touch.
    #[serde(skip)]
    before_rollback: BTreeMap<String, ClusterState>,
}

impl RolloutView {
    /// A view started at `now`; `previous` is the commit each cluster ran
    /// as far as the daemon knows.
    pub fn new(now: u64) -> RolloutView {
        RolloutView {
            phase: ViewPhase::Planned,
            batch: 0,
            started_at: now,
            finished_at: None,
            outcome: None,
            description: None,
            failure: None,
            gate: vec![],
            bake_seconds: None,
            clusters: BTreeMap::new(),
            before_rollback: BTreeMap::new(),
        }
    }

    fn set(&mut self, cluster: &str, state: ClusterState, now: u64) {
        if let Some(c) = self.clusters.get_mut(cluster) {
            if c.state != state {
                c.state = state;
                c.since = now;
            }
        }
    }

    fn add_cluster(&mut self, name: &str, batch: usize, previous: Option<String>, now: u64) {
        self.clusters
            .entry(name.to_string())
            .or_insert_with(|| ClusterProgress {
                batch,
                state: ClusterState::Pending,
                since: now,
                previous,
                counts: BTreeMap::new(),
                changes: vec![],
                unlisted: 0,
                gate: vec![],
                error: None,
            });
    }

    fn clusters_in(&self, batch: usize) -> Vec<String> {
        self.clusters
            .iter()
            .filter(|(_, c)| c.batch == batch)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Folds one event in. `previous` gives the commit a cluster ran before
    /// (looked up when the clusters are planned).
    pub fn apply(
        &mut self,
        event: &RolloutEvent,
        now: u64,
        previous: &dyn Fn(&str) -> Option<String>,
    ) {
        match event {
            RolloutEvent::Planned { batches, .. } => {
                for (i, b) in batches.iter().enumerate() {
                    for c in b {
                        self.add_cluster(c, i, previous(c), now);
                    }
                }
                self.phase = ViewPhase::Planned;
            }
            RolloutEvent::Waiting { index, reason } => {
                self.batch = *index;
                self.phase = ViewPhase::Waiting;
                self.gate = vec![reason.clone()];
            }
            RolloutEvent::BatchStarted { index, clusters } => {
                self.batch = *index;
                self.phase = ViewPhase::Applying;
                self.gate.clear();
                self.bake_seconds = None;
                for c in clusters {
                    // A resumed rollout starts here, without `Planned`.
                    self.add_cluster(c, *index, previous(c), now);
                    self.set(c, ClusterState::Applying, now);
                }
            }
            RolloutEvent::ClusterApplied { report, .. } => {
                let failed = report.failed();
                self.record_apply(report);
                let state = if failed {
                    ClusterState::Failed
                } else {
                    ClusterState::Gating
                };
                self.set(&report.cluster, state, now);
            }
            RolloutEvent::GateWaiting { pending, .. } => {
                self.phase = ViewPhase::Gating;
                self.gate = pending.iter().take(MAX_GATE_LINES).cloned().collect();
                for (name, c) in self.clusters.iter_mut() {
                    let prefix = format!("{name} ");
                    c.gate = pending
                        .iter()
                        .filter_map(|l| l.strip_prefix(&prefix))
                        .take(MAX_GATE_LINES)
                        .map(str::to_string)
                        .collect();
                }
            }
            RolloutEvent::Baking { bake, .. } => {
                self.phase = ViewPhase::Baking;
                self.gate.clear();
                self.bake_seconds = Some(bake.as_secs());
                for c in self.clusters.values_mut() {
                    c.gate.clear();
                }
            }
            RolloutEvent::BatchHealthy { index, .. } => {
                self.gate.clear();
                self.bake_seconds = None;
                for c in self.clusters_in(*index) {
                    if let Some(p) = self.clusters.get_mut(&c) {
                        p.gate.clear();
                    }
                    self.set(&c, ClusterState::Healthy, now);
                }
            }
            RolloutEvent::Failed {
                failure,
                rolling_back,
            } => {
                self.failure = Some(failure.clone());
                self.phase = if *rolling_back {
                    ViewPhase::RollingBack
                } else {
                    ViewPhase::Pausing
                };
                if let Some(c) = self.clusters.get_mut(&failure.cluster) {
                    c.error.get_or_insert_with(|| failure.to_string());
                }
                self.set(&failure.cluster, ClusterState::Failed, now);
                if *rolling_back {
                    let touched: Vec<(String, ClusterState)> = self
                        .clusters
                        .iter()
                        .filter(|(_, c)| c.state != ClusterState::Pending)
                        .map(|(n, c)| (n.clone(), c.state))
                        .collect();
                    for (c, state) in touched {
                        self.before_rollback.insert(c.clone(), state);
                        self.set(&c, ClusterState::RollingBack, now);
                    }
                }
            }
            RolloutEvent::Analysis {
                cluster,
                check,
                passed,
                value,
                ..
            } => {
                if let Some(c) = self.clusters.get_mut(cluster) {
                    // One line per check: the latest result.
                    let prefix = format!("analysis {check}: ");
                    c.gate.retain(|l| !l.starts_with(&prefix));
                    c.gate.push(format!(
                        "{prefix}{value} ({})",
                        crate::rollout::analysis::mark(*passed)
                    ));
                }
            }
            RolloutEvent::ClusterRolledBack { report } => {
                let state = match &report.error {
                    None if !report.has_failures() => ClusterState::RolledBack,
                    _ => ClusterState::RollbackFailed,
                };
                if state == ClusterState::RollbackFailed {
                    if let Some(c) = self.clusters.get_mut(&report.cluster) {
                        c.error = report.first_failure();
                    }
                }
                self.set(&report.cluster, state, now);
            }
            RolloutEvent::Finished {
                outcome,
                description,
            } => {
                self.phase = ViewPhase::Finished;
                self.finished_at = Some(now);
                self.outcome = Some(*outcome);
                self.description = Some(description.clone());
                self.gate.clear();
                for c in self.clusters.values_mut() {
                    c.gate.clear();
                }
                let waiting: Vec<String> = self
                    .clusters
                    .iter()
                    .filter(|(_, c)| c.state == ClusterState::Pending)
                    .map(|(n, _)| n.clone())
                    .collect();
                for c in waiting {
                    self.set(&c, ClusterState::NotStarted, now);
                }
                let untouched: Vec<(String, ClusterState)> = self
                    .clusters
                    .iter()
                    .filter(|(_, c)| c.state == ClusterState::RollingBack)
                    .filter_map(|(n, _)| Some((n.clone(), *self.before_rollback.get(n)?)))
                    .collect();
                for (c, state) in untouched {
                    self.set(&c, state, now);
                }
            }
        }
    }

    fn record_apply(&mut self, report: &ClusterReport) {
        let Some(c) = self.clusters.get_mut(&report.cluster) else {
            return;
        };
        c.counts.clear();
        c.changes.clear();
        c.unlisted = 0;
        for r in &report.results {
            *c.counts.entry(r.outcome).or_default() += 1;
            if r.outcome == ObjectOutcome::Unchanged {
                continue;
            }
            if c.changes.len() < MAX_LISTED_CHANGES {
                c.changes.push(r.clone());
            } else {
                c.unlisted += 1;
            }
        }
        if report.failed() {
            c.error = report.first_failure();
        }
    }
}

#[cfg(test)]
mod tests;
