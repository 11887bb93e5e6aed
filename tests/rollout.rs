//! Staged rollouts (issue 4) with the real binary against REAL clusters of
//! the current Kubernetes release: "healthy" and "failed" come from the
//! real Deployment controller (a pod whose image tag is `broken`
//! crash-loops, so its Deployment exceeds its progress deadline).

mod support;

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::fixtures::{
    broken_override, cluster, deployment, rollout_policy, shop_image, shop_repo,
};
use support::{tranche, FixtureRepo, TestFleet};

struct Env {
    fleet: Arc<TestFleet>,
    repo: FixtureRepo,
    state: tempfile::TempDir,
    names: Vec<String>,
}

async fn env(names: &[&str]) -> Env {
    let fleet = Arc::new(TestFleet::start(names).await);
    let repo = shop_repo(names);
    repo.commit("shop v1");
    Env {
        fleet,
        repo,
        state: tempfile::tempdir().unwrap(),
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

impl Env {
    fn args(&self) -> Vec<String> {
        vec![
            "apply".into(),
            self.repo.path().display().to_string(),
            "--kubeconfig".into(),
            self.fleet.kubeconfig_path().display().to_string(),
            "--state-dir".into(),
            self.state.path().display().to_string(),
            "--output".into(),
            "json".into(),
        ]
    }

    async fn apply(&self) -> (i32, Value, String) {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tranche(&args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("report JSON: {e}\n{stdout}\n{stderr}"));
        (out.status.code().unwrap_or(-1), report, stderr)
    }

    async fn image(&self, c: &str) -> String {
        shop_image(&self.fleet, c).await
    }

    async fn audit_lens(&self) -> Vec<usize> {
        futures::future::join_all(self.names.iter().map(|c| self.fleet.audit_len(c))).await
    }

    /// Commit v2: a new image; on `failing` clusters its pods crash-loop.
    fn commit_v2(&self, failing: &[&str]) -> String {
        self.repo.write(
            "apps/shop/manifests/deployment.yaml",
            &deployment("registry.example.com/shop/web:2.0.0", 2),
        );
        if !failing.is_empty() {
            self.repo
                .write("apps/shop/overrides/broken.yaml", &broken_override(failing));
        }
        self.repo.commit("shop 2.0.0")
    }
}

const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:2.0.0";

/// Time (RFC 3339, µs) of the first write of a Deployment on `cluster` after `since`.
fn first_deploy_write(events: &[Value]) -> Option<String> {
    deploy_writes(events).next()
}

/// Time of tranche's last write to the Deployment.
fn last_deploy_write(events: &[Value]) -> Option<String> {
    deploy_writes(events).next_back()
}

fn deploy_writes(events: &[Value]) -> impl DoubleEndedIterator<Item = String> + '_ {
    events
        .iter()
        .filter(|e| {
            support::is_mutating(e)
                && e["objectRef"]["resource"] == "deployments"
                && e["objectRef"]["subresource"].is_null()
        })
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(str::to_string))
}

