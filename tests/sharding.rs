//! Sharding across replicas (issue 15) on real apiservers: a management
//! cluster holds the Leases, the batch plan and the shard statuses; ten
//! workload clusters are split over two shards by `shard_of`. Processes of
//! `tranche run` in shard mode: one coordinator, two shard replicas and a
//! spare. Health of the `sweep` app's ConfigMaps is "exists", so
//! kube-apiserver v1.20 alone serves (no controllers needed); the test of
//! what the coordinator reports (forge statuses, `/api/status`) runs on
//! the current release.

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use support::daemon::{free_port, Daemon};
use support::forge::{descriptions, final_status, ForgeStub};
use support::two_commits::{two_commits, NS};
use support::versions::K8s;
use support::{eventually, TestFleet};
use tranche::shard::shard_of;

const MGMT: &str = "mgmt";
const CLUSTERS: [&str; 10] = [
    "w01", "w02", "w03", "w04", "w05", "w06", "w07", "w08", "w09", "w10",
];
const SYSTEM: &str = "tranche-system";
/// Long enough to kill a shard while its batch bakes.
const BAKE: &str = "6s";

/// A shard-mode daemon config.
fn config(
    fleet: &TestFleet,
    repo: &Path,
    state: &Path,
    port: u16,
    id: &str,
    roles: &str,
    extra: &str,
) -> String {
    let kc = fleet.kubeconfig_path().display();
    format!(
        "repo:\n  path: {}\npollInterval: 1s\nstateDir: {}\nlisten: 127.0.0.1:{port}\nresyncInterval: 0s\n{extra}\
         clusters:\n  kubeconfig: {kc}\n  parallel: 8\n\
         leaderElection:\n  kubeconfig: {kc}\n  context: {MGMT}\n  namespace: {SYSTEM}\n  identity: {id}\n  \
         leaseDuration: 3s\n  renewInterval: 1s\n\
         sharding:\n  shards: 2\n  {roles}\n",
        repo.display(),
        state.display()
    )
}

/// The document of a protocol ConfigMap on the management cluster.
async fn document(fleet: &TestFleet, name: &str) -> Option<Value> {
    let cm = fleet
        .get(MGMT, "v1", "ConfigMap", Some(SYSTEM), name)
        .await?;
    serde_json::from_str(cm["data"]["state"].as_str()?).ok()
}

async fn plan(fleet: &TestFleet) -> Option<Value> {
    document(fleet, "tranche-batch-plan").await
}

async fn status(fleet: &TestFleet, shard: usize) -> Option<Value> {
    document(fleet, &format!("tranche-shard-{shard}-status")).await
}

/// Time of the first and last write tranche made to `cluster`'s app
/// namespace (audit `requestReceivedTimestamp`, RFC 3339 with
/// microseconds: ordered as text).
async fn writes(fleet: &TestFleet, cluster: &str) -> (String, String) {
    let events = fleet.mutating_requests_in(cluster, NS, 0).await;
    let times: Vec<String> = events
        .iter()
        .filter_map(|e| e["requestReceivedTimestamp"].as_str().map(String::from))
        .collect();
    let first = times.iter().min().cloned().unwrap_or_default();
    let last = times.iter().max().cloned().unwrap_or_default();
    assert!(!first.is_empty(), "{cluster}: no write in {NS}");
    (first, last)
}

struct Replica {
    daemon: Daemon,
    id: &'static str,
}

async fn start(
    fleet: &TestFleet,
    dir: &Path,
    repo: &Path,
    id: &'static str,
    roles: &str,
) -> Replica {
    start_with(fleet, dir, repo, id, roles, "").await
}

/// [`start`] with `extra` top-level config lines (ending in a newline).
async fn start_with(
    fleet: &TestFleet,
    dir: &Path,
    repo: &Path,
    id: &'static str,
    roles: &str,
    extra: &str,
) -> Replica {
    let port = free_port();
    let state = dir.join(format!("state-{id}"));
    let text = config(fleet, repo, &state, port, id, roles, extra);
    Replica {
        daemon: Daemon::start(dir, id, &text, port).await,
        id,
    }
}

/// Waits until replica `r` holds a shard; which one.
async fn holds_shard(r: &Replica) -> u64 {
    eventually(
        &format!("{} holds a shard", r.id),
        Duration::from_secs(60),
        || async { r.daemon.json("/api/shard").await["shard"].as_u64() },
    )
    .await
}

