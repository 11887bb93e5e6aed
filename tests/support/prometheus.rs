//! A REAL Prometheus (Debian's `prometheus` package, or
//! `$TRANCHE_PROMETHEUS`) on loopback, scraping given targets every second,
//! with its data in a temp dir. Killed by its PID on drop.

use super::process::{free_ports, Proc};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A running Prometheus.
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    proc: Proc,
    _dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("TRANCHE_PROMETHEUS") {
        return PathBuf::from(p);
    }
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join("prometheus");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "no prometheus binary: install Debian's package (apt-get install -y prometheus, \
         as scripts/test.sh does) or set TRANCHE_PROMETHEUS"
    );
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`host:port`) every second and
    /// waits until it answers queries.
    pub async fn start(targets: &[String]) -> Prometheus {
        tranche::cluster::install_crypto_provider();
        let dir = tempfile::Builder::new()
            .prefix("tranche-prometheus-")
            .tempdir()
            .expect("temp dir");
        let port = free_ports(1)[0];
        let list: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let config = format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             scrape_configs:\n  - job_name: test\n    honor_labels: true\n    \
             static_configs: [{{targets: [{}]}}]\n",
            list.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let mut cmd = Command::new(binary());
        cmd.arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        let mut proc = Proc::spawn("prometheus", cmd, &dir.path().join("prometheus.log"));
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Some(status) = proc.exited() {
                panic!("prometheus exited ({status}):\n{}", proc.log_tail(30));
            }
            let ready = client
                .get(format!("{url}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Prometheus {
                    url,
                    proc,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus not ready after 30s:\n{}", proc.log_tail(30));
    }

    /// The PID (the test ends it by this PID on drop).
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }

    /// Waits until `query` gives at least `series` series.
    pub async fn wait_for_series(&self, query: &str, series: usize) {
        tranche::cluster::install_crypto_provider();
        let client = reqwest::Client::new();
        let mut last = serde_json::Value::Null;
        for _ in 0..300 {
            let mut url = reqwest::Url::parse(&format!("{}/api/v1/query", self.url)).unwrap();
            url.query_pairs_mut().append_pair("query", query);
            if let Ok(r) = client.get(url).send().await {
                last = r.json().await.unwrap_or_default();
                if last["data"]["result"].as_array().map_or(0, Vec::len) >= series {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{query} has no {series} series after 30s: {last}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.proc.kill();
    }
}
