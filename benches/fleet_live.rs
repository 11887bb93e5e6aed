//! A live fleet at scale (issue 15): the real `tranche` binary against
//! 1,000 simulated clusters (`tests/support/sim`, all served from this
//! process), each running a small app set (5 apps × Deployment, Service
//! and ConfigMap, in `default`). Prints, asserts nothing:
//!
//! - the first rollout (`tranche apply`, 1:2:7 batches): wall time and
//!   requests (every cluster's request log, user `admin`);
//! - the daemon (`tranche run`, resyncInterval 5s) after its startup: the
//!   requests of its no-op reconciles over 40 s, longer than a request's
//!   read timeout (target 0: its watches answer and stay open);
//! - a one-image commit rolled out by the daemon across every cluster in
//!   1:2:7 steps with instant health: commit → rollout finished (target
//!   < 60 s) and its requests;
//! - the daemon's peak memory (VmHWM) and resident memory (VmRSS).
//!
//! ```sh
//! cargo bench --bench fleet_live                       # 1,000 clusters
//! TRANCHE_SCALE_SIM_CLUSTERS=200 cargo bench --bench fleet_live
//! ```
//!
//! The soft open-file limit is raised to the hard one (the daemon holds a
//! connection per watch: 4 per cluster, and this process the other end).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::daemon::{free_port, Daemon};
use support::fixtures::cluster;
use support::{FixtureRepo, K8s, TestFleet};

const APPS: usize = 5;
/// Clusters applied at once (CLI `--parallel`, daemon `clusters.parallel`,
/// policy `maxParallel`).
const PARALLEL: usize = 100;
const CHECKED: &str = "looked for drift";

fn image(version: &str) -> String {
    format!("registry.example.com/bench/web:{version}")
}

fn app(repo: &FixtureRepo, i: usize, version: &str) {
    let name = format!("app{i}");
    repo.write(
        &format!("apps/{name}/placement.yaml"),
        &format!(
            "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {{name: {name}}}\nspec:\n  clusterAffinity:\n    \
             labelSelector: {{matchLabels: {{env: test}}}}\n"
        ),
    );
    repo.write(
        &format!("apps/{name}/manifests/objects.yaml"),
        &format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  replicas: 2\n  \
             selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      \
             containers:\n        - name: web\n          image: {image}\n          ports: [{{containerPort: 8080}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  selector: {{app: {name}}}\n  \
             ports: [{{port: 80, targetPort: 8080, protocol: TCP}}]\n\
             ---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\n  namespace: default\ndata:\n  greeting: hello\n",
            image = image(version)
        ),
    );
}

/// Raises the soft open-file limit to the hard one; returns both.
fn raise_fd_limit() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    (limit.rlim_cur, limit.rlim_max)
}

/// `VmHWM` and `VmRSS` of a process, as printed by /proc.
fn memory(pid: u32) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Requests by `admin` (tranche) on every cluster since `marks`.
async fn requests_since(fleet: &TestFleet, marks: &[usize]) -> (usize, usize) {
    let mut all = 0;
    let mut writes = 0;
    for (name, since) in fleet.names().iter().zip(marks) {
        let events = fleet.audit_events(name).await;
        let sent: Vec<_> = events
            .iter()
            .skip(*since)
            .filter(|e| support::user(e) == "admin")
            .collect();
        all += sent.len();
        writes += sent.iter().filter(|e| support::is_mutating(e)).count();
    }
    (all, writes)
}

