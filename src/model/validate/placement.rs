//! `placement.yaml`: where an app goes (names, selector, exclusions or
//! followApps) and how its replicas and HPAs are spread.

use super::selector::{cluster_target, label_selector};
use super::{Known, Loc, Problems};
use crate::model::{names, raw};
use crate::model::{
    ClusterAffinity, DynamicWeight, HpaMode, Placement, ReplicaScheduling, WeightRule,
};

const AFFINITY: &str = "spec.clusterAffinity";
const WEIGHTS: &str = "spec.replicaScheduling.weightPreference.staticWeightList";

/// Checks a placement spec read from `loc` and converts it. Unknown
/// followApps are reported here; followApps cycles are a fleet check.
pub fn placement(
    loc: Loc<'_>,
    spec: raw::PlacementSpec,
    known: &Known,
    p: &mut Problems,
) -> Placement {
    let affinity = affinity(loc, spec.cluster_affinity, known, p);
    let scheduling = spec.replica_scheduling.unwrap_or_default();
    let (replicas, dynamic_weight) = replicas(loc, scheduling, known, p);
    let hpa = match (spec.hpa.map(|h| h.mode), &replicas) {
        (Some(raw::HpaModeName::Split), ReplicaScheduling::Duplicated) => {
            p.push(
                loc,
                "spec.hpa.mode",
                "Split needs replicaSchedulingType: Divided (a Duplicated workload keeps its \
                 HPA unchanged on every cluster): use Duplicate or remove spec.hpa",
            );
            HpaMode::Duplicate
        }
        (Some(raw::HpaModeName::Split), _) => HpaMode::Split,
        (Some(raw::HpaModeName::Duplicate), _) => HpaMode::Duplicate,
        (None, ReplicaScheduling::Divided { .. }) => HpaMode::Split,
        (None, ReplicaScheduling::Duplicated) => HpaMode::Duplicate,
    };
    let namespace = spec.namespace.filter(|ns| match names::dns1123_label(ns) {
        Ok(()) => true,
        Err(why) => {
            p.push(
                loc,
                "spec.namespace",
                format!("invalid namespace {ns:?}: {why}"),
            );
            false
        }
    });
    let migration = spec
        .migration
        .and_then(|m| super::migration::migration(loc, m, &replicas, known, p));
    let failover = spec
        .failover
        .and_then(|f| super::failover::failover(loc, f, &replicas, p));
    Placement {
        file: loc.file.to_string(),
        affinity,
        replicas,
        hpa,
        namespace,
        migration,
        dynamic_weight,
        failover,
    }
}

fn affinity(
    loc: Loc<'_>,
    raw: Option<raw::ClusterAffinity>,
    known: &Known,
    p: &mut Problems,
) -> ClusterAffinity {
    let Some(raw) = raw else {
        p.push(
            loc,
            AFFINITY,
            "missing: say where the app goes with clusterNames, labelSelector ({} selects \
             every cluster) or followApps",
        );
        return ClusterAffinity::default();
    };
    let selects = !raw.cluster_names.is_empty() || raw.label_selector.is_some();
    if !selects && raw.follow_apps.is_empty() && raw.exclude.is_empty() {
        p.push(
            loc,
            AFFINITY,
            "empty: set clusterNames, labelSelector (write labelSelector: {} to select \
             every cluster) or followApps",
        );
    }
    if selects && !raw.follow_apps.is_empty() {
        p.push(
            loc,
            &format!("{AFFINITY}.followApps"),
            "cannot be combined with clusterNames or labelSelector: an app either follows \
             other apps or selects clusters itself",
        );
    }
    known.check_clusters(
        loc,
        &format!("{AFFINITY}.clusterNames"),
        &raw.cluster_names,
        p,
    );
    known.check_clusters(loc, &format!("{AFFINITY}.exclude"), &raw.exclude, p);
    known.check_apps(loc, &format!("{AFFINITY}.followApps"), &raw.follow_apps, p);
    let label_selector = raw
        .label_selector
        .map(|s| label_selector(loc, &format!("{AFFINITY}.labelSelector"), s, p));
    ClusterAffinity {
        cluster_names: raw.cluster_names,
        label_selector,
        exclude: raw.exclude,
        follow_apps: raw.follow_apps,
    }
}

fn replicas(
    loc: Loc<'_>,
    raw: raw::ReplicaScheduling,
    known: &Known,
    p: &mut Problems,
) -> (ReplicaScheduling, Option<DynamicWeight>) {
    let dynamic = raw
        .weight_preference
        .as_ref()
        .and_then(|w| w.dynamic_weight)
        .map(|d| match d {
            raw::DynamicWeightName::AvailableReplicas => DynamicWeight::AvailableReplicas,
        });
    let list = raw.weight_preference.map(|w| w.static_weight_list);
    match raw.replica_scheduling_type {
        raw::SchedulingType::Duplicated => {
            if list.is_some() {
                p.push(
                    loc,
                    "spec.replicaScheduling.weightPreference",
                    "only used with replicaSchedulingType: Divided (Duplicated runs the full \
                     replica count everywhere): remove it or switch to Divided",
                );
            }
            (ReplicaScheduling::Duplicated, None)
        }
        raw::SchedulingType::Divided => {
            let list = list.unwrap_or_default();
            // With dynamicWeight the static list is only the fallback; an
            // empty one falls back to weight 1 per cluster.
            if list.is_empty() && dynamic.is_none() {
                p.push(
                    loc,
                    WEIGHTS,
                    "Divided needs at least one weight, e.g. \
                     [{targetCluster: {labelSelector: {}}, weight: 1}] for an even split",
                );
            }
            let weights = list
                .into_iter()
                .enumerate()
                .map(|(i, w)| weight(loc, i, w, known, p))
                .collect();
            (ReplicaScheduling::Divided { weights }, dynamic)
        }
    }
}

fn weight(
    loc: Loc<'_>,
    i: usize,
    raw: raw::StaticWeight,
    known: &Known,
    p: &mut Problems,
) -> WeightRule {
    let field = format!("{WEIGHTS}[{i}]");
    let target = cluster_target(
        loc,
        &format!("{field}.targetCluster"),
        raw.target_cluster,
        known,
        p,
    );
    let weight = match u64::try_from(raw.weight) {
        Ok(w) if w >= 1 => w,
        _ => {
            p.push(
                loc,
                &format!("{field}.weight"),
                format!(
                    "weight {} is invalid: weights must be at least 1",
                    raw.weight
                ),
            );
            1
        }
    };
    WeightRule { target, weight }
}

#[cfg(test)]
mod tests;
