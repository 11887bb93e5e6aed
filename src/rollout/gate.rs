//! Waiting on the health gate after a batch: check every object the rollout
//! changed on the batch's clusters, judge them with the pure per-kind rules
//! ([`super::health::gate`]), within the policy's health timeout, then keep
//! judging through the bake time (a regression fails the gate). A cluster
//! without controllers (a directory) is healthy once written.

use super::event::{Observer, RolloutEvent};
use super::health::{evaluate_live, gate, GateVerdict, Health};
use super::record::Failure;
use crate::cluster::ClusterApi;
use crate::kinds::KindTable;
use crate::object::ObjectRef;
use futures::StreamExt;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Time between health checks of a gate (CLI and daemon).
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// Longest wait between checks when every cluster with controllers is
/// watched (events wake the gate sooner).
pub const WATCHED_SAFETY_NET: Duration = Duration::from_secs(5);

/// One cluster's share of a gate.
pub struct GateTarget<'a> {
    /// Cluster access.
    pub api: &'a dyn ClusterApi,
    /// Objects to watch.
    pub objects: &'a BTreeSet<ObjectRef>,
    /// The kind table that judges them (the fleet's: built-in kinds plus
    /// `WorkloadKind` policies).
    pub kinds: &'a KindTable,
}

/// Timing of a gate.
#[derive(Debug, Clone, Copy)]
pub struct GateTiming {
    /// How long objects may take to become healthy.
    pub timeout: Duration,
    /// How long they must then stay healthy.
    pub bake: Duration,
    /// Time between checks.
    pub poll: Duration,
}

