//! The rollout record: everything an in-flight rollout knows, saved
//! (atomically, by [`super::state`]) before every step, so a process killed
//! at any point resumes by loading it and asking [`super::machine`] for the
//! next step. Plain serde data and pure queries; no I/O.

use crate::object::ObjectRef;
use crate::outcome::RolloutOutcome;
use crate::revision::short;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Where an in-flight rollout is. Serialized inside the record as
/// `"phase": "<name>"` next to the phase's own fields (`batch`, `cluster`,
/// `outcome`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Phase {
    /// Planning every cluster: who takes part, what each ran before.
    Planning,
    /// Before batch `batch` starts: the pause between batches,
    /// minSuccessTime or a time window.
    Waiting {
        /// 0-based batch index.
        batch: usize,
        /// Earliest start (unix seconds), fixed by the first wait step.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
    },
    /// Batch `batch` waits for a person's approval (`approval.before`).
    AwaitingApproval {
        /// 0-based batch index.
        batch: usize,
    },
    /// Re-planning batch `batch`'s clusters just before writing them
    /// (reads only).
    Preparing {
        /// 0-based batch index.
        batch: usize,
    },
    /// Writing batch `batch`'s clusters (those its plan said change).
    Applying {
        /// 0-based batch index.
        batch: usize,
    },
    /// Waiting for batch `batch`'s health gate and bake time.
    Gating {
        /// 0-based batch index.
        batch: usize,
    },
    /// Restoring touched cluster `cluster` to what it ran before.
    RollingBack {
        /// The cluster being restored (empty in records of older versions:
        /// the machine then finds the next one itself).
        #[serde(default)]
        cluster: String,
    },
    /// Finished; the outcome is being recorded in the fleet memory.
    Done {
        /// How it ended.
        outcome: RolloutOutcome,
    },
}

/// What a cluster ran before this rollout: what rolling it back means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Previous {
    /// tranche had completed this commit there.
    Commit(String),
    /// tranche had never completed a commit there (no cluster record):
    /// rolling back removes tranche's objects.
    Nothing,
    /// The cluster record could not be read (why): never taken as
    /// "nothing", so never a prune. Such a cluster is not written, and a
    /// rollback of it stops there, deleting nothing.
    Unknown(String),
}

impl<'de> Deserialize<'de> for Previous {
    /// Reads the tagged form, and records of older versions (`null` for
    /// nothing, a bare commit id).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        enum Tagged {
            Commit(String),
            Nothing,
            Unknown(String),
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Tagged(Tagged),
            Legacy(Option<String>),
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Tagged(Tagged::Commit(c)) | Wire::Legacy(Some(c)) => Previous::Commit(c),
            Wire::Tagged(Tagged::Nothing) | Wire::Legacy(None) => Previous::Nothing,
            Wire::Tagged(Tagged::Unknown(why)) => Previous::Unknown(why),
        })
    }
}

impl Previous {
    /// The commit a rollback re-applies (`None`: nothing), or `None` at
    /// the outer level when it is unknown and nothing may be done.
    pub fn restore_target(&self) -> Option<Option<&str>> {
        match self {
            Previous::Commit(c) => Some(Some(c)),
            Previous::Nothing => Some(None),
            Previous::Unknown(_) => None,
        }
    }
}

impl fmt::Display for Previous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Previous::Commit(c) => f.write_str(short(c)),
            Previous::Nothing => f.write_str("nothing"),
            Previous::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// How restoring one touched cluster ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RestoreResult {
    /// Back on its previous commit, and healthy.
    Restored,
    /// Not restored (why); the cluster is left behind.
    Failed(String),
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

/// A cluster the rollout leaves neither on its commit (healthy) nor on
/// what it ran before, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    /// Cluster.
    pub cluster: String,
    /// Why, and what it runs as far as tranche knows.
    pub reason: String,
}

