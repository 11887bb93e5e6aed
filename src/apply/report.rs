//! What applying one cluster did, per object, in the shared [`ObjectOutcome`]
//! vocabulary that CLI output, statuses, metrics and logs all read.

use crate::cluster::ClusterError;
use crate::object::ObjectRef;
use crate::outcome::ObjectOutcome;
use serde::{Deserialize, Serialize};

/// The result for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectResult {
    /// App the object belongs to.
    pub app: String,
    /// The object.
    #[serde(flatten)]
    pub id: ObjectRef,
    /// What happened.
    pub outcome: ObjectOutcome,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The result of applying one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    /// Cluster name.
    pub cluster: String,
    /// Commit applied.
    pub commit: String,
    /// False when the cluster could not be reached.
    pub reachable: bool,
    /// Cluster-level failure, if any (objects may also have failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per-object results in the order they were carried out.
    pub results: Vec<ObjectResult>,
}

impl ClusterReport {
    /// An empty report for `cluster` at `commit`.
    pub fn new(cluster: &str, commit: &str) -> Self {
        ClusterReport {
            cluster: cluster.into(),
            commit: commit.into(),
            reachable: true,
            error: None,
            results: vec![],
        }
    }

    /// Records a cluster-level error.
    pub fn fail_cluster(&mut self, e: &ClusterError) {
        self.reachable = !e.is_unreachable();
        self.error = Some(e.to_string());
    }

    /// Whether any object failed or the cluster failed as a whole.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.has_failures()
    }

    /// Whether any object failed.
    pub fn has_failures(&self) -> bool {
        self.results
            .iter()
            .any(|r| r.outcome == ObjectOutcome::Failed)
    }

    /// How many objects ended with `outcome`.
    pub fn count(&self, outcome: ObjectOutcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    /// Objects this apply created or changed (what a health gate watches).
    pub fn changed(&self) -> Vec<&ObjectRef> {
        self.results
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    ObjectOutcome::Created | ObjectOutcome::Configured
                )
            })
            .map(|r| &r.id)
            .collect()
    }

    /// First failure as `cluster Kind ns/name: message`, for statuses.
    pub fn first_failure(&self) -> Option<String> {
        self.results
            .iter()
            .find(|r| r.outcome == ObjectOutcome::Failed)
            .map(|r| {
                format!(
                    "{} {}: {}",
                    self.cluster,
                    r.id,
                    r.message.as_deref().unwrap_or("failed")
                )
            })
            .or_else(|| {
                self.error
                    .as_ref()
                    .map(|e| format!("{}: {e}", self.cluster))
            })
    }
}
