//! The one seam between tranche and clusters. [`ClusterApi`] is small on
//! purpose: get, list, server-side apply (optionally dry-run), delete and
//! scope discovery. It is implemented once for real apiservers
//! ([`kube`], kube-rs with dynamic objects and discovery) and once for the
//! embedded default, a directory of manifests ([`dir`]). The daemon wraps
//! real clusters in [`watch::WatchedCluster`], which answers lists, pings
//! and reads of tranche's own objects from watches.

pub mod bounded;
pub mod capacity;
pub mod connect;
pub mod dir;
pub mod error;
pub mod kube;
pub mod watch;

pub use connect::{
    connect, connect_bounded, connect_watched, install_crypto_provider, ClusterSource,
};
pub use dir::DirCluster;
pub use error::ClusterError;
pub use kube::KubeCluster;
pub use watch::WatchedCluster;

use crate::kinds::Scope;
use crate::object::{ObjectRef, LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeSet;

/// Options for one server-side apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyOptions {
    /// `dryRun=All`: return what the apiserver would store, change nothing.
    pub dry_run: bool,
    /// Take ownership of fields other managers own (SSA `force=true`).
    pub force: bool,
}

/// tranche's objects of one kind, as [`ClusterApi::list_managed`] gives them.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// The objects (apiVersion, kind and metadata at least).
    pub items: Vec<Value>,
    /// Whether `items` hold whole objects; `false`: metadata only (name,
    /// resourceVersion, generation, labels, annotations), so a reader that
    /// needs the body must GET it.
    pub bodies: bool,
}

/// Access to one cluster. Every error names the cluster and the object.
#[async_trait]
pub trait ClusterApi: Send + Sync {
    /// Cluster name (from the registry).
    fn name(&self) -> &str;

    /// Whether workloads on this cluster are run by controllers, so health
    /// can be read from `status`. A directory cluster has none: objects are
    /// healthy once written.
    fn has_controllers(&self) -> bool;

    /// How many requests this cluster takes at once: the plan and the
    /// apply of one cluster run up to this many objects concurrently (the
    /// driver itself enforces the bound). One by default.
    fn max_in_flight(&self) -> usize {
        1
    }

    /// Checks the cluster answers (e.g. `/version`).
    async fn ping(&self) -> Result<(), ClusterError>;

    /// Whether objects of this apiVersion/kind are namespaced (discovery).
    async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError>;

    /// The scope of objects of this apiVersion/kind on this cluster, or
    /// `None` when the cluster cannot tell: a directory cluster that holds
    /// no CRD for a custom kind keeps the scope each object gives. By
    /// default, [`ClusterApi::is_namespaced`].
    async fn scope(&self, api_version: &str, kind: &str) -> Result<Option<Scope>, ClusterError> {
        Ok(Some(match self.is_namespaced(api_version, kind).await? {
            true => Scope::Namespaced,
            false => Scope::Cluster,
        }))
    }

    /// Reads one object; `Ok(None)` when it does not exist.
    async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, ClusterError>;

    /// Lists objects of a kind, in one namespace or all (`None`), filtered by
    /// a label selector string (`a=b,c=d`; empty = all).
    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, ClusterError>;

    /// Every object of a kind labelled `app.kubernetes.io/managed-by=tranche`,
    /// in all namespaces. By default one list with whole objects; a watched
    /// cluster answers from its metadata-only watch, with no request once
    /// the watch is synced.
    async fn list_managed(&self, api_version: &str, kind: &str) -> Result<Listed, ClusterError> {
        let selector = format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}");
        Ok(Listed {
            items: self.list(api_version, kind, None, &selector).await?,
            bodies: true,
        })
    }

    /// A counter that moves whenever a watched object of tranche's changes
    /// in a way that can be drift (spec, labels, annotations, deletion),
    /// including changes tranche did not make. `None` (the default): this
    /// cluster is not watched, drift is found by resyncs only.
    fn drift_events(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// A counter that moves on every watch event of this cluster (status
    /// writes too): a health gate re-checks when it moves instead of
    /// waiting for its poll interval. `None` (the default): poll.
    fn live_events(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }

    /// Starts watches of whole objects of the kinds of `ids` (tranche's
    /// objects only) for a health gate, which then judges `ids` from the
    /// watches while the returned [`watch::BodyWatch`] lives (see
    /// [`watch::bodies`]). `None` (the default): the gate reads each object
    /// with [`ClusterApi::get`].
    async fn watch_bodies(&self, _ids: &BTreeSet<ObjectRef>) -> Option<watch::BodyWatch> {
        None
    }

    /// Whether this connection remembers, in its memory only, that
    /// `rendered` was found unchanged against a live object still as
    /// `live` is (Secrets, whose records never go into an inventory; see
    /// [`crate::plan::fingerprint::SecretMemo`]). `false` by default.
    fn recalls_unchanged(&self, _id: &ObjectRef, _rendered: &Value, _live: &Value) -> bool {
        false
    }

    /// Remembers, in memory only, that `rendered` was found unchanged
    /// against `live` (see [`ClusterApi::recalls_unchanged`]). Nothing by
    /// default.
    fn remember_unchanged(&self, _id: &ObjectRef, _rendered: &Value, _live: &Value) {}

    /// Server-side apply with field manager `tranche`; returns the object as
    /// stored (or as it would be stored, with `dry_run`).
    async fn apply(&self, object: &Value, opts: ApplyOptions) -> Result<Value, ClusterError>;

    /// Deletes one object (background propagation); a missing object is Ok.
    async fn delete(&self, id: &ObjectRef) -> Result<(), ClusterError>;
}
