//! [`TestFleet`]: one etcd and, per cluster name, a kube-apiserver (plus,
//! on the current release, controller-manager, scheduler and kwok with
//! fake Nodes), started concurrently, torn down on drop (or by the reaper).
//! On [`K8s::Sim`] the clusters are simulated in this process instead
//! (module `sim`): no etcd, no processes.

use super::apiserver::{start_etcd, wait_ready, LaunchSpec};
use super::binaries::{etcd, program, Program};
use super::control_plane::{write_stages, ComponentSpec, Components, NODES};
use super::files::{write_fleet_files, write_kubeconfig, ContextEntry, FleetFiles, Tokens};
use super::process::{free_ports, Proc, Reaper};
use super::sim::{self, SimFleet};
use super::versions::K8s;
use futures::future::join_all;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fleet of real clusters on loopback. See the module docs of `support`
/// for the contexts, tokens, components and audit logs it provides.
pub struct TestFleet {
    pub(super) version: K8s,
    pub(super) names: Vec<String>,
    pub(super) apiservers: BTreeMap<String, Apiserver>,
    pub(super) tokens: Tokens,
    pub(super) kubeconfig: PathBuf,
    pub(super) dir_path: PathBuf,
    components: BTreeMap<String, Mutex<Components>>,
    /// `None` on the simulation.
    etcd: Option<Mutex<Proc>>,
    etcd_url: String,
    /// `None` on the simulation.
    files: Option<FleetFiles>,
    /// The simulated clusters, on [`K8s::Sim`].
    sim: Option<SimFleet>,
    reaper: Reaper,
    startup: Duration,
    _budget: Option<OwnedSemaphorePermit>,
    // Options so Drop can remove them after the processes are dead.
    dir: Option<TempDir>,
    etcd_dir: Option<TempDir>,
}

/// One apiserver of the fleet.
pub(super) struct Apiserver {
    pub(super) port: u16,
    /// `https://127.0.0.1:<port>` (`http://` on the simulation).
    pub(super) url: String,
    pub(super) dir: PathBuf,
    pub(super) audit_log: PathBuf,
    /// `None` on the simulation (it runs in this process).
    pub(super) proc: Option<Mutex<Proc>>,
}

/// How many current-release clusters owned fleets of one test binary may
/// run at once (`TRANCHE_TEST_CLUSTERS`, default 12: about 7 GB). A fleet
/// waits for room; a larger fleet takes the whole budget. Shared fleets
/// live until the binary exits and are not counted.
fn budget() -> (Arc<Semaphore>, u32) {
    static BUDGET: OnceLock<(Arc<Semaphore>, u32)> = OnceLock::new();
    BUDGET
        .get_or_init(|| {
            let n = std::env::var("TRANCHE_TEST_CLUSTERS")
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(12);
            (Arc::new(Semaphore::new(n as usize)), n)
        })
        .clone()
}

impl TestFleet {
    /// A fleet of the current release (whole control planes), one cluster
    /// per name. See [`TestFleet::start_on`].
    pub async fn start(names: &[&str]) -> TestFleet {
        TestFleet::start_on(K8s::Current, names).await
    }

    /// Starts etcd and one cluster of `version` per name (concurrently) and
    /// waits until every `/readyz` answers and, with controllers, every
    /// fake Node is Ready. Panics, with the failing process's log tail, if
    /// anything does not come up within about a minute.
    pub async fn start_on(version: K8s, names: &[&str]) -> TestFleet {
        TestFleet::launch(version, names, true).await
    }

