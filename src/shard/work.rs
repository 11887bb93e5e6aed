//! Performing one shard task on one cluster: apply the plan's commit and
//! gate it, or restore what the cluster ran before. The same building
//! blocks as the unsharded rollout ([`plan_clusters`], [`apply_cluster`],
//! [`gate::wait`]); whatever goes wrong becomes the cluster's entry.

use super::protocol::{Before, ClusterEntry, ClusterState, Task};
use crate::apply::apply_cluster;
use crate::cluster::ClusterApi;
use crate::inventory;
use crate::object::ObjectRef;
use crate::plan::compute::{plan_clusters, Connections};
use crate::render::Rendering;
use crate::revision::{Revision, Revisions};
use crate::rollout::event::Silent;
use crate::rollout::gate::{self, GateEnd, GateTarget, GateTiming};
use crate::rollout::restore::restore_target;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// A pass's shared inputs.
pub(super) struct Work<'a> {
    pub(super) connections: &'a Connections,
    pub(super) rev: &'a Revision,
    pub(super) batch: usize,
    pub(super) poll: Duration,
    pub(super) halt: &'a AtomicBool,
    pub(super) revisions: &'a dyn Revisions,
}

impl Work<'_> {
    fn api(&self, cluster: &str) -> Option<&dyn ClusterApi> {
        self.connections
            .get(cluster)
            .and_then(|c| c.as_ref().ok())
            .map(|a| a.as_ref())
    }

    /// Performs one task, `recorded` being what the status says the
    /// cluster ran before; `None` when halted.
    pub(super) async fn perform(
        &self,
        task: &Task,
        recorded: Option<Before>,
    ) -> Option<(String, ClusterEntry)> {
        match task {
            Task::Apply { cluster, before } => {
                let what = recorded.unwrap_or_else(|| Before::Unknown("not read".into()));
                // A cluster an earlier holder left half-way (its entry was
                // already `applying`): its changes may already be written.
                let resumed = before.is_some();
                let entry = self.apply(cluster, what, resumed).await?;
                Some((cluster.clone(), entry))
            }
            Task::Restore { cluster, before } => {
                let entry = self.restore(cluster, before).await?;
                Some((cluster.clone(), entry))
            }
        }
    }

    fn timing(&self, bake: Duration) -> GateTiming {
        GateTiming {
            timeout: self.rev.fleet.policies.rollout.health_timeout,
            bake,
            poll: self.poll,
        }
    }

    /// Plans, applies and gates `cluster` at the plan's commit.
    async fn apply(&self, cluster: &str, before: Before, resumed: bool) -> Option<ClusterEntry> {
        let rev = self.rev;
        if !rendered(&rev.rendering, cluster) {
            return Some(failed(Some(before), NOT_RENDERED));
        }
        let names = [cluster.to_string()];
        let policies = &rev.fleet.policies;
        let plan = plan_clusters(self.connections, &names, &rev.rendering, policies, 1)
            .await
            .pop();
        let (Some(plan), Some(api)) = (plan, self.api(cluster)) else {
            return Some(failed(Some(before), "not connected"));
        };
        if !plan.reachable || plan.error.is_some() {
            let why = plan.error.clone().unwrap_or_else(|| "unreachable".into());
            return Some(failed(Some(before), &why));
        }
        let mut watched: BTreeSet<ObjectRef> = BTreeSet::new();
        if resumed {
            watched.extend(desired_ids(&rev.rendering, cluster));
        }
        let changed = !plan.is_empty();
        if changed {
            let report = apply_cluster(api, &plan, &rev.commit, &policies.rollout).await;
            if report.failed() {
                let why = report
                    .first_failure()
                    .unwrap_or_else(|| "apply failed".into());
                let mut entry = failed(Some(before), &why);
                entry.changed = true;
                return Some(entry);
            }
            watched.extend(report.changed().into_iter().cloned());
        }
        let targets = [GateTarget {
            api,
            objects: &watched,
            kinds: &rev.fleet.kinds,
        }];
        let timing = self.timing(policies.rollout.bake_time);
        let end = gate::wait(&targets, timing, self.batch, &Silent, Some(self.halt)).await;
        let (state, reason) = match end {
            GateEnd::Passed => (ClusterState::Healthy, None),
            GateEnd::Failed(f) => (ClusterState::Failed, Some(f.to_string())),
            GateEnd::Halted => return None,
        };
        Some(ClusterEntry {
            state,
            before,
            changed: changed || resumed,
            reason,
        })
    }

    /// Re-applies what `cluster` ran before (nothing: prunes tranche's
    /// objects) and gates what that changed, without bake.
    async fn restore(&self, cluster: &str, before: &Before) -> Option<ClusterEntry> {
        let back = |state, reason: Option<String>| ClusterEntry {
            state,
            before: before.clone(),
            changed: true,
            reason,
        };
        let to = match before {
            Before::Unknown(why) => {
                let why = format!("what it ran before is unknown ({why}): left as it is");
                return Some(back(ClusterState::RollbackFailed, Some(why)));
            }
            Before::Commit(c) => Some(c.as_str()),
            Before::Nothing => None,
        };
        let target = restore_target(to, |commit| self.revisions.read(commit));
        let (rendering, policies, kinds) = match target {
            Ok(target) => target,
            Err(why) => return Some(back(ClusterState::RollbackFailed, Some(why))),
        };
        // Restoring "nothing" renders nothing: only a commit must hold it.
        if to.is_some() && !rendered(&rendering, cluster) {
            return Some(back(
                ClusterState::RollbackFailed,
                Some(NOT_RENDERED.into()),
            ));
        }
        let names = [cluster.to_string()];
        let plan = plan_clusters(self.connections, &names, &rendering, &policies, 1)
            .await
            .pop();
        let (Some(plan), Some(api)) = (plan, self.api(cluster)) else {
            return Some(back(
                ClusterState::RollbackFailed,
                Some("not connected".into()),
            ));
        };
        let report = apply_cluster(api, &plan, to.unwrap_or(""), &policies.rollout).await;
        if report.failed() {
            let why = report
                .first_failure()
                .unwrap_or_else(|| "rollback failed".into());
            return Some(back(ClusterState::RollbackFailed, Some(why)));
        }
        let changed: BTreeSet<ObjectRef> = report.changed().into_iter().cloned().collect();
        let targets = [GateTarget {
            api,
            objects: &changed,
            kinds: &kinds,
        }];
        let timing = GateTiming {
            timeout: policies.rollout.health_timeout,
            bake: Duration::ZERO,
            poll: self.poll,
        };
        match gate::wait(&targets, timing, 0, &Silent, Some(self.halt)).await {
            GateEnd::Passed => Some(back(ClusterState::RolledBack, None)),
            GateEnd::Failed(f) => Some(back(
                ClusterState::RollbackFailed,
                Some(format!("restored but not healthy: {f}")),
            )),
            GateEnd::Halted => None,
        }
    }
}

