//! One running watch: a kube-rs watcher (metadata-only, or whole objects
//! for tranche's inventories) feeding a [`WatchStore`].
//!
//! kube-rs's watcher lists, then watches from the list's resourceVersion,
//! resumes from the last version it saw when the connection drops, and
//! relists when the apiserver answers 410 Gone; errors are retried with
//! its default backoff. The first list and every relist hold a permit of
//! the cluster's in-flight bound; the watch streams that follow do not
//! (they would hold it for ever).

use super::selector::Selector;
use super::store::{Entry, WatchStore};
use futures::{Stream, StreamExt};
use kube::api::DynamicObject;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;
use serde::Serialize;
use serde_json::Value;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{watch as signal, Semaphore};

/// What one watch covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WatchKey {
    /// apiVersion asked for.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// One namespace, or all.
    pub namespace: Option<String>,
    /// Label selector.
    pub selector: Selector,
    /// Whole objects (else metadata only).
    pub full: bool,
}

/// Where the first list stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// Still listing.
    Listing,
    /// Listed: the store answers.
    Synced,
    /// The first list failed (RBAC, a kind gone): not used.
    Failed(String),
}

/// A watch's shared state.
#[derive(Debug)]
pub struct Watched {
    /// What it covers.
    pub key: WatchKey,
    /// What it holds.
    pub store: RwLock<WatchStore>,
    /// The first list's outcome.
    pub sync: signal::Sender<Sync>,
    /// The last thing the stream said was an event, not an error.
    pub healthy: AtomicBool,
}

impl Watched {
    /// A new, unsynced watch of `key`.
    pub fn new(key: WatchKey) -> Watched {
        Watched {
            key,
            store: RwLock::new(WatchStore::default()),
            sync: signal::channel(Sync::Listing).0,
            healthy: AtomicBool::new(false),
        }
    }

    /// The store, for reading (a poisoned lock is still read: the store
    /// is never left half-written by a panic between its calls).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, WatchStore> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, for writing.
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, WatchStore> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counters the cluster's watches move (see
/// [`crate::cluster::ClusterApi::drift_events`] and `live_events`).
#[derive(Debug, Clone)]
pub struct Signals {
    /// Changes that can be drift.
    pub drift: Arc<signal::Sender<u64>>,
    /// Every event.
    pub events: Arc<signal::Sender<u64>>,
}

type Events = Pin<Box<dyn Stream<Item = Result<Event<Value>, watcher::Error>> + Send>>;

fn as_values<K: Serialize>(event: Event<K>) -> Event<Value> {
    let v = |k: K| serde_json::to_value(k).unwrap_or(Value::Null);
    match event {
        Event::Apply(k) => Event::Apply(v(k)),
        Event::Delete(k) => Event::Delete(v(k)),
        Event::Init => Event::Init,
        Event::InitApply(k) => Event::InitApply(v(k)),
        Event::InitDone => Event::InitDone,
    }
}

fn events(api: Api<DynamicObject>, key: &WatchKey) -> Events {
    let config = watcher::Config::default().labels(&key.selector.to_query());
    if key.full {
        watcher::watcher(api, config)
            .default_backoff()
            .map(|r| r.map(as_values))
            .boxed()
    } else {
        // The metadata-only form for dynamic objects (kube 5 deprecates it
        // in favour of `Api<PartialObjectMeta<K>>`, which dynamic APIs
        // cannot build from an `ApiResource` as simply).
        #[allow(deprecated)]
        let stream = kube::runtime::metadata_watcher(api, config);
        stream.default_backoff().map(|r| r.map(as_values)).boxed()
    }
}

/// Runs the watch until the task is aborted.
pub async fn run(
    cluster: String,
    api: Api<DynamicObject>,
    watched: Arc<Watched>,
    permits: Arc<Semaphore>,
    signals: Signals,
) {
    let key = watched.key.clone();
    let mut stream = events(api, &key);
    // Never closed, so this always holds a permit.
    let mut first_list = Some(permits.clone().acquire_owned().await);
    let mut relist = None;
    let bump = |s: &signal::Sender<u64>| s.send_modify(|n| *n = n.wrapping_add(1));
    while let Some(item) = stream.next().await {
        let event = match item {
            Ok(event) => event,
            Err(e) => {
                watched.healthy.store(false, Ordering::Release);
                tracing::debug!(%cluster, kind = %key.kind, error = %e, "watch error; retrying");
                if first_list.take().is_some() {
                    watched.sync.send_replace(Sync::Failed(e.to_string()));
                    return;
                }
                continue;
            }
        };
        watched.healthy.store(true, Ordering::Release);
        // A relist (after 410 Gone) holds a permit too: kube-rs's watcher
        // announces it before sending the list, which goes out only when
        // the stream is polled again.
        if matches!(event, Event::Init) && first_list.is_none() {
            relist = Some(permits.clone().acquire_owned().await);
        }
        let full = key.full;
        let drifted = {
            let mut store = watched.write();
            match event {
                Event::Apply(o) => Entry::of(&o, full).is_some_and(|(p, e)| store.apply(p, e)),
                Event::Delete(o) => Entry::of(&o, false).is_some_and(|(p, _)| store.delete(&p)),
                Event::Init => {
                    store.init();
                    false
                }
                Event::InitApply(o) => {
                    if let Some((p, e)) = Entry::of(&o, full) {
                        store.init_apply(p, e);
                    }
                    false
                }
                Event::InitDone => {
                    let drifted = store.init_done();
                    first_list = None;
                    drop(relist.take());
                    watched.sync.send_replace(Sync::Synced);
                    drifted
                }
            }
        };
        if drifted {
            tracing::debug!(%cluster, kind = %key.kind, "watched object changed");
            bump(&signals.drift);
        }
        bump(&signals.events);
    }
}