/// Waits until replica `r`'s `/api/status` shows `commit` as the last
/// rollout; that view.
async fn status_after(r: &Replica, commit: &str) -> Value {
    eventually(
        &format!("{}'s view shows {commit}", r.id),
        Duration::from_secs(30),
        || async {
            let v = r.daemon.json("/api/status").await;
            (v["last"]["commit"] == commit).then_some(v)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_over_two_shards_goes_batch_by_batch_and_survives_a_dead_shard() {
    let mut names = vec![MGMT];
    names.extend(CLUSTERS);
    let fleet = TestFleet::start_on(K8s::V1_20, &names).await;
    fleet.create_namespace(MGMT, SYSTEM).await;
    let shards: Vec<usize> = CLUSTERS.iter().map(|c| shard_of(c, 2)).collect();
    assert!(shards.contains(&0) && shards.contains(&1), "{shards:?}");
    let commits = two_commits(&CLUSTERS);
    commits.repo.write(
        "policies/rollout.yaml",
        &format!(
            "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: test}}\nspec:\n  \
             steps: [1, 2, 7]\n  healthTimeout: 30s\n  bakeTime: {BAKE}\n  onFailure: Rollback\n  maxParallel: 10\n"
        ),
    );
    let head = commits.repo.commit("bake each batch");
    let dir = tempfile::tempdir().unwrap();
    let repo = commits.repo.path();
    let shard_only = "coordinator: false\n  shard: true";
    let mut a = start(&fleet, dir.path(), repo, "shard-a", shard_only).await;
    let mut b = start(&fleet, dir.path(), repo, "shard-b", shard_only).await;
    let (sa, sb) = (holds_shard(&a).await, holds_shard(&b).await);
    assert_ne!(sa, sb, "each replica holds its own shard");
    let spare = start(&fleet, dir.path(), repo, "spare", shard_only).await;
    let coordinator = start(
        &fleet,
        dir.path(),
        repo,
        "coordinator",
        "coordinator: true\n  shard: false",
    )
    .await;

    let rollout_started = std::time::Instant::now();
    // Batch 3 starts; kill the holder of a shard while one of its
    // clusters in that batch is applied but not yet through its bake.
    let (victim_shard, batch3) =
        eventually("a shard mid-batch 3", Duration::from_secs(180), || async {
            let p = plan(&fleet).await?;
            if p["commit"] != head.as_str() || p["batch"] != 2 {
                return None;
            }
            let batch3: Vec<String> = serde_json::from_value(p["batches"][2].clone()).ok()?;
            for shard in 0..2 {
                let s = status(&fleet, shard).await?;
                let applying = batch3
                    .iter()
                    .any(|c| s["clusters"][c]["state"] == "applying");
                if applying {
                    return Some((shard, batch3.clone()));
                }
            }
            None
        })
        .await;
    let victim = if victim_shard as u64 == sa {
        &mut a
    } else {
        &mut b
    };
    let victim_id = victim.id;
    victim.daemon.kill().await;
    let killed = std::time::Instant::now();
    eventually(
        "the spare takes the shard",
        Duration::from_secs(60),
        || async {
            (spare.daemon.json("/api/shard").await["shard"] == victim_shard as u64).then_some(())
        },
    )
    .await;
    let takeover = killed.elapsed();

    let done = eventually("the rollout deployed", Duration::from_secs(180), || async {
        let p = plan(&fleet).await?;
        (p["commit"] == head.as_str() && p["phase"] != "rolling").then_some(p)
    })
    .await;
    let logs = format!(
        "coordinator:\n{}\nspare:\n{}\nshard-a:\n{}\nshard-b:\n{}",
        coordinator.daemon.log(),
        spare.daemon.log(),
        a.daemon.log(),
        b.daemon.log()
    );
    assert_eq!(done["phase"], "deployed", "{done}\n{logs}");
    eprintln!(
        "[sharding] rollout of 10 clusters in 1:2:7 (bake {BAKE}) took {:.1}s; \
         spare held the dead shard {:.1}s after the kill (lease 3s), batch done {:.1}s after it",
        rollout_started.elapsed().as_secs_f64(),
        takeover.as_secs_f64(),
        killed.elapsed().as_secs_f64()
    );

    // The spare took the dead replica's shard and finished its clusters.
    assert_eq!(
        spare.daemon.json("/api/shard").await["shard"],
        victim_shard as u64,
        "{logs}"
    );
    let s = status(&fleet, victim_shard).await.expect("status");
    assert_eq!(s["holder"], "spare", "{s}");
    let mine: Vec<&String> = batch3
        .iter()
        .filter(|c| shard_of(c, 2) == victim_shard)
        .collect();
    assert!(!mine.is_empty());
    for c in &mine {
        assert_eq!(s["clusters"][c.as_str()]["state"], "healthy", "{c}: {s}");
    }
    assert_ne!(victim_id, "spare");

    // Batches 1 → 2 → 7, in order: every write of a batch comes before
    // every write of the next, on the workload clusters' own audit logs.
    let batches: Vec<Vec<String>> = serde_json::from_value(done["batches"].clone()).unwrap();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![1, 2, 7]);
    let mut spans = Vec::new();
    for batch in &batches {
        let mut first = String::from("~");
        let mut last = String::new();
        for c in batch {
            let (f, l) = writes(&fleet, c).await;
            first = first.min(f);
            last = last.max(l);
        }
        spans.push((first, last));
    }
    for i in 1..spans.len() {
        assert!(
            spans[i - 1].1 < spans[i].0,
            "batch {} wrote until {} but batch {} started at {}",
            i,
            spans[i - 1].1,
            i + 1,
            spans[i].0
        );
    }
    // Each cluster runs the head: the app's objects are there.
    for c in CLUSTERS {
        let keep = fleet.get(c, "v1", "ConfigMap", Some(NS), "keep").await;
        assert_eq!(
            keep.map(|k| k["data"]["v"].clone()),
            Some("2".into()),
            "{c}"
        );
    }
}

/// `deploy/sharded/` passes a server-side dry-run, and its daemon config
/// is a valid shard-mode config.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sharded_manifests_pass_a_server_side_dry_run() {
    use tranche::cluster::ApplyOptions;
    let fleet = TestFleet::start_on(K8s::V1_20, &[MGMT]).await;
    let api = fleet.cluster(MGMT).await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let read = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap();
        tranche::yaml::parse_documents(&text)
            .unwrap_or_else(|(i, e)| panic!("{}[{i}]: {e}", p.display()))
            .into_iter()
            .map(|(_, d)| d)
            .collect::<Vec<Value>>()
    };
    // What the sharded files need: the namespace and the ServiceAccount.
    for base in ["namespace.yaml", "rbac.yaml"] {
        for obj in read(&root.join(base)) {
            api.apply(&obj, ApplyOptions::default()).await.expect(base);
        }
    }
    let mut checked = 0;
    for file in ["config.yaml", "rbac.yaml", "statefulset.yaml"] {
        let path = root.join("sharded").join(file);
        for obj in read(&path) {
            let dry = ApplyOptions {
                dry_run: true,
                force: false,
            };
            let r = api.apply(&obj, dry).await;
            assert!(
                r.is_ok(),
                "{file}: {} {}: {:?}",
                obj["kind"],
                obj["metadata"]["name"],
                r.err()
            );
            if obj["kind"] == "ConfigMap" {
                let dir = tempfile::tempdir().unwrap();
                let cfg = dir.path().join("tranche.yaml");
                std::fs::write(&cfg, obj["data"]["tranche.yaml"].as_str().unwrap()).unwrap();
                let c = tranche::daemon::config::DaemonConfig::load(&cfg).expect("valid config");
                assert_eq!(c.sharding.map(|s| s.shards), Some(3));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

/// A cluster that fails in batch 2 (its context does not exist) makes the
/// coordinator order a rollback; the shard that wrote batch 1 restores it
/// (to nothing: tranche's objects and its cluster record are removed), and
/// the cluster of batch 3 is never written. Here one replica both
/// coordinates and holds a shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_rolls_back_what_every_shard_wrote() {
    let fleet = TestFleet::start_on(K8s::V1_20, &[MGMT, "w01", "w03"]).await;
    fleet.create_namespace(MGMT, SYSTEM).await;
    // w01 (batch 1) and w02 (batch 2) are on different shards.
    assert_ne!(shard_of("w01", 2), shard_of("w02", 2));
    let commits = two_commits(&["w01", "w02", "w03"]);
    commits.repo.write(
        "clusters/w02.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: w02\n  labels: {env: test}\nspec:\n  context: nowhere\n",
    );
    let head = commits.repo.commit("w02 cannot be reached");
    let dir = tempfile::tempdir().unwrap();
    let repo = commits.repo.path();
    let a = start(
        &fleet,
        dir.path(),
        repo,
        "both",
        "coordinator: true\n  shard: true",
    )
    .await;
    let b = start(
        &fleet,
        dir.path(),
        repo,
        "shard-b",
        "coordinator: false\n  shard: true",
    )
    .await;
    let done = eventually("the rollout finished", Duration::from_secs(180), || async {
        let p = plan(&fleet).await?;
        (p["commit"] == head.as_str() && (p["phase"] == "failed" || p["phase"] == "deployed"))
            .then_some(p)
    })
    .await;
    let logs = format!("both:\n{}\nshard-b:\n{}", a.daemon.log(), b.daemon.log());
    assert_eq!(done["phase"], "failed", "{done}\n{logs}");
    assert!(
        done["failure"].as_str().unwrap_or("").starts_with("w02: "),
        "{done}"
    );
    assert_eq!(done["batch"], 1, "{done}");
    let s = status(&fleet, shard_of("w01", 2)).await.expect("status");
    assert_eq!(s["clusters"]["w01"]["state"], "rolledBack", "{s}\n{logs}");
    assert_eq!(s["clusters"]["w01"]["before"], "nothing", "{s}");
    let w01 = support::two_commits::truth(&fleet, "w01").await;
    assert_eq!(w01.record, None, "w01 still runs a commit: {w01:?}");
    assert!(!w01.objects.contains_key("keep"), "{w01:?}");
    assert!(
        fleet.mutating_requests_in("w03", NS, 0).await.is_empty(),
        "batch 3 was written"
    );
}

/// The coordinator dies mid-rollout (SIGKILL while batch 2 bakes): the
/// standby coordinator takes the leader Lease and carries the plan on
/// from the ConfigMap to `deployed`, batch by batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_coordinator_carries_the_plan_on() {
    let clusters = ["w01", "w02", "w03"];
    let fleet = TestFleet::start_on(K8s::V1_20, &[MGMT, "w01", "w02", "w03"]).await;
    fleet.create_namespace(MGMT, SYSTEM).await;
    let commits = two_commits(&clusters);
    commits.repo.write(
        "policies/rollout.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  \
         steps: [1, 2, 7]\n  healthTimeout: 30s\n  bakeTime: 4s\n  onFailure: Rollback\n",
    );
    let head = commits.repo.commit("bake each batch");
    let dir = tempfile::tempdir().unwrap();
    let repo = commits.repo.path();
    let shard_only = "coordinator: false\n  shard: true";
    let coordinator_only = "coordinator: true\n  shard: false";
    let a = start(&fleet, dir.path(), repo, "shard-a", shard_only).await;
    let b = start(&fleet, dir.path(), repo, "shard-b", shard_only).await;
    let mut first = start(&fleet, dir.path(), repo, "coord-1", coordinator_only).await;
    eventually("coord-1 leads", Duration::from_secs(60), || async {
        (first.daemon.json("/api/shard").await["coordinator"] == true).then_some(())
    })
    .await;
    let second = start(&fleet, dir.path(), repo, "coord-2", coordinator_only).await;
    eventually("batch 2 under way", Duration::from_secs(120), || async {
        let p = plan(&fleet).await?;
        (p["commit"] == head.as_str() && p["batch"] == 1).then_some(())
    })
    .await;
    first.daemon.kill().await;
    let done = eventually("the rollout finished", Duration::from_secs(120), || async {
        let p = plan(&fleet).await?;
        (p["commit"] == head.as_str() && p["phase"] != "rolling").then_some(p)
    })
    .await;
    let logs = format!(
        "coord-2:\n{}\nshard-a:\n{}\nshard-b:\n{}",
        second.daemon.log(),
        a.daemon.log(),
        b.daemon.log()
    );
    assert_eq!(done["phase"], "deployed", "{done}\n{logs}");
    assert_eq!(second.daemon.json("/api/shard").await["coordinator"], true);
    assert!(second.daemon.log().contains("next batch"), "{logs}");
    // Written in order: w01, then w02, then w03.
    let mut spans = Vec::new();
    for c in clusters {
        spans.push(writes(&fleet, c).await);
    }
    assert!(
        spans[0].1 < spans[1].0 && spans[1].1 < spans[2].0,
        "{spans:?}"
    );
}

/// The coordinator reports a sharded rollout as the unsharded daemon
/// does: `tranche/rollout` pending batch by batch, then success with the
/// engine's description; `tranche/cluster/<name>`; and `/api/status`
/// (last outcome, last good commit, what each cluster runs, each
/// cluster's state). A later commit whose last batch fails ends `failure`,
/// rolled back, and the view keeps the last good commit. On the current
/// release (two workload clusters, one per shard).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_posts_statuses_and_serves_the_status_view() {
    if !K8s::Current.selected_for("the_coordinator_posts_statuses_and_serves_the_status_view") {
        return;
    }
    let fleet = TestFleet::start_on(K8s::Current, &[MGMT, "w01", "w02"]).await;
    fleet.create_namespace(MGMT, SYSTEM).await;
    assert_ne!(shard_of("w01", 2), shard_of("w02", 2));
    let forge = ForgeStub::start(false).await;
    let commits = two_commits(&["w01", "w02"]);
    let v2 = commits.v2.clone();
    let dir = tempfile::tempdir().unwrap();
    let repo = commits.repo.path();
    let reporting = format!(
        "forge:\n  provider: github\n  apiUrl: {}\n  repository: acme/fleet\n  \
         tokenEnv: TRANCHE_TEST_FORGE_TOKEN\nperClusterStatuses: true\n",
        forge.url
    );
    let both = "coordinator: true\n  shard: true";
    let a = start_with(&fleet, dir.path(), repo, "both", both, &reporting).await;
    let b = start(
        &fleet,
        dir.path(),
        repo,
        "shard-b",
        "coordinator: false\n  shard: true",
    )
    .await;
    let logs = || format!("both:\n{}\nshard-b:\n{}", a.daemon.log(), b.daemon.log());

    let posted = final_status(&forge, &v2).await;
    let (last, before) = posted.split_last().unwrap();
    let lines = descriptions(&posted);
    assert_eq!(last.state, "success", "{lines:?}\n{}", logs());
    assert_eq!(last.description, "deployed to 2 cluster(s) in 2 batch(es)");
    assert!(before.iter().all(|p| p.state == "pending"), "{lines:?}");
    for step in ["batch 1/2 · 0/2 clusters", "batch 2/2 · 1/2 clusters"] {
        assert!(
            lines.iter().any(|l| l == &format!("pending: {step}")),
            "{step}: {lines:?}"
        );
    }
    for c in ["w01", "w02"] {
        let per = forge.for_commit(&v2, &format!("tranche/cluster/{c}"));
        assert_eq!(
            per.last().map(|p| p.state.as_str()),
            Some("success"),
            "{c}: {:?}",
            descriptions(&per)
        );
    }
    let view = status_after(&a, &v2).await;
    assert_eq!(view["role"], "leader", "{view}");
    assert_eq!(view["last"]["state"], "deployed", "{view}");
    assert_eq!(view["lastGood"], v2.as_str(), "{view}");
    assert_eq!(view["head"], v2.as_str(), "{view}");
    for c in ["w01", "w02"] {
        assert_eq!(view["clusters"][c], v2.as_str(), "{view}");
        assert_eq!(
            view["lastRollout"]["clusters"][c]["state"], "healthy",
            "{view}"
        );
    }
    assert_eq!(view["history"][0]["outcome"], "succeeded", "{view}");
    let role = b.daemon.json("/api/status").await["role"].clone();
    assert!(role.as_str().unwrap_or("").starts_with("shard "), "{role}");
    // The web view is served too.
    let (code, page) = a.daemon.text("/").await;
    assert_eq!(code, 200, "{page}");

    // The next commit's last batch (w03) cannot be reached: rolled back.
    commits.repo.write(
        "clusters/w03.yaml",
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: w03\n  labels: {env: test}\nspec:\n  context: nowhere\n",
    );
    commits.repo.write(
        "apps/sweep/manifests/extra.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: {NS}\ndata:\n  v: \"3\"\n"),
    );
    let v3 = commits.repo.commit("w03 cannot be reached");
    let posted = final_status(&forge, &v3).await;
    let last = posted.last().unwrap();
    assert_eq!(
        last.state,
        "failure",
        "{:?}\n{}",
        descriptions(&posted),
        logs()
    );
    assert!(
        last.description.starts_with("rolled back: w03 "),
        "{}",
        last.description
    );
    let view = status_after(&a, &v3).await;
    assert_eq!(view["last"]["state"], "failed", "{view}");
    assert_eq!(view["lastGood"], v2.as_str(), "{view}");
    assert_eq!(view["clusters"]["w01"], v2.as_str(), "{view}");
    assert_eq!(
        view["lastRollout"]["clusters"]["w03"]["state"], "failed",
        "{view}"
    );
    assert_eq!(
        view["lastRollout"]["clusters"]["w01"]["state"], "rolledBack",
        "{view}"
    );
    let metrics = a.daemon.text("/metrics").await.1;
    assert!(
        metrics.contains("tranche_rollouts_total{outcome=\"rolled_back\"} 1"),
        "{metrics}"
    );
}