/// Why a cluster outside this replica's rendering is not written (its
/// shard count differs from the coordinator's): planned against nothing,
/// it would look empty and be pruned.
const NOT_RENDERED: &str = "not rendered by this shard replica (check sharding.shards)";

/// Whether `rendering` holds `cluster` (a scoped one holds only the
/// shard's clusters).
pub(super) fn rendered(rendering: &Rendering, cluster: &str) -> bool {
    rendering.clusters.contains_key(cluster)
}

/// The cluster a task is about.
pub(super) fn task_cluster(task: &Task) -> &str {
    match task {
        Task::Apply { cluster, .. } | Task::Restore { cluster, .. } => cluster,
    }
}

/// A failed entry.
pub(super) fn failed(before: Option<Before>, why: &str) -> ClusterEntry {
    ClusterEntry {
        state: ClusterState::Failed,
        before: before.unwrap_or_else(|| Before::Unknown("not read".into())),
        changed: false,
        reason: Some(why.to_string()),
    }
}

/// What `cluster` runs now, from its cluster record; a failed read is
/// `Unknown`, never "nothing".
pub(super) async fn read_before(connections: &Connections, cluster: &str) -> Before {
    let Some(Ok(api)) = connections.get(cluster) else {
        return Before::Unknown("not connected".into());
    };
    match inventory::cluster_commit(api.as_ref()).await {
        Ok(Some(commit)) => Before::Commit(commit),
        Ok(None) => Before::Nothing,
        Err(e) => Before::Unknown(e.to_string()),
    }
}

/// Every object `cluster` should run at `rendering`.
fn desired_ids(rendering: &Rendering, cluster: &str) -> Vec<ObjectRef> {
    rendering
        .clusters
        .get(cluster)
        .map(|c| {
            c.apps
                .values()
                .flat_map(|a| a.objects.iter().map(|o| o.id.clone()))
                .collect()
        })
        .unwrap_or_default()
}
