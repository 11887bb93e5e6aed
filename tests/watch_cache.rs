//! The daemon's live cache (issue 12): watches per kind tranche manages,
//! on a real cluster of the current release, counted in its audit log.
//!
//! - After startup, a no-op reconcile (a resync that finds nothing
//!   changed) sends no request at all: no list, no GET, no dry-run, not
//!   even `/version`.
//! - An object edited behind tranche's back is noticed from the watch and
//!   corrected (`drift: Correct`, the default) with `resyncInterval: 1h`,
//!   so it cannot be the resync; the delay is printed, not asserted.
//! - A watch broken by an apiserver restart resumes: an edit after the
//!   restart is corrected the same way, and the next no-op is still
//!   request-free.
//! - A create over a same-named foreign object (not labelled as tranche's,
//!   so in no watch) is still found with a GET and refused.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{free_port, Daemon};
use support::fixtures::{shop_image, shop_repo};
use support::forge::{final_status, ForgeStub};
use support::{eventually, FixtureRepo, TestFleet};

const C: &str = "w1";
const V1: &str = "registry.example.com/shop/web:1.0.0";
/// What the daemon logs after each drift check (debug).
const CHECKED: &str = "looked for drift";

struct Env {
    fleet: Arc<TestFleet>,
    repo: FixtureRepo,
    dir: tempfile::TempDir,
    forge: ForgeStub,
}

impl Env {
    async fn start() -> Env {
        let fleet = Arc::new(TestFleet::start(&[C]).await);
        let repo = shop_repo(&[C]);
        repo.commit("shop v1");
        Env {
            fleet,
            repo,
            dir: tempfile::tempdir().unwrap(),
            forge: ForgeStub::start(false).await,
        }
    }

    async fn daemon(&self, name: &str, resync: &str) -> Daemon {
        let port = free_port();
        let config = format!(
            "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
             stateDir: {state}\nlisten: 127.0.0.1:{port}\n\
             forge:\n  provider: github\n  apiUrl: {forge}\n  repository: acme/fleet\n  tokenEnv: TRANCHE_TEST_FORGE_TOKEN\n\
             resyncInterval: {resync}\n",
            repo = self.repo.path().display(),
            kc = self.fleet.kubeconfig_path().display(),
            state = self.dir.path().join("state").display(),
            forge = self.forge.url,
        );
        Daemon::start(self.dir.path(), name, &config, port).await
    }

