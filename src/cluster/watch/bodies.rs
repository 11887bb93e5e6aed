//! [`BodyWatch`]: watches of whole objects for the time of one health
//! gate, so the gate judges the objects from watch events instead of a GET
//! per object per check.
//!
//! One watch per (apiVersion, kind) of the gated objects, label-selected
//! to tranche's objects (`app.kubernetes.io/managed-by=tranche`) and
//! narrowed to one namespace when every gated object of the kind is in
//! the same one. Each costs one list and one watch stream; the first list
//! holds a permit of the cluster's in-flight bound. Dropping the
//! [`BodyWatch`] stops them.
//!
//! [`BodyWatch::lookup`] answers only from a watch that is synced and
//! healthy and holds the object; anything else (a watch that failed, RBAC
//! that forbids listing the kind, an object not labelled as tranche's) is
//! `None`, and the gate reads that object with a GET as before.

use super::selector::Selector;
use super::task::{self, Signals, Sync, Watched};
use super::WatchKey;
use crate::cluster::kube::KubeCluster;
use crate::cluster::ClusterApi;
use crate::object::{ObjectRef, LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as signal;
use tokio::task::JoinHandle;

/// How long starting a gate's watches waits for their first lists; a
/// watch not synced by then is not used (its objects are read with GETs).
pub const BODY_LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// The watches of whole objects of one cluster during one gate.
#[derive(Debug)]
pub struct BodyWatch {
    cluster: String,
    watches: Vec<(Arc<Watched>, JoinHandle<()>)>,
    events: Arc<signal::Sender<u64>>,
}

impl Drop for BodyWatch {
    /// Stops every watch.
    fn drop(&mut self) {
        for (_, task) in &self.watches {
            task.abort();
        }
    }
}

/// The watches that cover `ids`: one per (apiVersion, kind), in the one
/// namespace all of its objects share, else in all namespaces. Pure.
pub fn body_keys(ids: &BTreeSet<ObjectRef>) -> Vec<WatchKey> {
    let mut namespaces: BTreeMap<(&str, &str), BTreeSet<Option<&str>>> = BTreeMap::new();
    for id in ids {
        namespaces
            .entry((&id.api_version, &id.kind))
            .or_default()
            .insert(id.namespace.as_deref());
    }
    let managed = format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}");
    let Some(selector) = Selector::parse(&managed) else {
        return Vec::new();
    };
    namespaces
        .into_iter()
        .map(|((api_version, kind), spaces)| {
            let mut spaces = spaces.into_iter();
            let namespace = match (spaces.next(), spaces.next()) {
                (Some(Some(ns)), None) => Some(ns.to_string()),
                _ => None,
            };
            WatchKey {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                namespace,
                selector: selector.clone(),
                full: true,
            }
        })
        .collect()
}

impl BodyWatch {
    /// Starts the watches covering `ids` (see [`body_keys`]) and waits
    /// for their first lists (concurrently, up to [`BODY_LIST_TIMEOUT`]).
    /// A kind whose watch cannot start is left out (logged).
    pub async fn start(cluster: &KubeCluster, ids: &BTreeSet<ObjectRef>) -> BodyWatch {
        let name = cluster.name().to_string();
        let events = Arc::new(signal::channel(0).0);
        let signals = Signals {
            drift: Arc::new(signal::channel(0).0),
            events: events.clone(),
        };
        let keys = body_keys(ids);
        let started = futures::future::join_all(keys.into_iter().map(|key| {
            let (name, signals) = (name.clone(), signals.clone());
            async move {
                let api = match cluster
                    .watch_api(&key.api_version, &key.kind, key.namespace.as_deref())
                    .await
                {
                    Ok(api) => api,
                    Err(e) => {
                        tracing::debug!(cluster = %name, kind = %key.kind, error = %e, "gate reads with GETs");
                        return None;
                    }
                };
                let watched = Arc::new(Watched::new(key));
                let task = tokio::spawn(task::run(
                    name.clone(),
                    api,
                    watched.clone(),
                    cluster.in_flight_permits(),
                    signals,
                ));
                let mut sync = watched.sync.subscribe();
                let settled = tokio::time::timeout(
                    BODY_LIST_TIMEOUT,
                    sync.wait_for(|s| *s != Sync::Listing),
                )
                .await;
                match settled {
                    Ok(Ok(s)) if *s == Sync::Synced => Some((watched, task)),
                    other => {
                        let why = match other {
                            Ok(Ok(s)) => format!("{:?}", *s),
                            Ok(Err(_)) => "watch stopped".to_string(),
                            Err(_) => format!("first list not done within {BODY_LIST_TIMEOUT:?}"),
                        };
                        tracing::debug!(cluster = %name, kind = %watched.key.kind, %why, "gate reads with GETs");
                        task.abort();
                        None
                    }
                }
            }
        }))
        .await;
        BodyWatch {
            cluster: name,
            watches: started.into_iter().flatten().collect(),
            events,
        }
    }

    /// The cluster watched.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Watches running.
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    /// Whether no watch runs (every object is read with GETs).
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// The object as the watch holds it; `None` when no synced, healthy
    /// watch holds it (read it with a GET).
    pub fn lookup(&self, id: &ObjectRef) -> Option<Value> {
        let place = (id.namespace.clone(), id.name.clone());
        self.watches
            .iter()
            .map(|(w, _)| w)
            .filter(|w| {
                w.key.api_version == id.api_version
                    && w.key.kind == id.kind
                    && (w.key.namespace.is_none() || w.key.namespace == id.namespace)
                    && w.healthy.load(Ordering::Acquire)
            })
            .find_map(|w| {
                let store = w.read();
                let entry = store.get(&place).filter(|_| store.is_synced())?;
                Some(entry.to_value(&place, &id.api_version, &id.kind))
            })
    }

    /// Whether every object of `ids` is covered by a healthy watch, so
    /// events alone wake the gate (else it polls).
    pub fn covers(&self, ids: &BTreeSet<ObjectRef>) -> bool {
        ids.iter().all(|id| {
            self.watches.iter().any(|(w, _)| {
                w.key.api_version == id.api_version
                    && w.key.kind == id.kind
                    && (w.key.namespace.is_none() || w.key.namespace == id.namespace)
                    && w.healthy.load(Ordering::Acquire)
            })
        })
    }

    /// A counter that moves on every event of these watches.
    pub fn events(&self) -> signal::Receiver<u64> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn one_watch_per_kind_in_the_namespace_its_objects_share() {
        let ids: BTreeSet<ObjectRef> = [
            id("apps/v1", "Deployment", Some("a"), "web"),
            id("apps/v1", "Deployment", Some("a"), "api"),
            id("v1", "ConfigMap", Some("a"), "config"),
            id("v1", "ConfigMap", Some("b"), "config"),
            id("v1", "Namespace", None, "a"),
        ]
        .into_iter()
        .collect();
        let keys: Vec<(String, String, Option<String>)> = body_keys(&ids)
            .into_iter()
            .map(|k| {
                assert!(k.full);
                assert_eq!(
                    k.selector.to_query(),
                    "app.kubernetes.io/managed-by=tranche"
                );
                (k.api_version, k.kind, k.namespace)
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("apps/v1".into(), "Deployment".into(), Some("a".into())),
                ("v1".into(), "ConfigMap".into(), None),
                ("v1".into(), "Namespace".into(), None),
            ]
        );
        assert!(body_keys(&BTreeSet::new()).is_empty());
    }
}
