//! Test harness shared by the integration tests: REAL kube-apiservers on
//! loopback (see /work/shared/K8S-TEST-CLUSTERS.md and
//! `scripts/build-apiserver.sh`).
//!
//! Use from a test file with `mod support;` then:
//!
//! ```ignore
//! let fleet = support::TestFleet::start(&["c1", "c2", "c3"]).await;  // owned
//! let fleet = support::TestFleet::shared(&["c1", "c2", "c3"]).await; // one per test binary
//! let c1 = fleet.cluster("c1").await;                 // Arc<dyn ClusterApi>, admin
//! fleet.create_namespace("c1", "shop").await;
//! fleet.patch_status("c1", "apps/v1", "Deployment", Some("shop"), "web", json!({...})).await;
//! let since = fleet.audit_len("c1").await;
//! // ... act ...
//! assert!(fleet.mutating_requests_in("c1", "shop", since).await.is_empty());
//! ```
//!
//! * One etcd (data on tmpfs) serves every apiserver of a fleet, each with
//!   its own `--etcd-prefix=/<name>`; apiservers start concurrently (about
//!   3–5 s for a few, on 2 cores).
//! * The kubeconfig has a context per cluster, named like the cluster
//!   (user `admin`, in `system:masters`), and `<name>-limited` contexts
//!   (user `limited`, no RBAC grants: every request is 403).
//! * Every request is audited (`level: Metadata`): [`TestFleet::audit_events`]
//!   and [`TestFleet::mutating_requests`] count what tranche really sent.
//! * No controllers run: tests play them with [`TestFleet::patch_status`].
//! * Nothing leaks: `Drop` kills the processes and removes the temp dirs;
//!   a reaper process also does it if the test binary dies or exits
//!   without dropping (shared fleets).
//! * Missing binaries fail loudly: a test never passes without a cluster.
//!
//! Environment: `TRANCHE_KUBE_APISERVER` (binary; default: built/cached by
//! `scripts/build-apiserver.sh`), `TRANCHE_ETCD` (default: `etcd` on PATH).

#![allow(dead_code, unused_imports)]

mod audit;
mod binaries;
pub mod browser;
pub mod controller;
pub mod daemon;
mod files;
pub mod fixtures;
mod fleet;
pub mod forge;
pub mod gitea;
mod http;
mod process;
pub mod proxy;
pub mod repo;
mod requests;
pub mod two_commits;

pub use audit::{concerns_namespace, is_mutating, object_ref};
pub use controller::FakeController;
pub use fleet::TestFleet;
pub use repo::FixtureRepo;

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

/// Runs the real `tranche` binary with `args` (async, so fake controllers
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
