//! [`TestFleet`]: one etcd and one real kube-apiserver per cluster name,
//! started concurrently, torn down on drop (or by the reaper).

use super::binaries::{etcd, kube_apiserver};
use super::files::{new_token, write_fleet_files, write_kubeconfig, FleetFiles};
use super::http;
use super::process::{free_ports, Proc, Reaper};
use futures::future::join_all;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How many times a process is restarted on a port someone else took.
const PORT_ATTEMPTS: u32 = 3;

/// A fleet of real apiservers on loopback. See the module docs of
/// `support` for the contexts, tokens and audit logs it provides.
pub struct TestFleet {
    pub(super) names: Vec<String>,
    pub(super) apiservers: BTreeMap<String, Apiserver>,
    pub(super) admin_token: String,
    pub(super) limited_token: String,
    pub(super) kubeconfig: PathBuf,
    etcd: Mutex<Proc>,
    etcd_url: String,
    files: FleetFiles,
    reaper: Reaper,
    // Options so Drop can remove them after the processes are dead.
    dir: Option<TempDir>,
    etcd_dir: Option<TempDir>,
}

/// One apiserver of the fleet.
pub(super) struct Apiserver {
    pub(super) port: u16,
    pub(super) dir: PathBuf,
    pub(super) audit_log: PathBuf,
    pub(super) proc: Mutex<Proc>,
}

impl TestFleet {
    /// Starts etcd and one apiserver per name (concurrently) and waits
    /// until every `/readyz` answers. Panics, with the failing process's
    /// log tail, if anything does not come up within about a minute.
    pub async fn start(names: &[&str]) -> TestFleet {
        assert!(!names.is_empty(), "a fleet needs at least one cluster");
        let apiserver_bin = kube_apiserver();
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

        let admin_token = new_token("admin");
        let limited_token = new_token("limited");
        let files = write_fleet_files(dir.path(), &admin_token, &limited_token);
        let (etcd_proc, etcd_url) =
            start_etcd(&etcd_bin, etcd_dir.path(), dir.path(), &reaper).await;

        let timeout = Duration::from_secs(60 + 4 * names.len() as u64);
        let ports = free_ports(names.len());
        let launches = names.iter().zip(ports).map(|(name, port)| {
            let spec = LaunchSpec {
                bin: &apiserver_bin,
                name,
                dir: dir.path().join(name),
                etcd_url: &etcd_url,
                files: &files,
                reaper: &reaper,
                admin_token: &admin_token,
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
                    dir: d,
                    audit_log,
                    proc: Mutex::new(proc),
                },
            );
        }

        let kubeconfig = dir.path().join("kubeconfig");
        let servers: Vec<(String, String)> = names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    format!("https://127.0.0.1:{}", apiservers[*n].port),
                )
            })
            .collect();
        write_kubeconfig(&kubeconfig, &servers, &admin_token, &limited_token);
        eprintln!(
            "[test fleet] {} apiserver(s) ready in {:.1?}: {names:?}",
            names.len(),
            started.elapsed()
        );
        TestFleet {
            names: names.iter().map(|n| n.to_string()).collect(),
            apiservers,
            admin_token,
            limited_token,
            kubeconfig,
            etcd: Mutex::new(etcd_proc),
            etcd_url,
            files,
            reaper,
            dir: Some(dir),
            etcd_dir: Some(etcd_dir),
        }
    }

    /// A fleet shared by every test of this test binary that asks for the
    /// same names, started on first use. It lives until the binary exits
    /// (the reaper then removes it), so tests sharing it must use their own
    /// namespaces and must not `stop` its apiservers.
    pub async fn shared(names: &[&str]) -> &'static TestFleet {
        static SHARED: tokio::sync::Mutex<BTreeMap<Vec<String>, &'static TestFleet>> =
            tokio::sync::Mutex::const_new(BTreeMap::new());
        let key: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut shared = SHARED.lock().await;
        if let Some(fleet) = shared.get(&key) {
            return fleet;
        }
        let fleet: &'static TestFleet = Box::leak(Box::new(TestFleet::start(names).await));
        shared.insert(key, fleet);
        fleet
    }

    /// Kills one apiserver (SIGKILL): the cluster is down. etcd and the
    /// other apiservers keep running.
    pub fn stop(&self, name: &str) {
        self.apiserver(name)
            .proc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .kill();
    }

    /// Starts a stopped apiserver again on its port (its data is in etcd)
    /// and waits until it is ready.
    pub async fn restart(&self, name: &str) {
        let a = self.apiserver(name);
        let spec = LaunchSpec {
            bin: &kube_apiserver(),
            name,
            dir: a.dir.clone(),
            etcd_url: &self.etcd_url,
            files: &self.files,
            reaper: &self.reaper,
            admin_token: &self.admin_token,
        };
        let proc = spec.spawn(a.port);
        wait_ready(
            proc,
            &self.server_url(name),
            &self.admin_token,
            Duration::from_secs(60),
        )
        .await
        .map(|proc| *a.proc.lock().unwrap_or_else(|p| p.into_inner()) = proc)
        .unwrap_or_else(|(why, _)| panic!("{why}"));
    }

    /// Process id of the apiserver `name` while it runs (e.g. to read its
    /// memory use from /proc).
    pub fn apiserver_pid(&self, name: &str) -> Option<u32> {
        self.apiserver(name)
            .proc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pid()
    }

    /// Whether the apiserver `name` is running (not stopped).
    pub fn is_running(&self, name: &str) -> bool {
        self.apiserver(name)
            .proc
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_running()
    }

    pub(super) fn apiserver(&self, name: &str) -> &Apiserver {
        self.apiservers
            .get(name)
            .unwrap_or_else(|| panic!("no cluster {name:?} in this fleet (have {:?})", self.names))
    }
}

