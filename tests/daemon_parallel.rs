//! The daemon's default concurrency (issue 10): a config without a
//! `clusters:` block applies 8 clusters at once, as documented. It used to
//! get `parallel: 0` (serde's derived default), hidden by a `.max(1)`: one
//! cluster at a time. Measured with the fault proxy's request log on 9 real
//! apiservers in one batch, each request delayed so applies overlap.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::proxy::ProxySet;
use support::two_commits::two_commits;
use support::{eventually, TestFleet};

const CLUSTERS: [&str; 9] = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];

/// Most clusters being written at the same time: each cluster's writes
/// span [first sent, last answered]; the largest overlap of those spans.
fn clusters_written_at_once(proxies: &ProxySet) -> usize {
    let mut spans: BTreeMap<String, (Instant, Instant)> = BTreeMap::new();
    for r in proxies.requests().iter().filter(|r| r.is_write()) {
        let end = r.finished.unwrap_or_else(Instant::now);
        let span = spans.entry(r.cluster.clone()).or_insert((r.started, end));
        span.0 = span.0.min(r.started);
        span.1 = span.1.max(end);
    }
    spans
        .values()
        .map(|(start, _)| {
            spans
                .values()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_without_clusters_applies_8_clusters_at_once() {
    let fleet = Arc::new(TestFleet::start(&CLUSTERS).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    // 100 ms each way: every cluster's apply takes long enough to overlap.
    proxies.set_delay(Duration::from_millis(100), Duration::from_millis(100));
    let commits = two_commits(&CLUSTERS);
    // One batch with every cluster, and a policy cap above 8.
    commits.repo.write(
        "policies/rollout.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
         steps: [1]\n  healthTimeout: 30s\n  bakeTime: 0s\n  maxParallel: 20\n",
    );
    let head = commits.repo.commit("one batch");
    let dir = tempfile::tempdir().unwrap();
    // No `clusters:` block: the daemon picks ~/.kube/config, as the CLI does.
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    std::fs::copy(proxies.kubeconfig_path(), home.join(".kube/config")).unwrap();
    let port = support::daemon::free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "repo:\n  path: {}\npollInterval: 1s\nstateDir: {}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\n",
            commits.repo.path().display(),
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("daemon.log")).unwrap();
    let mut daemon = tokio::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(["run", "--config", &config.display().to_string()])
        .env("HOME", &home)
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start tranche run");
    let status_url = format!("http://127.0.0.1:{port}/api/status");
    let last = eventually("the rollout of the head", Duration::from_secs(180), || {
        let (url, head) = (status_url.clone(), head.clone());
        async move {
            let v: serde_json::Value = reqwest::get(&url).await.ok()?.json().await.ok()?;
            (v["last"]["commit"] == head.as_str()).then(|| v["last"].clone())
        }
    })
    .await;
    let _ = daemon.start_kill();
    let _ = daemon.wait().await;
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    assert_eq!(last["state"], "deployed", "{last}\n{log}");
    let at_once = clusters_written_at_once(&proxies);
    assert_eq!(
        at_once, 8,
        "clusters written at once with the default clusters.parallel\n{log}"
    );
}
