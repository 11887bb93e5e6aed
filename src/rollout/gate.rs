//! Waiting on the health gate after a batch: check every object the rollout
//! changed on the batch's clusters, judge them with the pure per-kind rules
//! ([`super::health::gate`]), within the policy's health timeout, then keep
//! judging through the bake time (a regression fails the gate). A cluster
//! without controllers (a directory) is healthy once written.
//!
//! While it waits, the gate watches the gated objects' kinds (whole
//! objects, tranche's only: [`ClusterApi::watch_bodies`]) and judges them
//! from the watches, re-checking on every event: no request per object per
//! check, and a pass the moment the watches show every object healthy. An
//! object no healthy watch holds is read with a GET; a cluster whose
//! watches do not cover its objects is polled every `poll`. The safety
//! net: a check woken by the interval (no event) [`WATCHED_SAFETY_NET`]
//! after the last full read, and the check before a timeout, read every
//! object with GETs, so a watch that stalls silently cannot hold a gate.

use super::event::{Observer, RolloutEvent};
use super::health::{evaluate_live, gate, GateVerdict, Health};
use super::record::Failure;
use crate::cluster::bounded::map_bounded;
use crate::cluster::watch::BodyWatch;
use crate::cluster::ClusterApi;
use crate::kinds::KindTable;
use crate::object::ObjectRef;
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
    check_with(targets, &[]).await
}

/// [`check`], reading from `watches` (by target, see [`start_watches`])
/// what they hold.
async fn check_with(targets: &[GateTarget<'_>], watches: &[Option<BodyWatch>]) -> GateVerdict {
    let per_cluster = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.api.has_controllers())
        .map(|(i, t)| check_cluster(t, watches.get(i).and_then(Option::as_ref)));
    let results: Vec<_> = futures::future::join_all(per_cluster)
        .await
        .into_iter()
        .flatten()
        .collect();
    gate(&results)
}

/// Reads and judges the objects of one cluster, in order: from `watch`
/// where it holds them, else with a GET (concurrently, within the
/// cluster's in-flight bound; a failed read judges the object `Failed`).
pub async fn check_cluster(
    t: &GateTarget<'_>,
    watch: Option<&BodyWatch>,
) -> Vec<(String, ObjectRef, Health)> {
    let cluster = t.api.name().to_string();
    map_bounded(t.objects, t.api.max_in_flight(), |id| {
        let cluster = cluster.clone();
        async move {
            if let Some(live) = watch.and_then(|w| w.lookup(id)) {
                return (cluster, id.clone(), evaluate_live(t.kinds, Some(&live)));
            }
            let health = match t.api.get(id).await {
                Ok(live) => evaluate_live(t.kinds, live.as_ref()),
                Err(e) if e.is_unreachable() => Health::Failed {
                    reason: "cluster unreachable".into(),
                },
                Err(e) => Health::Failed {
                    reason: e.to_string(),
                },
            };
            (cluster, id.clone(), health)
        }
    })
    .await
}

