//! [`WatchedCluster`]: a real cluster whose lists, pings and reads of
//! tranche's own objects are answered from watches (the daemon's live
//! cache), so a reconcile that finds nothing changed sends nothing.
//!
//! Expected flow: the first plan asks [`ClusterApi::list_managed`] for
//! each kind it renders (a metadata-only watch of objects labelled
//! `app.kubernetes.io/managed-by=tranche` starts, lists once, then
//! streams) and [`ClusterApi::list`] for the inventories (a watch of whole
//! ConfigMaps in `tranche-system`). Later plans read the stores.
//!
//! Guarantees:
//! - Only "here it is" comes from a store. An object no watch holds (a
//!   foreign object of the same name, not labelled as tranche's) is read
//!   with a GET, so it is still found and refused.
//! - Bodies are fetched only when needed: a store of metadata gives the
//!   plan what its fingerprint reads; an object that changed is then read
//!   whole with a GET and dry-run, as before.
//! - tranche's own writes are recorded from the apiserver's answers at
//!   once (dry-runs never are), and a store never goes back to an older
//!   resourceVersion (module `store`).
//! - A broken watch resumes from its resourceVersion; after 410 Gone it
//!   relists and the store is replaced whole.
//! - `ping` sends nothing while every watch is healthy.
//! - A Secret found unchanged is remembered in this process's memory only,
//!   keyed ([`SecretMemo`]), so it is not dry-run again until either side
//!   changes; nothing of it goes to an inventory.
//!
//! Caveats: watch streams do not hold a permit of the in-flight bound
//! (only their first list does); a connection that dies silently is
//! noticed when kube-rs's watch timeout (290 s) runs out, or at the next
//! write.

pub mod bodies;
mod selector;
mod store;
mod task;

pub use bodies::BodyWatch;
pub use selector::Selector;
pub use store::{Entry, Meta, WatchStore};
pub use task::{Sync, WatchKey};

use crate::cluster::kube::KubeCluster;
use crate::cluster::{ApplyOptions, ClusterApi, ClusterError, Listed};
use crate::object::{ObjectRef, LABEL_MANAGED_BY, MANAGED_BY_VALUE};
use crate::plan::fingerprint::{Applied, SecretMemo};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use task::{Signals, Watched};
use tokio::task::JoinHandle;

/// How long a plan waits for a new watch's first list.
pub const FIRST_LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// The running watches, each with its task.
type Watches = BTreeMap<WatchKey, (Arc<Watched>, JoinHandle<()>)>;

/// A [`KubeCluster`] with a live cache (see the module doc).
pub struct WatchedCluster {
    inner: KubeCluster,
    watches: Mutex<Watches>,
    signals: Signals,
    /// Secrets found unchanged, remembered in memory only.
    secrets: Mutex<BTreeMap<ObjectRef, Applied>>,
    memo: SecretMemo,
}

impl std::fmt::Debug for WatchedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedCluster")
            .field("cluster", &self.inner)
            .finish_non_exhaustive()
    }
}

impl Drop for WatchedCluster {
    /// Stops every watch.
    fn drop(&mut self) {
        let watches = self.watches.get_mut().unwrap_or_else(|p| p.into_inner());
        for (_, (_, task)) in watches.iter() {
            task.abort();
        }
    }
}

/// What the cache holds, for figures (`tranche` benches, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheSize {
    /// Watches running.
    pub watches: usize,
    /// Objects held.
    pub objects: usize,
    /// Bytes held (an estimate, see [`Entry::size`]).
    pub bytes: usize,
}