/// Reads every watched object once and judges the lot. The reads of one
/// cluster go concurrently, up to its [`ClusterApi::max_in_flight`] (a
/// sequential read costs one round trip per object per check), and the
/// clusters of a gate concurrently; results keep the targets' order.
pub async fn check(targets: &[GateTarget<'_>]) -> GateVerdict {
    let per_cluster = targets
        .iter()
        .filter(|t| t.api.has_controllers())
        .map(check_cluster);
    let results: Vec<_> = futures::future::join_all(per_cluster)
        .await
        .into_iter()
        .flatten()
        .collect();
    gate(&results)
}

/// Reads and judges the objects of one cluster, in order.
async fn check_cluster(t: &GateTarget<'_>) -> Vec<(String, ObjectRef, Health)> {
    let cluster = t.api.name().to_string();
    futures::stream::iter(t.objects)
        .map(|id| async {
            let health = match t.api.get(id).await {
                Ok(live) => evaluate_live(t.kinds, live.as_ref()),
                Err(e) if e.is_unreachable() => Health::Failed {
                    reason: "cluster unreachable".into(),
                },
                Err(e) => Health::Failed {
                    reason: e.to_string(),
                },
            };
            (cluster.clone(), id.clone(), health)
        })
        .buffered(t.api.max_in_flight().max(1))
        .collect()
        .await
}

/// One check during the bake time: the object that regressed, if any.
pub async fn regression(targets: &[GateTarget<'_>]) -> Option<Failure> {
    if targets.iter().all(|t| !t.api.has_controllers()) {
        return None;
    }
    failure(check(targets).await, true)
}

fn failure(verdict: GateVerdict, during_bake: bool) -> Option<Failure> {
    match verdict {
        GateVerdict::Passed => None,
        GateVerdict::Failed {
            cluster,
            object,
            reason,
        } => Some(Failure {
            cluster,
            object: Some(object.to_string()),
            reason,
        }),
        GateVerdict::Waiting { pending } => pending.into_iter().next().map(|p| Failure {
            cluster: p.cluster,
            object: Some(p.object.to_string()),
            reason: if during_bake {
                format!("regressed during bake time: {}", p.reason)
            } else {
                p.reason
            },
        }),
    }
}

/// How waiting on a gate ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateEnd {
    /// Healthy, and stayed healthy through the bake time.
    Passed,
    /// An object failed, timed out or regressed.
    Failed(Failure),
    /// Stopped from outside (shutdown, lost leadership) before a verdict.
    Halted,
}

/// Waits until every target is healthy, then bakes. Fails on the first
/// failed object, on timeout (naming what was still pending), or on any
/// regression during the bake. Checks `halt` between polls.
pub async fn wait(
    targets: &[GateTarget<'_>],
    timing: GateTiming,
    index: usize,
    observer: &dyn Observer,
    halt: Option<&AtomicBool>,
) -> GateEnd {
    match wait_inner(targets, timing, index, observer, halt).await {
        Ok(true) => GateEnd::Passed,
        Ok(false) => GateEnd::Halted,
        Err(f) => GateEnd::Failed(f),
    }
}

async fn wait_inner(
    targets: &[GateTarget<'_>],
    timing: GateTiming,
    index: usize,
    observer: &dyn Observer,
    halt: Option<&AtomicBool>,
) -> Result<bool, Failure> {
    let halted = || halt.is_some_and(|h| h.load(Ordering::Acquire));
    if targets.iter().all(|t| !t.api.has_controllers()) {
        // Nothing runs the objects (directory clusters): written is healthy,
        // and there is nothing that could regress while baking.
        return Ok(true);
    }
    let deadline = Instant::now() + timing.timeout;
    loop {
        if halted() {
            return Ok(false);
        }
        let mut events = Events::subscribe(targets, timing.poll);
        match check(targets).await {
            GateVerdict::Passed => break,
            GateVerdict::Waiting { pending } if Instant::now() < deadline => {
                let lines = pending
                    .iter()
                    .map(|p| format!("{} {}: {}", p.cluster, p.object, p.reason))
                    .collect();
                observer.on_event(&RolloutEvent::GateWaiting {
                    index,
                    pending: lines,
                });
                events.next(None).await;
            }
            verdict => {
                return Err(
                    failure(verdict.timed_out(timing.timeout), false).unwrap_or_else(unknown)
                )
            }
        }
    }
    if timing.bake.is_zero() {
        return Ok(true);
    }
    observer.on_event(&RolloutEvent::Baking {
        index,
        bake: timing.bake,
    });
    let bake_end = Instant::now() + timing.bake;
    let mut events = Events::subscribe(targets, timing.poll);
    while Instant::now() < bake_end {
        events.next(Some(bake_end)).await;
        if halted() {
            return Ok(false);
        }
        if let Some(f) = failure(check(targets).await, true) {
            return Err(f);
        }
    }
    Ok(true)
}

/// What wakes a gate for its next check: a watch event on one of its
/// clusters, or the poll interval (the safety net when all are watched).
struct Events {
    receivers: Vec<tokio::sync::watch::Receiver<u64>>,
    wait: Duration,
}

impl Events {
    /// Subscribes before a check, so no event after it is missed.
    fn subscribe(targets: &[GateTarget<'_>], poll: Duration) -> Events {
        let with_controllers: Vec<_> = targets.iter().filter(|t| t.api.has_controllers()).collect();
        let receivers: Vec<_> = with_controllers
            .iter()
            .filter_map(|t| t.api.live_events())
            .collect();
        let all_watched = !receivers.is_empty() && receivers.len() == with_controllers.len();
        Events {
            receivers,
            wait: match all_watched {
                true => WATCHED_SAFETY_NET.max(poll),
                false => poll,
            },
        }
    }

    /// Waits for the next event (or the interval, or `until`).
    async fn next(&mut self, until: Option<Instant>) {
        let mut sleep_for = self.wait;
        if let Some(end) = until {
            sleep_for = sleep_for.min(end.saturating_duration_since(Instant::now()));
        }
        if self.receivers.is_empty() {
            tokio::time::sleep(sleep_for).await;
            return;
        }
        // Not empty, so select_all has something to select from.
        let changed = futures::future::select_all(
            self.receivers
                .iter_mut()
                .map(|r| Box::pin(async move { r.changed().await.is_ok() })),
        );
        let ended = tokio::select! {
            (ok, _, _) = changed => !ok,
            _ = tokio::time::sleep(sleep_for) => false,
        };
        if ended {
            // The connection (and its watches) went away: poll from now on.
            self.receivers.clear();
            self.wait = self.wait.min(DEFAULT_POLL);
        }
    }
}

fn unknown() -> Failure {
    Failure {
        cluster: String::new(),
        object: None,
        reason: "health gate failed".into(),
    }
}
