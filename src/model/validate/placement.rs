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
mod tests {
    use super::*;
    use crate::model::ModelError;

    fn known() -> Known {
        Known {
            clusters: ["eu-1", "eu-2", "us-1"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            apps: ["shop", "web"].iter().map(|s| s.to_string()).collect(),
        }
    }

    fn check(yaml: &str) -> (Placement, Vec<ModelError>) {
        let spec: raw::PlacementSpec = crate::yaml::from_str(yaml).unwrap();
        let mut p = Problems::default();
        let placement = placement(
            Loc::file("apps/shop/placement.yaml"),
            spec,
            &known(),
            &mut p,
        );
        (
            placement,
            p.finish(()).err().map(|e| e.0).unwrap_or_default(),
        )
    }

    fn error(field: &str, message: &str) -> ModelError {
        ModelError::field("apps/shop/placement.yaml", field, message)
    }

    #[test]
    fn divided_placement_converts() {
        let (pl, errors) = check(
            "clusterAffinity: {labelSelector: {}, exclude: [us-1]}\n\
             replicaScheduling:\n  replicaSchedulingType: Divided\n  weightPreference:\n    \
             staticWeightList: [{targetCluster: {clusterNames: [eu-1]}, weight: 3}]\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(pl.hpa, HpaMode::Split);
        let ReplicaScheduling::Divided { weights } = pl.replicas else {
            panic!("not divided")
        };
        assert_eq!(weights[0].weight, 3);
        assert_eq!(weights[0].target.cluster_names, ["eu-1"]);
    }

    #[test]
    fn unknown_cluster_names_are_located() {
        let (_, errors) =
            check("clusterAffinity: {clusterNames: [eu-1, eu-2, eu-9], exclude: [x]}");
        assert_eq!(
            errors,
            [
                error(
                    "spec.clusterAffinity.clusterNames[2]",
                    "unknown cluster \"eu-9\": there is no clusters/eu-9.yaml"
                ),
                error(
                    "spec.clusterAffinity.exclude[0]",
                    "unknown cluster \"x\": there is no clusters/x.yaml"
                ),
            ]
        );
    }

    #[test]
    fn unknown_follow_apps_are_located() {
        let (_, errors) = check("clusterAffinity: {followApps: [web, cart]}");
        assert_eq!(
            errors,
            [error(
                "spec.clusterAffinity.followApps[1]",
                "unknown app \"cart\": there is no apps/cart/ directory"
            )]
        );
    }

    #[test]
    fn missing_affinity_is_an_error() {
        let (_, errors) = check("{}");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            "apps/shop/placement.yaml: spec.clusterAffinity"
        );
        assert!(errors[0]
            .message
            .starts_with("missing: say where the app goes"));
    }

    #[test]
    fn weights_below_one_are_errors() {
        let (_, errors) = check(
            "clusterAffinity: {labelSelector: {}}\nreplicaScheduling: {replicaSchedulingType: \
             Divided, weightPreference: {staticWeightList: [{targetCluster: {clusterNames: \
             [eu-9]}, weight: 0}]}}",
        );
        assert_eq!(
            errors,
            [
                error(
                    "spec.replicaScheduling.weightPreference.staticWeightList[0].targetCluster.clusterNames[0]",
                    "unknown cluster \"eu-9\": there is no clusters/eu-9.yaml"
                ),
                error(
                    "spec.replicaScheduling.weightPreference.staticWeightList[0].weight",
                    "weight 0 is invalid: weights must be at least 1"
                ),
            ]
        );
    }

    #[test]
    fn divided_needs_weights() {
        let (_, errors) =
            check("clusterAffinity: {labelSelector: {}}\nreplicaScheduling: {replicaSchedulingType: Divided}");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            format!("apps/shop/placement.yaml: {WEIGHTS}")
        );
        assert!(errors[0]
            .message
            .starts_with("Divided needs at least one weight"));
    }

