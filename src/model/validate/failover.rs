//! `spec.failover` of a placement: `after` a positive duration, only with
//! `replicaSchedulingType: Divided` (a Duplicated app runs everything on
//! every cluster, there is nothing to move), `minClusters` at least 1.

use super::{Loc, Problems};
use crate::model::{raw, Failover, ReplicaScheduling};

const FIELD: &str = "spec.failover";

/// Checks and converts `spec.failover`; `None` (with problems pushed) when
/// it cannot be used.
pub fn failover(
    loc: Loc<'_>,
    raw: raw::Failover,
    replicas: &ReplicaScheduling,
    p: &mut Problems,
) -> Option<Failover> {
    let before = p.len();
    if *replicas == ReplicaScheduling::Duplicated {
        p.push(
            loc,
            FIELD,
            "failover moves replicas between clusters: it needs replicaSchedulingType: Divided",
        );
    }
    let after = match raw.after.as_deref().map(humantime::parse_duration) {
        None => {
            p.push(
                loc,
                &format!("{FIELD}.after"),
                "missing: how long a cluster must be down before its replicas move, e.g. 5m",
            );
            None
        }
        Some(Ok(d)) if !d.is_zero() => Some(d),
        Some(Ok(_)) => {
            p.push(
                loc,
                &format!("{FIELD}.after"),
                "must be longer than 0s (a zero wait fails over on every blip)",
            );
            None
        }
        Some(Err(e)) => {
            p.push(
                loc,
                &format!("{FIELD}.after"),
                format!(
                    "{:?} is not a duration ({e}); write e.g. 30s or 5m",
                    raw.after.as_deref().unwrap_or_default()
                ),
            );
            None
        }
    };
    let min_clusters = match raw.min_clusters.map(usize::try_from) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            p.push(
                loc,
                &format!("{FIELD}.minClusters"),
                format!(
                    "minClusters {} is invalid: at least 1 cluster must keep the replicas",
                    raw.min_clusters.unwrap_or_default()
                ),
            );
            1
        }
    };
    match after {
        Some(after) if p.len() == before => Some(Failover {
            after,
            min_clusters,
        }),
        _ => None,
    }
}