/// Time of the Deployment controller's last status write: once the
/// Deployment is complete it writes no more, so this is when it became
/// healthy.
fn last_status_write(events: &[Value]) -> Option<String> {
    events
        .iter()
        .filter(|e| {
            support::is_controller_write(e)
                && e["objectRef"]["resource"] == "deployments"
                && e["objectRef"]["subresource"] == "status"
        })
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(str::to_string))
        .next_back()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clusters_go_1_then_2_then_7_each_batch_after_the_previous_is_healthy() {
    let names = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"];
    let env = env(&names).await;
    // r9 is the canary: rolloutOrder puts it first.
    env.repo.write("clusters/r9.yaml", &cluster("r9", Some(0)));
    env.repo
        .write("policies/rollout.yaml", &rollout_policy("Rollback", "1s"));
    env.repo.commit("canary r9");
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert_eq!(report["outcome"], "succeeded");
    let batches: Vec<Vec<String>> = serde_json::from_value(report["batches"].clone()).unwrap();
    assert_eq!(
        batches,
        vec![
            vec!["r9".to_string()],
            vec!["r0".into(), "r1".into()],
            ["r2", "r3", "r4", "r5", "r6", "r7", "r8"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        ]
    );
    // Ordering from the apiservers' own audit logs: every cluster of batch
    // k+1 is first written after every cluster of batch k was made healthy.
    let mut first_write = std::collections::BTreeMap::new();
    let mut healthy_at = std::collections::BTreeMap::new();
    for c in names {
        let events = env.fleet.audit_events(c).await;
        first_write.insert(
            c.to_string(),
            first_deploy_write(&events).expect("deployment written"),
        );
        // Simulated clusters settle a Deployment's status in the write
        // itself: it is healthy from its last write on.
        let healthy = match env.fleet.is_sim() {
            true => last_deploy_write(&events),
            false => last_status_write(&events),
        };
        healthy_at.insert(c.to_string(), healthy.expect("made healthy"));
        assert_eq!(env.image(c).await, V1);
    }
    for pair in batches.windows(2) {
        let prev_healthy = pair[0].iter().map(|c| &healthy_at[c]).max().unwrap();
        for c in &pair[1] {
            assert!(
                &first_write[c] > prev_healthy,
                "{c} written at {} before batch {:?} was healthy at {prev_healthy}",
                first_write[c],
                pair[0]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_2_failure_rolls_back_batches_1_and_2_and_a_revert_is_then_a_no_op() {
    let names = ["a", "b", "c", "d"]; // batches [a] [b] [c, d]
    let env = env(&names).await;
    let (code, _, err) = env.apply().await;
    assert_eq!(code, 0, "{err}");
    let since = env.audit_lens().await;
    let bad = env.commit_v2(&["b"]);
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 1, "{report}\n{err}");
    assert_eq!(report["outcome"], "rolledBack", "{report:#}");
    let failure = &report["failure"];
    assert_eq!(failure["cluster"], "b");
    assert_eq!(failure["object"], "Deployment shop/web");
    assert!(
        failure["reason"]
            .as_str()
            .unwrap()
            .contains("ProgressDeadlineExceeded"),
        "{failure}"
    );
    assert!(report["description"]
        .as_str()
        .unwrap()
        .starts_with("rolled back: b Deployment shop/web ProgressDeadlineExceeded"));
    // stderr is not a terminal: each state of the wait is shown once.
    // (Simulated clusters fail the Deployment at once: there is no wait.)
    if !env.fleet.is_sim() {
        let waits = support::assert_waits_not_repeated(&err, "");
        assert!(
            waits.iter().any(|w| w.contains("b Deployment shop/web")),
            "{err}"
        );
    }
    let rolled: Vec<&str> = report["rolledBack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(rolled, vec!["a", "b"]);
    for c in ["a", "b"] {
        assert_eq!(env.image(c).await, V1, "{c} rolled back");
    }
    for (i, c) in names.iter().enumerate().skip(2) {
        assert_eq!(env.image(c).await, V1);
        let writes = env.fleet.mutating_requests(c, since[i]).await;
        assert!(
            writes.is_empty(),
            "batch 3 cluster {c} was touched: {:?}",
            writes.iter().map(support::object_ref).collect::<Vec<_>>()
        );
    }
    // The failed commit is remembered; `git revert` deploys the old state,
    // which every cluster already runs: nothing is written anywhere.
    let status = tranche(&[
        "status",
        "--state-dir",
        &env.state.path().display().to_string(),
        "--json",
    ])
    .await;
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["fleet"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == bad.as_str()));
    env.repo.revert(&bad);
    let since = env.audit_lens().await;
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["outcome"], "nothingToDo", "{report}");
    for (i, c) in names.iter().enumerate() {
        assert!(
            env.fleet.mutating_requests(c, since[i]).await.is_empty(),
            "revert wrote to {c}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_leaves_clusters_as_they_are() {
    let names = ["a", "b", "c", "d"];
    let env = env(&names).await;
    env.repo
        .write("policies/rollout.yaml", &rollout_policy("Pause", "0s"));
    env.repo.commit("pause on failure");
    let (code, _, err) = env.apply().await;
    assert_eq!(code, 0, "{err}");
    env.commit_v2(&["b"]);
    let (code, report, _) = env.apply().await;
    assert_eq!(code, 1);
    assert_eq!(report["outcome"], "paused");
    assert!(report["rolledBack"].as_array().unwrap().is_empty());
    assert_eq!(env.image("a").await, V2);
    assert_eq!(
        env.image("b").await,
        "registry.example.com/shop/web:broken",
        "paused: b keeps the bad version"
    );
    assert_eq!(env.image("c").await, V1);
    assert_eq!(env.image("d").await, V1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_in_batch_1_fails_the_gate_and_nothing_else_is_touched() {
    let names = ["a", "b", "c"];
    let env = env(&names).await;
    env.fleet.stop("a");
    let since = env.audit_lens().await;
    let (code, report, _) = env.apply().await;
    assert_eq!(code, 1);
    assert_eq!(report["failure"]["cluster"], "a");
    assert!(
        report["description"]
            .as_str()
            .unwrap()
            .contains("rolled back: a"),
        "{report}"
    );
    for (i, c) in names.iter().enumerate().skip(1) {
        assert!(
            env.fleet.mutating_requests(c, since[i]).await.is_empty(),
            "{c} was written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_killed_between_batches_resumes_where_it_stopped() {
    let names = ["a", "b", "c", "d"];
    let env = env(&names).await;
    env.repo
        .write("policies/rollout.yaml", &rollout_policy("Rollback", "4s"));
    env.repo.commit("bake 4s");
    let (code, _, err) = env.apply().await;
    assert_eq!(code, 0, "{err}");
    env.commit_v2(&[]);
    let args = env.args();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let record = env.state.path().join("rollout.json");
    // Wait until batch 1 is recorded done (batch 2 is then baking/applying).
    support::eventually("batch 1 done", Duration::from_secs(60), || async {
        let text = std::fs::read_to_string(&record).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        (v["batch"].as_u64()? >= 1).then_some(())
    })
    .await;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let left: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert!(
        matches!(
            left["phase"].as_str(),
            Some("preparing" | "applying" | "gating")
        ),
        "the record of the batch in flight survives the kill: {left}"
    );
    assert_eq!(env.image("a").await, V2);
    let (code, report, err) = env.apply().await;
    assert_eq!(code, 0, "{report}\n{err}");
    assert_eq!(report["outcome"], "succeeded");
    for c in names {
        assert_eq!(env.image(c).await, V2, "{c}");
    }
    assert!(!record.exists(), "finished rollouts clear their record");
}
