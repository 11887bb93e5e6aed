//! The failover loop (leader only, every `failover.checkInterval`, between
//! rollouts): for every app with `spec.failover` in the last good commit,
//! observe each placed cluster — reachable (a ping through the pooled
//! connection; with live watches it costs no request) and healthy (no
//! rendered workload of the app on it judged `Failed` by the health rules:
//! missing, ProgressDeadlineExceeded, …) — step the pure machine
//! ([`crate::rollout::failover`]) with the wall clock, persist and show
//! the state (`/api/status`, metrics, log), and on a failover or a return
//! roll the last good commit out again with the new failed set (an
//! input-change rollout, [`super::inputs`]); a returning cluster goes in
//! the first batch, so it is refilled before the others shrink.
//!
//! When that rollout fails, the decision is undone
//! ([`super::input_change`]).
//!
//! The loop runs in the worker between rollouts, so no failover change
//! is made while a rollout (a commit's or a failover's) runs.

use super::input_change::InputChange;
use super::inputs::failed_of;
use super::Daemon;
use crate::cluster::ClusterApi;
use crate::model::Failover;
use crate::object::ObjectRef;
use crate::plan::compute::Connections;
use crate::render::capacity::app::RenderInputs;
use crate::render::placement::placed_clusters;
use crate::revision::{short, Revision, Revisions};
use crate::rollout::clock::{Clock, SystemClock};
use crate::rollout::failover::{step, Decision, Observation};
use crate::rollout::gate::{check_cluster, GateTarget};
use crate::rollout::health::Health;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Longest wait for one cluster's ping.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// What one check decided, for the rollout that follows.
#[derive(Debug, Default, PartialEq, Eq)]
struct Changes {
    /// Some app's failed set changed.
    changed: bool,
    /// The cluster returning (refilled first).
    first: Option<String>,
}

impl Daemon {
    /// One check of every app with `spec.failover`; rolls out the change
    /// it decides, if any.
    pub(super) async fn check_failover(&self) {
        let Some(good) = self.memory().last_good else {
            return;
        };
        let rev = match self.source.revisions().read(&good) {
            Ok(rev) => rev,
            Err(e) => {
                tracing::warn!(commit = %short(&good), error = %e, "failover check: cannot read the last good commit");
                return;
            }
        };
        let policies: BTreeMap<String, Failover> = rev
            .fleet
            .apps
            .iter()
            .filter_map(|(name, a)| Some((name.clone(), a.placement.failover?)))
            .collect();
        let before = self.failover_states();
        if policies.is_empty() && before.is_empty() {
            return;
        }
        let placed = match placed_clusters(&rev.fleet) {
            Ok(p) => p,
            Err(errors) => {
                tracing::warn!(commit = %short(&good), problems = errors.len(), "failover check: placement of the last good commit fails");
                return;
            }
        };
        let clusters = self.connect(&rev).await;
        let now = SystemClock.now();
        let mut states = before.clone();
        states.retain(|app, _| policies.contains_key(app));
        let mut changes = Changes::default();
        for (app, policy) in &policies {
            let on = placed.get(app).cloned().unwrap_or_default();
            let observed = observe_app(&clusters, &rev, app, &on).await;
            let prev = states.get(app).cloned().unwrap_or_default();
            let (next, decisions) = step(&prev, policy, &on, &observed, now, false);
            for d in &decisions {
                record(app, d, &prev, &mut changes);
            }
            states.insert(app.clone(), next);
        }
        if states != before {
            if let Err(e) = self.state.save_failover(&states) {
                tracing::error!(error = %e, "cannot save the failover state; not acting on it");
                return;
            }
            self.live.load_failover(&states);
            self.metrics.set_failover(&states);
        }
        if !changes.changed {
            return;
        }
        let inputs = self.render_inputs(&rev, &clusters, false).await;
        drop(clusters);
        let why = match &changes.first {
            Some(c) => format!("{c} returns from failover"),
            None => "a cluster is failed over".to_string(),
        };
        let change = InputChange {
            before: RenderInputs {
                failed: failed_of(&before),
                ..inputs.clone()
            },
            inputs,
            failover_before: before,
            first: changes.first,
            why,
        };
        if let Err(e) = self.roll_inputs(&good, change).await {
            tracing::error!(commit = %short(&good), "failover rollout could not finish: {e}");
        }
    }
}

/// Logs one decision and notes what it changes.
fn record(
    app: &str,
    d: &Decision,
    prev: &crate::rollout::failover::FailoverState,
    changes: &mut Changes,
) {
    match d {
        Decision::FailOver { cluster, since } => {
            tracing::warn!(app, cluster, since = %crate::rollout::failover::rfc3339(*since),
                "failing over: the cluster's replicas move to the others");
            changes.changed = true;
        }
        Decision::Return { cluster } => {
            tracing::info!(
                app,
                cluster,
                "failover ends: git's split returns, the cluster first"
            );
            changes.changed = true;
            changes.first = Some(cluster.clone());
        }
        Decision::Refused { cluster, reason } => {
            // Said once per refusal, not at every check.
            if prev.refused.as_deref() != Some(reason.as_str()) {
                tracing::warn!(app, cluster, "{reason}");
            }
        }
    }
}

/// Observes `app` on each of `clusters_of_app` at once.
async fn observe_app(
    clusters: &Connections,
    rev: &Revision,
    app: &str,
    clusters_of_app: &BTreeSet<String>,
) -> BTreeMap<String, Observation> {
    let looks = clusters_of_app.iter().map(|c| async move {
        let api = clusters.get(c).and_then(|r| r.as_ref().ok());
        (
            c.clone(),
            observe(api.map(|a| a.as_ref()), rev, app, c).await,
        )
    });
    futures::future::join_all(looks).await.into_iter().collect()
}

/// Whether `cluster` answers, and whether `app`'s workloads there (as the
/// commit renders them without any failover) are not failed.
async fn observe(
    api: Option<&dyn ClusterApi>,
    rev: &Revision,
    app: &str,
    cluster: &str,
) -> Observation {
    const DOWN: Observation = Observation {
        reachable: false,
        healthy: false,
    };
    let Some(api) = api else { return DOWN };
    match tokio::time::timeout(PING_TIMEOUT, api.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(cluster, error = %e, "failover check: unreachable");
            return DOWN;
        }
        Err(_) => {
            tracing::debug!(cluster, "failover check: ping timed out");
            return DOWN;
        }
    }
    let kinds = &rev.fleet.kinds;
    let workloads: BTreeSet<ObjectRef> = rev
        .rendering
        .clusters
        .get(cluster)
        .and_then(|c| c.apps.get(app))
        .map(|a| {
            a.objects
                .iter()
                .filter(|o| kinds.is_workload(o.id.group(), &o.id.kind))
                .map(|o| o.id.clone())
                .collect()
        })
        .unwrap_or_default();
    let target = GateTarget {
        api,
        objects: &workloads,
        kinds,
    };
    let mut healthy = true;
    for (_, object, health) in check_cluster(&target, None).await {
        if let Health::Failed { reason } = health {
            tracing::debug!(cluster, app, %object, %reason, "failover check: unhealthy");
            healthy = false;
        }
    }
    Observation {
        reachable: true,
        healthy,
    }
}
