//! Failover as a pure state machine, one per app with `spec.failover`:
//! `(previous state, observations, now) → (state, decisions)`.
//!
//! A cluster is *up* when it is reachable and the app's workload on it is
//! healthy; a cluster with no observation counts as down. The machine
//! keeps, per placed cluster, whether it was last seen up and since when
//! (times from the injected [`super::clock::Clock`], unix seconds):
//!
//! - a cluster down for at least `after` is failed over: its replicas are
//!   split over the other clusters ([`FailoverState::failed`] is what
//!   render takes);
//! - a failed-over cluster up again for at least `after` returns;
//! - a change of state shorter than `after` (flapping) changes nothing,
//!   because every change restarts the cluster's `since`;
//! - at most one failover change per step, and none while the previous
//!   one is still rolling out (`busy`); a return goes before a failover
//!   (it gives capacity back), then the cluster down longest;
//! - a failover that would leave fewer than `minClusters` clusters with
//!   replicas is refused and reported ([`Decision::Refused`]) instead.

use crate::model::Failover;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[cfg(test)]
mod tests;

/// What the daemon saw of one cluster for one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The cluster's apiserver answers (its watches are live).
    pub reachable: bool,
    /// The app's workloads on it are healthy.
    pub healthy: bool,
}

impl Observation {
    /// Reachable and healthy.
    pub fn up(self) -> bool {
        self.reachable && self.healthy
    }
}

/// Whether a cluster was last seen up, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Last observation was up.
    pub up: bool,
    /// Unix seconds of the first observation in this state.
    pub since: u64,
}

/// One app's failover state, persisted in the rollout state store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverState {
    /// Per placed cluster: last seen up or down, since when.
    #[serde(default)]
    pub seen: BTreeMap<String, Seen>,
    /// Failed-over clusters and the unix seconds they went down.
    #[serde(default)]
    pub failed: BTreeMap<String, u64>,
    /// The last refusal, reported until the situation changes.
    #[serde(default)]
    pub refused: Option<String>,
    /// Why the last failover change was rolled back (its input-change
    /// rollout failed), reported until the machine decides another one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<String>,
}

/// A change the machine decided (or refused) in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `cluster` has been down since `since`: its replicas move.
    FailOver {
        /// The failed cluster.
        cluster: String,
        /// When it went down (unix seconds).
        since: u64,
    },
    /// `cluster` has been up long enough: git's split returns for it.
    Return {
        /// The returning cluster (refilled first).
        cluster: String,
    },
    /// `cluster` should fail over but `minClusters` forbids it.
    Refused {
        /// The cluster left in place.
        cluster: String,
        /// Why, for status and logs.
        reason: String,
    },
}

impl FailoverState {
    /// The failed-over clusters (what render splits around).
    pub fn failed_set(&self) -> BTreeSet<String> {
        self.failed.keys().cloned().collect()
    }

    /// `failover active for c1 since 2026-12-02T12:00:00Z; …`, or `None`
    /// when no cluster is failed over.
    pub fn describe(&self) -> Option<String> {
        if self.failed.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .failed
            .iter()
            .map(|(c, since)| format!("failover active for {c} since {}", rfc3339(*since)))
            .collect();
        Some(parts.join("; "))
    }
}

/// `before`, the state an app had before a failover change whose rollout
/// failed at `now`, as the machine continues from: the failed set of
/// `before`, every cluster whose failover changed seen again in its
/// current state since `now` (so it must stay so for another `after`
/// before the change is tried again), and `rolled_back` reported.
pub fn roll_back(
    before: &FailoverState,
    after: &FailoverState,
    now: u64,
    why: &str,
) -> FailoverState {
    let mut state = after.clone();
    let changed: Vec<String> = before
        .failed
        .keys()
        .filter(|c| !after.failed.contains_key(*c))
        .chain(
            after
                .failed
                .keys()
                .filter(|c| !before.failed.contains_key(*c)),
        )
        .cloned()
        .collect();
    for c in &changed {
        if let Some(seen) = state.seen.get_mut(c) {
            seen.since = now;
        }
    }
    state.failed = before.failed.clone();
    let what: Vec<String> = changed
        .iter()
        .map(|c| {
            if before.failed.contains_key(c) {
                format!("return of {c} rolled back: {why}")
            } else {
                format!("failover of {c} rolled back: {why}")
            }
        })
        .collect();
    state.rolled_back = Some(what.join("; ")).filter(|s| !s.is_empty());
    state
}

/// A commit status description with the app's active failovers appended:
/// `deployed to 3 cluster(s); failover active for c1 since …`.
pub fn status_description(base: &str, state: &FailoverState) -> String {
    match state.describe() {
        Some(active) => format!("{base}; {active}"),
        None => base.to_string(),
    }
}

/// Unix seconds as RFC 3339 (UTC, seconds).
pub fn rfc3339(secs: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// One step of the machine for an app placed on `placed` (git's clusters),
/// given what was observed at `now`. `busy`: the previous failover change
/// is still rolling out, so no new change is made (times are still
/// tracked). Returns the new state and what was decided.
pub fn step(
    prev: &FailoverState,
    policy: &Failover,
    placed: &BTreeSet<String>,
    observed: &BTreeMap<String, Observation>,
    now: u64,
    busy: bool,
) -> (FailoverState, Vec<Decision>) {
    let after = policy.after.as_secs();
    let mut next = FailoverState {
        seen: BTreeMap::new(),
        // A cluster no longer placed by git is no longer failed over.
        failed: prev
            .failed
            .iter()
            .filter(|(c, _)| placed.contains(*c))
            .map(|(c, s)| (c.clone(), *s))
            .collect(),
        refused: None,
        rolled_back: prev.rolled_back.clone(),
    };
    for cluster in placed {
        let up = observed.get(cluster).is_some_and(|o| o.up());
        let seen = match prev.seen.get(cluster) {
            Some(s) if s.up == up => *s,
            _ => Seen { up, since: now },
        };
        next.seen.insert(cluster.clone(), seen);
    }
    let lasted = |s: &Seen| now.saturating_sub(s.since) >= after;
    if busy {
        next.refused = prev.refused.clone();
        return (next, Vec::new());
    }
    let returning = next
        .failed
        .keys()
        .filter(|c| next.seen.get(*c).is_some_and(|s| s.up && lasted(s)))
        .min()
        .cloned();
    if let Some(cluster) = returning {
        next.failed.remove(&cluster);
        next.rolled_back = None;
        return (next, vec![Decision::Return { cluster }]);
    }
    let mut down: Vec<(u64, &String)> = next
        .seen
        .iter()
        .filter(|(c, s)| !s.up && lasted(s) && !next.failed.contains_key(*c))
        .map(|(c, s)| (s.since, c))
        .collect();
    down.sort();
    let Some((since, cluster)) = down.first().map(|(s, c)| (*s, (*c).clone())) else {
        return (next, Vec::new());
    };
    let left = placed.len().saturating_sub(next.failed.len() + 1);
    if left < policy.min_clusters {
        let reason = format!(
            "failover of {cluster} refused: it would leave {left} cluster(s), below \
             minClusters {}",
            policy.min_clusters
        );
        next.refused = Some(reason.clone());
        return (next, vec![Decision::Refused { cluster, reason }]);
    }
    next.failed.insert(cluster.clone(), since);
    next.rolled_back = None;
    (next, vec![Decision::FailOver { cluster, since }])
}
