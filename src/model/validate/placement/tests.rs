//! Tests of placement validation.

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
    let (_, errors) = check("clusterAffinity: {clusterNames: [eu-1, eu-2, eu-9], exclude: [x]}");
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
    let (_, errors) = check(
        "clusterAffinity: {labelSelector: {}}\nreplicaScheduling: {replicaSchedulingType: Divided}",
    );
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
