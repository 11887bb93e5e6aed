//! Health gates judged from watches (issue 12), on real clusters of the
//! current release (controllers, scheduler, kwok), counted in the audit
//! log:
//!
//! - A first `apply` into a new namespace reads no object one by one: the
//!   plan lists the namespaces once (the new one is absent, so is all that
//!   goes in it), and the gate watches the gated kinds (whole objects,
//!   label-selected to tranche's) instead of a GET per object per check.
//!   The gate still waits for the real Deployment to become available.
//! - A watch that cannot start (its list refused, by a fault of the test
//!   proxy) falls back to GETs, and the gate still passes.
//! - A Deployment that fails (ProgressDeadlineExceeded, seen through the
//!   watch) still fails the gate and rolls back.

mod support;

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use support::fixtures::{broken_override, shop_repo};
use support::proxy::{Fault, ProxySet};
use support::{tranche, TestFleet};

/// What tranche (user `admin`) sent to `cluster` since audit index `since`.
async fn sent_since(fleet: &TestFleet, cluster: &str, since: usize) -> Vec<Value> {
    fleet
        .audit_events(cluster)
        .await
        .into_iter()
        .skip(since)
        .filter(|e| support::user(e) == "admin")
        .collect()
}

/// `verb resource ns/name` of every request with this verb.
fn with_verb(sent: &[Value], verb: &str) -> Vec<String> {
    sent.iter()
        .filter(|e| e["verb"] == verb)
        .map(support::object_ref)
        .collect()
}

/// Runs `tranche apply` of `repo` with this kubeconfig and state
/// directory; (exit code, stdout and stderr).
async fn apply(repo: &support::FixtureRepo, kubeconfig: &Path, state: &Path) -> (i32, String) {
    let repo = repo.path().display().to_string();
    let kc = kubeconfig.display().to_string();
    let state_dir = state.display().to_string();
    let out = tranche(&[
        "apply",
        repo.as_str(),
        "--kubeconfig",
        kc.as_str(),
        "--state-dir",
        state_dir.as_str(),
    ])
    .await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

async fn available(fleet: &TestFleet, cluster: &str) -> i64 {
    fleet
        .get(cluster, "apps/v1", "Deployment", Some("shop"), "web")
        .await
        .and_then(|d| d["status"]["availableReplicas"].as_i64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_reads_watches_and_a_first_apply_reads_nothing_one_by_one() {
    let fleet = TestFleet::start(&["g1"]).await;
    let repo = shop_repo(&["g1"]);
    repo.commit("shop v1");
    let since = fleet.audit_len("g1").await;
    let state = tempfile::tempdir().unwrap();
    let (code, err) = apply(&repo, fleet.kubeconfig_path(), state.path()).await;
    assert_eq!(code, 0, "{err}");
    // (Before the test's own reads, which are the admin's too.)
    let sent = sent_since(&fleet, "g1", since).await;
    assert_eq!(available(&fleet, "g1").await, 2, "the gate waited for it");

    let gets: Vec<String> = with_verb(&sent, "get")
        .into_iter()
        .filter(|g| g.contains(" shop"))
        .collect();
    assert_eq!(
        gets,
        Vec::<String>::new(),
        "no object of the new namespace read one by one (plan or gate); sent: {:#?}",
        sent.iter()
            .map(|e| format!("{} {}", e["stageTimestamp"], support::request_uri(e)))
            .collect::<Vec<_>>()
    );
    assert!(
        with_verb(&sent, "list").contains(&"list namespaces *".to_string()),
        "the namespaces listed once: {:?}",
        with_verb(&sent, "list")
    );
    let watches: Vec<&Value> = sent
        .iter()
        .filter(|e| e["verb"] == "watch" && e["objectRef"]["resource"] == "deployments")
        .collect();
    assert!(!watches.is_empty(), "the gate watched the Deployments");
    for w in watches {
        let uri = support::request_uri(w);
        assert!(
            uri.contains("/namespaces/shop/deployments")
                && uri.contains("labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtranche"),
            "in the gated namespace, tranche's objects only: {uri}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_whose_watch_cannot_start_reads_with_gets() {
    let fleet = Arc::new(TestFleet::start(&["g2"]).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    // The gate's list of Deployments in the namespace (the plan lists them
    // cluster-wide and reads one with `/deployments/web`): refused.
    proxies.add(Fault::on("GET", "/namespaces/shop/deployments?").answer(403));
    let repo = shop_repo(&["g2"]);
    repo.commit("shop v1");
    let since = fleet.audit_len("g2").await;
    let state = tempfile::tempdir().unwrap();
    let (code, err) = apply(&repo, proxies.kubeconfig_path(), state.path()).await;
    assert_eq!(code, 0, "{err}");
    let sent = sent_since(&fleet, "g2", since).await;
    assert_eq!(available(&fleet, "g2").await, 2, "the gate waited for it");
    let refused = proxies
        .requests()
        .iter()
        .filter(|r| r.path.contains("/namespaces/shop/deployments?"))
        .count();
    assert!(refused > 0, "the gate tried to watch");
    assert!(
        with_verb(&sent, "get").contains(&"get deployments shop/web".to_string()),
        "read with a GET instead: {:?}",
        with_verb(&sent, "get")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_failing_behind_the_watch_fails_the_gate() {
    let fleet = TestFleet::start(&["g3"]).await;
    let repo = shop_repo(&["g3"]);
    repo.commit("shop v1");
    let state = tempfile::tempdir().unwrap();
    let (code, err) = apply(&repo, fleet.kubeconfig_path(), state.path()).await;
    assert_eq!(code, 0, "{err}");
    repo.write("apps/shop/overrides/broken.yaml", &broken_override(&["g3"]));
    repo.commit("shop broken on g3");
    let (code, err) = apply(&repo, fleet.kubeconfig_path(), state.path()).await;
    assert_ne!(code, 0, "the broken Deployment fails the gate\n{err}");
    assert!(err.contains("ProgressDeadlineExceeded"), "{err}");
}
