//! The control API with the real binaries: `tranche run` rolling out to
//! directory clusters with `approval: {before: [2]}`, and `tranche rollout
//! approve|pause|resume|abort` against it with a bearer token from a file.
//! Batch 2 is not written until approved; a wrong token is refused (and
//! never logged); a pause survives a daemon restart (it is in the record)
//! and holds even once approved; resume continues; abort rolls batch 1
//! back while batch 2 stays untouched.

mod support;

use std::path::Path;
use std::time::Duration;
use support::daemon::{free_port, Daemon};
use support::fixtures::{deployment, shop_repo};
use support::{eventually, tranche};

const TOKEN: &str = "control-token-do-not-log";
const POLICY: &str = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
     steps: [1, 1, 1]\n  healthTimeout: 30s\n  bakeTime: 0s\n  onFailure: Rollback\n  approval: {before: [2]}\n";

/// The image of the shop Deployment on a directory cluster, if written.
fn image_on(dir: &Path, cluster: &str) -> Option<String> {
    let file = dir
        .join("clusters")
        .join(cluster)
        .join("apps/Deployment/shop/web.yaml");
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .map(str::to_string)
}

/// The saved rollout record, if a rollout is in flight.
fn record(dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("state/rollout.json")).ok()?;
    serde_json::from_str(&text).ok()
}

async fn order(url: &str, token_file: &Path, action: &str) -> (Option<i32>, String) {
    let out = tranche(&[
        "rollout",
        action,
        "--url",
        url,
        "--token-file",
        &token_file.display().to_string(),
        "--by",
        "tester",
    ])
    .await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn phase_is(dir: &Path, phase: &str) {
    eventually(
        &format!("record in phase {phase}"),
        Duration::from_secs(60),
        || async { record(dir).filter(|r| r["phase"] == phase).map(|_| ()) },
    )
    .await;
}

#[tokio::test]
async fn approve_pause_across_a_restart_resume_and_abort_from_the_cli() {
    let repo = shop_repo(&["a", "b", "c"]);
    repo.write("policies/rollout.yaml", POLICY);
    repo.commit("approval before batch 2");
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let wrong_file = dir.path().join("wrong");
    std::fs::write(&wrong_file, "not-the-token").unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  clustersDir: {d}/clusters\n\
         stateDir: {d}/state\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\ncontrol:\n  tokenFile: {token}\n",
        repo = repo.path().display(),
        d = dir.path().display(),
        token = token_file.display(),
    );
    let mut daemon = Daemon::start(dir.path(), "d", &config, port).await;
    let url = daemon.url.clone();
    let d = dir.path();

    // Batch 1 (a) goes; batch 2 (b) waits for approval, unwritten.
    phase_is(d, "awaitingApproval").await;
    assert_eq!(
        image_on(d, "a").as_deref(),
        Some("registry.example.com/shop/web:1.0.0")
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        image_on(d, "b"),
        None,
        "batch 2 is not written before approval"
    );
    let status = daemon.json("/api/status").await;
    assert!(
        status.to_string().contains("waiting for approval"),
        "{status:#}"
    );

    // A wrong token is refused and changes nothing.
    let (code, text) = order(&url, &wrong_file, "approve").await;
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("refused (401 Unauthorized): missing or wrong bearer token"),
        "{text}"
    );
    assert_eq!(record(d).unwrap()["phase"], "awaitingApproval");

    // Pause, then restart the daemon: still paused, and approving does
    // not start the batch while paused.
    let (code, text) = order(&url, &token_file, "pause").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("paused at batch 2 by tester via the control API"),
        "{text}"
    );
    let (code, text) = order(&url, &token_file, "pause").await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("already paused at batch 2"), "{text}");
    daemon.restart().await;
    assert_eq!(record(d).unwrap()["paused"], "tester via the control API");
    let (code, text) = order(&url, &token_file, "approve").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("batch 2 approved by tester via the control API"),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(image_on(d, "b"), None, "paused: still not written");
    let r = record(d).unwrap();
    assert_eq!(
        (r["phase"].as_str(), r["paused"].is_string()),
        (Some("preparing"), true),
        "{r:#}"
    );

    // Resume: batches 2 and 3 go, the rollout ends.
    let (code, text) = order(&url, &token_file, "resume").await;
    assert_eq!(code, Some(0), "{text}");
    eventually("the rollout ends", Duration::from_secs(60), || async {
        (record(d).is_none() && image_on(d, "c").is_some()).then_some(())
    })
    .await;
    assert_eq!(
        image_on(d, "b").as_deref(),
        Some("registry.example.com/shop/web:1.0.0")
    );
    let (code, text) = order(&url, &token_file, "pause").await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no rollout is in flight"), "{text}");

    // A new commit: batch 1 is written, then abort rolls it back.
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:2.0.0", 2),
    );
    repo.commit("web 2.0.0");
    phase_is(d, "awaitingApproval").await;
    assert_eq!(
        image_on(d, "a").as_deref(),
        Some("registry.example.com/shop/web:2.0.0")
    );
    let (code, text) = order(&url, &token_file, "abort").await;
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("aborted at batch 2 by tester via the control API: rolling back"),
        "{text}"
    );
    eventually("a rolled back", Duration::from_secs(60), || async {
        (record(d).is_none()
            && image_on(d, "a").as_deref() == Some("registry.example.com/shop/web:1.0.0"))
        .then_some(())
    })
    .await;
    assert_eq!(
        image_on(d, "b").as_deref(),
        Some("registry.example.com/shop/web:1.0.0"),
        "b untouched"
    );
    let log = daemon.log();
    assert!(
        log.contains("batch 2 aborted by tester via the control API"),
        "{log}"
    );
    assert!(
        !log.contains(TOKEN) && !log.contains("not-the-token"),
        "a token in the log"
    );
    daemon.kill().await;
}