    #[test]
    fn split_hpa_needs_divided() {
        let (pl, errors) = check("clusterAffinity: {clusterNames: [eu-1]}\nhpa: {mode: Split}");
        assert_eq!(pl.replicas, ReplicaScheduling::Duplicated);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            "apps/shop/placement.yaml: spec.hpa.mode"
        );
    }

    const DIVIDED: &str = "clusterAffinity: {labelSelector: {}}\nreplicaScheduling: \
        {replicaSchedulingType: Divided, weightPreference: {staticWeightList: \
        [{targetCluster: {}, weight: 1}]}}\n";

    #[test]
    fn migration_converts_percent_text_and_numbers() {
        let (pl, errors) = check(&format!(
            "{DIVIDED}migration: {{from: [eu-1], to: [us-1], steps: [10%, 50, \"100%\"], step: 2}}"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let m = pl.migration.unwrap();
        assert_eq!(m.steps, [10, 50, 100]);
        assert_eq!(m.describe(), "migration step 2/3: 50 % to us-1");
    }

    #[test]
    fn migration_problems_name_the_field() {
        let (pl, errors) = check(&format!(
            "{DIVIDED}migration: {{from: [eu-1, eu-9], to: [eu-1], steps: [50%, 20%, 90%], step: 4}}"
        ));
        assert!(pl.migration.is_none());
        let m = "spec.migration";
        assert_eq!(
            errors,
            [
                error(
                    &format!("{m}.from[1]"),
                    "unknown cluster \"eu-9\": there is no clusters/eu-9.yaml"
                ),
                error(
                    &format!("{m}.to[0]"),
                    "cluster \"eu-1\" is also in from: a cluster cannot migrate to itself"
                ),
                error(
                    &format!("{m}.steps[1]"),
                    "20 % does not increase on 50 %: steps must be strictly increasing"
                ),
                error(
                    &format!("{m}.steps[2]"),
                    "the last step must be 100 % (the migration ends with every replica on `to`)"
                ),
                error(
                    &format!("{m}.step"),
                    "step 4 is out of range: 0 (not started) to 3 (the last step)"
                ),
            ]
        );
    }

    #[test]
    fn migration_needs_divided_and_real_percentages() {
        let (_, errors) = check(
            "clusterAffinity: {labelSelector: {}}\n\
             migration: {from: [eu-1], to: [us-1], steps: [0%, lots, 100%], step: 1}",
        );
        let m = "spec.migration";
        assert_eq!(
            errors,
            [
                error(
                    m,
                    "a migration splits replicas: it needs replicaSchedulingType: Divided"
                ),
                error(
                    &format!("{m}.steps[0]"),
                    "\"0%\" is not a percentage from 1% to 100%"
                ),
                error(
                    &format!("{m}.steps[1]"),
                    "\"lots\" is not a percentage from 1% to 100%"
                ),
            ]
        );
    }

    #[test]
    fn failover_converts_with_default_min_clusters() {
        let (pl, errors) = check(&format!("{DIVIDED}failover: {{after: 5m}}"));
        assert!(errors.is_empty(), "{errors:?}");
        let f = pl.failover.unwrap();
        assert_eq!(f.after, std::time::Duration::from_secs(300));
        assert_eq!(f.min_clusters, 1);
    }

    #[test]
    fn failover_problems_name_the_field() {
        let (pl, errors) = check(
            "clusterAffinity: {labelSelector: {}}\n\
             failover: {after: soon, minClusters: 0}",
        );
        assert!(pl.failover.is_none());
        let f = "spec.failover";
        assert_eq!(
            errors,
            [
                error(
                    f,
                    "failover moves replicas between clusters: it needs replicaSchedulingType: Divided"
                ),
                error(
                    &format!("{f}.after"),
                    "\"soon\" is not a duration (expected number at 0); write e.g. 30s or 5m"
                ),
                error(
                    &format!("{f}.minClusters"),
                    "minClusters 0 is invalid: at least 1 cluster must keep the replicas"
                ),
            ]
        );
        let (_, errors) = check(&format!("{DIVIDED}failover: {{minClusters: 2}}"));
        assert_eq!(
            errors,
            [error(
                &format!("{f}.after"),
                "missing: how long a cluster must be down before its replicas move, e.g. 5m"
            )]
        );
    }

    #[test]
    fn follow_apps_cannot_mix_with_selection() {
        let (_, errors) = check("clusterAffinity: {clusterNames: [eu-1], followApps: [web]}");
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            "apps/shop/placement.yaml: spec.clusterAffinity.followApps"
        );
    }
}
