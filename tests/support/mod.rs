//! Test harness shared by the integration tests: REAL Kubernetes clusters
//! on loopback (see /work/shared/K8S-TEST-CLUSTERS.md, `scripts/build-k8s.sh`
//! and `scripts/build-apiserver.sh`).
//!
//! Use from a test file with `mod support;` then:
//!
//! ```ignore
//! let fleet = support::TestFleet::start(&["c1", "c2", "c3"]).await;  // owned, current release
//! let fleet = support::TestFleet::shared(&["c1", "c2", "c3"]).await; // one per test binary
//! let old = support::TestFleet::start_on(K8s::V1_20, &["o1"]).await; // kube-apiserver v1.20 only
//! let c1 = fleet.cluster("c1").await;                 // Arc<dyn ClusterApi>, admin
//! fleet.create_namespace("c1", "shop").await;
//! let since = fleet.audit_len("c1").await;
//! // ... act ...
//! assert!(fleet.mutating_requests_in("c1", "shop", since).await.is_empty());
//! ```
//!
//! * A cluster of the current release ([`K8s::Current`]) is a whole control
//!   plane: kube-apiserver, kube-controller-manager (all controllers),
//!   kube-scheduler, and kwok playing the kubelet of 2 fake Nodes with
//!   capacity (`control_plane`). Deployments get ReplicaSets and Pods, pods
//!   are scheduled and become Ready, health comes from the real controllers,
//!   deletes really garbage-collect and Namespaces really finalize. A pod
//!   whose image ends in `:broken` crash-loops instead (kwok stages in
//!   `tests/support/kwok/`), so its Deployment fails with
//!   ProgressDeadlineExceeded after `progressDeadlineSeconds`; a Job's pod
//!   whose image ends in `:fails` exits 1 (phase Failed).
//! * A cluster of v1.20 ([`K8s::V1_20`]) is a kube-apiserver alone, for
//!   tests of what differs there; `TRANCHE_K8S` selects versions
//!   (`versions`).
//! * One etcd (data on tmpfs) serves every apiserver of a fleet, each with
//!   its own `--etcd-prefix=/<name>`; clusters start concurrently.
//! * The kubeconfig has a context per cluster, named like the cluster
//!   (user `admin`, in `system:masters`), and `<name>-limited` contexts
//!   (user `limited`, no RBAC grants: every request is 403).
//!   [`TestFleet::kubeconfig_with_contexts`] writes one with other names.
//! * Every request is audited (`level: Metadata`; the components' reads and
//!   kwok's heartbeats are left out). The components have their own users
//!   (`system:kube-controller-manager`, `system:kube-scheduler`,
//!   `system:kwok`): [`TestFleet::mutating_requests`] counts what tranche
//!   (and the test) really sent, [`TestFleet::controller_writes`] what the
//!   controllers did.
//! * Sharing: tranche keeps its inventories cluster-wide (namespace
//!   `tranche-system`) and prunes apps that left a cluster, so tests that
//!   run tranche end to end own their fleet; tests of the driver share one
//!   per binary and keep to their own namespaces. Owned current-release
//!   fleets of one binary stay within `TRANCHE_TEST_CLUSTERS` clusters at
//!   once (default 12), waiting for room.
//! * Nothing leaks: `Drop` kills the processes and removes the temp dirs;
//!   a reaper process also does it if the test binary dies or exits
//!   without dropping (shared fleets).
//! * Missing binaries fail loudly: a test never passes without a cluster.
//!
//! Environment: `TRANCHE_K8S`, `TRANCHE_K8S_BIN`, `TRANCHE_KUBE_APISERVER`,
//! `TRANCHE_ETCD` (see `binaries`), `TRANCHE_TEST_CLUSTERS`.

#![allow(dead_code, unused_imports)]

pub mod analysis;
mod apiserver;
mod audit;
mod binaries;
pub mod browser;
pub mod control_plane;
pub mod controller;
pub mod daemon;
mod files;
pub mod fixtures;
mod fleet;
pub mod forge;
pub mod forge_talk;
pub mod gitea;
mod http;
mod process;
pub mod prometheus;
pub mod proxy;
pub mod repo;
mod requests;
pub mod sim;
pub mod two_commits;
pub mod versions;

pub use audit::{
    concerns_namespace, is_controller_write, is_mutating, object_ref, request_uri, user,
};
pub use binaries::{tools_dir, use_tools};
pub use controller::CustomResourceController;
pub use fleet::TestFleet;
pub use repo::FixtureRepo;
pub use versions::K8s;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it returns `Some`, panicking with
/// `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the real `tranche` binary with `args` (async, so tasks of the test
/// keep running) and returns its output.
pub async fn tranche(args: &[&str]) -> std::process::Output {
    tokio::process::Command::from(tranche_command(args))
        .output()
        .await
        .expect("run tranche")
}

/// Runs the real `tranche` binary with `args` and waits for it, for tests
/// without an async runtime.
pub fn tranche_blocking(args: &[&str]) -> std::process::Output {
    tranche_command(args).output().expect("run tranche")
}

/// The real binary with `args`, no colors and no ambient kubeconfig.
fn tranche_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tranche"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KUBECONFIG");
    command
}

/// Checks that a log shows health waits as a log should: at least one
/// `waiting for health` line, and never the same wait twice in a row
/// unless the second is a heartbeat (`still waiting after …`). Only lines
/// containing `only` count (e.g. one rollout's commit in a daemon log).
/// Returns the wait lines.
pub fn assert_waits_not_repeated<'a>(log: &'a str, only: &str) -> Vec<&'a str> {
    let waits: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(only))
        .filter_map(|l| l.find("waiting for health").map(|at| &l[at..]))
        .collect();
    assert!(!waits.is_empty(), "no health wait was shown:\n{log}");
    for pair in waits.windows(2) {
        assert!(
            pair[0] != pair[1] || pair[1].contains("still waiting after"),
            "a health wait line repeats: {:?}\n{log}",
            pair[1]
        );
    }
    waits
}
