//! Rollouts under injected faults (issue 10): the real binary against REAL
//! kube-apiservers, through the fault proxy of `tests/support/proxy.rs`.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::proxy::{Fault, ProxySet};
use support::two_commits::{add_foreign, check_run, not_on, truth, two_commits, Said, Truth};
use support::TestFleet;
use tranche::cluster::kube::Backoff;
use tranche::cluster::{ClusterApi, KubeCluster};

/// tranche's driver for `name` through its proxy, without retries.
async fn through(proxies: &ProxySet, name: &str) -> KubeCluster {
    KubeCluster::from_kubeconfig(name, Some(proxies.kubeconfig_path()), name)
        .await
        .unwrap()
        .with_backoff(Backoff {
            tries: 1,
            first_delay: Duration::from_millis(1),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_forwards_and_injects_each_fault() {
    let fleet = Arc::new(TestFleet::start(&["p"]).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    let api = through(&proxies, "p").await;
    api.ping().await.expect("forwarded to the apiserver");
    for (code, word) in [(500, "500"), (503, "503"), (429, "429")] {
        proxies.add(Fault::at(proxies.count()).answer(code));
        let err = api.ping().await.unwrap_err().to_string();
        assert!(err.contains(word), "{code}: {err}");
        api.ping()
            .await
            .expect("a fault fires once unless told otherwise");
    }
    // A pattern, for one cluster, twice.
    proxies.add(
        Fault::on("GET", "/version")
            .cluster("p")
            .answer(500)
            .times(2),
    );
    assert!(api.ping().await.is_err());
    assert!(api.ping().await.is_err());
    api.ping().await.unwrap();
    // An index fault with times(3) also hits the retries of that request.
    let retrying = KubeCluster::from_kubeconfig("p", Some(proxies.kubeconfig_path()), "p")
        .await
        .unwrap()
        .with_backoff(Backoff {
            tries: 3,
            first_delay: Duration::from_millis(1),
        });
    proxies.add(Fault::at(proxies.count()).answer(500).times(3));
    assert!(retrying.ping().await.is_err(), "three tries, three 500s");
    proxies.add(Fault::at(proxies.count()).answer(500).times(2));
    retrying.ping().await.expect("the third try gets through");
    // A reset is a dropped connection: the cluster looks unreachable.
    proxies.add(Fault::at(proxies.count()).reset());
    let err = api.ping().await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    api.ping().await.unwrap();
    // A hang never answers (a short client timeout shows it).
    proxies.add(Fault::at(proxies.count()).hang());
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let hung = client
        .get(format!("{}/version", proxies.url("p")))
        .bearer_auth(fleet.admin_token())
        .send()
        .await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    // One-way delays add up to the round trip; requests in flight are counted.
    proxies.set_delay(Duration::from_millis(150), Duration::from_millis(100));
    let started = Instant::now();
    api.ping().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    proxies.reset();
    let pings = futures::future::join_all((0..3).map(|_| api.ping())).await;
    assert!(pings.iter().all(Result::is_ok));
    assert_eq!(proxies.peak_in_flight(), 3);
    assert_eq!(proxies.in_flight(), 0);
    assert_eq!(proxies.requests().len(), 3);
    proxies.set_delay(Duration::ZERO, Duration::ZERO);
    // Stopping the apiserver: it is down, and requests are reset.
    proxies.add(Fault::at(proxies.count()).stop_apiserver());
    assert!(api.ping().await.unwrap_err().is_unreachable());
    assert!(!fleet.is_running("p"));
    assert!(api.ping().await.unwrap_err().is_unreachable());
    proxies.restart_apiserver("p").await;
    api.ping().await.expect("back after a restart");
}

/// `tranche apply` of `commit` through `kubeconfig`, as `support::two_commits::Said`.
async fn apply(
    repo: &std::path::Path,
    commit: &str,
    kubeconfig: &std::path::Path,
    state: &std::path::Path,
) -> Said {
    let out = support::tranche(&[
        "apply",
        &repo.display().to_string(),
        "--rev",
        commit,
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "--state-dir",
        &state.display().to_string(),
        "-o",
        "json",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    Said {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("no JSON ({e}, {}):\n{stdout}\n{stderr}", out.status)),
        last_line: stderr.lines().last().unwrap_or_default().to_string(),
    }
}

async fn truths(fleet: &TestFleet) -> BTreeMap<String, Truth> {
    let mut out = BTreeMap::new();
    for c in fleet.names() {
        out.insert(c.clone(), truth(fleet, c).await);
    }
    out
}

async fn memory(state: &std::path::Path) -> BTreeMap<String, String> {
    let out = support::tranche(&[
        "status",
        "--state-dir",
        &state.display().to_string(),
        "--json",
    ])
    .await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    serde_json::from_value(v["fleet"]["clusterCommits"].clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_previous_commit_never_becomes_a_prune() {
    let names = ["a", "b", "c"];
    let fleet = Arc::new(TestFleet::start(&names).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    let commits = two_commits(&names);
    let state = tempfile::tempdir().unwrap();
    let (repo, state_dir) = (commits.repo.path(), state.path());
    let first = apply(repo, &commits.v1, fleet.kubeconfig_path(), state_dir).await;
    assert_eq!(first.json["outcome"], "succeeded", "{}", first.json);
    add_foreign(&fleet).await;
    let start = truths(&fleet).await;

    // 1. b's cluster record cannot be read at all (HTTP 500 on every GET),
    // and b's batch would fail anyway. b must not be written: tranche could
    // not roll it back. Before the fix it was taken as "ran nothing" and a
    // failed batch then pruned everything of b.
    proxies.add(
        Fault::on("GET", "/configmaps/tranche.cluster")
            .cluster("b")
            .answer(500),
    );
    proxies.add(Fault::write_to("/configmaps/keep").cluster("b").answer(500));
    let said = apply(repo, &commits.v2, proxies.kubeconfig_path(), state_dir).await;
    assert_eq!(said.code, 1, "{}", said.json);
    assert_eq!(said.json["outcome"], "rolledBack", "{}", said.json);
    let failure = &said.json["failure"];
    assert_eq!(failure["cluster"], "b", "{failure}");
    let reason = failure["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("cannot tell which commit it runs") && reason.contains("500"),
        "{reason}"
    );
    let writes_to_b: Vec<String> = proxies
        .requests()
        .iter()
        .filter(|r| r.cluster == "b" && r.is_write())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes_to_b.is_empty(), "b was written: {writes_to_b:?}");
    let now = truths(&fleet).await;
    assert_eq!(
        now["b"], start["b"],
        "b is exactly as it was: nothing deleted"
    );
    let problems = check_run(
        &commits,
        &commits.v1,
        &commits.v2,
        &start,
        &now,
        &said,
        &memory(state_dir).await,
    );
    assert!(problems.is_empty(), "{problems:#?}");

    // 2. Only the read when the rollout is planned fails (4 tries); it is
    // read again before b is written, so when b's batch fails (4 failed
    // writes of `keep`), b is rolled back to v1, not to nothing.
    proxies.reset();
    proxies.add(
        Fault::on("GET", "/configmaps/tranche.cluster")
            .cluster("b")
            .answer(500)
            .times(4),
    );
    proxies.add(
        Fault::write_to("/configmaps/keep")
            .cluster("b")
            .answer(500)
            .times(4),
    );
    let said = apply(repo, &commits.v2, proxies.kubeconfig_path(), state_dir).await;
    assert_eq!(said.json["outcome"], "rolledBack", "{}", said.json);
    assert_eq!(said.json["failure"]["cluster"], "b", "{}", said.json);
    let rolled: Vec<&str> = said.json["rolledBack"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["cluster"].as_str())
        .collect();
    assert_eq!(rolled, vec!["a", "b"]);
    let now = truths(&fleet).await;
    assert!(
        not_on(&now["b"], &commits, &commits.v1).is_empty(),
        "{:?}",
        now["b"]
    );
    let problems = check_run(
        &commits,
        &commits.v1,
        &commits.v2,
        &start,
        &now,
        &said,
        &memory(state_dir).await,
    );
    assert!(problems.is_empty(), "{problems:#?}");
    // b failed before its prune and c was never written: both hold the
    // very objects they held (same uids). a's `gone` came back as a new
    // object: v2 had pruned it there.
    assert_eq!(now["b"], start["b"]);
    assert_eq!(now["c"], start["c"]);
}

/// Found by the sweep (random run 11 of seed 12345): a rollback whose last
/// write (the cluster record) failed, retried on the next run, found no
/// object to change and left `tranche.cluster` naming the bad commit; the
/// next failed rollout then "restored" that bad commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_whose_record_write_failed_settles_the_record_when_retried() {
    let names = ["a", "b", "c"];
    let fleet = Arc::new(TestFleet::start(&names).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    let commits = two_commits(&names);
    let state = tempfile::tempdir().unwrap();
    let (repo, state_dir) = (commits.repo.path(), state.path());
    let first = apply(repo, &commits.v1, fleet.kubeconfig_path(), state_dir).await;
    assert_eq!(first.json["outcome"], "succeeded", "{}", first.json);
    add_foreign(&fleet).await;
    let start = truths(&fleet).await;
    // b's batch fails; a's rollback then cannot write a's cluster record
    // at its end. The record's first three writes go through: a's own
    // batch writes its journal and then its commit, and the rollback its
    // journal.
    let record = "/configmaps/tranche.cluster";
    proxies.add(Fault::write_to("/configmaps/keep").cluster("b").answer(500));
    proxies.add(
        Fault::write_to(record)
            .cluster("a")
            .skip(3)
            .reset()
            .times(4),
    );
    let said = apply(repo, &commits.v2, proxies.kubeconfig_path(), state_dir).await;
    assert_eq!(said.json["outcome"], "rollbackFailed", "{}", said.json);
    assert_eq!(said.left_behind(), vec!["a"]);
    // The retry (the next run) settles a on v1, record included.
    proxies.reset();
    let retry = apply(repo, &commits.v2, proxies.kubeconfig_path(), state_dir).await;
    assert_eq!(retry.json["outcome"], "rolledBack", "{}", retry.json);
    let now = truths(&fleet).await;
    let problems = check_run(
        &commits,
        &commits.v1,
        &commits.v2,
        &start,
        &now,
        &retry,
        &memory(state_dir).await,
    );
    assert!(problems.is_empty(), "{problems:#?}");
    // So the next failed rollout restores v1 on a, not v2.
    proxies.add(Fault::write_to("/configmaps/keep").cluster("b").answer(500));
    let again = apply(repo, &commits.v2, proxies.kubeconfig_path(), state_dir).await;
    assert_eq!(again.json["outcome"], "rolledBack", "{}", again.json);
    let now = truths(&fleet).await;
    assert!(
        not_on(&now["a"], &commits, &commits.v1).is_empty(),
        "{:?}",
        now["a"]
    );
}