/// Starts the watches of each target's objects (by target; `None` for a
/// cluster without controllers or watches), all clusters at once.
async fn start_watches(targets: &[GateTarget<'_>]) -> Vec<Option<BodyWatch>> {
    futures::future::join_all(targets.iter().map(|t| async {
        match t.api.has_controllers() && !t.objects.is_empty() {
            true => t.api.watch_bodies(t.objects).await,
            false => None,
        }
    }))
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
    let watches = start_watches(targets).await;
    let mut reads = Reads::new(&watches);
    let mut by_event = true;
    loop {
        if halted() {
            return Ok(false);
        }
        let mut events = Events::subscribe(targets, &watches, timing.poll);
        let mut verdict = check_with(targets, reads.choose(by_event)).await;
        if Instant::now() >= deadline && !matches!(verdict, GateVerdict::Passed) {
            // Timing out on what a watch said: read once more to be sure.
            verdict = check(targets).await;
        }
        match verdict {
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
                by_event = events.next(None).await;
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
    let mut events = Events::subscribe(targets, &watches, timing.poll);
    while Instant::now() < bake_end {
        let by_event = events.next(Some(bake_end)).await;
        if halted() {
            return Ok(false);
        }
        // Subscribed before the check, so no event after it is missed.
        events = Events::subscribe(targets, &watches, timing.poll);
        let verdict = check_with(targets, reads.choose(by_event)).await;
        if let Some(f) = failure(verdict, true) {
            return Err(f);
        }
    }
    Ok(true)
}

/// Which reads a check makes: from the watches, except when the gate was
/// woken by its interval (no event) at least [`WATCHED_SAFETY_NET`] after
/// the last check that read everything with GETs, so a watch that stalls
/// silently cannot hold a gate (the safety net).
struct Reads<'w> {
    watches: &'w [Option<BodyWatch>],
    last_full: Instant,
}

impl<'w> Reads<'w> {
    fn new(watches: &'w [Option<BodyWatch>]) -> Reads<'w> {
        Reads {
            watches,
            last_full: Instant::now(),
        }
    }

    /// The watches to read from (none: GET everything).
    fn choose(&mut self, by_event: bool) -> &'w [Option<BodyWatch>] {
        if by_event || self.last_full.elapsed() < WATCHED_SAFETY_NET {
            return self.watches;
        }
        self.last_full = Instant::now();
        &[]
    }
}

/// What wakes a gate for its next check: a watch event on one of its
/// clusters, or the poll interval (the safety net when every cluster's
/// objects are watched).
struct Events {
    receivers: Vec<tokio::sync::watch::Receiver<u64>>,
    wait: Duration,
}

impl Events {
    /// Subscribes before a check, so no event after it is missed.
    fn subscribe(
        targets: &[GateTarget<'_>],
        watches: &[Option<BodyWatch>],
        poll: Duration,
    ) -> Events {
        let mut receivers = Vec::new();
        let mut all_watched = true;
        for (i, t) in targets.iter().enumerate() {
            if !t.api.has_controllers() {
                continue;
            }
            let body = watches.get(i).and_then(Option::as_ref);
            let mut watched = false;
            if let Some(w) = body.filter(|w| !w.is_empty()) {
                receivers.push(w.events());
                watched = w.covers(t.objects);
            }
            if let Some(r) = t.api.live_events() {
                receivers.push(r);
                watched = true;
            }
            all_watched &= watched;
        }
        let all_watched = all_watched && !receivers.is_empty();
        Events {
            receivers,
            wait: match all_watched {
                true => WATCHED_SAFETY_NET.max(poll),
                false => poll,
            },
        }
    }

    /// Waits for the next event (or the interval, or `until`); whether an
    /// event woke it.
    async fn next(&mut self, until: Option<Instant>) -> bool {
        let mut sleep_for = self.wait;
        if let Some(end) = until {
            sleep_for = sleep_for.min(end.saturating_duration_since(Instant::now()));
        }
        if self.receivers.is_empty() {
            tokio::time::sleep(sleep_for).await;
            return false;
        }
        // Not empty, so select_all has something to select from.
        let changed = futures::future::select_all(
            self.receivers
                .iter_mut()
                .map(|r| Box::pin(async move { r.changed().await.is_ok() })),
        );
        let (by_event, ended) = tokio::select! {
            (ok, _, _) = changed => (ok, !ok),
            _ = tokio::time::sleep(sleep_for) => (false, false),
        };
        if ended {
            // The connection (and its watches) went away: poll from now on.
            self.receivers.clear();
            self.wait = self.wait.min(DEFAULT_POLL);
        }
        by_event
    }
}

fn unknown() -> Failure {
    Failure {
        cluster: String::new(),
        object: None,
        reason: "health gate failed".into(),
    }
}