    /// A fleet shared by every test of this test binary that asks for the
    /// same version and names, started on first use. It lives until the
    /// binary exits (the reaper then removes it), so tests sharing it must
    /// use their own namespaces and must not `stop` its apiservers.
    pub async fn shared(names: &[&str]) -> &'static TestFleet {
        TestFleet::shared_on(K8s::Current, names).await
    }

    /// [`TestFleet::shared`] for `version`.
    pub async fn shared_on(version: K8s, names: &[&str]) -> &'static TestFleet {
        type Key = (K8s, Vec<String>);
        static SHARED: tokio::sync::Mutex<BTreeMap<Key, &'static TestFleet>> =
            tokio::sync::Mutex::const_new(BTreeMap::new());
        let key = (version, names.iter().map(|n| n.to_string()).collect());
        let mut shared = SHARED.lock().await;
        if let Some(fleet) = shared.get(&key) {
            return fleet;
        }
        let fleet = TestFleet::launch(version, names, false).await;
        let fleet: &'static TestFleet = Box::leak(Box::new(fleet));
        shared.insert(key, fleet);
        fleet
    }

    /// [`TestFleet::shared_on`] when `TRANCHE_K8S` selects `version`, else
    /// `None` (the test is skipped, saying so).
    pub async fn shared_if_selected(
        version: K8s,
        names: &[&str],
        test: &str,
    ) -> Option<&'static TestFleet> {
        if version.selected_for(test) {
            Some(TestFleet::shared_on(version, names).await)
        } else {
            None
        }
    }

    async fn launch(version: K8s, names: &[&str], counted: bool) -> TestFleet {
        assert!(!names.is_empty(), "a fleet needs at least one cluster");
        let version = version.fleet_version();
        if version == K8s::Sim {
            return TestFleet::launch_sim(names);
        }
        let budget = match (counted, version.has_controllers()) {
            (true, true) => {
                let (semaphore, total) = budget();
                let wanted = (names.len() as u32).min(total);
                Some(
                    semaphore
                        .acquire_many_owned(wanted)
                        .await
                        .unwrap_or_else(|e| {
                            panic!("the cluster budget is closed: {e}");
                        }),
                )
            }
            _ => None,
        };
        let apiserver_bin = program(version, Program::Apiserver);
        let etcd_bin = etcd();
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("tranche-fleet-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        // etcd on tmpfs: fsync is free there, which makes startup fast.
        let shm = Path::new("/dev/shm");
        let etcd_dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("tranche-etcd-")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("tranche-etcd-").tempdir()
        }
        .unwrap_or_else(|e| panic!("cannot create a temp dir for etcd: {e}"));
        let reaper = Reaper::start(&dir.path().join("pids"), &[dir.path(), etcd_dir.path()]);

        let tokens = Tokens::new();
        let files = write_fleet_files(dir.path(), &tokens);
        let (etcd_proc, etcd_url) =
            start_etcd(&etcd_bin, etcd_dir.path(), dir.path(), &reaper).await;

        let timeout = Duration::from_secs(90 + 6 * names.len() as u64);
        let ports = free_ports(names.len());
        let launches = names.iter().zip(ports).map(|(name, port)| {
            let spec = LaunchSpec {
                version,
                bin: &apiserver_bin,
                name,
                dir: dir.path().join(name),
                etcd_url: &etcd_url,
                files: &files,
                reaper: &reaper,
                admin_token: &tokens.admin,
            };
            async move { spec.launch(port, timeout).await }
        });
        let mut apiservers = BTreeMap::new();
        for (name, (port, proc)) in names.iter().zip(join_all(launches).await) {
            let d = dir.path().join(name);
            let audit_log = d.join("audit.log");
            apiservers.insert(
                name.to_string(),
                Apiserver {
                    port,
                    url: format!("https://127.0.0.1:{port}"),
                    dir: d,
                    audit_log,
                    proc: Some(Mutex::new(proc)),
                },
            );
        }
        let server = |n: &str| format!("https://127.0.0.1:{}", apiservers[n].port);

        let mut components = BTreeMap::new();
        if version.has_controllers() {
            let stages = write_stages(dir.path());
            let servers: Vec<String> = names.iter().map(|n| server(n)).collect();
            let starts = names.iter().zip(&servers).map(|(name, server)| {
                let spec = ComponentSpec {
                    name,
                    dir: &apiservers[*name].dir,
                    server,
                    tokens: &tokens,
                    sa_key: &files.sa_key,
                    stages: &stages,
                    reaper: &reaper,
                };
                async move { spec.start(timeout).await }
            });
            for (name, c) in names.iter().zip(join_all(starts).await) {
                components.insert(name.to_string(), Mutex::new(c));
            }
        }

        let kubeconfig = dir.path().join("kubeconfig");
        let entries: Vec<ContextEntry> = names
            .iter()
            .map(|n| ContextEntry {
                context: n.to_string(),
                cluster: n.to_string(),
                server: server(n),
            })
            .collect();
        write_kubeconfig(&kubeconfig, &entries, &tokens);
        let startup = started.elapsed();
        let parts = if version.has_controllers() {
            format!(
                "apiserver, controller-manager, scheduler, kwok and {} Nodes each",
                NODES.len()
            )
        } else {
            "apiserver only".to_string()
        };
        eprintln!(
            "[test fleet] {} cluster(s) of Kubernetes {version} ({parts}) ready in {startup:.1?}: {names:?}",
            names.len(),
        );
        TestFleet {
            version,
            names: names.iter().map(|n| n.to_string()).collect(),
            apiservers,
            tokens,
            kubeconfig,
            dir_path: dir.path().to_path_buf(),
            components,
            etcd: Some(Mutex::new(etcd_proc)),
            etcd_url,
            files: Some(files),
            sim: None,
            reaper,
            startup,
            _budget: budget,
            dir: Some(dir),
            etcd_dir: Some(etcd_dir),
        }
    }

    /// Simulated clusters (module `sim`) with the same tokens, contexts
    /// and audit logs as real ones; HTTP instead of HTTPS.
    fn launch_sim(names: &[&str]) -> TestFleet {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("tranche-sim-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let reaper = Reaper::start(&dir.path().join("pids"), &[dir.path()]);
        let tokens = Tokens::new();
        let users = sim::users(&[
            (&tokens.admin, super::files::ADMIN_USER, true),
            (&tokens.limited, super::files::LIMITED_USER, false),
        ]);
        let owned: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let fleet = SimFleet::start(&owned, users, Some(dir.path()));
        let apiservers: BTreeMap<String, Apiserver> = owned
            .iter()
            .map(|n| {
                let d = dir.path().join(n);
                let a = Apiserver {
                    port: fleet.port(n),
                    url: fleet.url(n),
                    audit_log: d.join("audit.log"),
                    dir: d,
                    proc: None,
                };
                (n.clone(), a)
            })
            .collect();
        let kubeconfig = dir.path().join("kubeconfig");
        let entries: Vec<ContextEntry> = owned
            .iter()
            .map(|n| ContextEntry {
                context: n.clone(),
                cluster: n.clone(),
                server: fleet.url(n),
            })
            .collect();
        write_kubeconfig(&kubeconfig, &entries, &tokens);
        let startup = started.elapsed();
        let shown = match names.len() {
            n if n <= 12 => format!("{names:?}"),
            n => format!("{} … {}", names[0], names[n - 1]),
        };
        eprintln!(
            "[test fleet] {} simulated cluster(s) ready in {startup:.1?}: {shown}",
            names.len()
        );
        TestFleet {
            version: K8s::Sim,
            names: owned,
            apiservers,
            tokens,
            kubeconfig,
            dir_path: dir.path().to_path_buf(),
            components: BTreeMap::new(),
            etcd: None,
            etcd_url: String::new(),
            files: None,
            sim: Some(fleet),
            reaper,
            startup,
            _budget: None,
            dir: Some(dir),
            etcd_dir: None,
        }
    }

    /// Whether this fleet is simulated (module `sim`).
    pub fn is_sim(&self) -> bool {
        self.sim.is_some()
    }

    /// The simulated clusters, on [`K8s::Sim`].
    pub fn sim(&self) -> Option<&SimFleet> {
        self.sim.as_ref()
    }

    /// `false` (printing why `test` is skipped) when this fleet is
    /// simulated: `what` is something only a real cluster does (its
    /// controllers, defaulting, validation, ...), which the stand-in does
    /// not. The real apiserver stays the truth for behaviour.
    pub fn needs_real_cluster(&self, test: &str, what: &str) -> bool {
        if self.is_sim() {
            eprintln!(
                "[test fleet] {test}: skipped on the simulated clusters: it needs what only a real cluster does ({what})"
            );
            return false;
        }
        true
    }

    /// The Kubernetes version of every cluster of this fleet.
    pub fn version(&self) -> K8s {
        self.version
    }

    /// How long [`TestFleet::start_on`] took, until every cluster was ready.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Kills one apiserver (SIGKILL): the cluster is down. etcd, the other
    /// clusters and this cluster's controllers keep running (they retry
    /// until the apiserver is back).
    pub fn stop(&self, name: &str) {
        match (&self.sim, &self.apiserver(name).proc) {
            (Some(sim), _) => sim.stop(name),
            (None, Some(proc)) => proc.lock().unwrap_or_else(|p| p.into_inner()).kill(),
            (None, None) => {}
        }
    }

    /// Starts a stopped apiserver again on its port (its data is in etcd)
    /// and waits until it is ready.
    pub async fn restart(&self, name: &str) {
        if let Some(sim) = &self.sim {
            sim.restart(name);
            return;
        }
        let a = self.apiserver(name);
        let files = self.files.as_ref().expect("a real fleet has its files");
        let spec = LaunchSpec {
            version: self.version,
            bin: &program(self.version, Program::Apiserver),
            name,
            dir: a.dir.clone(),
            etcd_url: &self.etcd_url,
            files,
            reaper: &self.reaper,
            admin_token: &self.tokens.admin,
        };
        let proc = spec.spawn(a.port);
        wait_ready(
            proc,
            &self.server_url(name),
            &self.tokens.admin,
            Duration::from_secs(60),
        )
        .await
        .map(|proc| {
            if let Some(slot) = &a.proc {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = proc;
            }
        })
        .unwrap_or_else(|(why, _)| panic!("{why}"));
    }

    /// Process id of the apiserver `name` while it runs (e.g. to read its
    /// memory use from /proc).
    pub fn apiserver_pid(&self, name: &str) -> Option<u32> {
        let proc = self.apiserver(name).proc.as_ref()?;
        proc.lock().unwrap_or_else(|p| p.into_inner()).pid()
    }

    /// `(label, pid)` of every running process of cluster `name`: its
    /// apiserver, then controller-manager, scheduler and kwok if any.
    pub fn process_ids(&self, name: &str) -> Vec<(String, u32)> {
        let mut pids: Vec<(String, u32)> = Vec::new();
        if let Some(proc) = &self.apiserver(name).proc {
            let a = proc.lock().unwrap_or_else(|p| p.into_inner());
            pids.extend(a.pid().map(|p| (a.label.clone(), p)));
        }
        if let Some(c) = self.components.get(name) {
            let c = c.lock().unwrap_or_else(|p| p.into_inner());
            pids.extend(
                c.procs
                    .iter()
                    .filter_map(|p| Some((p.label.clone(), p.pid()?))),
            );
        }
        pids
    }

    /// Process id of the fleet's etcd.
    pub fn etcd_pid(&self) -> Option<u32> {
        let etcd = self.etcd.as_ref()?;
        etcd.lock().unwrap_or_else(|p| p.into_inner()).pid()
    }

    /// Whether the apiserver `name` is running (not stopped).
    pub fn is_running(&self, name: &str) -> bool {
        match (&self.sim, &self.apiserver(name).proc) {
            (Some(sim), _) => sim.is_running(name),
            (None, Some(proc)) => proc.lock().unwrap_or_else(|p| p.into_inner()).is_running(),
            (None, None) => false,
        }
    }

    pub(super) fn apiserver(&self, name: &str) -> &Apiserver {
        self.apiservers
            .get(name)
            .unwrap_or_else(|| panic!("no cluster {name:?} in this fleet (have {:?})", self.names))
    }
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        for c in self.components.values() {
            for p in &mut c.lock().unwrap_or_else(|p| p.into_inner()).procs {
                p.kill();
            }
        }
        for proc in self.apiservers.values().filter_map(|a| a.proc.as_ref()) {
            proc.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
        if let Some(etcd) = &self.etcd {
            etcd.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
        drop(self.sim.take());
        drop(self.dir.take());
        drop(self.etcd_dir.take());
        self.reaper.dismiss();
    }
}