async fn wait_for_commit(daemon: &Daemon, sha: &str, timeout: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let status = daemon.json("/api/status").await;
        let done = status["last"]["commit"] == sha || status["lastGood"] == sha;
        if done && status["current"].is_null() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "the daemon did not finish {sha} within {timeout:?}: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("TRANCHE_SCALE_SIM_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (soft, hard) = raise_fd_limit();
    let names: Vec<String> = (0..n).map(|i| format!("c{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let started = Instant::now();
    let fleet = TestFleet::start_on(K8s::Sim, &refs).await;
    println!(
        "fleet_live: {n} simulated clusters × {APPS} apps × 3 objects (open files {soft}/{hard}), started in {:.2?}",
        started.elapsed()
    );

    let repo = FixtureRepo::new();
    for c in &names {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, None));
    }
    repo.write(
        "policies/rollout.yaml",
        &format!(
            "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: bench}}\nspec:\n  \
             steps: [1, 2, 7]\n  healthTimeout: 120s\n  bakeTime: 0s\n  onFailure: Rollback\n  maxParallel: {PARALLEL}\n"
        ),
    );
    for i in 0..APPS {
        app(&repo, i, "1.0.0");
    }
    repo.commit("bench v1");
    let dir = tempfile::tempdir().expect("a temp dir");
    let kubeconfig = fleet.kubeconfig_path().display().to_string();

    // 1. The first rollout, with the CLI.
    let marks = fleet.audit_marks().await;
    let t0 = Instant::now();
    let parallel = PARALLEL.to_string();
    let out = support::tranche(&[
        "apply",
        &repo.path().display().to_string(),
        "--kubeconfig",
        &kubeconfig,
        "--state-dir",
        &dir.path().join("cli-state").display().to_string(),
        "--parallel",
        &parallel,
    ])
    .await;
    let first = t0.elapsed();
    assert!(
        out.status.success(),
        "the first rollout failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (sent, writes) = requests_since(&fleet, &marks).await;
    println!(
        "  first rollout (tranche apply, 1:2:7, --parallel {PARALLEL}): {:.1} s, {sent} requests ({writes} writes, {:.1} per cluster)",
        first.as_secs_f64(),
        sent as f64 / n as f64
    );

    // 2. The daemon: startup, then no-op reconciles from its watches.
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kubeconfig}\n  parallel: {PARALLEL}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 5s\n",
        repo = repo.path().display(),
        state = dir.path().join("daemon-state").display(),
    );
    let t0 = Instant::now();
    let daemon = Daemon::start(dir.path(), "daemon", &config, port).await;
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    wait_for_commit(&daemon, &head, Duration::from_secs(600)).await;
    let checks = |d: &Daemon| d.log().matches(CHECKED).count();
    let mut before = checks(&daemon);
    // Its first resync starts the watches.
    while checks(&daemon) < before + 1 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "  daemon startup (HEAD already rolled out, watches up): {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let marks = fleet.audit_marks().await;
    before = checks(&daemon);
    let t0 = Instant::now();
    // Longer than a request's 30 s read timeout: a quiet watch that broke
    // on it would be sent again in this window.
    let quiet = tranche::cluster::kube::READ_TIMEOUT + Duration::from_secs(10);
    while checks(&daemon) < before + 2 || t0.elapsed() < quiet {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (sent, _) = requests_since(&fleet, &marks).await;
    println!(
        "  daemon no-op reconciles after startup: {} in {:.1} s, {sent} requests (target 0)",
        checks(&daemon) - before,
        t0.elapsed().as_secs_f64()
    );
    let pid = daemon.pid().expect("the daemon runs");
    let (hwm, rss) = memory(pid);
    println!("  daemon memory after startup: peak (VmHWM) {hwm}, resident (VmRSS) {rss}");

    // 3. One image, every cluster, 1:2:7, instant health.
    app(&repo, 0, "1.1.0");
    let marks = fleet.audit_marks().await;
    let t0 = Instant::now();
    let sha = repo.commit("bench app0 1.1.0");
    wait_for_commit(&daemon, &sha, Duration::from_secs(600)).await;
    let took = t0.elapsed();
    let (sent, writes) = requests_since(&fleet, &marks).await;
    let updated = futures::future::join_all(names.iter().map(|c| {
        let fleet = &fleet;
        async move {
            fleet
                .get(c, "apps/v1", "Deployment", Some("default"), "app0")
                .await
                .is_some_and(|d| {
                    d["spec"]["template"]["spec"]["containers"][0]["image"] == image("1.1.0")
                })
        }
    }))
    .await
    .into_iter()
    .filter(|u| *u)
    .count();
    println!(
        "  one-image rollout by the daemon (1:2:7, instant health): commit → finished {:.1} s (target < 60 s), {sent} requests ({writes} writes), {updated}/{n} clusters updated",
        took.as_secs_f64()
    );
    let (hwm, rss) = memory(pid);
    println!("  daemon memory at the end: peak (VmHWM) {hwm}, resident (VmRSS) {rss}");
    let (hwm, rss) = memory(std::process::id());
    println!(
        "  this process (the {n} simulated clusters): peak (VmHWM) {hwm}, resident (VmRSS) {rss}"
    );
}