impl Drop for TestFleet {
    fn drop(&mut self) {
        for a in self.apiservers.values() {
            a.proc.lock().unwrap_or_else(|p| p.into_inner()).kill();
        }
        self.etcd.lock().unwrap_or_else(|p| p.into_inner()).kill();
        drop(self.dir.take());
        drop(self.etcd_dir.take());
        self.reaper.dismiss();
    }
}

/// Starts etcd on free ports and waits for `/health`.
async fn start_etcd(bin: &Path, data: &Path, logs: &Path, reaper: &Reaper) -> (Proc, String) {
    for _ in 0..PORT_ATTEMPTS {
        let ports = free_ports(2);
        let (client, peer) = (
            format!("http://127.0.0.1:{}", ports[0]),
            format!("http://127.0.0.1:{}", ports[1]),
        );
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir")
            .arg(data.join("data"))
            .args([
                "--name",
                "default",
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &format!("default={peer}"),
                "--log-level",
                "warn",
            ]);
        let mut proc = Proc::spawn("etcd", cmd, &logs.join("etcd.log"));
        if let Some(pid) = proc.pid() {
            reaper.track("etcd", pid);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = proc.exited() {
                let tail = proc.log_tail(30);
                if tail.contains("address already in use") {
                    break;
                }
                panic!("etcd exited ({status}) while starting:\n{tail}");
            }
            let health = http::client().get(format!("{client}/health")).send().await;
            if let Ok(resp) = health {
                if resp.text().await.unwrap_or_default().contains("true") {
                    return (proc, client);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if proc.is_running() {
            panic!(
                "etcd did not become healthy within 30 s:\n{}",
                proc.log_tail(30)
            );
        }
    }
    panic!("etcd could not get free ports after {PORT_ATTEMPTS} attempts");
}

/// Everything needed to (re)start one apiserver.
struct LaunchSpec<'a> {
    bin: &'a Path,
    name: &'a str,
    dir: PathBuf,
    etcd_url: &'a str,
    files: &'a FleetFiles,
    reaper: &'a Reaper,
    admin_token: &'a str,
}

impl LaunchSpec<'_> {
    fn spawn(&self, port: u16) -> Proc {
        std::fs::create_dir_all(self.dir.join("certs"))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", self.dir.display()));
        let path = |p: &Path| p.display().to_string();
        let mut cmd = Command::new(self.bin);
        cmd.args([
            format!("--etcd-servers={}", self.etcd_url),
            format!("--etcd-prefix=/{}", self.name),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            format!("--secure-port={port}"),
            "--insecure-port=0".to_string(),
            format!("--cert-dir={}", path(&self.dir.join("certs"))),
            format!("--token-auth-file={}", path(&self.files.tokens)),
            "--authorization-mode=RBAC".to_string(),
            "--service-account-issuer=https://kubernetes.default.svc".to_string(),
            format!("--service-account-key-file={}", path(&self.files.sa_pub)),
            format!(
                "--service-account-signing-key-file={}",
                path(&self.files.sa_key)
            ),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            format!("--audit-policy-file={}", path(&self.files.audit_policy)),
            format!("--audit-log-path={}", path(&self.dir.join("audit.log"))),
            "--audit-log-mode=blocking".to_string(),
        ]);
        let proc = Proc::spawn(
            &format!("kube-apiserver {}", self.name),
            cmd,
            &self.dir.join("apiserver.log"),
        );
        if let Some(pid) = proc.pid() {
            self.reaper.track(&format!("apiserver {}", self.name), pid);
        }
        proc
    }

    /// Spawns and waits for readiness, moving to another port if this one
    /// was taken meanwhile. Returns the port and the process.
    async fn launch(&self, mut port: u16, timeout: Duration) -> (u16, Proc) {
        for _ in 0..PORT_ATTEMPTS {
            let server = format!("https://127.0.0.1:{port}");
            match wait_ready(self.spawn(port), &server, self.admin_token, timeout).await {
                Ok(proc) => return (port, proc),
                Err((why, tail)) if tail.contains("address already in use") => {
                    eprintln!("[test fleet] {why}; retrying on another port");
                    port = free_ports(1)[0];
                }
                Err((why, _)) => panic!("{why}"),
            }
        }
        panic!(
            "kube-apiserver {} could not get a free port after {PORT_ATTEMPTS} attempts",
            self.name
        );
    }
}

/// Polls `/readyz` until 200. On exit or timeout: the reason (with the log
/// tail) and the raw tail.
async fn wait_ready(
    mut proc: Proc,
    server: &str,
    token: &str,
    timeout: Duration,
) -> Result<Proc, (String, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = proc.exited() {
            let tail = proc.log_tail(40);
            return Err((
                format!(
                    "{} exited ({status}) while starting at {server}:\n{tail}",
                    proc.label
                ),
                tail,
            ));
        }
        if http::is_ready(server, token).await {
            return Ok(proc);
        }
        if Instant::now() > deadline {
            let tail = proc.log_tail(40);
            return Err((
                format!(
                    "{} not ready at {server} within {timeout:?}:\n{tail}",
                    proc.label
                ),
                tail,
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
