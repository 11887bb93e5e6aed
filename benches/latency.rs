//! Live state at fleet distance (issue 12): the real `tranche` binary
//! (`apply`, `plan`) against current-release clusters with real
//! controllers, every apiserver behind the test proxy delaying each
//! direction (25 ms each way: 50 ms RTT, a cross-region apiserver).
//!
//! For each fleet shape (apps × objects per app × clusters) it prints the
//! wall time and the requests tranche sent (from the apiservers' audit
//! logs, user `admin`, and as the proxies counted them) of: the first
//! rollout, a no-op `plan`, and a rollout changing every Deployment's
//! image. The rollout policy is 1:1:… (one cluster per batch) with no bake
//! time, so gate time is the controllers'. Then the daemon (`tranche run`,
//! resyncInterval 2s) on the same state: the requests of its no-op
//! reconciles after startup (its watches are up), and the memory of one
//! cluster's live cache per managed object (an in-process
//! `WatchedCluster` over the same proxy). Prints figures, asserts
//! nothing:
//!
//! ```sh
//! cargo bench --bench latency                       # 20x4x3, 200x5x3, 200x5x1
//! TRANCHE_BENCH_SHAPES=20x4x3 cargo bench --bench latency
//! TRANCHE_BENCH_RTT_MS=100 cargo bench --bench latency
//! TRANCHE_BENCH_MAX_IN_FLIGHT=32 cargo bench --bench latency  # the CLI's bound
//! ```
//!
//! Under each step, a timeline from the proxies' log (module `timeline`):
//! time to the first and the last write (in a one-cluster fleet, the last
//! write ends the apply; the rest is the health gate), what was sent by
//! kind, and the apiservers' own time per write (audit log).
//!
//! Objects per app: a Namespace, a ConfigMap, a Service, a Deployment (1
//! replica) and, from 5 on, a ServiceAccount (then more ConfigMaps).

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "latency/timeline.rs"]
mod timeline;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{free_port, Daemon};
use support::proxy::ProxySet;
use support::{FixtureRepo, TestFleet};
use tranche::cluster::{ClusterApi, KubeCluster, WatchedCluster};

/// One fleet shape.
#[derive(Debug, Clone, Copy)]
struct Shape {
    apps: usize,
    objects: usize,
    clusters: usize,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} apps x {} objects x {} cluster(s) = {} objects",
            self.apps,
            self.objects,
            self.clusters,
            self.apps * self.objects * self.clusters
        )
    }
}

fn parse_shape(s: &str) -> Option<Shape> {
    let mut parts = s.trim().split('x').map(|p| p.parse::<usize>().ok());
    let shape = Shape {
        apps: parts.next()??,
        objects: parts.next()??,
        clusters: parts.next()??,
    };
    (shape.apps > 0 && shape.objects >= 4 && shape.clusters > 0).then_some(shape)
}

fn app_manifests(app: &str, objects: usize, image: &str) -> String {
    let mut docs = vec![
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {app}\n"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config\n  namespace: {app}\ndata:\n  greeting: hello\n"
        ),
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: {app}\nspec:\n  selector: {{app: web}}\n  \
             ports: [{{port: 80, targetPort: 8080, protocol: TCP}}]\n"
        ),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {app}\nspec:\n  replicas: 1\n  \
             selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      \
             containers:\n        - name: web\n          image: {image}\n          ports: [{{containerPort: 8080}}]\n"
        ),
    ];
    if objects >= 5 {
        docs.push(format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: {app}\n"
        ));
    }
    for i in 5..objects {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-{i}\n  namespace: {app}\ndata:\n  n: \"{i}\"\n"
        ));
    }
    docs.join("---\n")
}

fn write_fleet(repo: &FixtureRepo, shape: Shape, clusters: &[String], image: &str) {
    for c in clusters {
        repo.write(
            &format!("clusters/{c}.yaml"),
            &support::fixtures::cluster(c, None),
        );
    }
    let steps = vec!["1"; shape.clusters].join(", ");
    repo.write(
        "policies/rollout.yaml",
        &format!(
            "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: bench}}\nspec:\n  \
             steps: [{steps}]\n  healthTimeout: 600s\n  bakeTime: 0s\n  onFailure: Rollback\n  maxParallel: 10\n"
        ),
    );
    for a in 0..shape.apps {
        let app = format!("app-{a:03}");
        repo.write(
            &format!("apps/{app}/placement.yaml"),
            "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    \
             labelSelector: {matchLabels: {env: test}}\n",
        );
        repo.write(
            &format!("apps/{app}/manifests/app.yaml"),
            &app_manifests(&app, shape.objects, image),
        );
    }
}

