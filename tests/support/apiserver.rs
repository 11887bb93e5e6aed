//! Starting the processes every fleet has: one etcd, and one kube-apiserver
//! per cluster with the flags its version needs.

use super::files::FleetFiles;
use super::http;
use super::process::{free_ports, Proc, Reaper};
use super::versions::K8s;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How many times a process is restarted on a port someone else took.
pub const PORT_ATTEMPTS: u32 = 3;

/// Starts etcd on free ports and waits for `/health`.
pub async fn start_etcd(bin: &Path, data: &Path, logs: &Path, reaper: &Reaper) -> (Proc, String) {
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
pub struct LaunchSpec<'a> {
    /// Its version (flags differ).
    pub version: K8s,
    /// The binary.
    pub bin: &'a Path,
    /// Cluster name (its etcd prefix).
    pub name: &'a str,
    /// The cluster's directory: certs, audit log, logs.
    pub dir: PathBuf,
    /// etcd's client URL.
    pub etcd_url: &'a str,
    /// Shared configuration files.
    pub files: &'a FleetFiles,
    /// Where pids are registered.
    pub reaper: &'a Reaper,
    /// Token used to poll `/readyz`.
    pub admin_token: &'a str,
}

impl LaunchSpec<'_> {
    /// Starts the apiserver on `port` (does not wait).
    pub fn spawn(&self, port: u16) -> Proc {
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
        match self.version {
            // Removed after 1.23; needed (set to 0) before.
            K8s::V1_20 => cmd.arg("--insecure-port=0"),
            // With --advertise-address=127.0.0.1 the default reconciler
            // refuses to start (a loopback address).
            K8s::Current => cmd.arg("--endpoint-reconciler-type=none"),
            K8s::Sim => panic!("simulated clusters run no kube-apiserver"),
        };
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
    pub async fn launch(&self, mut port: u16, timeout: Duration) -> (u16, Proc) {
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
pub async fn wait_ready(
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
