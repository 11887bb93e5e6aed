//! A fault-injecting proxy between tranche and each real apiserver of a
//! [`TestFleet`], for tests of what tranche does when clusters misbehave
//! and for distance (RTT) benchmarks.
//!
//! ```ignore
//! let proxies = ProxySet::start(fleet.clone()).await;      // one per cluster
//! proxies.kubeconfig_path();                               // contexts point at the proxies
//! proxies.add(Fault::at(17).answer(500).times(4));          // request #17 (and its retries)
//! proxies.add(Fault::on("GET", "/configmaps/tranche.cluster").cluster("b").answer(500));
//! proxies.add(Fault::at(40).reset());                      // TCP RST instead of an answer
//! proxies.add(Fault::at(41).hang());                       // never answers (past tranche's timeout)
//! proxies.add(Fault::at(42).stop_apiserver());             // SIGKILL the apiserver behind it
//! proxies.set_delay(ms(25), ms(25));                       // one-way delays: 50 ms RTT
//! proxies.requests(); proxies.in_flight(); proxies.peak_in_flight();
//! proxies.peak_in_flight_of("a");                          // one apiserver's peak
//! ```
//!
//! * Each proxy terminates TLS itself with a self-signed certificate
//!   (rcgen; tranche's kubeconfig skips verification, as the harness's
//!   does) and forwards each HTTP/1.1 request over a fresh HTTPS client to
//!   its apiserver; the request body is buffered, the answer's streamed
//!   back chunk by chunk (watches deliver their events as they come), each
//!   chunk held for the `back` delay from when it arrived.
//! * In-flight counts are kept across the set and per cluster, from the
//!   moment a request arrives until its answer has gone back (delays
//!   included).
//! * Requests are numbered 0, 1, 2, … across every proxy of the set, in
//!   the order they arrive: "the k-th request of a rollout".
//! * A reset closes the client's connection with a TCP RST (SO_LINGER 0);
//!   a hang answers nothing for [`HANG`], longer than tranche's 30 s read
//!   timeout; after a stop, every request to that cluster is reset (as a
//!   dead apiserver would), until [`ProxySet::restart_apiserver`].
//! * Everything runs as tasks of the test's runtime: nothing outlives it.

mod wire;

use super::TestFleet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use wire::{tls_acceptor, Proxy};

/// How long a hung request stays unanswered.
pub const HANG: Duration = Duration::from_secs(90);

/// What a fault does to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Answer with this HTTP status and a Kubernetes `Status` body.
    Status(u16),
    /// Never answer (for [`HANG`]).
    Hang,
    /// Reset the connection (TCP RST) instead of answering.
    Reset,
    /// Kill the apiserver behind the proxy, then reset the connection.
    StopApiserver,
}

/// Which requests a fault hits, and how often.
#[derive(Debug, Clone)]
pub struct Fault {
    action: Action,
    index: Option<usize>,
    method: Option<String>,
    path: Option<String>,
    cluster: Option<String>,
    times: Option<usize>,
    skip: usize,
    fired: usize,
    /// `(cluster, method, path)` of the request an index fault hit first:
    /// its retries get the same fault while `times` lasts.
    sticky: Option<(String, String, String)>,
}

impl Fault {
    /// The request numbered `index` (0-based, across the set).
    pub fn at(index: usize) -> Fault {
        Fault {
            action: Action::Status(500),
            index: Some(index),
            method: None,
            path: None,
            cluster: None,
            times: Some(1),
            skip: 0,
            fired: 0,
            sticky: None,
        }
    }

    /// Every request with this method whose path (with query) contains
    /// `path`, until `times` runs out (unlimited by default).
    pub fn on(method: &str, path: &str) -> Fault {
        Fault {
            index: None,
            method: Some(method.to_string()),
            path: Some(path.to_string()),
            times: None,
            ..Fault::at(0)
        }
    }

