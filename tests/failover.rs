//! Failover in the daemon (issue 16): the real `tranche run` binary on 3
//! REAL clusters of the current release (health from the real Deployment
//! controller), an app Divided over them with `spec.failover`.
//!
//! One fleet, in phases: an apiserver stopped for longer than `after` has
//! its replicas moved to the other two in a staged rollout (total kept,
//! `/api/status` says "failover active for c1 since …"); a commit made
//! meanwhile renders around the failed cluster; the cluster restarted is
//! taken back after `after` and applied first, then the others shrink to
//! git's split; a failover that would go below `minClusters` is refused
//! and reported, with no write; a stop shorter than `after` (flapping)
//! changes nothing.

mod support;

use serde_json::Value;
use std::time::Duration;
use support::daemon::{free_port, Daemon};
use support::fixtures::{deployment, shop_image, shop_replicas, shop_repo};
use support::{eventually, TestFleet};

const CLUSTERS: [&str; 3] = ["c1", "c2", "c3"];
const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:2.0.0";
/// Long enough for a loaded machine: a staged rollout with health gates.
const WAIT: Duration = Duration::from_secs(180);

/// The shop Divided over every cluster (weight 1 each) with `failover`.
fn placement(after: &str, min_clusters: usize) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {{name: shop}}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {{matchLabels: {{env: test}}}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference:\n      staticWeightList:\n        - {{targetCluster: {{}}, weight: 1}}\n  \
         failover: {{after: {after}, minClusters: {min_clusters}}}\n"
    )
}

/// Waits until the shop runs `want` replicas on each cluster (in order of
/// [`CLUSTERS`], `None`: not looked at) with `image` where given.
async fn wait_split(fleet: &TestFleet, want: [Option<u64>; 3], image: Option<&str>, what: &str) {
    eventually(what, WAIT, || async move {
        for (c, n) in CLUSTERS.iter().zip(want) {
            let Some(n) = n else { continue };
            if shop_replicas(fleet, c).await != n {
                return None;
            }
            if let Some(image) = image {
                if shop_image(fleet, c).await != image {
                    return None;
                }
            }
        }
        Some(())
    })
    .await;
}

/// Times (RFC 3339, sortable) of the writes to the shop Deployment on
/// `cluster` since audit index `since`.
async fn deployment_writes(fleet: &TestFleet, cluster: &str, since: usize) -> Vec<String> {
    fleet
        .mutating_requests_in(cluster, "shop", since)
        .await
        .iter()
        .filter(|e| e["objectRef"]["resource"] == "deployments")
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(str::to_string))
        .collect()
}

async fn status(daemon: &Daemon) -> Value {
    daemon.json("/api/status").await
}