/// Requests tranche made (user `admin`) per cluster since `since`.
async fn admin_requests(fleet: &TestFleet, names: &[String], since: &[usize]) -> usize {
    let mut n = 0;
    for (name, from) in names.iter().zip(since) {
        n += fleet
            .audit_events(name)
            .await
            .iter()
            .skip(*from)
            .filter(|e| support::user(e) == "admin")
            .count();
    }
    n
}

/// The apiservers' mean time per write of tranche's since `since`.
async fn server_write_ms(fleet: &TestFleet, names: &[String], since: &[usize]) -> f64 {
    let mut events = Vec::new();
    for (name, from) in names.iter().zip(since) {
        events.extend(fleet.audit_events(name).await.into_iter().skip(*from));
    }
    timeline::server_write_ms(&events)
}

async fn audit_marks(fleet: &TestFleet, names: &[String]) -> Vec<usize> {
    let mut marks = Vec::new();
    for n in names {
        marks.push(fleet.audit_len(n).await);
    }
    marks
}

/// Runs the binary once, returns (wall time, exit code, stderr tail,
/// the rollout report's step timings when it printed a JSON report).
async fn run(args: &[&str]) -> (Duration, i32, String, Option<String>) {
    let start = Instant::now();
    let out = support::tranche(args).await;
    let wall = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    let timings = serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|report| {
            let t = report.get("timings")?;
            let ms = |k: &str| t.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            Some(format!(
                "tranche's own time {:.2} s (planning {:.2} s, writing {:.2} s), gates {:.2} s",
                (ms("planningMs") + ms("writingMs")) as f64 / 1000.0,
                ms("planningMs") as f64 / 1000.0,
                ms("writingMs") as f64 / 1000.0,
                ms("gatingMs") as f64 / 1000.0,
            ))
        });
    (
        wall,
        out.status.code().unwrap_or(-1),
        tail.join(" | "),
        timings,
    )
}

async fn step(label: &str, fleet: &TestFleet, proxies: &ProxySet, names: &[String], args: &[&str]) {
    let marks = audit_marks(fleet, names).await;
    let proxied = proxies.count();
    let (wall, code, tail, timings) = run(args).await;
    let audited = admin_requests(fleet, names, &marks).await;
    let server_ms = server_write_ms(fleet, names, &marks).await;
    let through_proxy = proxies.count() - proxied;
    let extra = if code == 0 || (label.contains("plan") && code == 3) {
        String::new()
    } else {
        format!("  [exit {code}: {tail}]")
    };
    println!(
        "  {label:<22} {:>8.2} s  {audited:>6} requests (audit log)  {through_proxy:>6} through the proxies  peak in flight {}{extra}",
        wall.as_secs_f64(),
        proxies.peak_in_flight(),
    );
    println!(
        "  {:<22} {}; the apiserver took {server_ms:.0} ms per write",
        "",
        timeline::summary(&proxies.requests(), proxied)
    );
    if let Some(timings) = timings {
        println!("  {:<22} {timings}", "");
    }
}