    /// Every write (POST, PUT, PATCH, DELETE; not a dry run) whose path
    /// contains `path`, until `times` runs out (unlimited by default).
    pub fn write_to(path: &str) -> Fault {
        Fault {
            method: Some(WRITE.to_string()),
            ..Fault::on("", path)
        }
    }

    /// Only requests to this cluster.
    pub fn cluster(mut self, name: &str) -> Fault {
        self.cluster = Some(name.to_string());
        self
    }

    /// Fire on `n` requests: for an index fault, the request and the next
    /// `n - 1` with the same cluster, method and path (its retries).
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// Let the first `n` matching requests through (a pattern fault).
    pub fn skip(mut self, n: usize) -> Fault {
        self.skip = n;
        self
    }

    /// Answer `status`.
    pub fn answer(mut self, status: u16) -> Fault {
        self.action = Action::Status(status);
        self
    }

    /// Never answer.
    pub fn hang(mut self) -> Fault {
        self.action = Action::Hang;
        self
    }

    /// Reset the connection.
    pub fn reset(mut self) -> Fault {
        self.action = Action::Reset;
        self
    }

    /// Kill the apiserver.
    pub fn stop_apiserver(mut self) -> Fault {
        self.action = Action::StopApiserver;
        self
    }

    /// The action, if this fault hits request `index` to `cluster`.
    fn hit(&mut self, index: usize, cluster: &str, method: &str, path: &str) -> Option<Action> {
        if self.times.is_some_and(|t| self.fired >= t) {
            return None;
        }
        let key = (cluster.to_string(), method.to_string(), path.to_string());
        let matches = match (self.index, &self.sticky) {
            (Some(_), Some(sticky)) => *sticky == key,
            (Some(i), None) => i == index,
            (None, _) => {
                let method_matches = match self.method.as_deref() {
                    Some(WRITE) => is_write(method, path),
                    Some(m) => m == method,
                    None => true,
                };
                method_matches && self.path.as_deref().is_none_or(|p| path.contains(p))
            }
        } && self.cluster.as_deref().is_none_or(|c| c == cluster);
        if !matches {
            return None;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return None;
        }
        if self.index.is_some() {
            self.sticky = Some(key);
        }
        self.fired += 1;
        Some(self.action)
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Number across the set.
    pub index: usize,
    /// Cluster.
    pub cluster: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The fault it got, if any.
    pub fault: Option<Action>,
    /// Status sent back (none: reset, hung, or still running).
    pub status: Option<u16>,
    /// When it arrived.
    pub started: Instant,
    /// When the answer went back.
    pub finished: Option<Instant>,
}

impl Seen {
    /// Whether the request asks to change something (not a dry run).
    pub fn is_write(&self) -> bool {
        is_write(&self.method, &self.path)
    }
}

/// Stands for "any write" in [`Fault::write_to`].
const WRITE: &str = "(write)";

fn is_write(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE") && !path.contains("dryRun=")
}

struct Shared {
    counter: AtomicUsize,
    faults: Mutex<Vec<Fault>>,
    /// One-way delays: towards the apiserver, back to tranche.
    delay: Mutex<(Duration, Duration)>,
    log: Mutex<Vec<Seen>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    /// Per cluster: requests in flight now, and the most at once.
    per_cluster: Mutex<BTreeMap<String, (usize, usize)>>,
    /// Clusters whose apiserver a fault stopped.
    stopped: Mutex<Vec<String>>,
    upstream: reqwest::Client,
    fleet: Arc<TestFleet>,
}

/// A proxy per cluster of a fleet, sharing one request counter and one
/// list of faults.
pub struct ProxySet {
    shared: Arc<Shared>,
    ports: BTreeMap<String, u16>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for ProxySet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl ProxySet {
    /// Starts one proxy per cluster of `fleet` and writes a kubeconfig
    /// whose context `<name>` (admin) goes through the proxy of `<name>`.
    pub async fn start(fleet: Arc<TestFleet>) -> ProxySet {
        tranche::cluster::install_crypto_provider();
        let tls = tls_acceptor();
        let upstream = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_else(|e| panic!("cannot build the proxy's HTTPS client: {e}"));
        let shared = Arc::new(Shared {
            counter: AtomicUsize::new(0),
            faults: Mutex::new(vec![]),
            delay: Mutex::new((Duration::ZERO, Duration::ZERO)),
            log: Mutex::new(vec![]),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            per_cluster: Mutex::new(BTreeMap::new()),
            stopped: Mutex::new(vec![]),
            upstream,
            fleet: fleet.clone(),
        });
        let mut ports = BTreeMap::new();
        let mut tasks = Vec::new();
        for name in fleet.names() {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("proxy for {name}: cannot bind: {e}"));
            let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
            ports.insert(name.clone(), port);
            let proxy = Proxy {
                cluster: name.clone(),
                upstream: fleet.server_url(name),
                shared: shared.clone(),
            };
            tasks.push(tokio::spawn(proxy.serve(listener, tls.clone())));
        }
        let dir = tempfile::Builder::new()
            .prefix("tranche-proxy-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let kubeconfig = dir.path().join("kubeconfig");
        write_kubeconfig(&kubeconfig, &ports, fleet.admin_token());
        ProxySet {
            shared,
            ports,
            tasks,
            kubeconfig,
            _dir: dir,
        }
    }

    /// kubeconfig whose contexts (named like the clusters) go through the proxies.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>` of the proxy of `cluster`.
    pub fn url(&self, cluster: &str) -> String {
        format!("https://127.0.0.1:{}", self.ports[cluster])
    }

    /// Adds a fault.
    pub fn add(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes every fault, forgets the requests seen and numbers the next
    /// request 0 again.
    pub fn reset(&self) {
        lock(&self.shared.faults).clear();
        lock(&self.shared.log).clear();
        self.shared.counter.store(0, Ordering::SeqCst);
        self.shared.peak.store(0, Ordering::SeqCst);
        for (now, peak) in lock(&self.shared.per_cluster).values_mut() {
            *peak = *now;
        }
    }

    /// One-way delays: before a request goes to the apiserver, and before
    /// its answer goes back (RTT = both).
    pub fn set_delay(&self, to_apiserver: Duration, back: Duration) {
        *lock(&self.shared.delay) = (to_apiserver, back);
    }

    /// Requests seen since the last [`ProxySet::reset`], in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.log).clone()
    }

    /// Requests numbered so far.
    pub fn count(&self) -> usize {
        self.shared.counter.load(Ordering::SeqCst)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Most requests handled at once since the last reset.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Most requests to `cluster` handled at once since the last reset.
    pub fn peak_in_flight_of(&self, cluster: &str) -> usize {
        lock(&self.shared.per_cluster)
            .get(cluster)
            .map_or(0, |(_, peak)| *peak)
    }

    /// Clusters whose apiserver a fault stopped (and not restarted since).
    pub fn stopped(&self) -> Vec<String> {
        lock(&self.shared.stopped).clone()
    }

    /// Restarts an apiserver a fault stopped, and forwards to it again.
    pub async fn restart_apiserver(&self, cluster: &str) {
        self.shared.fleet.restart(cluster).await;
        lock(&self.shared.stopped).retain(|c| c != cluster);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn write_kubeconfig(path: &Path, ports: &BTreeMap<String, u16>, token: &str) {
    let clusters: Vec<serde_json::Value> = ports
        .iter()
        .map(|(name, port)| {
            serde_json::json!({"name": name, "cluster": {
                "server": format!("https://127.0.0.1:{port}"), "insecure-skip-tls-verify": true}})
        })
        .collect();
    let contexts: Vec<serde_json::Value> = ports
        .keys()
        .map(
            |name| serde_json::json!({"name": name, "context": {"cluster": name, "user": "admin"}}),
        )
        .collect();
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "current-context": ports.keys().next().cloned().unwrap_or_default(),
        "clusters": clusters, "contexts": contexts,
        "users": [{"name": "admin", "user": {"token": token}}]
    });
    std::fs::write(path, tranche::yaml::to_string(&kubeconfig))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