/// The in-flight rollout, saved before every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRecord {
    /// Commit being rolled out.
    pub commit: String,
    /// Current phase.
    #[serde(flatten)]
    pub phase: Phase,
    /// Cluster batches, in order (empty until planned).
    #[serde(default)]
    pub batches: Vec<Vec<String>>,
    /// Clusters applied and healthy.
    #[serde(default)]
    pub done: BTreeSet<String>,
    /// Clusters this rollout may have written to: the rollback set. A
    /// cluster is added before it is written, never after.
    #[serde(default)]
    pub touched: BTreeSet<String>,
    /// What each participating cluster ran before.
    #[serde(default)]
    pub previous: BTreeMap<String, Previous>,
    /// Objects this rollout created or changed, per cluster (the gate's watch list).
    #[serde(default)]
    pub changed: BTreeMap<String, BTreeSet<ObjectRef>>,
    /// How restoring each touched cluster ended, once tried.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rollback: BTreeMap<String, RestoreResult>,
    /// Why it failed, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Clusters that failed within `maxFailures`, and why: left out of
    /// their batch, the rest went on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tolerated: BTreeMap<String, Failure>,
    /// Who paused the rollout, while it is paused: no step runs until
    /// resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    /// Who approved each batch that needed approval (0-based index).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub approvals: BTreeMap<usize, String>,
    /// Unix seconds when each batch started (recorded when it waited).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub batch_started: BTreeMap<usize, u64>,
    /// Unix seconds when it started.
    pub started_at: u64,
    /// An input-change rollout: the last good commit again with new
    /// render inputs (a failover, weights by free capacity). Its rollback
    /// restores the inputs before the change, and its failure neither
    /// fails the commit nor moves the last good one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inputs_change: bool,
}

impl RolloutRecord {
    /// A rollout of `commit` about to be planned.
    pub fn new(commit: &str, started_at: u64) -> RolloutRecord {
        RolloutRecord {
            commit: commit.to_string(),
            phase: Phase::Planning,
            batches: vec![],
            done: BTreeSet::new(),
            touched: BTreeSet::new(),
            previous: BTreeMap::new(),
            changed: BTreeMap::new(),
            rollback: BTreeMap::new(),
            failure: None,
            tolerated: BTreeMap::new(),
            paused: None,
            approvals: BTreeMap::new(),
            batch_started: BTreeMap::new(),
            started_at,
            inputs_change: false,
        }
    }

    /// Number of clusters taking part.
    pub fn cluster_count(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }

