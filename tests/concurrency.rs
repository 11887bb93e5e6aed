//! Concurrency within a cluster (issue 12): the objects of one cluster are
//! planned and applied concurrently, never more than the in-flight bound
//! at once per apiserver (counted by the proxy in front of the real
//! apiserver, each direction delayed so requests overlap), and in apply
//! order: the Namespace is answered before anything in it is sent, and each
//! kind's wave is answered before the next kind's starts.
//!
//! The daemon path too: `tranche run` with `clusters.maxInFlight: 4`
//! applies the app and then a change to every ConfigMap, and the proxy
//! never sees more than 4 requests at once from it. Watches are left out
//! of the count: they are long-running (open for minutes, like APF's
//! exemption of watches) and hold no permit once their first list is
//! answered.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::daemon::{free_port, Daemon};
use support::fixtures::{cluster, rollout_policy};
use support::proxy::{ProxySet, Seen};
use support::{FixtureRepo, TestFleet};

const CONFIGMAPS: usize = 24;
const SERVICES: usize = 8;

fn write_app(repo: &FixtureRepo, value: &str) {
    repo.write("clusters/q1.yaml", &cluster("q1", None));
    repo.write("policies/rollout.yaml", &rollout_policy("Rollback", "0s"));
    repo.write(
        "apps/wide/placement.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n",
    );
    let mut docs = vec!["apiVersion: v1\nkind: Namespace\nmetadata:\n  name: wide\n".to_string()];
    for i in 0..CONFIGMAPS {
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-{i:02}\n  namespace: wide\ndata:\n  n: \"{i}\"\n  v: {value}\n"
        ));
    }
    for i in 0..SERVICES {
        docs.push(format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i:02}\n  namespace: wide\nspec:\n  \
             selector: {{app: web}}\n  ports: [{{port: 80, protocol: TCP}}]\n"
        ));
    }
    repo.write("apps/wide/manifests/all.yaml", &docs.join("---\n"));
}

fn repo() -> FixtureRepo {
    let repo = FixtureRepo::new();
    write_app(&repo, "one");
    repo.commit("wide app");
    repo
}

/// Writes (not dry runs) of one resource in namespace `wide`, or of the
/// Namespace itself.
fn writes_of<'a>(seen: &'a [Seen], resource: &str) -> Vec<&'a Seen> {
    seen.iter()
        .filter(|r| r.is_write())
        .filter(|r| match resource {
            "namespaces" => {
                r.path.contains("/namespaces/wide?") || r.path.ends_with("/namespaces/wide")
            }
            _ => r.path.contains(&format!("/namespaces/wide/{resource}/")),
        })
        .collect()
}

fn span(writes: &[&Seen]) -> (Instant, Instant) {
    let start = writes.iter().map(|r| r.started).min().expect("some writes");
    let end = writes
        .iter()
        .map(|r| r.finished.expect("answered"))
        .max()
        .expect("some writes");
    (start, end)
}

