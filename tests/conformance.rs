//! Karmada's static-weight replica split cases (from Karmada's own tests):
//! tranche's Webster split must give the same result for every case whose
//! ties are broken by name ascending. Cases with `name_desc` or `uid`
//! tie-breaking depend on a resource UID, which a GitOps render has not got.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use tranche::model::{Cluster, ClusterTarget, WeightRule};
use tranche::render::split::{app_weights, webster};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    replicas: u64,
    weights: BTreeMap<String, u64>,
    expected: BTreeMap<String, u64>,
    #[serde(default)]
    tie_break: Option<String>,
    /// Clusters selected by placement (when some have no weight rule).
    #[serde(default)]
    candidates: Option<Vec<String>>,
    /// The staticWeightList as written (when several rules match a cluster).
    #[serde(default)]
    raw_rules: Option<Vec<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    cluster_names: Vec<String>,
    weight: u64,
}

fn cases() -> Vec<Case> {
    let text = include_str!("data/karmada_static_weight_cases.json");
    serde_json::from_str(text).expect("the conformance table is valid JSON")
}

fn registry(names: &BTreeSet<String>) -> BTreeMap<String, Cluster> {
    names
        .iter()
        .map(|n| {
            let c = Cluster {
                name: n.clone(),
                labels: BTreeMap::new(),
                context: n.clone(),
                rollout_order: None,
                file: format!("clusters/{n}.yaml"),
            };
            (n.clone(), c)
        })
        .collect()
}

fn rule(names: Vec<String>, weight: u64) -> WeightRule {
    WeightRule {
        target: ClusterTarget {
            cluster_names: names,
            ..Default::default()
        },
        weight,
    }
}

/// Runs one case the way rendering does: weights from the rules over the
/// selected clusters, then Webster.
fn run(case: &Case) -> BTreeMap<String, u64> {
    let placed: BTreeSet<String> = match &case.candidates {
        Some(c) => c.iter().cloned().collect(),
        None => case.weights.keys().cloned().collect(),
    };
    let rules: Vec<WeightRule> = match &case.raw_rules {
        Some(raw) => raw
            .iter()
            .map(|r| rule(r.cluster_names.clone(), r.weight))
            .collect(),
        None => case
            .weights
            .iter()
            .map(|(c, w)| rule(vec![c.clone()], *w))
            .collect(),
    };
    let weights = app_weights(&placed, &rules, &registry(&placed));
    if case.raw_rules.is_none() {
        let direct = webster(case.replicas, &case.weights);
        let via_rules = webster(case.replicas, &weights);
        let nonzero = |m: &BTreeMap<String, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| (k.clone(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            nonzero(&direct),
            nonzero(&via_rules),
            "{}: rules and direct weights disagree",
            case.name
        );
    }
    webster(case.replicas, &weights)
}

#[test]
fn karmada_static_weight_cases() {
    let all = cases();
    let mut skipped = 0;
    let mut checked = 0;
    for case in &all {
        match case.tie_break.as_deref() {
            None | Some("name_asc") => {}
            Some(_) => {
                skipped += 1;
                continue;
            }
        }
        let got = run(case);
        // Karmada leaves clusters without a weight out of its result; tranche
        // lists every selected cluster, with 0.
        for (cluster, n) in &got {
            assert_eq!(
                case.expected.get(cluster).copied().unwrap_or(0),
                *n,
                "{}: cluster {cluster}: {got:?}",
                case.name
            );
        }
        for cluster in case.expected.keys() {
            assert!(
                got.contains_key(cluster),
                "{}: cluster {cluster} missing from {got:?}",
                case.name
            );
        }
        assert_eq!(
            got.values().sum::<u64>(),
            if got.is_empty() { 0 } else { case.replicas },
            "{}",
            case.name
        );
        checked += 1;
    }
    println!("karmada conformance: {checked} cases passed, {skipped} skipped (tie_break name_desc / uid)");
    assert_eq!(checked + skipped, all.len());
    assert!(
        checked >= 40,
        "the table shrank: only {checked} cases checked"
    );
}
