//! What wakes the worker: a ref change in a local repository (notify,
//! debounced), the poll interval (remote repositories, and a safety net),
//! a verified webhook push, the resync interval, or a watch event that
//! may be drift.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// Why the worker woke up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Something under `.git` changed (a commit, a merge, a fetch).
    RefChanged,
    /// The poll interval elapsed.
    Poll,
    /// A forge pushed to a ref.
    Webhook {
        /// Full ref name.
        git_ref: String,
    },
    /// Time to look for drift.
    Resync,
    /// Time to check the placed clusters of apps with `spec.failover`.
    Failover,
    /// Time to recompute weights by free capacity.
    Weights,
    /// A watched object of tranche's changed on this cluster: look for
    /// drift now.
    Drift {
        /// Cluster name.
        cluster: String,
    },
}

impl Trigger {
    /// Whether this asks for a drift check (resync).
    pub fn checks_drift(&self) -> bool {
        matches!(self, Trigger::Resync | Trigger::Drift { .. })
    }
}

/// Watches `.git` directories; events are forwarded (the worker debounces
/// by draining the channel). Keep the returned watcher alive.
pub fn watch_refs(
    paths: &[PathBuf],
    tx: mpsc::UnboundedSender<Trigger>,
) -> notify::Result<Option<RecommendedWatcher>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        let relevant = event.paths.iter().any(|p| {
            let s = p.to_string_lossy();
            (s.contains("/refs/") || s.ends_with("HEAD") || s.ends_with("packed-refs"))
                && !s.ends_with(".lock")
        });
        if relevant {
            let _ = tx.send(Trigger::RefChanged);
        }
    })?;
    for p in paths {
        watcher.watch(p, RecursiveMode::Recursive)?;
    }
    Ok(Some(watcher))
}

/// Sends `trigger` every `every` (never when `every` is zero).
pub fn every(every: Duration, trigger: Trigger, tx: mpsc::UnboundedSender<Trigger>) {
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            if tx.send(trigger.clone()).is_err() {
                return;
            }
        }
    });
}

/// Waits a little for more triggers and merges them (a `git commit` touches
/// several files), returning whether a resync was among them.
pub async fn debounce(first: Trigger, rx: &mut mpsc::UnboundedReceiver<Trigger>) -> Vec<Trigger> {
    let mut all = vec![first];
    let quiet = Duration::from_millis(150);
    while let Ok(Some(t)) = tokio::time::timeout(quiet, rx.recv()).await {
        all.push(t);
        if all.len() > 1000 {
            break;
        }
    }
    all
}