async fn run(args: &[&str]) -> (i32, String) {
    let out = support::tranche(args).await;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_apiserver_stay_within_the_bound_and_keep_apply_order() {
    let fleet = Arc::new(TestFleet::start(&["q1"]).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    proxies.set_delay(Duration::from_millis(40), Duration::from_millis(40));
    let repo = repo();
    let state = tempfile::tempdir().unwrap();
    let (repo_path, kc) = (
        repo.path().display().to_string(),
        proxies.kubeconfig_path().display().to_string(),
    );
    let state_dir = state.path().display().to_string();

    // Apply with a bound of 4.
    let (code, out) = run(&[
        "apply",
        &repo_path,
        "--kubeconfig",
        &kc,
        "--state-dir",
        &state_dir,
        "--max-in-flight",
        "4",
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    let peak = proxies.peak_in_flight_of("q1");
    assert!(peak <= 4, "{peak} requests in flight, bound 4");
    assert!(
        peak >= 3,
        "objects of one rank go concurrently: peak {peak}"
    );
    let seen = proxies.requests();
    let ns = writes_of(&seen, "namespaces");
    let cms = writes_of(&seen, "configmaps");
    let svcs = writes_of(&seen, "services");
    assert_eq!((ns.len(), cms.len(), svcs.len()), (1, CONFIGMAPS, SERVICES));
    let (ns_span, cm_span, svc_span) = (span(&ns), span(&cms), span(&svcs));
    assert!(
        ns_span.1 <= cm_span.0,
        "ConfigMaps sent before the Namespace was answered"
    );
    assert!(
        cm_span.1 <= svc_span.0,
        "Services sent before every ConfigMap was answered"
    );
    for name in ["config-00", &format!("config-{:02}", CONFIGMAPS - 1)] {
        assert!(
            fleet
                .get("q1", "v1", "ConfigMap", Some("wide"), name)
                .await
                .is_some(),
            "{name} applied"
        );
    }

    // Every ConfigMap changed: a plan with the default bound (16) dry-runs
    // them concurrently, and within it.
    write_app(&repo, "two");
    repo.commit("every ConfigMap changes");
    proxies.reset();
    let (code, out) = run(&["plan", &repo_path, "--kubeconfig", &kc]).await;
    assert_eq!(code, 3, "changes pending\n{out}");
    let peak = proxies.peak_in_flight_of("q1");
    assert!(peak <= 16, "{peak} requests in flight, default bound 16");
    assert!(peak > 4, "the default bound is used: peak {peak}");
    assert!(
        proxies.requests().iter().all(|r| !r.is_write()),
        "a plan writes nothing"
    );
}

/// The most requests of `cluster` in flight at once, watches left out
/// (a request still unanswered counts until now).
fn peak_without_watches(seen: &[Seen], cluster: &str) -> usize {
    let now = Instant::now();
    let mut edges: Vec<(Instant, i32)> = seen
        .iter()
        .filter(|r| r.cluster == cluster && !r.path.contains("watch=true"))
        .flat_map(|r| [(r.started, 1), (r.finished.unwrap_or(now), -1)])
        .collect();
    // Ends before starts at the same instant: back to back is not overlap.
    edges.sort();
    let (mut open, mut peak) = (0i32, 0i32);
    for (_, step) in edges {
        open += step;
        peak = peak.max(open);
    }
    usize::try_from(peak).unwrap_or(0)
}

/// Waits until ConfigMap `name` in namespace `wide` holds `v: value`.
async fn configmap_holds(fleet: &TestFleet, name: &str, value: &str, daemon: &Daemon) {
    let wait = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let cm = fleet.get("q1", "v1", "ConfigMap", Some("wide"), name).await;
            if cm.as_ref().and_then(|c| c["data"]["v"].as_str()) == Some(value) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        wait.is_ok(),
        "{name} never held v: {value}; daemon log:\n{}",
        daemon.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_requests_to_one_apiserver_within_its_configured_bound() {
    let fleet = Arc::new(TestFleet::start(&["q1"]).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    proxies.set_delay(Duration::from_millis(40), Duration::from_millis(40));
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "repo:\n  path: {repo}\n  branch: main\npollInterval: 1s\n\
         clusters:\n  kubeconfig: {kc}\n  maxInFlight: 4\n\
         stateDir: {state}\nlisten: 127.0.0.1:{port}\nresyncInterval: 1h\n",
        repo = repo.path().display(),
        kc = proxies.kubeconfig_path().display(),
        state = dir.path().join("state").display(),
    );
    let daemon = Daemon::start(dir.path(), "bounded", &config, port).await;

    // The first rollout: every object created.
    let last = format!("config-{:02}", CONFIGMAPS - 1);
    configmap_holds(&fleet, &last, "one", &daemon).await;
    let first = peak_without_watches(&proxies.requests(), "q1");

    // Every ConfigMap changes: 24 applies of one rank at once, bounded.
    write_app(&repo, "two");
    repo.commit("every ConfigMap changes");
    for i in 0..CONFIGMAPS {
        configmap_holds(&fleet, &format!("config-{i:02}"), "two", &daemon).await;
    }
    let seen = proxies.requests();
    let peak = peak_without_watches(&seen, "q1");
    println!(
        "daemon, bound 4: peak {first} in flight at the first rollout, {peak} overall ({} requests)",
        seen.len()
    );
    assert!(peak <= 4, "{peak} requests in flight, bound 4");
    assert!(
        peak >= 3,
        "objects of one rank go concurrently: peak {peak}"
    );
    let watches = seen
        .iter()
        .filter(|r| r.path.contains("watch=true"))
        .count();
    assert!(watches > 0, "the daemon watches through the proxy");
}
