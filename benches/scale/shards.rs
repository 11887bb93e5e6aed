//! Per-shard figures (`TRANCHE_SCALE_SHARDS=N`): each of N shard replicas
//! renders only the clusters it owns (`shard_of`), through a scoped
//! render cache as `tranche run` in shard mode does, and the coordinator
//! renders none. Each is measured in a child process of its own (this
//! bench binary again, with `TRANCHE_SCALE_SHARD=<i>/<N>`), so its peak
//! memory (VmHWM) is its own: load + validate, render, and the one-app
//! commit after it.

use super::{commit, count, ms, snapshot, snapshot_with_image};
use std::process::Command;
use std::time::Instant;
use tranche::render::{RenderCache, Scope};
use tranche::shard::shard_of;

/// The child's environment variable: `<i>/<N>` (`i == N`: the coordinator).
pub const CHILD: &str = "TRANCHE_SCALE_SHARD";

/// Runs every shard (and the coordinator) in a child process and prints
/// their figures.
pub fn run(clusters: usize, shards: usize) {
    println!("    {shards} shards, each in its own process (renders only its clusters):");
    let exe = std::env::current_exe().expect("the bench binary");
    for i in 0..=shards {
        let out = Command::new(&exe)
            .env(CHILD, format!("{i}/{shards}"))
            .env("TRANCHE_SCALE_CLUSTERS", clusters.to_string())
            .output()
            .expect("a shard's child process");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "shard {i}: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{text}");
    }
}

/// In the child: one shard (or the coordinator) of `spec` (`<i>/<N>`).
pub fn child(clusters: usize, spec: &str) {
    let (i, n) = spec
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n.parse::<usize>().ok()?)))
        .expect("TRANCHE_SCALE_SHARD=<i>/<N>");
    let (label, scope) = if i == n {
        ("coordinator".to_string(), Scope::none())
    } else {
        (
            format!("shard {i}/{n}"),
            Scope::only(move |c| shard_of(c, n) == i),
        )
    };
    let owned = if i == n {
        0
    } else {
        (0..clusters)
            .filter(|c| shard_of(&format!("c{c:05}"), n) == i)
            .count()
    };
    let first = snapshot(clusters, &commit(1), "v1");
    let start = Instant::now();
    let fleet = tranche::model::load::load(&first).expect("the generated fleet validates");
    let load = start.elapsed();
    let mut cache = RenderCache::scoped(scope);
    let start = Instant::now();
    let objects = count(cache.render(&fleet).expect("the generated fleet renders"));
    let render = start.elapsed();
    drop(fleet);
    let next = snapshot_with_image(first, &commit(2), "v2");
    let start = Instant::now();
    let fleet = tranche::model::load::load(&next).expect("the changed fleet validates");
    cache.render(&fleet).expect("the changed fleet renders");
    let one_app = start.elapsed();
    println!(
        "      {label}: {owned} clusters, {objects} objects; load + validate {:.0} ms, \
         render {:.0} ms, one-app commit (load + warm render) {:.0} ms, peak {}",
        ms(load),
        ms(render),
        ms(one_app),
        peak_mib()
    );
}

/// VmHWM in MiB.
fn peak_mib() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| format!("{:.0} MiB", kib / 1024.0))
        .unwrap_or_else(|| "unknown".into())
}
