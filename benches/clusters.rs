//! What the test clusters cost: start time of a fleet of current-release
//! clusters (etcd, then per cluster kube-apiserver, controller-manager,
//! scheduler and kwok with 2 fake Nodes, until every Node is Ready) and
//! memory per cluster (resident set of each process, read from /proc a few
//! seconds after start), for 1, 3 and 12 clusters. Prints figures, asserts
//! nothing. `cargo bench --bench clusters` (`TRANCHE_BENCH_FLEETS=1,3`
//! picks other sizes).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::TestFleet;

/// Resident set size of a process, in MiB.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The program of a process label (`kube-apiserver c1` → `kube-apiserver`).
fn program(label: &str) -> String {
    label.split_whitespace().next().unwrap_or(label).to_string()
}

async fn measure(n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("bench-{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let fleet = TestFleet::start(&names).await;
    let startup = fleet.startup_time();
    // Let the controllers finish their first sync before reading memory.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut per_program: BTreeMap<String, f64> = BTreeMap::new();
    for name in &names {
        for (label, pid) in fleet.process_ids(name) {
            *per_program.entry(program(&label)).or_default() += rss_mib(pid).unwrap_or(0.0);
        }
    }
    let etcd = fleet.etcd_pid().and_then(rss_mib).unwrap_or(0.0);
    let per_cluster: f64 = per_program.values().sum::<f64>() / n as f64;
    let parts: Vec<String> = per_program
        .iter()
        .map(|(p, mib)| format!("{p} {:.0}", mib / n as f64))
        .collect();
    println!(
        "{n:>2} cluster(s): started in {:>5.1} s ({:.1} s per cluster); {per_cluster:.0} MiB per cluster ({}); etcd {etcd:.0} MiB; total {:.1} GiB",
        startup.as_secs_f64(),
        startup.as_secs_f64() / n as f64,
        parts.join(", "),
        (per_cluster * n as f64 + etcd) / 1024.0,
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TRANCHE_BENCH_FLEETS")
        .unwrap_or_else(|_| "1,3,12".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("Test clusters of Kubernetes {} (kube-apiserver, kube-controller-manager, kube-scheduler, kwok) on this machine:", support::K8s::Current);
    for n in sizes {
        runtime.block_on(measure(n));
    }
}
