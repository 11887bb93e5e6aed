//! The fault sweep (issue 10): a small rollout (3 real apiservers, one
//! cluster per batch) with a fault at every request index in turn, then
//! random faults, each run followed by one rerun without faults. After
//! each run and each rerun the invariant of `support::two_commits` must
//! hold: every cluster is on the old or the new commit as the output and
//! the fleet memory say (or named as left behind), nothing that is not
//! tranche's was touched, nothing the old commit had was pruned unless
//! the new commit is there in full; the CLI's last line is the outcome.
//!
//! Runs alternate direction (v1 → v2, then v2 → v1, …) so each starts from
//! a fleet entirely on one commit. `TRANCHE_SWEEP_RANDOM` sets the number
//! of random runs (default 25, so a CI run is about 120 runs),
//! `TRANCHE_SWEEP_SEED` their seed (default 1: CI runs are reproducible;
//! `0` takes one from the clock), and `TRANCHE_SWEEP_STRIDE` the step
//! between swept indices (default 1), `TRANCHE_SWEEP_FROM` the first one
//! (default 0). The summary (runs, outcomes, findings) is also written to
//! `target/rollout-sweep.txt`.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use support::proxy::{Fault, ProxySet};
use support::two_commits::{add_foreign, check_run, truth, two_commits, Said, Truth, TwoCommits};
use support::{tranche, TestFleet};

const CLUSTERS: [&str; 3] = ["a", "b", "c"];

struct Sweep {
    fleet: Arc<TestFleet>,
    proxies: ProxySet,
    commits: TwoCommits,
    state: tempfile::TempDir,
    /// The commit every cluster is on between runs.
    on: String,
    findings: Vec<String>,
    outcomes: BTreeMap<String, usize>,
    runs: usize,
}

impl Sweep {
    async fn apply(&self, commit: &str, kubeconfig: &std::path::Path) -> Said {
        let out = tranche(&[
            "apply",
            &self.commits.repo.path().display().to_string(),
            "--rev",
            commit,
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "--state-dir",
            &self.state.path().display().to_string(),
            "-o",
            "json",
        ])
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "apply ({}) printed no JSON ({e}):\n{stdout}\n--- stderr:\n{stderr}",
                out.status
            )
        });
        Said {
            code: out.status.code().unwrap_or(-1),
            json,
            last_line: stderr.lines().last().unwrap_or_default().to_string(),
        }
    }

    async fn truths(&self) -> BTreeMap<String, Truth> {
        let mut out = BTreeMap::new();
        for c in CLUSTERS {
            out.insert(c.to_string(), truth(&self.fleet, c).await);
        }
        out
    }

    async fn memory(&self) -> BTreeMap<String, String> {
        let out = tranche(&[
            "status",
            "--state-dir",
            &self.state.path().display().to_string(),
            "--json",
        ])
        .await;
        let v: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        serde_json::from_value(v["fleet"]["clusterCommits"].clone()).unwrap_or_default()
    }

    /// One run with `faults`, its checks, one rerun, its checks.
    async fn run(&mut self, label: &str, faults: Vec<Fault>) {
        let started = Instant::now();
        let (old, new) = (self.on.clone(), self.commits.other(&self.on).to_string());
        let start = self.truths().await;
        self.proxies.reset();
        for f in faults {
            self.proxies.add(f);
        }
        let said = self.apply(&new, self.proxies.kubeconfig_path()).await;
        let hit: Vec<String> = self
            .proxies
            .requests()
            .iter()
            .filter_map(|r| {
                r.fault
                    .map(|f| format!("#{} {f:?} {} {} {}", r.index, r.cluster, r.method, r.path))
            })
            .collect();
        for c in self.proxies.stopped() {
            self.proxies.restart_apiserver(&c).await;
        }
        self.proxies.reset();
        let problems = check_run(
            &self.commits,
            &old,
            &new,
            &start,
            &self.truths().await,
            &said,
            &self.memory().await,
        );
        let outcome = said.json["outcome"]
            .as_str()
            .unwrap_or("stopped")
            .to_string();
        let rerun = self.apply(&new, self.proxies.kubeconfig_path()).await;
        let now = self.truths().await;
        let mut again = check_run(
            &self.commits,
            &old,
            &new,
            &start,
            &now,
            &rerun,
            &self.memory().await,
        );
        if !rerun.left_behind().is_empty() {
            again.push(format!("the rerun left clusters behind: {}", rerun.json));
        }
        self.on = match rerun.json["outcome"].as_str() {
            Some("succeeded" | "nothingToDo") => new.clone(),
            Some("rolledBack") => old.clone(),
            _ => {
                again.push(format!("the rerun did not settle: {}", rerun.json));
                // Settle by hand so that the sweep goes on.
                self.apply(&old, self.fleet.kubeconfig_path()).await;
                old.clone()
            }
        };
        let rerun_outcome = rerun.json["outcome"]
            .as_str()
            .unwrap_or("stopped")
            .to_string();
        *self
            .outcomes
            .entry(format!("{outcome} → rerun {rerun_outcome}"))
            .or_default() += 1;
        self.runs += 1;
        let context = format!("{label} (faults hit: {hit:?}; said: {})", said.last_line);
        for p in problems {
            self.findings.push(format!("{context}: run: {p}"));
        }
        for p in again {
            self.findings.push(format!("{context}: rerun: {p}"));
        }
        eprintln!(
            "[sweep] {label}: {outcome} (left behind {:?}) → rerun {rerun_outcome} in {:.1?}; {} fault hit(s)",
            said.left_behind(),
            started.elapsed(),
            hit.len()
        );
    }
}

