//! What a rollout persists before each step, so a process killed at any
//! point can resume it or finish its rollback on restart, and what the
//! fleet remembers across rollouts (last good commit, failed commits,
//! history). Plain serde data; the store writes it atomically.

use crate::object::ObjectRef;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// State-store key of the in-flight rollout.
pub const ROLLOUT_KEY: &str = "rollout";
/// State-store key of the fleet memory.
pub const FLEET_KEY: &str = "fleet";
/// Rollouts kept in the history.
pub const HISTORY_LEN: usize = 50;

/// Where an in-flight rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// Applying (or about to apply) batch `batch`, then gating it.
    Applying,
    /// A batch failed; re-applying each touched cluster's previous commit.
    RollingBack,
}

/// Why a rollout failed: cluster, object (when one is to blame) and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Cluster where it failed.
    pub cluster: String,
    /// Object to blame, as `Kind ns/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// What went wrong (`ProgressDeadlineExceeded`, an apiserver message, …).
    pub reason: String,
}

impl fmt::Display for Failure {
    /// `prod-b Deployment shop/web ProgressDeadlineExceeded`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.object {
            Some(o) => write!(f, "{} {} {}", self.cluster, o, self.reason),
            None => write!(f, "{} {}", self.cluster, self.reason),
        }
    }
}

/// The in-flight rollout, saved before every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRecord {
    /// Commit being rolled out.
    pub commit: String,
    /// Current phase.
    pub phase: Phase,
    /// Cluster batches, in order.
    pub batches: Vec<Vec<String>>,
    /// Index of the batch being applied (== batches.len() when all done).
    pub batch: usize,
    /// Clusters applied and healthy.
    pub done: BTreeSet<String>,
    /// Clusters this rollout wrote to (even partly): the rollback set.
    pub touched: BTreeSet<String>,
    /// The commit each participating cluster ran before (None: nothing).
    pub previous: BTreeMap<String, Option<String>>,
    /// Objects this rollout created or changed, per cluster (the gate's watch list).
    pub changed: BTreeMap<String, BTreeSet<ObjectRef>>,
    /// Why it failed, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Unix seconds when it started.
    pub started_at: u64,
}

impl RolloutRecord {
    /// Number of clusters taking part.
    pub fn cluster_count(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// `batch 2/3 · 3/10 clusters`.
    pub fn progress(&self) -> String {
        format!(
            "batch {}/{} · {}/{} clusters",
            (self.batch + 1).min(self.batches.len()),
            self.batches.len(),
            self.done.len(),
            self.cluster_count()
        )
    }
}

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutOutcome {
    /// No cluster needed a change.
    NothingToDo,
    /// Every batch applied and healthy.
    Succeeded,
    /// A batch failed and every touched cluster was rolled back.
    RolledBack,
    /// A batch failed and the policy says Pause: clusters left as they are.
    Paused,
    /// A batch failed and the rollback did not complete (clusters named).
    RollbackFailed,
    /// A newer commit arrived before this one started.
    Superseded,
    /// The commit cannot be read, validated or rendered: nothing was applied.
    Invalid,
}

impl RolloutOutcome {
    /// Whether the commit is now deployed where it should be.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            RolloutOutcome::NothingToDo | RolloutOutcome::Succeeded
        )
    }

    /// Lowercase name for metrics and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutOutcome::NothingToDo => "nothing_to_do",
            RolloutOutcome::Succeeded => "succeeded",
            RolloutOutcome::RolledBack => "rolled_back",
            RolloutOutcome::Paused => "paused",
            RolloutOutcome::RollbackFailed => "rollback_failed",
            RolloutOutcome::Superseded => "superseded",
            RolloutOutcome::Invalid => "invalid",
        }
    }
}

/// One finished rollout, as remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Commit.
    pub commit: String,
    /// Outcome.
    pub outcome: RolloutOutcome,
    /// One-line description (as in the commit status).
    pub description: String,
    /// Batches it used.
    pub batches: Vec<Vec<String>>,
    /// Unix seconds when it started / finished.
    pub started_at: u64,
    /// Unix seconds when it finished.
    pub finished_at: u64,
}

/// What the fleet remembers across rollouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetMemory {
    /// Last commit rolled out successfully everywhere it went.
    pub last_good: Option<String>,
    /// Commits that failed: not retried until a newer commit arrives.
    pub failed: BTreeSet<String>,
    /// Last commit each cluster ran after a rollout (for status pages).
    pub cluster_commits: BTreeMap<String, String>,
    /// Recent rollouts, newest last.
    pub history: Vec<HistoryEntry>,
    /// Last rollout that changed each app (what per-app badges show).
    #[serde(default)]
    pub apps: BTreeMap<String, AppOutcome>,
}

/// The last rollout that changed an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppOutcome {
    /// Commit.
    pub commit: String,
    /// Outcome.
    pub outcome: RolloutOutcome,
    /// One-line description.
    pub description: String,
}

impl FleetMemory {
    /// Appends to the history, keeping the last [`HISTORY_LEN`].
    pub fn remember(&mut self, entry: HistoryEntry) {
        self.history.push(entry);
        let excess = self.history.len().saturating_sub(HISTORY_LEN);
        self.history.drain(..excess);
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
