//! Rendering is pure: fleet × cluster → Kubernetes objects.
//!
//! For each app placed on a cluster ([`placement`]): take its manifests,
//! split workload replicas ([`split`]) and HPA bounds ([`hpa`]) by cluster
//! weight — worked out once per app ([`spread`]) — apply the overrides in
//! their documented order ([`overrides`], [`overriders`], [`image`]), stamp
//! the tracking labels and commit annotation ([`stamp`]) with the hashed
//! policy name ([`naming`]), and sort into apply order ([`order`]).
//! [`fleet`] drives it for a whole fleet or one cluster; [`cache`] keeps
//! the last rendering and, on a new commit, re-renders only the apps whose
//! inputs changed.

pub mod cache;
pub mod capacity;
pub mod check;
pub mod error;
pub mod fleet;
pub mod hpa;
pub mod image;
pub mod migration;
pub mod naming;
pub mod objects;
pub mod order;
pub mod overriders;
pub mod overrides;
pub mod placement;
pub mod pods;
pub mod scope;
pub mod split;
pub mod spread;
pub mod stamp;
#[cfg(test)]
pub(crate) mod testkit;

pub use cache::RenderCache;
pub use error::RenderError;
pub use fleet::{render, render_cluster, render_failover, render_scoped, render_with, Failed};
pub use naming::PolicyName;
pub use objects::AppObjects;
pub use scope::Scope;

use crate::object::ObjectRef;
use serde_json::Value;
use std::collections::BTreeMap;

/// The rendering of one commit for every cluster of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendering {
    /// Commit rendered.
    pub commit: String,
    /// Every cluster of the registry, including those no app is placed on
    /// (of a [`Scope`]: those in scope).
    pub clusters: BTreeMap<String, ClusterRendering>,
}

/// What one cluster should run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRendering {
    /// Cluster name.
    pub cluster: String,
    /// Apps placed on this cluster, by name.
    pub apps: BTreeMap<String, AppRendering>,
}

/// One app's objects on one cluster, in apply order.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRendering {
    /// App name.
    pub app: String,
    /// Hashed name of the app's inventory on the cluster.
    pub inventory: PolicyName,
    /// Objects in apply order, shared with the clusters that get the
    /// same ones.
    pub objects: AppObjects,
}

/// One object ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    /// Identity of the object.
    pub id: ObjectRef,
    /// Policy name stamped as `tranche.dev/policy`.
    pub policy: PolicyName,
    /// The full object with labels and annotations stamped.
    pub object: Value,
    /// `file[doc N]` the object came from.
    pub source: String,
}
