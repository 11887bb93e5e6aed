//! Issue 13 on REAL clusters of the current release: `tranche run` with
//! `approval: {before: [2]}` and a control token file. While the rollout
//! waits for approval, batch 2's apiserver audit log shows no write by
//! tranche to the shop app; `tranche rollout approve` lets batch 2 (and then
//! batch 3) be written; on a second commit `tranche rollout abort` rolls
//! batch 1 back (writes in its audit log, old image live) while batch 2 gets
//! no write for that commit.

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use support::daemon::{free_port, Daemon};
use support::fixtures::{deployment, shop_repo};
use support::object_ref;
use support::{eventually, tranche, TestFleet};

const TOKEN: &str = "control-token-live-do-not-log";
const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:2.0.0";
const POLICY: &str = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
     steps: [1, 1, 1]\n  healthTimeout: 90s\n  bakeTime: 0s\n  onFailure: Rollback\n  approval: {before: [2]}\n";
/// How long the test watches batch 2's audit log stay quiet once the
/// record says the rollout waits for approval.
const SETTLE: Duration = Duration::from_secs(3);

/// The saved rollout record, if a rollout is in flight.
fn record(state: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(state.join("rollout.json")).ok()?;
    serde_json::from_str(&text).ok()
}

async fn phase_is(state: &Path, commit: &str, phase: &str) -> Value {
    eventually(
        &format!("record of {commit} in phase {phase}"),
        Duration::from_secs(120),
        || async { record(state).filter(|r| r["commit"] == commit && r["phase"] == phase) },
    )
    .await
}

/// `tranche rollout ACTION` against the daemon with the token file.
async fn order(url: &str, token_file: &Path, action: &str) -> String {
    let token = token_file.display().to_string();
    let out = tranche(&[
        "rollout",
        action,
        "--url",
        url,
        "--token-file",
        &token,
        "--by",
        "tester",
    ])
    .await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "rollout {action}: {text}");
    text
}

/// The shop Deployment's image on `cluster`, if it exists.
async fn image(fleet: &TestFleet, cluster: &str) -> Option<String> {
    let d = fleet
        .get(cluster, "apps/v1", "Deployment", Some("shop"), "web")
        .await?;
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .map(str::to_string)
}

/// Tranche's writes to the shop app on `cluster` since audit index `since`,
/// as `verb resource ns/name`.
async fn shop_writes(fleet: &TestFleet, cluster: &str, since: usize) -> Vec<String> {
    fleet
        .mutating_requests_in(cluster, "shop", since)
        .await
        .iter()
        .map(object_ref)
        .collect()
}

fn head(repo: &support::FixtureRepo) -> String {
    repo.git(&["rev-parse", "HEAD"]).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_holds_batch_two_and_abort_rolls_batch_one_back_on_real_clusters() {
    let fleet = TestFleet::start(&["a", "b", "c"]).await;
    let repo = shop_repo(&["a", "b", "c"]);
    repo.write("policies/rollout.yaml", POLICY);
    repo.commit("approval before batch 2");
    let v1 = head(&repo);
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\ncontrol:\n  tokenFile: {token}\n",
        repo = repo.path().display(),
        kc = fleet.kubeconfig_path().display(),
        state = state.display(),
        token = token_file.display(),
    );
    let b_start = fleet.audit_len("b").await;
    let c_start = fleet.audit_len("c").await;
    let mut daemon = Daemon::start(dir.path(), "d", &config, port).await;
    let url = daemon.url.clone();

    // Batch 1 (a) is written and healthy; the rollout waits for approval.
    phase_is(&state, &v1, "awaitingApproval").await;
    assert_eq!(image(&fleet, "a").await.as_deref(), Some(V1));
    let status = daemon.json("/api/status").await;
    assert!(
        status.to_string().contains("waiting for approval"),
        "{status:#}"
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(record(&state).expect("record")["phase"], "awaitingApproval");
    let b_writes = shop_writes(&fleet, "b", b_start).await;
    assert!(
        b_writes.is_empty(),
        "b written before approval: {b_writes:?}"
    );
    assert_eq!(image(&fleet, "b").await, None);
    assert!(shop_writes(&fleet, "c", c_start).await.is_empty());

    // Approve: b gets its writes, then c (no approval before batch 3).
    let text = order(&url, &token_file, "approve").await;
    assert!(
        text.contains("batch 2 approved by tester via the control API"),
        "{text}"
    );
    eventually("the v1 rollout ends", Duration::from_secs(120), || async {
        (record(&state).is_none() && image(&fleet, "c").await.as_deref() == Some(V1)).then_some(())
    })
    .await;
    assert_eq!(image(&fleet, "b").await.as_deref(), Some(V1));
    for (c, since) in [("b", b_start), ("c", c_start)] {
        let w = shop_writes(&fleet, c, since).await;
        assert!(
            w.iter().any(|x| x.ends_with("deployments shop/web")),
            "{c}: no Deployment write after approval: {w:?}"
        );
    }

    // A second commit: a gets 2.0.0, b waits; abort rolls a back.
    let a_before = fleet.audit_len("a").await;
    let b_before = fleet.audit_len("b").await;
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = repo.commit("web 2.0.0");
    phase_is(&state, &v2, "awaitingApproval").await;
    assert_eq!(image(&fleet, "a").await.as_deref(), Some(V2));
    let a_written = shop_writes(&fleet, "a", a_before).await;
    assert!(
        a_written
            .iter()
            .any(|x| x.ends_with("deployments shop/web")),
        "a: {a_written:?}"
    );
    tokio::time::sleep(SETTLE).await;
    let b_writes = shop_writes(&fleet, "b", b_before).await;
    assert!(b_writes.is_empty(), "b written for {v2}: {b_writes:?}");

    let a_abort = fleet.audit_len("a").await;
    let text = order(&url, &token_file, "abort").await;
    assert!(
        text.contains("aborted at batch 2 by tester via the control API: rolling back"),
        "{text}"
    );
    eventually("a rolled back", Duration::from_secs(120), || async {
        (record(&state).is_none() && image(&fleet, "a").await.as_deref() == Some(V1)).then_some(())
    })
    .await;
    let rollback = shop_writes(&fleet, "a", a_abort).await;
    assert!(
        rollback.iter().any(|x| x.ends_with("deployments shop/web")),
        "a: no rollback write in the audit log: {rollback:?}"
    );
    let b_writes = shop_writes(&fleet, "b", b_before).await;
    assert!(b_writes.is_empty(), "b written for {v2}: {b_writes:?}");
    assert_eq!(image(&fleet, "b").await.as_deref(), Some(V1));
    let log = daemon.log();
    assert!(
        log.contains("batch 2 aborted by tester via the control API"),
        "{log}"
    );
    assert!(!log.contains(TOKEN), "the control token is in the log");
    daemon.kill().await;
}
