//! Weights by free capacity (issue 16) on real clusters of the current
//! release: kwok Nodes with chosen allocatable, Pods with requests bound to
//! them, and `tranche plan` / `apply` splitting a Divided Deployment with
//! `dynamicWeight: AvailableReplicas`. A cluster whose Nodes report 0
//! allocatable is excluded with a warning.

mod support;

use reqwest::Method;
use serde_json::json;
use support::control_plane::NODES;
use support::fixtures::shop_repo;
use support::{tranche, TestFleet};

const CLUSTERS: [&str; 3] = ["a", "b", "c"];
const MERGE: &str = "application/merge-patch+json";

/// A Deployment of `replicas` pods requesting 1 CPU and 1Gi each.
fn sized_deployment(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {replicas}\n  \
         selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
         containers:\n        - name: web\n          image: registry.example.com/shop/web:1.0.0\n          \
         resources: {{requests: {{cpu: '1', memory: 1Gi}}}}\n"
    )
}

/// A Pod bound to `node` requesting `cpu` CPUs (fills capacity).
fn filler(name: &str, node: &str, cpu: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"nodeName": node, "containers": [{"name": "f", "image": "filler:1",
               "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}})
}

async fn run(args: &[&str]) -> (i32, String, String) {
    let out = tranche(args).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_follow_free_capacity_and_zero_capacity_is_excluded() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    // Every Node has 16 CPU / 64Gi: a has 32 CPU free; b's Nodes run 8 CPU
    // of pods each (16 free); c's Nodes report 0 allocatable.
    for (node, _) in NODES {
        let (status, body) = fleet
            .request(
                "b",
                Method::POST,
                "/api/v1/namespaces/default/pods",
                Some(filler(&format!("fill-{node}"), node, "8")),
                "application/json",
            )
            .await;
        assert!(status < 300, "filler on b: {status} {body}");
        let zero = json!({"status": {"allocatable": {"cpu": "0", "memory": "0", "pods": "110"}}});
        let (status, body) = fleet
            .request(
                "c",
                Method::PATCH,
                &format!("/api/v1/nodes/{node}/status"),
                Some(zero),
                MERGE,
            )
            .await;
        assert!(status < 300, "zero allocatable on c: {status} {body}");
    }

    let repo = shop_repo(&CLUSTERS);
    repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference: {dynamicWeight: AvailableReplicas}\n",
    );
    repo.write("apps/shop/manifests/deployment.yaml", &sized_deployment(12));
    repo.commit("shop weighted by free capacity");
    let path = repo.path().display().to_string();
    let kc = fleet.kubeconfig_path().display().to_string();

    let (code, out, err) = run(&["plan", &path, "--kubeconfig", &kc]).await;
    assert_eq!(code, 3, "plan\nstdout:\n{out}\nstderr:\n{err}");
    // Webster of 12 over weights 32 and 16.
    assert!(out.contains("  a: 8 replicas (available 32)\n"), "{out}");
    assert!(out.contains("  b: 4 replicas (available 16)\n"), "{out}");
    assert!(
        out.contains(
            "warning: app shop: cluster c excluded from dynamic weights: 0 available replicas"
        ),
        "{out}"
    );
    assert!(err.contains("cluster c excluded"), "{err}");

    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().display().to_string();
    let (code, out, err) = run(&[
        "apply",
        &path,
        "--kubeconfig",
        &kc,
        "--state-dir",
        &state_dir,
    ])
    .await;
    assert_eq!(code, 0, "apply\nstdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("cluster c excluded"), "{err}");

    let deployment = "/apis/apps/v1/namespaces/shop/deployments/web";
    for (cluster, want) in [("a", 8), ("b", 4)] {
        let (status, body) = fleet
            .request(cluster, Method::GET, deployment, None, "application/json")
            .await;
        assert_eq!(status, 200, "{cluster}: {body}");
        assert_eq!(body["spec"]["replicas"], want, "{cluster}");
    }
    let (status, _) = fleet
        .request("c", Method::GET, deployment, None, "application/json")
        .await;
    assert_eq!(status, 404, "c gets no copy of the workload");
}
