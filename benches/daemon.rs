//! Daemon latency: how long from a commit on the tracked branch to the
//! start of its rollout (target: under 1 s), and to its end, for the
//! example fleet (12 clusters) on directory clusters. Runs the real
//! `tranche run` binary on a real git repository; prints figures, asserts
//! nothing. `cargo bench --bench daemon`.

use std::path::Path;
use std::time::{Duration, Instant};

const ROUNDS: usize = 10;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

fn commit(repo: &git2::Repository, message: &str) -> String {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("find tree");
    let sig = git2::Signature::now("bench", "bench@example.com").expect("sig");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .expect("commit")
        .to_string()
}

async fn status(client: &reqwest::Client, url: &str) -> Option<serde_json::Value> {
    client
        .get(format!("{url}/api/status"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

fn stats(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<32} min {:>7.1} ms   median {:>7.1} ms   max {:>7.1} ms   ({} rounds)",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    );
}

#[tokio::main]
async fn main() {
    tranche::cluster::connect::install_crypto_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let repo_dir = dir.path().join("repo");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("examples/repo-layout"), &repo_dir);
    let repo = git2::Repository::init(&repo_dir).expect("init");
    repo.set_head("refs/heads/main").expect("HEAD");
    let first = commit(&repo, "fleet");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tranche"));
    // The example's kustomize and Helm apps: the pinned tools (cached).
    if std::env::var_os("TRANCHE_KUSTOMIZE").is_none() || std::env::var_os("TRANCHE_HELM").is_none()
    {
        let out = std::process::Command::new("bash")
            .arg(root.join("scripts/build-tools.sh"))
            .output()
            .expect("run scripts/build-tools.sh");
        assert!(out.status.success(), "scripts/build-tools.sh failed");
        let tools =
            std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string());
        command
            .env("TRANCHE_KUSTOMIZE", tools.join("kustomize"))
            .env("TRANCHE_HELM", tools.join("helm"));
    }
    let mut child = command
        .args(["run", "--repo"])
        .arg(&repo_dir)
        .arg("--clusters-dir")
        .arg(dir.path().join("clusters"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "error"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tranche run");
    let client = reqwest::Client::new();
    let wait = |sha: String, started: bool| {
        let client = client.clone();
        let url = url.clone();
        async move {
            loop {
                if let Some(s) = status(&client, &url).await {
                    let current = s["current"]["commit"] == sha.as_str();
                    let done = s["last"]["commit"] == sha.as_str();
                    if done || (started && current) {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait(first, false))
        .await
        .expect("first rollout");
    let manifest = repo_dir.join("apps/storefront/manifests/storefront.yaml");
    let original = std::fs::read_to_string(&manifest).expect("manifest");
    let (mut to_start, mut to_done) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let text = original.replace("  replicas: 3", &format!("  replicas: {}", 4 + round));
        std::fs::write(&manifest, text).expect("write");
        let t0 = Instant::now();
        let sha = commit(&repo, &format!("round {round}"));
        tokio::time::timeout(Duration::from_secs(30), wait(sha.clone(), true))
            .await
            .expect("rollout start");
        to_start.push(t0.elapsed());
        tokio::time::timeout(Duration::from_secs(60), wait(sha, false))
            .await
            .expect("rollout end");
        to_done.push(t0.elapsed());
    }
    println!("tranche run on examples/repo-layout (12 directory clusters, 1:2:7-style batches)");
    stats("commit → rollout start", to_start);
    stats("commit → rollout finished", to_done);
    let _ = child.start_kill();
}