/// The `failover` lines of `/api/status`.
async fn failover_lines(daemon: &Daemon) -> Vec<String> {
    status(daemon).await["failover"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_last_good(daemon: &Daemon, commit: &str) {
    eventually(&format!("{commit} deployed"), WAIT, || async move {
        (status(daemon).await["lastGood"] == commit).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_cluster_is_failed_over_staged_and_taken_back_first() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    let repo = shop_repo(&CLUSTERS);
    repo.write("apps/shop/placement.yaml", &placement("4s", 2));
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V1, 6));
    let v1 = repo.commit("shop v1, 6 replicas, failover after 4s");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\nfailover:\n  checkInterval: 1s\n",
        repo = repo.path().display(),
        kc = fleet.kubeconfig_path().display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "tranche", &config, port).await;

    // Git's split: 2 each.
    wait_last_good(&daemon, &v1).await;
    wait_split(&fleet, [Some(2), Some(2), Some(2)], Some(V1), "git's split").await;
    assert!(failover_lines(&daemon).await.is_empty());

    // c1 dies for longer than `after`: its 2 replicas move (3 + 3),
    // batch by batch (c2, then c3 once c2 is healthy).
    let m = fleet.audit_marks().await;
    fleet.stop("c1");
    let stopped = std::time::Instant::now();
    wait_split(
        &fleet,
        [None, Some(3), Some(3)],
        None,
        "c1's replicas on c2 and c3",
    )
    .await;
    eprintln!(
        "[failover] c1 stopped → its replicas on c2 and c3: {:.1}s (after: 4s, checkInterval: 1s)",
        stopped.elapsed().as_secs_f64()
    );
    let (c2, c3) = (
        deployment_writes(&fleet, "c2", m[1]).await,
        deployment_writes(&fleet, "c3", m[2]).await,
    );
    assert!(!c2.is_empty() && !c3.is_empty(), "{c2:?} {c3:?}");
    assert!(
        c2.last() < c3.first(),
        "staged: c2 ({c2:?}) before c3 ({c3:?})"
    );
    let lines = failover_lines(&daemon).await;
    assert!(
        lines.len() == 1 && lines[0].starts_with("shop: failover active for c1 since 20"),
        "{lines:?}"
    );
    let log = daemon.log();
    assert!(log.contains("failing over"), "{log}");

    // A commit while c1 is failed over renders around it (3 + 3, new image).
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 6));
    let v2 = repo.commit("shop v2");
    wait_last_good(&daemon, &v2).await;
    wait_split(
        &fleet,
        [None, Some(3), Some(3)],
        Some(V2),
        "v2 on c2 and c3 only",
    )
    .await;

    // c1 back: after `after` up, git's split returns, c1 first (it gets
    // v2 and its 2 replicas), then c2 and c3 shrink to 2.
    let m = fleet.audit_marks().await;
    fleet.restart("c1").await;
    let restarted = std::time::Instant::now();
    wait_split(
        &fleet,
        [Some(2), Some(2), Some(2)],
        Some(V2),
        "git's split back",
    )
    .await;
    eprintln!(
        "[failover] c1 ready again → git's split back on all three: {:.1}s",
        restarted.elapsed().as_secs_f64()
    );
    let c1 = deployment_writes(&fleet, "c1", m[0]).await;
    let shrink: Vec<String> = [
        deployment_writes(&fleet, "c2", m[1]).await,
        deployment_writes(&fleet, "c3", m[2]).await,
    ]
    .concat();
    assert!(!c1.is_empty() && shrink.len() >= 2, "{c1:?} {shrink:?}");
    assert!(
        shrink.iter().all(|t| c1.last() < Some(t)),
        "c1 refilled ({c1:?}) before the others shrink ({shrink:?})"
    );
    assert!(failover_lines(&daemon).await.is_empty());
    assert_eq!(shop_replicas(&fleet, "c1").await, 2);

    // minClusters 3: c2 down is not failed over; the refusal is reported.
    repo.write("apps/shop/placement.yaml", &placement("4s", 3));
    let v3 = repo.commit("shop: keep 3 clusters");
    wait_last_good(&daemon, &v3).await;
    let m = fleet.audit_marks().await;
    fleet.stop("c2");
    let refused = eventually("the refusal reported", WAIT, || async {
        failover_lines(&daemon)
            .await
            .into_iter()
            .find(|l| l.contains("refused"))
    })
    .await;
    assert_eq!(
        refused,
        "shop: failover of c2 refused: it would leave 2 cluster(s), below minClusters 3"
    );
    fleet.restart("c2").await;
    let writes = fleet.writes_in_since("shop", &m).await;
    assert!(writes.is_empty(), "nothing moved: {writes:?}");
    eventually("the refusal cleared", WAIT, || async {
        failover_lines(&daemon).await.is_empty().then_some(())
    })
    .await;

    // Flapping: down and up again within `after` changes nothing.
    repo.write("apps/shop/placement.yaml", &placement("60s", 1));
    let v4 = repo.commit("shop: failover after 60s");
    wait_last_good(&daemon, &v4).await;
    let m = fleet.audit_marks().await;
    fleet.stop("c3");
    tokio::time::sleep(Duration::from_secs(3)).await;
    fleet.restart("c3").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let writes = fleet.writes_in_since("shop", &m).await;
    assert!(writes.is_empty(), "flapping moved something: {writes:?}");
    assert!(failover_lines(&daemon).await.is_empty());
    wait_split(
        &fleet,
        [Some(2), Some(2), Some(2)],
        Some(V2),
        "git's split kept",
    )
    .await;
}
