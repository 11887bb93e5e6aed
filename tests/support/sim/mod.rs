//! Simulated clusters for scale: a lightweight stand-in for the part of
//! the Kubernetes API tranche uses, many clusters in one process.
//!
//! ```ignore
//! let users = sim::users(&[("admin-token", "admin", true)]);
//! let fleet = SimFleet::start(&names, users, Some(audit_dir));   // one port per cluster
//! fleet.url("c1");                  // http://127.0.0.1:<port>
//! fleet.cluster("c1").store().len();
//! fleet.stop("c1"); fleet.restart("c1");   // the port closes; state stays
//! ```
//!
//! * Each cluster is a hyper HTTP/1.1 server (plain HTTP, no TLS) on its
//!   own loopback port, all on one tokio runtime of two worker threads
//!   owned by the [`SimFleet`] (so a fleet outlives any test's runtime,
//!   and shared fleets work). Idle clusters cost a listener and a map.
//! * What it serves (module `server`): discovery (`/api`, `/apis`, each
//!   group/version), `/version`, `/readyz`; get, list (label and field
//!   selectors, metadata-only via the `PartialObjectMetadata` Accept
//!   header), watch (resume from resourceVersion, bookmarks, ADDED/
//!   DELETED as objects enter or leave a selector, 410 Gone when the
//!   version is older than the kept history), create, update (with
//!   resourceVersion checks), server-side apply (fieldManager, force,
//!   conflicts from field ownership), merge, strategic-merge (approximated)
//!   and JSON patches, `dryRun=All`, delete (preconditions, finalizers),
//!   deletecollection, the `status` subresource, CRDs (their kinds are
//!   served at once).
//! * Objects (module `store`) get a uid, a creationTimestamp, a
//!   resourceVersion from one counter per cluster, a generation bumped on
//!   spec changes, and `managedFields` (module `fields`). A write that
//!   changes nothing writes nothing (no new resourceVersion), as on the
//!   real apiserver. Deleting a Namespace deletes what is in it at once.
//! * No controller runs: workloads report healthy status at once (module
//!   `status`); no Pods, ReplicaSets or garbage collection. Authorization
//!   is all or nothing per token ([`User::admin`]).
//! * Every request is written to the cluster's audit log (if given) in
//!   the real apiserver's format, so `TestFleet`'s audit helpers work.
//! * Environment: `TRANCHE_SIM_THREADS` (worker threads, default 2),
//!   `TRANCHE_SIM_BOOKMARK_SECS` (how often watches get a bookmark,
//!   default 60, about what the real apiserver does).

mod fields;
mod kinds;
mod selector;
mod server;
mod status;
mod store;

pub use server::{SimCluster, User};
pub use store::Store;

use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

/// Tokens → users.
pub fn users(entries: &[(&str, &str, bool)]) -> Arc<BTreeMap<String, User>> {
    Arc::new(
        entries
            .iter()
            .map(|(token, name, admin)| {
                (
                    token.to_string(),
                    User {
                        name: name.to_string(),
                        admin: *admin,
                    },
                )
            })
            .collect(),
    )
}

/// One cluster of the fleet: its state, port and server task.
struct Served {
    cluster: Arc<SimCluster>,
    port: u16,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Many simulated clusters in this process (see the module doc).
pub struct SimFleet {
    runtime: Option<tokio::runtime::Runtime>,
    clusters: BTreeMap<String, Served>,
}

impl SimFleet {
    /// Starts one cluster per name, each on a free loopback port, with an
    /// audit log `<audit_dir>/<name>/audit.log` when `audit_dir` is given.
    pub fn start(
        names: &[String],
        users: Arc<BTreeMap<String, User>>,
        audit_dir: Option<&Path>,
    ) -> SimFleet {
        let threads = std::env::var("TRANCHE_SIM_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(2);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("sim")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the simulated clusters' runtime: {e}"));
        let mut clusters = BTreeMap::new();
        for name in names {
            let audit = audit_dir.map(|d| {
                let dir = d.join(name);
                std::fs::create_dir_all(&dir)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
                dir.join("audit.log")
            });
            let cluster = Arc::new(SimCluster::new(name, users.clone(), audit.as_deref()));
            let listener = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap_or_else(|e| panic!("simulated cluster {name}: cannot listen: {e}"));
            let port = listener.local_addr().expect("a local address").port();
            let task = runtime.spawn(serve(listener, cluster.clone()));
            clusters.insert(
                name.clone(),
                Served {
                    cluster,
                    port,
                    task: Mutex::new(Some(task)),
                },
            );
        }
        SimFleet {
            runtime: Some(runtime),
            clusters,
        }
    }

    fn served(&self, name: &str) -> &Served {
        self.clusters
            .get(name)
            .unwrap_or_else(|| panic!("no simulated cluster {name:?}"))
    }

    /// The cluster's state.
    pub fn cluster(&self, name: &str) -> &Arc<SimCluster> {
        &self.served(name).cluster
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self, name: &str) -> u16 {
        self.served(name).port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(name))
    }

    /// Closes the cluster's port and drops its connections (watches end);
    /// its objects stay.
    pub fn stop(&self, name: &str) {
        if let Some(task) = self
            .served(name)
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
    }

    /// Whether the cluster answers (not stopped).
    pub fn is_running(&self, name: &str) -> bool {
        self.served(name)
            .task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Serves a stopped cluster again on its port.
    pub fn restart(&self, name: &str) {
        let served = self.served(name);
        let mut task = served.task.lock().unwrap_or_else(|p| p.into_inner());
        if task.is_some() {
            return;
        }
        // The aborted server may hold the port a moment longer.
        let mut tries = 0;
        let listener = loop {
            match std::net::TcpListener::bind(("127.0.0.1", served.port)) {
                Ok(l) => break l,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!(
                    "simulated cluster {name}: port {} stays taken: {e}",
                    served.port
                ),
            }
        };
        let runtime = self.runtime.as_ref().expect("running");
        *task = Some(runtime.spawn(serve(listener, served.cluster.clone())));
    }

    /// Cluster names.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.clusters.keys()
    }
}

impl Drop for SimFleet {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Allowed inside an async context, unlike a plain drop.
            runtime.shutdown_background();
        }
    }
}

/// Accepts connections until aborted; aborting drops every connection.
async fn serve(listener: std::net::TcpListener, cluster: Arc<SimCluster>) {
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of descriptors, typically: wait and go on.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let cluster = cluster.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| server::handle(cluster.clone(), req));
                    // A client that hangs up mid-request is its business.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