    /// Clusters of batch `index` (none past the end).
    pub fn batch(&self, index: usize) -> &[String] {
        self.batches.get(index).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The outcome, once finished.
    pub fn outcome(&self) -> Option<RolloutOutcome> {
        match self.phase {
            Phase::Done { outcome } => Some(outcome),
            _ => None,
        }
    }

    /// `batch 2/3 · 3/10 clusters`, `planning`, or `rolling back b · 1/2 clusters`.
    pub fn progress(&self) -> String {
        let batch = |k: usize| {
            format!(
                "batch {}/{} · {}/{} clusters",
                (k + 1).min(self.batches.len()),
                self.batches.len(),
                self.done.len(),
                self.cluster_count()
            )
        };
        match &self.phase {
            Phase::Planning => "planning".into(),
            _ if self.paused.is_some() && !matches!(self.phase, Phase::RollingBack { .. }) => {
                let k = match &self.phase {
                    Phase::Waiting { batch, .. }
                    | Phase::AwaitingApproval { batch }
                    | Phase::Preparing { batch }
                    | Phase::Applying { batch }
                    | Phase::Gating { batch } => *batch,
                    _ => 0,
                };
                format!("{} · paused", batch(k))
            }
            Phase::Waiting { batch: k, .. } => format!("{} · waiting to start", batch(*k)),
            Phase::AwaitingApproval { batch: k } => {
                format!("{} · waiting for approval", batch(*k))
            }
            Phase::Preparing { batch: k }
            | Phase::Applying { batch: k }
            | Phase::Gating { batch: k } => batch(*k),
            Phase::RollingBack { cluster } => format!(
                "rolling back {cluster} · {}/{} clusters",
                self.rollback.len(),
                self.touched.len()
            ),
            Phase::Done { outcome } => format!("done: {outcome}"),
        }
    }

    /// Clusters this rollout leaves neither on its commit (healthy) nor
    /// on what they ran before, as far as the record knows now.
    pub fn left_behind(&self) -> Vec<LeftBehind> {
        let on_new = format!("written with {} but not healthy", short(&self.commit));
        match &self.phase {
            Phase::Done {
                outcome: RolloutOutcome::Succeeded | RolloutOutcome::NothingToDo,
            } => self
                .tolerated
                .iter()
                .filter(|(c, _)| self.touched.contains(*c))
                .map(|(c, f)| LeftBehind {
                    cluster: c.clone(),
                    reason: format!("{on_new}; failed within maxFailures: {}", f.reason),
                })
                .collect(),
            Phase::Done {
                outcome: RolloutOutcome::Paused,
            } => self
                .touched
                .iter()
                .filter(|c| !self.done.contains(*c))
                .map(|c| LeftBehind {
                    cluster: c.clone(),
                    reason: format!("{on_new}; paused, left as it is"),
                })
                .collect(),
            Phase::Done { .. } | Phase::RollingBack { .. } => self
                .touched
                .iter()
                .filter_map(|c| match self.rollback.get(c) {
                    Some(RestoreResult::Restored) => None,
                    Some(RestoreResult::Failed(why)) => Some(LeftBehind {
                        cluster: c.clone(),
                        reason: format!("rollback failed: {why}"),
                    }),
                    None => Some(LeftBehind {
                        cluster: c.clone(),
                        reason: format!("not yet rolled back to {}", self.previous_of(c)),
                    }),
                })
                .collect(),
            Phase::Planning
            | Phase::Waiting { .. }
            | Phase::AwaitingApproval { .. }
            | Phase::Preparing { .. }
            | Phase::Applying { .. }
            | Phase::Gating { .. } => self
                .touched
                .iter()
                .filter(|c| !self.done.contains(*c))
                .map(|c| LeftBehind {
                    cluster: c.clone(),
                    reason: format!("{on_new}; the rollout resumes on the next run"),
                })
                .collect(),
        }
    }

    /// What `cluster` ran before (unknown when the record does not say).
    pub fn previous_of(&self, cluster: &str) -> Previous {
        self.previous
            .get(cluster)
            .cloned()
            .unwrap_or_else(|| Previous::Unknown("not recorded".into()))
    }

    /// The one-line description of a finished rollout, as in the commit
    /// status and the CLI's last line.
    pub fn describe(&self) -> String {
        let failure = self
            .failure
            .as_ref()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let left = self.left_behind();
        let names = left
            .iter()
            .map(|l| l.cluster.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let reasons = left
            .iter()
            .map(|l| format!("{} ({})", l.cluster, l.reason))
            .collect::<Vec<_>>()
            .join(", ");
        match self.outcome() {
            None => format!("in flight: {}", self.progress()),
            Some(RolloutOutcome::NothingToDo) => {
                "no changes: every cluster already runs this".into()
            }
            Some(RolloutOutcome::Succeeded) if self.tolerated.is_empty() => format!(
                "deployed to {} cluster(s) in {} batch(es)",
                self.cluster_count(),
                self.batches.len()
            ),
            Some(RolloutOutcome::Succeeded) => {
                let failed: Vec<String> = self.tolerated.values().map(|f| f.to_string()).collect();
                format!(
                    "deployed to {}/{} cluster(s) in {} batch(es); failed within maxFailures: {}",
                    self.done.len(),
                    self.cluster_count(),
                    self.batches.len(),
                    failed.join(", ")
                )
            }
            Some(RolloutOutcome::RolledBack) => format!("rolled back: {failure}"),
            Some(RolloutOutcome::Paused) if left.is_empty() => format!("paused: {failure}"),
            Some(RolloutOutcome::Paused) => {
                format!("paused: {failure}; left as they are: {names}")
            }
            Some(RolloutOutcome::RollbackFailed) => {
                format!("rollback incomplete on {names}: {failure}; left behind: {reasons}")
            }
            Some(RolloutOutcome::Superseded) => "superseded by a newer commit".into(),
            Some(RolloutOutcome::Invalid) => "invalid commit".into(),
        }
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