async fn measure(shape: Shape, rtt: Duration) {
    let names: Vec<String> = (0..shape.clusters).map(|i| format!("lat-{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let fleet = Arc::new(TestFleet::start(&refs).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    proxies.set_delay(rtt / 2, rtt / 2);
    let repo = FixtureRepo::new();
    write_fleet(&repo, shape, &names, "registry.example.com/web:1.0.0");
    repo.commit("fleet v1");
    let state = tempfile::tempdir().expect("temp dir");
    let repo_path = repo.path().display().to_string();
    let kc = proxies.kubeconfig_path().display().to_string();
    let state_dir = state.path().display().to_string();
    // TRANCHE_BENCH_MAX_IN_FLIGHT: the CLI's in-flight bound.
    let bound = std::env::var("TRANCHE_BENCH_MAX_IN_FLIGHT")
        .unwrap_or_else(|_| tranche::cluster::kube::DEFAULT_MAX_IN_FLIGHT.to_string());
    let apply = [
        "apply",
        repo_path.as_str(),
        "--kubeconfig",
        kc.as_str(),
        "--state-dir",
        state_dir.as_str(),
        "--max-in-flight",
        bound.as_str(),
        "--output",
        "json",
    ];
    let plan = [
        "plan",
        repo_path.as_str(),
        "--kubeconfig",
        kc.as_str(),
        "--max-in-flight",
        bound.as_str(),
    ];
    println!("{shape}, RTT {} ms:", rtt.as_millis());
    step("first rollout", &fleet, &proxies, &names, &apply).await;
    proxies.reset();
    step("no-op plan", &fleet, &proxies, &names, &plan).await;
    proxies.reset();
    write_fleet(&repo, shape, &names, "registry.example.com/web:1.0.1");
    repo.commit("fleet v2: new image");
    step("image-change rollout", &fleet, &proxies, &names, &apply).await;
    proxies.reset();
    step("no-op plan after", &fleet, &proxies, &names, &plan).await;
    daemon_no_op(&fleet, &proxies, &names, &repo_path, &kc, &state_dir).await;
    cache_memory(&proxies, &names[0], shape).await;
}

/// What the daemon logs after each drift check (a no-op reconcile here).
const CHECKED: &str = "looked for drift";

async fn drift_checks(daemon: &Daemon, at_least: usize) -> usize {
    support::eventually("drift checks", Duration::from_secs(600), || async {
        let n = daemon.log().matches(CHECKED).count();
        (n >= at_least).then_some(n)
    })
    .await
}

/// The daemon on the CLI's state (nothing to deploy): requests of its
/// no-op reconciles once the first one (which starts the watches) is done.
async fn daemon_no_op(
    fleet: &TestFleet,
    proxies: &ProxySet,
    names: &[String],
    repo: &str,
    kc: &str,
    state: &str,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\nclusters:\n  kubeconfig: {kc}\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 2s\n"
    );
    let start = Instant::now();
    let mut daemon = Daemon::start(dir.path(), "bench", &config, port).await;
    let first = drift_checks(&daemon, 1).await;
    let warm = start.elapsed();
    let seen = drift_checks(&daemon, first + 1).await;
    let marks = audit_marks(fleet, names).await;
    let proxied = proxies.count();
    let reconciles = 3;
    drift_checks(&daemon, seen + reconciles).await;
    let audited = admin_requests(fleet, names, &marks).await;
    let through_proxy = proxies.count() - proxied;
    println!(
        "  daemon startup + first reconcile {:>5.2} s; then {reconciles} no-op reconciles: {audited} requests (audit log), {through_proxy} through the proxies",
        warm.as_secs_f64()
    );
    daemon.terminate().await;
}

/// One cluster's live cache, built in process over the proxy: bytes per
/// managed object (metadata-only watches), and with the inventories.
async fn cache_memory(proxies: &ProxySet, name: &str, shape: Shape) {
    tranche::cluster::install_crypto_provider();
    let Ok(api) = KubeCluster::from_kubeconfig(name, Some(proxies.kubeconfig_path()), name).await
    else {
        println!("  cache memory: cannot connect to {name}");
        return;
    };
    let cache = WatchedCluster::new(api);
    let mut kinds = vec![
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
    ];
    if shape.objects >= 5 {
        kinds.push(("v1", "ServiceAccount"));
    }
    for (api_version, kind) in kinds {
        if let Err(e) = cache.list_managed(api_version, kind).await {
            println!("  cache memory: {kind}: {e}");
        }
    }
    let objects = cache.cache_size();
    let _ = cache
        .list(
            "v1",
            "ConfigMap",
            Some("tranche-system"),
            "tranche.dev/inventory in (app,cluster)",
        )
        .await;
    let all = cache.cache_size();
    let per = |bytes: usize, n: usize| bytes as f64 / n.max(1) as f64;
    println!(
        "  live cache of {name}: {} objects in {} watches, {} bytes = {:.0} bytes/object; with {} inventories: {} bytes = {:.0} bytes/managed object",
        objects.objects,
        objects.watches,
        objects.bytes,
        per(objects.bytes, objects.objects),
        all.objects - objects.objects,
        all.bytes,
        per(all.bytes, objects.objects),
    );
}

fn main() {
    let shapes: Vec<Shape> = std::env::var("TRANCHE_BENCH_SHAPES")
        .unwrap_or_else(|_| "20x4x3,200x5x3,200x5x1".to_string())
        .split(',')
        .filter_map(parse_shape)
        .collect();
    let rtt = std::env::var("TRANCHE_BENCH_RTT_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(50));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "tranche at distance: Kubernetes {} clusters (controllers, scheduler, kwok) behind the delay proxy",
        support::K8s::Current
    );
    for shape in shapes {
        runtime.block_on(measure(shape, rtt));
    }
}
