//! What the daemon shows about itself: the current rollout, the last
//! outcomes (overall and per app), the commit each cluster runs, drift.
//! Shared between the worker (writes) and the HTTP server (reads), which
//! can wait for the next change ([`LiveStatus::subscribe`]) to push it to
//! the web view.

use super::commits::CommitInfo;
use super::rollout_view::RolloutView;
use crate::outcome::RolloutOutcome;
use crate::rollout::memory::{FleetMemory, HistoryEntry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// The rollout under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentRollout {
    /// Commit.
    pub commit: String,
    /// `batch 2/3 · 3/10 clusters`, or what it is doing.
    pub progress: String,
    /// Batches of clusters.
    pub batches: Vec<Vec<String>>,
    /// Phase, per-cluster state, gate and failure (flattened into this
    /// object: `phase`, `batch`, `startedAt`, `clusters`, …).
    #[serde(flatten)]
    pub view: RolloutView,
}

/// What a badge shows for a commit (overall or for one app).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    /// Commit.
    pub commit: String,
    /// How it ended (or `in_progress`).
    pub state: BadgeState,
    /// One line.
    pub description: String,
}

/// What a badge shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeState {
    /// Deployed.
    Deployed,
    /// Failed and rolled back (or paused).
    Failed,
    /// Rolling out.
    InProgress,
    /// Nothing known yet.
    Unknown,
}

impl BadgeState {
    /// From a finished rollout's outcome.
    pub fn from_outcome(o: RolloutOutcome) -> BadgeState {
        if o.is_success() {
            BadgeState::Deployed
        } else {
            BadgeState::Failed
        }
    }
}

/// The whole view, serialized as `/api/status`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// `leader`, `standby` or `starting`.
    pub role: String,
    /// This replica's identity (with leader election).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Tracked branch.
    pub branch: String,
    /// Commit at the branch head, as last seen.
    pub head: Option<String>,
    /// Rollout under way.
    pub current: Option<CurrentRollout>,
    /// Commit waiting for the current rollout to end.
    pub waiting: Option<String>,
    /// Last finished rollout.
    pub last: Option<Badge>,
    /// Last commit deployed successfully.
    pub last_good: Option<String>,
    /// Commit each cluster runs (as of the last rollout).
    pub clusters: BTreeMap<String, String>,
    /// Last outcome per app (apps a rollout changed).
    pub apps: BTreeMap<String, Badge>,
    /// Objects drifted per cluster at the last resync.
    pub drift: BTreeMap<String, usize>,
    /// Recent rollouts, newest last.
    pub history: Vec<HistoryEntry>,
    /// The last rollout this process watched to its end, cluster by
    /// cluster (same shape as `current`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rollout: Option<CurrentRollout>,
    /// `app: failover active for c1 since <time>` (and refusals) for every
    /// app with `spec.failover` that has a failed-over cluster.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failover: Vec<String>,
    /// Author, message, time and forge link of the commits named above
    /// (filled in by the HTTP server when it answers).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub commits: BTreeMap<String, CommitInfo>,
}

impl StatusView {
    /// Every commit the view names (for `commits`).
    pub fn referenced_commits(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |c: &str| {
            if !c.is_empty() && !out.iter().any(|o| o == c) {
                out.push(c.to_string());
            }
        };
        for c in [&self.current, &self.last_rollout].into_iter().flatten() {
            add(&c.commit);
            for p in c.view.clusters.values() {
                if let Some(prev) = &p.previous {
                    add(prev);
                }
            }
        }
        for c in [&self.head, &self.waiting, &self.last_good]
            .into_iter()
            .flatten()
        {
            add(c);
        }
        if let Some(l) = &self.last {
            add(&l.commit);
        }
        for c in self.clusters.values() {
            add(c);
        }
        for h in &self.history {
            add(&h.commit);
        }
        out
    }
}

/// Shared, cheaply cloned handle to the view.
#[derive(Debug, Clone)]
pub struct LiveStatus {
    view: Arc<RwLock<StatusView>>,
    /// Bumped on every update, for watchers.
    version: Arc<watch::Sender<u64>>,
}

impl Default for LiveStatus {
    fn default() -> Self {
        LiveStatus {
            view: Arc::default(),
            version: Arc::new(watch::channel(0).0),
        }
    }
}

impl LiveStatus {
    /// Runs `f` on the view for writing (a poisoned lock is recovered: the
    /// view is plain data and every write leaves it consistent).
    pub fn update(&self, f: impl FnOnce(&mut StatusView)) {
        {
            let mut guard = self.view.write().unwrap_or_else(|p| p.into_inner());
            f(&mut guard);
        }
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A copy of the view.
    pub fn snapshot(&self) -> StatusView {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A receiver that wakes on every later update.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Shows the failover state (on start and after each decision).
    pub fn load_failover(&self, states: &crate::rollout::state::FailoverStates) {
        let lines = crate::rollout::RolloutState::failover_summary(states);
        self.update(|v| v.failover = lines);
    }

    /// Loads what the state store remembers (on start).
    pub fn load_memory(&self, memory: &FleetMemory) {
        self.update(|v| {
            v.last_good = memory.last_good.clone();
            v.clusters = memory.cluster_commits.clone();
            v.history = memory.history.clone();
            v.apps = memory
                .apps
                .iter()
                .map(|(app, o)| {
                    let outcome = Badge {
                        commit: o.commit.clone(),
                        state: BadgeState::from_outcome(o.outcome),
                        description: o.description.clone(),
                    };
                    (app.clone(), outcome)
                })
                .collect();
            v.last = memory.history.last().map(|h| Badge {
                commit: h.commit.clone(),
                state: BadgeState::from_outcome(h.outcome),
                description: h.description.clone(),
            });
        });
    }
}