/// A small xorshift generator (the seed is printed, so a run can be replayed).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sweep_fault(index: usize) -> Fault {
    // Four tries: a fault tranche cannot retry its way around.
    match index % 5 {
        0 => Fault::at(index).answer(500).times(4),
        1 => Fault::at(index).reset().times(4),
        2 => Fault::at(index).answer(503).times(4),
        3 => Fault::at(index).answer(429).times(4),
        _ => Fault::at(index).stop_apiserver(),
    }
}

fn random_fault(rng: &mut Rng, requests: usize) -> Fault {
    let times = 1 + rng.below(5);
    let fault = if rng.below(5) == 0 {
        let method = ["GET", "PATCH", "DELETE"][rng.below(3)];
        Fault::on(method, "").cluster(CLUSTERS[rng.below(3)])
    } else {
        Fault::at(rng.below(requests))
    };
    match rng.below(26) {
        0..=6 => fault.answer(500),
        7..=10 => fault.answer(503),
        11..=13 => fault.answer(429),
        14..=20 => fault.reset(),
        21..=24 => fault.stop_apiserver(),
        // Rare: a hang costs tranche's 30 s read timeout.
        _ => fault.hang(),
    }
    .times(times)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_at_every_request_then_at_random_leaves_every_cluster_on_a_known_commit() {
    let fleet = Arc::new(TestFleet::start(&CLUSTERS).await);
    let proxies = ProxySet::start(fleet.clone()).await;
    let commits = two_commits(&CLUSTERS);
    let state = tempfile::tempdir().unwrap();
    let mut sweep = Sweep {
        fleet: fleet.clone(),
        proxies,
        on: commits.v1.clone(),
        commits,
        state,
        findings: vec![],
        outcomes: BTreeMap::new(),
        runs: 0,
    };
    let first = sweep
        .apply(&sweep.commits.v1.clone(), fleet.kubeconfig_path())
        .await;
    assert_eq!(first.json["outcome"], "succeeded", "{}", first.json);
    add_foreign(&fleet).await;
    // A clean run each way checks the invariant itself; then count the
    // requests of one clean rollout (not its rerun).
    sweep.run("clean", vec![]).await;
    sweep.proxies.reset();
    let target = sweep.commits.other(&sweep.on).to_string();
    let said = sweep.apply(&target, sweep.proxies.kubeconfig_path()).await;
    assert_eq!(said.json["outcome"], "succeeded", "{}", said.json);
    sweep.on = target;
    let n = sweep.proxies.count();
    eprintln!("[sweep] a clean rollout of 3 clusters makes {n} requests");
    assert!(
        n > 20,
        "{n} requests is too few for a rollout of 3 clusters"
    );
    let stride = env_usize("TRANCHE_SWEEP_STRIDE", 1).max(1);
    for index in (env_usize("TRANCHE_SWEEP_FROM", 0)..n).step_by(stride) {
        let fault = sweep_fault(index);
        sweep.run(&format!("index {index}/{n}"), vec![fault]).await;
    }
    let swept = sweep.runs;
    let seed = env_usize("TRANCHE_SWEEP_SEED", 1) as u64;
    let seed = if seed == 0 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7)
            | 1
    } else {
        seed
    };
    eprintln!("[sweep] random runs with TRANCHE_SWEEP_SEED={seed}");
    let mut rng = Rng(seed);
    for r in 0..env_usize("TRANCHE_SWEEP_RANDOM", 25) {
        let faults = (0..1 + rng.below(2))
            .map(|_| random_fault(&mut rng, n))
            .collect();
        sweep
            .run(&format!("random {r} (seed {seed})"), faults)
            .await;
    }
    let summary = format!(
        "[sweep] {} runs ({swept} swept over {n} requests, {} random with seed {seed}), \
         each with a rerun; outcomes: {:#?}\nfindings: {:#?}\n",
        sweep.runs,
        sweep.runs - swept,
        sweep.outcomes,
        sweep.findings
    );
    eprint!("{summary}");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("rollout-sweep.txt"), &summary).unwrap();
    assert!(
        sweep.findings.is_empty(),
        "{} finding(s):\n{}",
        sweep.findings.len(),
        sweep.findings.join("\n")
    );
}
