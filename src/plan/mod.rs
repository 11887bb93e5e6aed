//! Plan: desired × live → changes, per cluster.
//!
//! "Desired" is the server-side dry-run apply of the rendered object, so
//! apiserver defaults never show as drift. Both sides are normalized
//! ([`normalize`]: status, managedFields, resourceVersion, uid, generation,
//! creationTimestamp, the commit annotation and DiffPolicy ignore rules
//! dropped) and Secret values masked ([`mask`]) before
//! `json_patch::diff`. [`compute`] is the only part that talks to a cluster.

pub mod cache;
pub mod compute;
pub mod diff;
pub mod fingerprint;
pub mod mask;
pub mod normalize;
mod prune;
pub mod retain;

use crate::inventory::Inventory;
use crate::object::ObjectRef;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the plan says to do with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Not on the cluster: will be created.
    Create,
    /// On the cluster but different: will be patched.
    Update,
    /// Already as desired: nothing is sent.
    Unchanged,
    /// In the app's inventory but no longer rendered: will be deleted.
    Prune,
    /// Detached on the cluster (`tranche.dev/detach: "true"`): left alone.
    Skip,
    /// Not allowed by the AccessPolicy (or owned by someone else): never sent.
    Forbidden,
}

impl Action {
    /// Whether carrying out this action changes the cluster.
    pub fn mutates(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Prune)
    }
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// `apiVersion` of the object.
    pub api_version: String,
    /// `kind` of the object.
    pub kind: String,
    /// Namespace (absent for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// App the object belongs to.
    pub app: String,
    /// RFC 6902 patch from normalized, masked live to desired (updates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<json_patch::Patch>,
    /// Why (forbidden, skipped, conflicts with a foreign object, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Normalized, masked live object (for unified diffs); not serialized.
    #[serde(skip)]
    pub live: Option<Value>,
    /// Normalized, masked desired object (for unified diffs); not serialized.
    #[serde(skip)]
    pub desired: Option<Value>,
    /// The rendered object to send (create/update); not serialized.
    #[serde(skip)]
    pub object: Option<Value>,
}

impl Change {
    /// Identity of the object this change is about.
    pub fn id(&self) -> ObjectRef {
        ObjectRef {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

/// The plan for one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlan {
    /// Cluster name.
    pub name: String,
    /// False when the cluster could not be reached; `changes` is then empty.
    pub reachable: bool,
    /// Why the cluster could not be planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per-object changes, in apply order (prunes last).
    pub changes: Vec<Change>,
    /// Inventories read from the cluster, by app; not serialized.
    #[serde(skip)]
    pub inventories: BTreeMap<String, Inventory>,
    /// An inventory was left unfinished (a crash mid-apply): the cluster
    /// takes part even if no object differs, to settle its inventory.
    #[serde(skip)]
    pub needs_sync: bool,
    /// The commit the cluster record (`tranche.cluster`) says; not serialized.
    #[serde(skip)]
    pub cluster_commit: Option<String>,
    /// Objects found unchanged, with what they look like (remembered, or
    /// confirmed by a dry-run); the apply keeps these records. Not
    /// serialized.
    #[serde(skip)]
    pub applied: BTreeMap<ObjectRef, fingerprint::Applied>,
}

impl ClusterPlan {
    /// A plan for a cluster that could not be reached.
    pub fn unreachable(name: &str, error: String) -> ClusterPlan {
        ClusterPlan {
            name: name.to_string(),
            reachable: false,
            error: Some(error),
            changes: vec![],
            inventories: BTreeMap::new(),
            needs_sync: false,
            cluster_commit: None,
            applied: BTreeMap::new(),
        }
    }

    /// A plan for a reachable cluster that could not be planned.
    pub fn failed(name: &str, error: String) -> ClusterPlan {
        ClusterPlan {
            reachable: true,
            ..ClusterPlan::unreachable(name, error)
        }
    }

    /// Whether applying this plan would change nothing on the cluster.
    pub fn is_empty(&self) -> bool {
        self.reachable
            && self.error.is_none()
            && !self.needs_sync
            && !self.changes.iter().any(|c| c.action.mutates())
    }

    /// Number of objects that would change.
    pub fn mutating_changes(&self) -> usize {
        self.changes.iter().filter(|c| c.action.mutates()).count()
    }
}

/// Counts of planned actions over a whole plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Objects to create.
    pub create: usize,
    /// Objects to update.
    pub update: usize,
    /// Objects to prune.
    pub prune: usize,
    /// Objects left unchanged.
    pub unchanged: usize,
    /// Detached objects skipped.
    pub skip: usize,
    /// Objects refused.
    pub forbidden: usize,
    /// Clusters with at least one mutating change.
    pub clusters_changed: usize,
    /// Clusters that could not be reached or planned.
    pub clusters_failed: usize,
}

impl Plan {
    /// Counts of actions and clusters.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.clusters {
            if !c.reachable || c.error.is_some() {
                s.clusters_failed += 1;
            } else if !c.is_empty() {
                s.clusters_changed += 1;
            }
            for ch in &c.changes {
                match ch.action {
                    Action::Create => s.create += 1,
                    Action::Update => s.update += 1,
                    Action::Prune => s.prune += 1,
                    Action::Unchanged => s.unchanged += 1,
                    Action::Skip => s.skip += 1,
                    Action::Forbidden => s.forbidden += 1,
                }
            }
        }
        s
    }

    /// Whether anything would change (or could not be planned).
    pub fn has_changes(&self) -> bool {
        self.clusters.iter().any(|c| !c.is_empty())
    }
}

/// The plan of one commit over the selected clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// Commit planned.
    pub commit: String,
    /// One entry per selected cluster, by name.
    pub clusters: Vec<ClusterPlan>,
}
