//! The real `tranche run` daemon as a child process, with a config file
//! written for the test. Killed (SIGKILL) on drop.

use super::eventually;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running daemon.
pub struct Daemon {
    child: Option<tokio::process::Child>,
    /// Base URL of its HTTP server.
    pub url: String,
    config: PathBuf,
    log: PathBuf,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Daemon {
    /// Writes `config` (YAML) into `dir` and starts `tranche run --config`.
    /// `config` must contain `listen: 127.0.0.1:<port>` with `port`.
    pub async fn start(dir: &Path, name: &str, config: &str, port: u16) -> Daemon {
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, config).expect("config");
        let log = dir.join(format!("{name}.log"));
        let mut d = Daemon {
            child: None,
            url: format!("http://127.0.0.1:{port}"),
            config: path,
            log,
        };
        d.spawn().await;
        d
    }

    async fn spawn(&mut self) {
        // reqwest (readiness polls) needs the process-wide rustls provider.
        tranche::cluster::connect::install_crypto_provider();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tranche"))
            .args([
                "run",
                "--config",
                self.config.to_str().expect("utf-8"),
                "--log",
                "tranche=debug,info",
            ])
            .env("NO_COLOR", "1")
            .env("TRANCHE_TEST_FORGE_TOKEN", "ghp_test_token_do_not_log")
            .env("TRANCHE_TEST_WEBHOOK_SECRET", "webhook-secret")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn tranche run");
        self.child = Some(child);
        let url = format!("{}/readyz", self.url);
        super::eventually("daemon ready", Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                reqwest::get(&url)
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;
    }

    /// Process id while it runs (e.g. to read its memory from /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// SIGKILL, then wait for the process to end.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// SIGTERM, then wait for a clean exit; returns the exit code.
    pub async fn terminate(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let pid = c.id()?.to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = tokio::time::timeout(Duration::from_secs(60), c.wait())
            .await
            .expect("exit after SIGTERM");
        status.expect("wait").code()
    }

    /// Starts the same daemon again (same config, same state dir).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// GET a path, as JSON.
    pub async fn json(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.url))
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON")
    }

    /// GET a path, as text with its status code.
    pub async fn text(&self, path: &str) -> (u16, String) {
        let r = reqwest::get(format!("{}{path}", self.url))
            .await
            .expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits until the rollout record at `record` shows `commit` past batch 1.
pub async fn batch_done(record: &std::path::Path, commit: &str) {
    eventually(
        &format!("batch 1 of {commit} done"),
        Duration::from_secs(60),
        || async {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(record).ok()?).ok()?;
            (v["commit"] == commit && v["batch"].as_u64()? >= 1).then_some(())
        },
    )
    .await;
}

/// POSTs a GitHub push delivery to the daemon's `/webhook`; the status code.
pub async fn post_webhook(url: &str, body: &[u8], signature: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/webhook"))
        .header("X-GitHub-Event", "push")
        .header("X-Hub-Signature-256", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The `X-Hub-Signature-256` value GitHub would send.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
