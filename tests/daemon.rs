//! The daemon end to end (issue 5): the real `tranche run` binary watching a
//! real git repository, rolling out to REAL clusters of the current
//! Kubernetes release (health from the real Deployment controller), posting
//! commit statuses to a local server speaking GitHub's statuses API (the
//! wire exchange is tested against that stand-in).

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{batch_done, free_port, github_signature, post_webhook, Daemon};
use support::fixtures::{broken_override, deployment, rollout_policy, shop_image, shop_repo};
use support::forge::{descriptions, final_status, ForgeStub};
use support::{eventually, FixtureRepo, TestFleet};

const V1: &str = "registry.example.com/shop/web:1.0.0";
const V2: &str = "registry.example.com/shop/web:2.0.0";
const TOKEN: &str = "ghp_test_token_do_not_log";

struct Env {
    fleet: Arc<TestFleet>,
    repo: FixtureRepo,
    dir: tempfile::TempDir,
}

async fn env(names: &[&str], bake: &str) -> Env {
    let fleet = Arc::new(TestFleet::start(names).await);
    let repo = shop_repo(names);
    repo.write("policies/rollout.yaml", &rollout_policy("Rollback", bake));
    repo.commit("shop v1");
    Env {
        fleet,
        repo,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    fn config(&self, name: &str, port: u16, forge: &str, extra: &str) -> String {
        format!(
            "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
             stateDir: {state}\nlisten: 127.0.0.1:{port}\npublicUrl: http://127.0.0.1:{port}\n\
             forge:\n  provider: github\n  apiUrl: {forge}\n  repository: acme/fleet\n  tokenEnv: TRANCHE_TEST_FORGE_TOKEN\n\
             webhook:\n  secretEnv: TRANCHE_TEST_WEBHOOK_SECRET\nresyncInterval: 0s\n{extra}",
            repo = self.repo.path().display(),
            kc = self.fleet.kubeconfig_path().display(),
            state = self.dir.path().join(format!("state-{name}")).display(),
        )
    }

    async fn daemon(&self, name: &str, forge: &ForgeStub, extra: &str) -> Daemon {
        let port = free_port();
        Daemon::start(
            self.dir.path(),
            name,
            &self.config(name, port, &forge.url, extra),
            port,
        )
        .await
    }

    async fn image(&self, c: &str) -> String {
        shop_image(&self.fleet, c).await
    }

    fn head(&self) -> String {
        self.repo.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_commits_are_deployed_reported_rolled_back_and_reverted() {
    let env = env(&["a", "b", "c", "d"], "0s").await;
    let forge = ForgeStub::start(false).await;
    let daemon = env.daemon("main", &forge, "").await;
    let v1 = env.head();

    // v1: pending through the batches, then success.
    let s = final_status(&forge, &v1).await;
    let d = descriptions(&s);
    assert_eq!(
        d.first().unwrap(),
        "pending: batch 1/3 · 0/4 clusters",
        "{d:#?}"
    );
    assert_eq!(
        d.last().unwrap(),
        "success: deployed to 4 cluster(s) in 3 batch(es)",
        "{d:#?}"
    );
    assert!(s[..s.len() - 1].iter().all(|p| p.state == "pending"));
    assert!(
        d.iter().any(|x| x.starts_with("pending: batch 2/3")),
        "{d:#?}"
    );
    assert!(s.iter().all(|p| p.auth == format!("Bearer {TOKEN}")));
    for c in ["a", "b", "c", "d"] {
        assert_eq!(env.image(c).await, V1);
    }

    // A bad commit (b's pods never become available): failure, rollback, note.
    env.repo
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    env.repo
        .write("apps/shop/overrides/broken.yaml", &broken_override(&["b"]));
    let v2 = env.repo.commit("shop 2.0.0");
    let s = final_status(&forge, &v2).await;
    let last = s.last().unwrap();
    assert_eq!(last.state, "failure", "{:#?}", descriptions(&s));
    assert!(
        last.description
            .starts_with("rolled back: b Deployment shop/web ProgressDeadlineExceeded"),
        "{}",
        last.description
    );
    assert!(last.description.chars().count() <= 140);
    // The log shows the wait for b's Deployment when it changes, not once
    // per poll (the controller takes several seconds to give up; a
    // simulated Deployment fails at once, with no wait).
    if !env.fleet.is_sim() {
        support::assert_waits_not_repeated(&daemon.log(), &v2[..7]);
    }
    for c in ["a", "b", "c", "d"] {
        assert_eq!(env.image(c).await, V1, "{c} runs the last good commit");
    }
    let note = env.repo.git(&["notes", "--ref=tranche", "show", &v2]);
    assert!(
        note.contains("outcome: rolled_back") && note.contains("ProgressDeadlineExceeded"),
        "{note}"
    );
    let (_, badge) = daemon.text("/badge.svg").await;
    assert!(
        badge.contains("failed") && badge.contains("#e05d44"),
        "{badge}"
    );
    let status = daemon.json("/api/status").await;
    assert_eq!(status["last"]["state"], "failed");
    assert_eq!(status["lastGood"], v1.as_str());

    // `git revert` is an ordinary commit that deploys the old state.
    let v3 = env.repo.revert(&v2);
    let s = final_status(&forge, &v3).await;
    assert_eq!(
        s.last().unwrap().state,
        "success",
        "{:#?}",
        descriptions(&s)
    );
    let (_, badge) = daemon.text("/badge.svg").await;
    assert!(
        badge.contains(&v3[..7]) && badge.contains("deployed"),
        "{badge}"
    );
    let (code, app_badge) = daemon.text("/badge/shop.svg").await;
    assert_eq!(code, 200);
    assert!(app_badge.contains("<title>shop:"), "{app_badge}");
    let status = daemon.json("/api/status").await;
    assert_eq!(status["last"]["commit"], v3.as_str());
    assert_eq!(status["last"]["state"], "deployed");
    assert!(status["history"].as_array().unwrap().len() >= 3);
    let metrics = daemon.text("/metrics").await.1;
    assert!(
        metrics.contains("tranche_rollouts_total{outcome=\"rolled_back\"} 1"),
        "{metrics}"
    );

    // Webhooks are verified before anything is read.
    let body = json!({"ref": "refs/heads/main", "after": v3}).to_string();
    assert_eq!(
        post_webhook(&daemon.url, body.as_bytes(), "sha256=0000").await,
        401
    );
    assert_eq!(
        post_webhook(
            &daemon.url,
            body.as_bytes(),
            &github_signature("wrong", body.as_bytes())
        )
        .await,
        401
    );
    let good = github_signature("webhook-secret", body.as_bytes());
    assert_eq!(post_webhook(&daemon.url, body.as_bytes(), &good).await, 202);

    assert!(
        !daemon.log().contains(TOKEN),
        "the forge token leaked into the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forge_that_answers_500_does_not_stop_deployment() {
    let env = env(&["a", "b"], "0s").await;
    let forge = ForgeStub::start(true).await;
    let daemon = env.daemon("main", &forge, "").await;
    let v1 = env.head();
    eventually("v1 deployed", Duration::from_secs(60), || async {
        let s = daemon.json("/api/status").await;
        (s["last"]["commit"] == v1.as_str() && s["last"]["state"] == "deployed").then_some(())
    })
    .await;
    for c in ["a", "b"] {
        assert_eq!(env.image(c).await, V1);
    }
    assert!(!forge.posted().is_empty(), "statuses were attempted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_rollout_finishes_it_after_restart() {
    let env = env(&["a", "b", "c", "d"], "3s").await;
    let forge = ForgeStub::start(false).await;
    let mut daemon = env.daemon("main", &forge, "").await;
    let v1 = env.head();
    final_status(&forge, &v1).await;
    env.repo
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = env.repo.commit("shop 2.0.0");
    let record = env.dir.path().join("state-main").join("rollout.json");
    batch_done(&record, &v2).await;
    daemon.kill().await;
    assert!(record.exists(), "the in-flight record survives SIGKILL");
    daemon.restart().await;
    let s = final_status(&forge, &v2).await;
    assert_eq!(
        s.last().unwrap().state,
        "success",
        "{:#?}",
        descriptions(&s)
    );
    // (A queued `resuming: …` status may be replaced by a newer one before
    // it is sent, by design; the daemon's log is the reliable witness.)
    assert!(
        daemon.log().contains("resuming rollout left in flight"),
        "{}",
        daemon.log()
    );
    for c in ["a", "b", "c", "d"] {
        assert_eq!(env.image(c).await, V2, "{c}");
    }
    assert!(!record.exists());

    // SIGTERM: the current step finishes, the process exits cleanly, and
    // the rollout resumes on the next start.
    let v3_image = "registry.example.com/shop/web:3.0.0";
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment(v3_image, 2),
    );
    let v3 = env.repo.commit("shop 3.0.0");
    batch_done(&record, &v3).await;
    assert_eq!(daemon.terminate().await, Some(0), "clean exit on SIGTERM");
    let left: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(left["commit"], v3.as_str());
    assert!(daemon.log().contains("interrupted"), "{}", daemon.log());
    daemon.restart().await;
    let s = final_status(&forge, &v3).await;
    assert_eq!(
        s.last().unwrap().state,
        "success",
        "{:#?}\n{}",
        descriptions(&s),
        daemon.log()
    );
    for c in ["a", "b", "c", "d"] {
        assert_eq!(env.image(c).await, v3_image, "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_share_a_lease_only_the_leader_applies_and_a_standby_takes_over() {
    let env = env(&["a", "b"], "3s").await;
    env.fleet.create_namespace("a", "tranche-system").await;
    let forge = ForgeStub::start(false).await;
    let lease = |id: &str| {
        format!(
            "leaderElection:\n  kubeconfig: {}\n  context: a\n  namespace: tranche-system\n  leaseName: tranche-leader\n  \
             identity: {id}\n  leaseDuration: 10s\n  renewInterval: 1s\n",
            env.fleet.kubeconfig_path().display()
        )
    };
    let mut one = env.daemon("one", &forge, &lease("daemon-one")).await;
    eventually("daemon-one leads", Duration::from_secs(30), || async {
        (one.json("/api/status").await["role"] == "leader").then_some(())
    })
    .await;
    let two = env.daemon("two", &forge, &lease("daemon-two")).await;
    let v1 = env.head();
    final_status(&forge, &v1).await;
    let s2 = two.json("/api/status").await;
    assert_eq!(s2["role"], "standby");
    assert!(
        s2["history"].as_array().unwrap().is_empty(),
        "the standby applied nothing: {s2}"
    );
    let held = env
        .fleet
        .get(
            "a",
            "coordination.k8s.io/v1",
            "Lease",
            Some("tranche-system"),
            "tranche-leader",
        )
        .await
        .unwrap();
    assert_eq!(held["spec"]["holderIdentity"], "daemon-one");

    // Kill the leader in the middle of a rollout: the standby takes the
    // Lease, restores the replicated record and finishes that rollout.
    env.repo
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = env.repo.commit("shop 2.0.0");
    let record = env.dir.path().join("state-one").join("rollout.json");
    batch_done(&record, &v2).await;
    let mirrored = env
        .fleet
        .get(
            "a",
            "v1",
            "ConfigMap",
            Some("tranche-system"),
            "tranche-leader-state",
        )
        .await
        .unwrap();
    assert!(
        mirrored["data"]["rollout"].as_str().unwrap().contains(&v2),
        "{mirrored}"
    );
    one.kill().await;
    let killed = Instant::now();
    eventually("daemon-two takes over", Duration::from_secs(45), || async {
        (two.json("/api/status").await["role"] == "leader").then_some(())
    })
    .await;
    let handover = killed.elapsed();
    println!("handover took {handover:?} (lease 10s, renew 1s)");
    // The protocol bound is leaseDuration + renewInterval (+ a poll); the
    // figure is printed above. A generous bound keeps a loaded CI machine
    // from failing the test for slowness rather than for a wrong handover.
    assert!(
        handover < Duration::from_secs(30),
        "handover took {handover:?}"
    );
    let s = final_status(&forge, &v2).await;
    assert_eq!(
        s.last().unwrap().state,
        "success",
        "{:#?}",
        descriptions(&s)
    );
    assert!(
        two.log().contains("resuming rollout left in flight"),
        "{}",
        two.log()
    );
    assert_eq!(env.image("a").await, V2);
    assert_eq!(env.image("b").await, V2);
    let s2 = two.json("/api/status").await;
    assert_eq!(s2["lastGood"], v2.as_str());
    let commits: Vec<&str> = s2["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["commit"].as_str().unwrap())
        .collect();
    assert!(
        commits.contains(&v1.as_str()),
        "the new leader knows the old leader's history: {commits:?}"
    );
    let held = env
        .fleet
        .get(
            "a",
            "coordination.k8s.io/v1",
            "Lease",
            Some("tranche-system"),
            "tranche-leader",
        )
        .await
        .unwrap();
    assert_eq!(held["spec"]["holderIdentity"], "daemon-two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_corrected_jumped_commits_are_superseded_and_branches_get_previews() {
    let env = env(&["a", "b"], "2s").await;
    let forge = ForgeStub::start(false).await;
    let extra = "preview:\n  refs: [refs/heads/feature]\n";
    let config = env
        .config("main", 0, &forge.url, extra)
        .replace("resyncInterval: 0s", "resyncInterval: 2s");
    let port = free_port();
    let config = config.replace("127.0.0.1:0", &format!("127.0.0.1:{port}"));
    let daemon = Daemon::start(env.dir.path(), "main", &config, port).await;
    let v1 = env.head();
    final_status(&forge, &v1).await;

    // Drift: someone changes the image behind tranche's back.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil/web:6.6.6"}]}}}});
    let path = "/apis/apps/v1/namespaces/shop/deployments/web";
    let (code, _) = env
        .fleet
        .request(
            "a",
            reqwest::Method::PATCH,
            path,
            Some(patch),
            "application/strategic-merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    let corrected = tokio::time::timeout(Duration::from_secs(60), async {
        while env.image("a").await != V1 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(
        corrected.is_ok(),
        "drift not corrected; daemon log:\n{}",
        daemon.log()
    );
    let metrics = daemon.text("/metrics").await.1;
    assert!(
        metrics.contains("tranche_drift_detected_total{cluster=\"a\"}"),
        "{metrics}"
    );

    // Commits arriving during a rollout wait; only the newest runs next.
    env.repo
        .write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = env.repo.commit("v2");
    eventually("v2 rolling out", Duration::from_secs(30), || async {
        (!forge.for_commit(&v2, "tranche/rollout").is_empty()).then_some(())
    })
    .await;
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:3.0.0", 2),
    );
    let v3 = env.repo.commit("v3");
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:4.0.0", 2),
    );
    let v4 = env.repo.commit("v4");
    assert_eq!(
        final_status(&forge, &v2).await.last().unwrap().state,
        "success"
    );
    assert_eq!(
        final_status(&forge, &v4).await.last().unwrap().state,
        "success"
    );
    let v3s = final_status(&forge, &v3).await;
    let last = v3s.last().unwrap();
    assert_eq!(last.state, "error");
    assert!(
        last.description
            .starts_with(&format!("superseded by {}", &v4[..7])),
        "{}",
        last.description
    );
    assert_eq!(env.image("b").await, "registry.example.com/shop/web:4.0.0");

    // A branch other than the tracked one gets a plan, never an apply.
    env.repo.git(&["checkout", "-q", "-b", "feature"]);
    env.repo.write(
        "apps/shop/manifests/deployment.yaml",
        &deployment("registry.example.com/shop/web:5.0.0", 2),
    );
    let feature = env.repo.commit("try 5.0.0");
    env.repo.git(&["checkout", "-q", "main"]);
    let plan = eventually("preview", Duration::from_secs(60), || async {
        forge
            .for_commit(&feature, "tranche/plan")
            .into_iter()
            .rfind(|p| p.state != "pending")
    })
    .await;
    assert_eq!(plan.state, "success");
    assert_eq!(plan.description, "would change 2 objects in 2 clusters");
    assert_eq!(
        env.image("a").await,
        "registry.example.com/shop/web:4.0.0",
        "a preview never applies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_repository_is_cloned_and_a_signed_webhook_fetches_at_once() {
    // Directory clusters: this test is about git, not Kubernetes.
    let repo = shop_repo(&["a", "b"]);
    let v1 = repo.commit("shop v1");
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("fleet.git");
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(init.success());
    repo.git(&["remote", "add", "origin", bare.to_str().unwrap()]);
    repo.git(&["push", "-q", "origin", "main"]);
    let port = free_port();
    let config = format!(
        "repo:\n  url: file://{bare}\n  branch: main\npollInterval: 1h\nclusters:\n  clustersDir: {clusters}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nwebhook:\n  secretEnv: TRANCHE_TEST_WEBHOOK_SECRET\nresyncInterval: 0s\n",
        bare = bare.display(),
        clusters = dir.path().join("clusters").display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "remote", &config, port).await;
    let deployed = |sha: String| {
        let daemon = &daemon;
        async move {
            eventually(
                &format!("{sha} deployed"),
                Duration::from_secs(60),
                || async {
                    let s = daemon.json("/api/status").await;
                    (s["last"]["commit"] == sha.as_str() && s["last"]["state"] == "deployed")
                        .then_some(())
                },
            )
            .await
        }
    };
    deployed(v1).await;
    repo.write("apps/shop/manifests/deployment.yaml", &deployment(V2, 2));
    let v2 = repo.commit("shop 2.0.0");
    repo.git(&["push", "-q", "origin", "main"]);
    // Polling is hourly: only the webhook can make the daemon fetch now.
    let body = json!({"ref": "refs/heads/main", "after": v2}).to_string();
    let signature = github_signature("webhook-secret", body.as_bytes());
    assert_eq!(
        post_webhook(&daemon.url, body.as_bytes(), &signature).await,
        202
    );
    deployed(v2).await;
    for c in ["a", "b"] {
        let path = dir
            .path()
            .join(format!("clusters/{c}/apps/Deployment/shop/web.yaml"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(V2), "{c}: {text}");
    }
}
