//! Rolling one cluster back: re-render the commit it ran before (or
//! nothing, if tranche had never completed a commit there), re-plan against
//! it and apply — pruning what the bad commit added and restoring what it
//! removed — then wait for the restored objects to be healthy.

use super::engine::{empty_rendering, Rollout, RolloutError};
use super::event::Silent;
use super::gate::{self, GateEnd, GateTarget, GateTiming};
use crate::apply::{apply_cluster, ClusterReport};
use crate::model::RolloutPolicy;
use crate::plan::compute::plan_cluster;

/// Restores `cluster` to `previous` (None: no tranche objects at all).
pub async fn restore(
    rollout: &Rollout<'_>,
    cluster: &str,
    previous: Option<&str>,
    policy: &RolloutPolicy,
) -> Result<ClusterReport, RolloutError> {
    let api = match rollout.clusters.get(cluster) {
        Some(Ok(api)) => api.as_ref(),
        Some(Err(e)) => return Ok(unreachable(cluster, previous, e.to_string())),
        None => return Ok(unreachable(cluster, previous, "not connected".into())),
    };
    let (desired, policies) = match previous {
        Some(commit) => {
            let rev = rollout.read(commit)?;
            let desired = rev
                .rendering
                .clusters
                .get(cluster)
                .cloned()
                .unwrap_or_else(|| empty_rendering(cluster));
            (desired, rev.fleet.policies)
        }
        None => {
            let current = crate::model::load::builtin_policies();
            (empty_rendering(cluster), current)
        }
    };
    let plan = plan_cluster(api, &desired, &policies).await;
    let mut report = apply_cluster(api, &plan, previous.unwrap_or(""), &policies.rollout).await;
    if report.failed() {
        return Ok(report);
    }
    let changed = report.changed().into_iter().cloned().collect();
    let targets = [GateTarget {
        api,
        objects: &changed,
    }];
    let timing = GateTiming {
        timeout: policy.health_timeout,
        bake: std::time::Duration::ZERO,
        poll: rollout.poll,
    };
    if let GateEnd::Failed(f) = gate::wait(&targets, timing, 0, &Silent, None).await {
        report.error = Some(format!("restored but not healthy: {f}"));
    }
    Ok(report)
}

fn unreachable(cluster: &str, previous: Option<&str>, why: String) -> ClusterReport {
    let mut r = ClusterReport::new(cluster, previous.unwrap_or(""));
    r.reachable = false;
    r.error = Some(why);
    r
}