    fn head(&self) -> String {
        self.repo.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// What tranche sent since audit index `since`.
    async fn sent_since(&self, since: usize) -> Vec<Value> {
        self.fleet
            .audit_events(C)
            .await
            .into_iter()
            .skip(since)
            .filter(|e| support::user(e) == "admin")
            .collect()
    }
}

/// Waits until the daemon's log holds `n` more drift checks than `before`.
async fn checks(daemon: &Daemon, before: usize, n: usize) -> usize {
    eventually(
        &format!("{n} more drift checks"),
        Duration::from_secs(60),
        || async {
            let now = daemon.log().matches(CHECKED).count();
            (now >= before + n).then_some(now)
        },
    )
    .await
}

/// tranche's writes (field manager `tranche`) to `what` since `since`.
async fn tranche_writes(env: &Env, since: usize, what: &str) -> Vec<String> {
    env.fleet
        .mutating_requests(C, since)
        .await
        .iter()
        .filter(|e| support::request_uri(e).contains("fieldManager=tranche"))
        .map(support::object_ref)
        .filter(|r| r.ends_with(what))
        .collect()
}

/// Edits an object as someone else would, then waits for tranche to put
/// `check` back; prints the delay, returns the audit index of the edit.
async fn drift_and_wait<F, Fut>(
    env: &Env,
    daemon: &Daemon,
    edit: Value,
    what: &str,
    check: F,
) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let since = env.fleet.audit_len(C).await;
    let edited = Instant::now();
    env.fleet
        .apply_as(C, "kubectl", &edit, true)
        .await
        .expect("edit behind tranche's back");
    let restored = tokio::time::timeout(Duration::from_secs(60), async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        restored.is_ok(),
        "{what} not corrected; daemon log:\n{}",
        daemon.log()
    );
    println!(
        "drift of {what} corrected {:.2} s after the edit (resyncInterval 1h)",
        edited.elapsed().as_secs_f64()
    );
    let writes = tranche_writes(env, since, what).await;
    assert!(
        !writes.is_empty(),
        "the corrective PATCH is in the audit log"
    );
    since
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_reconciles_from_watches_with_zero_requests_and_corrects_drift_at_once() {
    let env = Env::start().await;

    // 1. Deploy, then no-op reconciles (resyncs every 2 s): after the
    //    first drift checks (watches started, the Secret remembered),
    //    tranche sends nothing at all.
    let mut daemon = env.daemon("noop", "2s").await;
    let v1 = env.head();
    let last = final_status(&env.forge, &v1).await;
    assert_eq!(last.last().unwrap().state, "success", "{}", daemon.log());
    let seen = checks(&daemon, 0, 2).await;
    let since = env.fleet.audit_len(C).await;
    let quiet_from = std::time::Instant::now();
    checks(&daemon, seen, 3).await;
    // Past the client's 30 s read timeout too: a quiet watch stays open
    // (it is not broken and sent again).
    let quiet = Duration::from_secs(tranche::cluster::kube::READ_TIMEOUT.as_secs() + 5);
    tokio::time::sleep(quiet.saturating_sub(quiet_from.elapsed())).await;
    let sent = env.sent_since(since).await;
    let what: Vec<String> = sent.iter().map(support::object_ref).collect();
    assert_eq!(
        what,
        Vec::<String>::new(),
        "no request in {} s of no-op reconciles",
        quiet.as_secs()
    );
    daemon.terminate().await;

    // 2. Drift with resyncInterval 1h: only the watch can notice it.
    let daemon = env.daemon("watch", "1h").await;
    checks(&daemon, 0, 1).await;
    let scaled = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil/web:6.6.6"}]}}}});
    drift_and_wait(&env, &daemon, scaled, "deployments shop/web", || async {
        shop_image(&env.fleet, C).await == V1
    })
    .await;

    // 3. The apiserver restarts (every watch breaks): the watches resume,
    //    and an edit after the restart is corrected the same way.
    env.fleet.stop(C);
    tokio::time::sleep(Duration::from_secs(1)).await;
    env.fleet.restart(C).await;
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "shop"}, "data": {"greeting": "hacked"}});
    drift_and_wait(
        &env,
        &daemon,
        config,
        "configmaps shop/web-config",
        || async {
            env.fleet
                .get(C, "v1", "ConfigMap", Some("shop"), "web-config")
                .await
                .is_some_and(|cm| cm["data"]["greeting"] == "hello")
        },
    )
    .await;

    // 4. A new object named like a foreign one: no watch holds it (not
    //    tranche's labels), a GET finds it, the rollout refuses it.
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "extra", "namespace": "shop"}, "data": {"owner": "someone-else"}});
    env.fleet
        .apply_as(C, "kubectl", &foreign, false)
        .await
        .expect("foreign object");
    let since = env.fleet.audit_len(C).await;
    env.repo.write(
        "apps/shop/manifests/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: shop\ndata:\n  owner: tranche\n",
    );
    // (With another change, so that the cluster takes part: a plan whose
    // only entry is refused changes nothing.)
    env.repo.write(
        "apps/shop/manifests/config.yaml",
        &std::fs::read_to_string(env.repo.path().join("apps/shop/manifests/config.yaml"))
            .unwrap()
            .replace("greeting: hello", "greeting: hello-v2"),
    );
    let v2 = env.repo.commit("an object named like a foreign one");
    let last = final_status(&env.forge, &v2).await;
    let last = last.last().unwrap();
    assert_eq!(last.state, "failure", "{}", last.description);
    assert!(
        last.description.contains("not managed by tranche"),
        "{}",
        last.description
    );
    let cm = env
        .fleet
        .get(C, "v1", "ConfigMap", Some("shop"), "extra")
        .await
        .unwrap();
    assert_eq!(cm["data"], json!({"owner": "someone-else"}));
    let sent = env.sent_since(since).await;
    assert!(
        sent.iter()
            .map(support::object_ref)
            .any(|r| r == "get configmaps shop/extra"),
        "found with a GET"
    );
    assert_eq!(
        tranche_writes(&env, since, "configmaps shop/extra").await,
        Vec::<String>::new()
    );
    let greeting = env
        .fleet
        .get(C, "v1", "ConfigMap", Some("shop"), "web-config")
        .await
        .unwrap();
    assert_eq!(greeting["data"]["greeting"], "hello", "rolled back to v1");
}
