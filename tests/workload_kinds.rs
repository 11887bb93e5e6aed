//! Custom workload kinds (issue 14): `kind: WorkloadKind` policies extend
//! the kind table, so a CloneSet is split by weight, gets its images
//! overridden in its pod template and is judged by CEL; the project's own
//! `policies/` ships CloneSet and Argo Rollout as examples; a bad
//! expression or path is a validation error naming the file and field.
//! (On real apiservers: tests/cloneset.rs.)

use serde_json::{json, Value};
use std::collections::BTreeMap;
use tranche::git::Snapshot;
use tranche::kinds::HealthRule;
use tranche::model;
use tranche::rollout::health::evaluate_with;
use tranche::rollout::Health;

fn cluster(name: &str, tier: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {name}, labels: {{tier: {tier}}}}}\n"
    )
}

const PLACEMENT: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  \
clusterAffinity: {labelSelector: {}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
weightPreference:\n      staticWeightList:\n        - {targetCluster: {clusterNames: [a]}, weight: 3}\n        \
- {targetCluster: {clusterNames: [b]}, weight: 2}\n        - {targetCluster: {clusterNames: [c]}, weight: 1}\n";

const CLONESET: &str = "apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {name: web, namespace: shop}\n\
spec:\n  replicas: 6\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
spec:\n      containers: [{name: web, image: registry.example/shop/web:1.0}]\n";

const OVERRIDE: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Override\nspec:\n  resourceSelectors:\n    \
- {apiVersion: apps.kruise.io/v1alpha1, kind: CloneSet, name: web}\n  overrideRules:\n    \
- targetCluster: {clusterNames: [a]}\n      overriders:\n        imageOverrider:\n          \
- {component: Tag, operator: replace, value: '2.0'}\n";

fn fleet(extra: &[(&str, &str)]) -> Snapshot {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for (name, tier) in [("a", "one"), ("b", "two"), ("c", "two")] {
        files.insert(format!("clusters/{name}.yaml"), cluster(name, tier));
    }
    files.insert("apps/web/placement.yaml".into(), PLACEMENT.into());
    files.insert("apps/web/manifests/cloneset.yaml".into(), CLONESET.into());
    files.insert("apps/web/overrides/tag.yaml".into(), OVERRIDE.into());
    for (path, text) in extra {
        files.insert(path.to_string(), text.to_string());
    }
    Snapshot::from_files("c0ffee", files)
}

fn errors(snapshot: &Snapshot) -> String {
    match model::load(snapshot) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

fn live_cloneset(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"replicas": 3},
        "status": status
    })
}

#[test]
fn the_project_policies_ship_cloneset_and_argo_rollout() {
    let builtin = model::builtin_policies();
    let mut kinds: Vec<(&str, &str)> = builtin
        .workload_kinds
        .iter()
        .map(|w| (w.group.as_str(), w.kind.as_str()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [("apps.kruise.io", "CloneSet"), ("argoproj.io", "Rollout")]
    );
    let fleet = model::load(&fleet(&[])).expect("valid fleet");
    let info = fleet.kinds.get("apps.kruise.io", "CloneSet").expect("row");
    assert!(info.workload);
    assert_eq!(info.replicas.as_deref(), Some("/spec/replicas"));
    assert_eq!(info.pod_spec.as_deref(), Some("/spec/template/spec"));
    assert_eq!(info.health, HealthRule::Expression);

    // The shipped CloneSet expression, over the states a controller goes through.
    let cases = [
        (live_cloneset(2, json!({})), false),
        (
            live_cloneset(
                2,
                json!({"observedGeneration": 1, "updatedReadyReplicas": 3}),
            ),
            false,
        ),
        (
            live_cloneset(
                2,
                json!({"observedGeneration": 2, "updatedReadyReplicas": 2}),
            ),
            false,
        ),
        (
            live_cloneset(
                2,
                json!({"observedGeneration": 2, "updatedReadyReplicas": 3}),
            ),
            true,
        ),
    ];
    for (obj, healthy) in cases {
        let got = evaluate_with(&fleet.kinds, &obj);
        assert_eq!(got.is_healthy(), healthy, "{obj}: {got}");
    }

    // Argo Rollouts: phase, string observedGeneration, Degraded fails at once.
    let rollout = |phase: &str, observed: &str| {
        json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "r", "generation": 4},
            "spec": {"replicas": 2},
            "status": {"phase": phase, "observedGeneration": observed}
        })
    };
    assert!(evaluate_with(&fleet.kinds, &rollout("Healthy", "4")).is_healthy());
    assert!(!evaluate_with(&fleet.kinds, &rollout("Healthy", "3")).is_healthy());
    assert!(matches!(
        evaluate_with(&fleet.kinds, &rollout("Progressing", "4")),
        Health::Progressing { .. }
    ));
    let degraded = evaluate_with(&fleet.kinds, &rollout("Degraded", "4"));
    assert!(degraded.is_failed(), "{degraded}");
    assert!(degraded.to_string().contains("Degraded"), "{degraded}");
}

