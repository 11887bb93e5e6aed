//! What the daemon shows about itself: the current rollout, the last
//! outcomes (overall and per app), the commit each cluster runs, drift.
//! Shared between the worker (writes) and the HTTP server (reads).

use crate::outcome::RolloutOutcome;
use crate::rollout::memory::{FleetMemory, HistoryEntry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

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
}

/// Shared, cheaply cloned handle to the view.
#[derive(Debug, Clone, Default)]
pub struct LiveStatus(Arc<RwLock<StatusView>>);

impl LiveStatus {
    /// Runs `f` on the view for writing (a poisoned lock is recovered: the
    /// view is plain data and every write leaves it consistent).
    pub fn update(&self, f: impl FnOnce(&mut StatusView)) {
        let mut guard = self.0.write().unwrap_or_else(|p| p.into_inner());
        f(&mut guard);
    }

    /// A copy of the view.
    pub fn snapshot(&self) -> StatusView {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
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
