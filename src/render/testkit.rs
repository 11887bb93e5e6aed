//! Builders for fleets in render unit tests (the loader is not needed).

use crate::model::{
    AccessPolicy, App, AppAccess, Cluster, ClusterAffinity, DiffPolicy, Fleet, HpaMode,
    LabelSelector, Manifest, OnFailure, Placement, Policies, ReplicaScheduling, RolloutPolicy,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A registry cluster with labels.
pub fn cluster(name: &str, labels: &[(&str, &str)]) -> Cluster {
    Cluster {
        name: name.into(),
        labels: crate::model::selector::labels(labels),
        context: name.into(),
        rollout_order: None,
        file: format!("clusters/{name}.yaml"),
    }
}

/// An app on every cluster, Duplicated, with the given objects as
/// `apps/<name>/manifests/all.yaml` documents.
pub fn app(name: &str, objects: Vec<Value>) -> App {
    App {
        name: name.into(),
        manifests: objects
            .into_iter()
            .enumerate()
            .map(|(doc, object)| Manifest {
                file: format!("apps/{name}/manifests/all.yaml"),
                doc,
                object,
            })
            .collect(),
        placement: Placement {
            file: format!("apps/{name}/placement.yaml"),
            affinity: ClusterAffinity {
                label_selector: Some(LabelSelector::default()),
                ..Default::default()
            },
            replicas: ReplicaScheduling::Duplicated,
            hpa: HpaMode::Split,
            namespace: None,
            migration: None,
            dynamic_weight: None,
            failover: None,
        },
        overrides: vec![],
    }
}

/// Three clusters: eu-1 (eu, prod), eu-2 (eu, stage), us-1 (us, prod).
pub fn fleet(apps: Vec<App>) -> Fleet {
    let clusters = [
        cluster("eu-1", &[("region", "eu"), ("env", "prod")]),
        cluster("eu-2", &[("region", "eu"), ("env", "stage")]),
        cluster("us-1", &[("region", "us"), ("env", "prod")]),
    ];
    Fleet {
        commit: "c0ffee".into(),
        clusters: clusters.into_iter().map(|c| (c.name.clone(), c)).collect(),
        apps: apps.into_iter().map(|a| (a.name.clone(), a)).collect(),
        policies: policies(),
        kinds: crate::kinds::KindTable::default(),
    }
}

/// Permissive policies: every namespace and kind, any identity override.
pub fn policies() -> Policies {
    let all = AppAccess {
        namespaces: vec!["*".into()],
        denied_namespaces: vec![],
        kinds: vec!["*".into()],
        cluster_scoped_kinds: vec!["*".into()],
        identity_overrides: crate::model::IdentityField::ALL.to_vec(),
    };
    Policies {
        rollout: RolloutPolicy {
            steps: crate::model::Steps::Ratio(vec![1, 2, 7]),
            cohorts: vec![],
            max_failures: crate::model::Allowance::Count(0),
            min_success_time: Duration::ZERO,
            pause_between_batches: Duration::ZERO,
            windows: vec![],
            approval_before: Default::default(),
            health_timeout: Duration::from_secs(300),
            bake_time: Duration::from_secs(0),
            on_failure: OnFailure::Rollback,
            max_parallel: 4,
            force_conflicts: false,
            analysis: Default::default(),
        },
        diff: DiffPolicy::default(),
        access: AccessPolicy {
            default: all,
            apps: Default::default(),
        },
        workload_kinds: vec![],
    }
}

/// Cluster weights from pairs.
pub fn weights(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Strings.
pub fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A set of strings.
pub fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `region=eu`.
pub fn eu() -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: [("region".to_string(), "eu".to_string())].into(),
        match_expressions: vec![],
    })
}

/// A Deployment in namespace `shop` with one container `web`.
pub fn deployment(name: &str, replicas: Option<u64>) -> Value {
    let mut d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    });
    if let Some(r) = replicas {
        d["spec"]["replicas"] = json!(r);
    }
    d
}

/// An `autoscaling/<version>` HPA in namespace `shop` targeting a Deployment.
pub fn hpa(version: &str, target: &str, min: Option<u64>, max: u64) -> Value {
    let mut h = json!({
        "apiVersion": format!("autoscaling/{version}"),
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target, "namespace": "shop"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "maxReplicas": max
        }
    });
    if let Some(m) = min {
        h["spec"]["minReplicas"] = json!(m);
    }
    h
}

/// A ConfigMap in namespace `shop`.
pub fn config_map(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {"k": "v"}
    })
}
