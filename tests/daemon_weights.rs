//! Weights by free capacity in the daemon (issue 16): the real `tranche
//! run` binary on 2 REAL clusters of the current release whose capacity
//! comes from kwok Nodes (16 CPU each) and Pods with requests bound to
//! them. The deploy splits by available replicas; the interval recompute
//! (`dynamicWeights.interval`) rolls out again when capacity moves beyond
//! the hysteresis, and sends no write when it moves within it.

mod support;

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use support::control_plane::NODES;
use support::daemon::{free_port, Daemon};
use support::fixtures::{shop_replicas, shop_repo};
use support::{eventually, TestFleet};

const CLUSTERS: [&str; 2] = ["a", "b"];
const WAIT: Duration = Duration::from_secs(180);

/// A Deployment of `replicas` small pods (100m CPU, 64Mi): its own pods
/// barely move the free capacity they are weighed by.
fn small_deployment(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: {replicas}\n  \
         selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
         containers:\n        - name: web\n          image: registry.example.com/shop/web:1.0.0\n          \
         resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}\n"
    )
}

/// Binds a Pod requesting `cpu` to every Node of `cluster` (fills capacity).
async fn fill(fleet: &TestFleet, cluster: &str, name: &str, cpu: &str) {
    for (node, _) in NODES {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-{node}"), "namespace": "default"},
            "spec": {"nodeName": node, "containers": [{"name": "f", "image": "filler:1",
                "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}});
        let (status, body) = fleet
            .request(
                cluster,
                Method::POST,
                "/api/v1/namespaces/default/pods",
                Some(pod),
                "application/json",
            )
            .await;
        assert!(status < 300, "filler on {cluster}: {status} {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_splits_by_free_capacity_and_rerolls_beyond_the_hysteresis() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    // a: 32 CPU free (320 small pods); b: 16 CPU free (160).
    fill(&fleet, "b", "half", "8").await;
    let repo = shop_repo(&CLUSTERS);
    repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference: {dynamicWeight: AvailableReplicas}\n",
    );
    repo.write("apps/shop/manifests/deployment.yaml", &small_deployment(12));
    let v1 = repo.commit("shop weighted by free capacity");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\ndynamicWeights:\n  interval: 2s\n",
        repo = repo.path().display(),
        kc = fleet.kubeconfig_path().display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "tranche", &config, port).await;

    // The deploy: Webster of 12 over 320 and 160.
    eventually("v1 deployed", WAIT, || async {
        (daemon.json("/api/status").await["lastGood"] == v1.as_str()).then_some(())
    })
    .await;
    assert_eq!(
        (
            shop_replicas(&fleet, "a").await,
            shop_replicas(&fleet, "b").await
        ),
        (8, 4)
    );
    let log = daemon.log();
    assert!(log.contains("a: 8 replicas (available 320)"), "{log}");
    assert!(log.contains("b: 4 replicas (available 160)"), "{log}");
    let weights = std::fs::read_to_string(dir.path().join("state/weights.json"))
        .expect("the weights used are in the state store");
    assert!(
        weights.contains("320") && weights.contains("160"),
        "{weights}"
    );

    // Within the hysteresis (b loses 1 CPU of 16, and the app's own pods
    // take theirs): no write, however many recomputes.
    let m = fleet.audit_marks().await;
    fill(&fleet, "b", "little", "300m").await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let writes = fleet.writes_in_since("shop", &m).await;
    assert!(writes.is_empty(), "within the hysteresis: {writes:?}");
    assert!(daemon.log().contains("within the hysteresis"));

    // Beyond it: a keeps 8 CPU of 32 free; the recompute rolls out again,
    // total kept.
    fill(&fleet, "a", "most", "12").await;
    let filled = std::time::Instant::now();
    let (a, b) = eventually("a's replicas move to b", WAIT, || async {
        let (a, b) = (
            shop_replicas(&fleet, "a").await,
            shop_replicas(&fleet, "b").await,
        );
        (a < 8 && a + b == 12).then_some((a, b))
    })
    .await;
    eprintln!(
        "[weights] a filled → split {a}:{b} in {:.1}s (interval: 2s)",
        filled.elapsed().as_secs_f64()
    );
    let log = daemon.log();
    assert!(log.contains("weights by free capacity moved"), "{log}");
    // And then it settles: the next recomputes are within the hysteresis.
    eventually("the input-change rollout done", WAIT, || async {
        let log = daemon.log();
        log.contains("input change (weights by free capacity moved")
            .then_some(())
    })
    .await;
    let m = fleet.audit_marks().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let writes = fleet.writes_in_since("shop", &m).await;
    assert!(writes.is_empty(), "settled: {writes:?}");
}

/// A weights change whose batch fails the health gate (a ResourceQuota on
/// b admits no more shop pods, so b's new replicas are never created)
/// rolls back to the previous split; the last good commit stays, is not
/// failed, and the history says the input change failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weights_change_that_fails_its_gate_rolls_back_to_the_previous_split() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    fill(&fleet, "b", "half", "8").await;
    let repo = shop_repo(&CLUSTERS);
    repo.write(
        "policies/rollout.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
         steps: [1, 2, 7]\n  healthTimeout: 20s\n  bakeTime: 0s\n  onFailure: Rollback\n  maxParallel: 10\n",
    );
    repo.write(
        "apps/shop/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference: {dynamicWeight: AvailableReplicas}\n",
    );
    repo.write("apps/shop/manifests/deployment.yaml", &small_deployment(12));
    let v1 = repo.commit("shop weighted by free capacity");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\ndynamicWeights:\n  interval: 2s\n",
        repo = repo.path().display(),
        kc = fleet.kubeconfig_path().display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "tranche", &config, port).await;
    eventually("v1 deployed", WAIT, || async {
        (daemon.json("/api/status").await["lastGood"] == v1.as_str()).then_some(())
    })
    .await;
    assert_eq!(
        (
            shop_replicas(&fleet, "a").await,
            shop_replicas(&fleet, "b").await
        ),
        (8, 4)
    );

    // b admits no more shop pods than it runs; then a fills up, so the
    // recompute moves replicas to b, whose new pods are refused.
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "pods", "namespace": "shop"}, "spec": {"hard": {"pods": "4"}}});
    let (status, body) = fleet
        .request(
            "b",
            Method::POST,
            "/api/v1/namespaces/shop/resourcequotas",
            Some(quota),
            "application/json",
        )
        .await;
    assert!(status < 300, "quota on b: {status} {body}");
    fill(&fleet, "a", "most", "12").await;
    let filled = std::time::Instant::now();
    let entry = eventually("the input change fails and is recorded", WAIT, || async {
        let status = daemon.json("/api/status").await;
        status["history"].as_array()?.iter().find_map(|h| {
            let d = h["description"].as_str()?;
            d.starts_with("input change failed: ").then(|| h.clone())
        })
    })
    .await;
    eprintln!(
        "[weights] a filled → input change failed and rolled back in {:.1}s (healthTimeout: 20s)",
        filled.elapsed().as_secs_f64()
    );
    assert_eq!(entry["commit"], v1.as_str());
    assert_eq!(entry["outcome"], "rolledBack", "{entry}");

    // The previous split is back on both clusters, total kept.
    eventually("the previous split back", WAIT, || async {
        let split = (
            shop_replicas(&fleet, "a").await,
            shop_replicas(&fleet, "b").await,
        );
        (split == (8, 4)).then_some(())
    })
    .await;
    let status = daemon.json("/api/status").await;
    assert_eq!(status["lastGood"], v1.as_str(), "last good unchanged");
    let fleet_memory: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("state/fleet.json")).expect("fleet memory"),
    )
    .expect("fleet memory is JSON");
    let failed = fleet_memory["failed"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !failed.iter().any(|c| c == v1.as_str()),
        "the commit is not failed: {failed:?}"
    );
    let weights = std::fs::read_to_string(dir.path().join("state/weights.json"))
        .expect("the weights used are in the state store");
    assert!(
        weights.contains("320") && weights.contains("160"),
        "the old weights stay: {weights}"
    );
    let log = daemon.log();
    assert!(
        log.contains("input change (weights by free capacity moved"),
        "{log}"
    );
    // Not tried again while the capacity stays near the failed weights.
    let m = fleet.audit_marks().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let writes = fleet.writes_in_since("shop", &m).await;
    assert!(writes.is_empty(), "not retried: {writes:?}");
}