impl WatchedCluster {
    /// Wraps a connected cluster; no watch runs until a plan asks.
    pub fn new(inner: KubeCluster) -> WatchedCluster {
        WatchedCluster {
            inner,
            watches: Mutex::new(BTreeMap::new()),
            signals: Signals {
                drift: Arc::new(tokio::sync::watch::channel(0).0),
                events: Arc::new(tokio::sync::watch::channel(0).0),
            },
            secrets: Mutex::new(BTreeMap::new()),
            memo: SecretMemo::default(),
        }
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, Watches> {
        self.watches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the stores hold now.
    pub fn cache_size(&self) -> CacheSize {
        let watches = self.watches();
        let mut size = CacheSize {
            watches: watches.len(),
            ..CacheSize::default()
        };
        for (w, _) in watches.values() {
            let store = w.read();
            size.objects += store.len();
            size.bytes += store.size();
        }
        size
    }

    /// The synced watch of `key`, started (and its first list awaited)
    /// when there is none. A failed first list is an error, and the watch
    /// is dropped so a later call tries again.
    async fn ensure(&self, key: WatchKey) -> Result<Arc<Watched>, ClusterError> {
        let existing = self.watches().get(&key).map(|(w, _)| w.clone());
        let watched = match existing {
            Some(w) => w,
            None => {
                let api = self
                    .inner
                    .watch_api(&key.api_version, &key.kind, key.namespace.as_deref())
                    .await?;
                let mut watches = self.watches();
                match watches.get(&key) {
                    Some((w, _)) => w.clone(),
                    None => {
                        let w = Arc::new(Watched::new(key.clone()));
                        let task = tokio::spawn(task::run(
                            self.inner.name().to_string(),
                            api,
                            w.clone(),
                            self.inner.in_flight_permits(),
                            self.signals.clone(),
                        ));
                        watches.insert(key.clone(), (w.clone(), task));
                        w
                    }
                }
            }
        };
        let mut sync = watched.sync.subscribe();
        let settled =
            tokio::time::timeout(FIRST_LIST_TIMEOUT, sync.wait_for(|s| *s != Sync::Listing)).await;
        let failure = match settled {
            Ok(Ok(s)) if *s == Sync::Synced => return Ok(watched),
            Ok(Ok(s)) => match &*s {
                Sync::Failed(m) => m.clone(),
                _ => "watch stopped".to_string(),
            },
            Ok(Err(_)) => "watch stopped".to_string(),
            Err(_) => format!("first list not done within {FIRST_LIST_TIMEOUT:?}"),
        };
        if let Some((_, task)) = self.watches().remove(&key) {
            task.abort();
        }
        Err(ClusterError::Api {
            cluster: self.inner.name().to_string(),
            object: format!("watch {} {}", key.api_version, key.kind),
            message: failure,
        })
    }

    /// Every synced watch that may hold `id` (same apiVersion and kind,
    /// all namespaces or `id`'s).
    fn covering(&self, id: &ObjectRef) -> Vec<Arc<Watched>> {
        self.watches()
            .values()
            .map(|(w, _)| w)
            .filter(|w| {
                w.key.api_version == id.api_version
                    && w.key.kind == id.kind
                    && (w.key.namespace.is_none() || w.key.namespace == id.namespace)
                    && w.read().is_synced()
            })
            .cloned()
            .collect()
    }
}

fn place(id: &ObjectRef) -> store::Place {
    (id.namespace.clone(), id.name.clone())
}

fn items(w: &Watched) -> Vec<Value> {
    let store = w.read();
    store
        .iter()
        .map(|(p, e)| e.to_value(p, &w.key.api_version, &w.key.kind))
        .collect()
}

#[async_trait]
impl ClusterApi for WatchedCluster {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn has_controllers(&self) -> bool {
        true
    }

    fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight()
    }

    /// Sends nothing while at least one watch runs and all are healthy
    /// (their streams are the proof the apiserver answers).
    async fn ping(&self) -> Result<(), ClusterError> {
        let all_healthy = {
            let watches = self.watches();
            !watches.is_empty()
                && watches
                    .values()
                    .all(|(w, _)| w.healthy.load(Ordering::Acquire))
        };
        if all_healthy {
            return Ok(());
        }
        self.inner.ping().await
    }

    async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        self.inner.is_namespaced(api_version, kind).await
    }

    async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        for w in self.covering(id).iter().filter(|w| w.key.full) {
            if let Some(e) = w.read().get(&place(id)) {
                return Ok(Some(e.to_value(&place(id), &id.api_version, &id.kind)));
            }
        }
        self.inner.get(id).await
    }

    /// From a watch of whole objects when the selector is one the cache
    /// understands (see [`Selector`]); else (or when the watch cannot
    /// start) one list, as before.
    async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        if let Some(selector) = Selector::parse(label_selector) {
            let key = WatchKey {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                namespace: namespace.map(str::to_string),
                selector,
                full: true,
            };
            match self.ensure(key).await {
                Ok(w) => return Ok(items(&w)),
                Err(e) => {
                    tracing::debug!(cluster = self.name(), %kind, error = %e, "not watched; listing")
                }
            }
        }
        self.inner
            .list(api_version, kind, namespace, label_selector)
            .await
    }

    async fn list_managed(&self, api_version: &str, kind: &str) -> Result<Listed, ClusterError> {
        let selector = format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}");
        let key = WatchKey {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: None,
            selector: Selector::parse(&selector).unwrap_or_else(|| unreachable!()),
            full: false,
        };
        let w = self.ensure(key).await?;
        Ok(Listed {
            items: items(&w),
            bodies: false,
        })
    }

    async fn apply(&self, object: &Value, opts: ApplyOptions) -> Result<Value, ClusterError> {
        let stored = self.inner.apply(object, opts).await?;
        if !opts.dry_run {
            if let Some(id) = ObjectRef::from_object(&stored) {
                for w in self.covering(&id) {
                    if w.key.selector.matches(&stored) {
                        if let Some((p, e)) = Entry::of(&stored, w.key.full) {
                            w.write().record(p, e);
                        }
                    } else {
                        w.write().delete(&place(&id));
                    }
                }
            }
        }
        Ok(stored)
    }

    async fn delete(&self, id: &ObjectRef) -> Result<(), ClusterError> {
        self.inner.delete(id).await?;
        for w in self.covering(id) {
            w.write().delete(&place(id));
        }
        Ok(())
    }

    fn recalls_unchanged(&self, id: &ObjectRef, rendered: &Value, live: &Value) -> bool {
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        secrets
            .get(id)
            .is_some_and(|r| self.memo.holds(r, rendered, live))
    }

    fn remember_unchanged(&self, id: &ObjectRef, rendered: &Value, live: &Value) {
        if let Some(record) = self.memo.record(rendered, live) {
            let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
            secrets.insert(id.clone(), record);
        }
    }

    fn drift_events(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.signals.drift.subscribe())
    }

    fn live_events(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.signals.events.subscribe())
    }

    async fn watch_bodies(&self, ids: &BTreeSet<ObjectRef>) -> Option<BodyWatch> {
        Some(BodyWatch::start(&self.inner, ids).await)
    }
}