#[test]
fn a_cloneset_is_split_by_weight_and_its_template_overridden() {
    let fleet = model::load(&fleet(&[])).expect("valid fleet");
    let rendering = tranche::render::render(&fleet).expect("renders");
    let mut replicas = BTreeMap::new();
    for (cluster, r) in &rendering.clusters {
        let set = r.apps["web"]
            .objects
            .iter()
            .find(|o| o.id.kind == "CloneSet")
            .expect("a CloneSet on every cluster");
        replicas.insert(cluster.as_str(), set.object["spec"]["replicas"].clone());
        let image = &set.object["spec"]["template"]["spec"]["containers"][0]["image"];
        let want = if cluster == "a" {
            "registry.example/shop/web:2.0"
        } else {
            "registry.example/shop/web:1.0"
        };
        assert_eq!(image, want, "{cluster}");
        // A workload: policy name <app>-<kind>-<name>.
        assert_eq!(set.policy.as_str(), "web-cloneset-web");
    }
    assert_eq!(
        replicas,
        BTreeMap::from([("a", json!(3)), ("b", json!(2)), ("c", json!(1))])
    );
}

#[test]
fn a_repository_workload_kind_replaces_the_built_in_one() {
    let own = "apiVersion: tranche.dev/v1alpha1\nkind: WorkloadKind\nmetadata: {name: cloneset}\n\
spec:\n  group: apps.kruise.io\n  kind: CloneSet\n  replicas: spec.replicas\n  \
health: {healthy: 'status.readyReplicas == 3'}\n";
    let fleet = model::load(&fleet(&[("policies/cloneset.yaml", own)])).expect("valid");
    let info = fleet.kinds.get("apps.kruise.io", "CloneSet").unwrap();
    assert_eq!(info.pod_spec, None);
    let exprs = info.expressions.as_ref().unwrap();
    assert_eq!(exprs.healthy, "status.readyReplicas == 3");
    let obj = live_cloneset(1, json!({"readyReplicas": 3}));
    assert!(evaluate_with(&fleet.kinds, &obj).is_healthy());
}

#[test]
fn bad_workload_kinds_name_the_file_and_field() {
    let bad = "apiVersion: tranche.dev/v1alpha1\nkind: WorkloadKind\nmetadata: {name: widget}\n\
spec:\n  group: example.com\n  kind: Widget\n  replicas: spec..replicas\n  \
health: {healthy: 'status.ready =='}\n";
    let text = errors(&fleet(&[("policies/widget.yaml", bad)]));
    assert!(text.contains("policies/widget.yaml"), "{text}");
    assert!(text.contains("spec.health.healthy"), "{text}");
    assert!(text.contains("does not compile"), "{text}");
    assert!(
        text.contains("spec.replicas") && text.contains("spec..replicas"),
        "{text}"
    );

    let twice = "apiVersion: tranche.dev/v1alpha1\nkind: WorkloadKind\nmetadata: {name: one}\n\
spec: {group: example.com, kind: Widget}\n---\napiVersion: tranche.dev/v1alpha1\nkind: WorkloadKind\n\
metadata: {name: two}\nspec: {group: example.com, kind: Widget}\n";
    let text = errors(&fleet(&[("policies/widget.yaml", twice)]));
    assert!(
        text.contains("example.com/Widget is also declared"),
        "{text}"
    );

    let builtin = "apiVersion: tranche.dev/v1alpha1\nkind: WorkloadKind\nmetadata: {name: d}\n\
spec: {group: apps, kind: Deployment}\n";
    let text = errors(&fleet(&[("policies/d.yaml", builtin)]));
    assert!(text.contains("apps/Deployment is built in"), "{text}");
}

#[test]
fn replica_counts_of_custom_workloads_are_checked() {
    let text = errors(&fleet(&[(
        "apps/web/manifests/cloneset.yaml",
        &CLONESET.replace("replicas: 6", "replicas: many"),
    )]));
    assert!(text.contains("apps/web/manifests/cloneset.yaml"), "{text}");
    assert!(text.contains("replicas"), "{text}");
}

#[test]
fn an_hpa_on_a_divided_cloneset_owns_its_replicas_and_is_split() {
    let hpa = "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\n\
spec:\n  scaleTargetRef: {apiVersion: apps.kruise.io/v1alpha1, kind: CloneSet, name: web}\n  \
minReplicas: 6\n  maxReplicas: 12\n";
    let fleet = model::load(&fleet(&[("apps/web/manifests/hpa.yaml", hpa)])).expect("valid");
    let rendering = tranche::render::render(&fleet).expect("renders");
    let mut bounds = BTreeMap::new();
    for (cluster, r) in &rendering.clusters {
        let objects = &r.apps["web"].objects;
        let set = objects.iter().find(|o| o.id.kind == "CloneSet").unwrap();
        assert!(
            set.object["spec"].get("replicas").is_none(),
            "{cluster}: the HPA owns the CloneSet's replicas"
        );
        let hpa = objects
            .iter()
            .find(|o| o.id.kind == "HorizontalPodAutoscaler")
            .unwrap();
        bounds.insert(
            cluster.as_str(),
            (
                hpa.object["spec"]["minReplicas"].clone(),
                hpa.object["spec"]["maxReplicas"].clone(),
            ),
        );
    }
    assert_eq!(
        bounds,
        BTreeMap::from([
            ("a", (json!(3), json!(6))),
            ("b", (json!(2), json!(4))),
            ("c", (json!(1), json!(2))),
        ])
    );
}
