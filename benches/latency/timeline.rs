//! Where one step's time went, from the proxies' log: the time to the
//! first write (planning), to the last write (planning and applying,
//! inventories included; in a one-cluster fleet that is the whole first
//! apply, the rest is the health gate), and what was sent by kind of
//! request.

use super::support::proxy::Seen;
use std::time::{Duration, Instant};

/// One line about the requests numbered `from` on.
pub fn summary(seen: &[Seen], from: usize) -> String {
    let step: Vec<&Seen> = seen.iter().filter(|s| s.index >= from).collect();
    let Some(start) = step.iter().map(|s| s.started).min() else {
        return "no request".to_string();
    };
    let writes: Vec<&&Seen> = step.iter().filter(|s| s.is_write()).collect();
    let since = |t: Option<Instant>| t.map_or(Duration::ZERO, |t| t.duration_since(start));
    let first_write = since(writes.iter().map(|s| s.started).min());
    let last_write = writes.iter().filter_map(|s| s.finished).max();
    let watches = step
        .iter()
        .filter(|s| s.path.contains("watch=true"))
        .count();
    let dry_runs = step.iter().filter(|s| s.path.contains("dryRun=")).count();
    let reads = step
        .iter()
        .filter(|s| s.method == "GET" && !s.path.contains("watch=true"))
        .count();
    let gate_reads = step
        .iter()
        .filter(|s| s.method == "GET" && !s.path.contains("watch=true"))
        .filter(|s| last_write.is_some_and(|w| s.started > w))
        .count();
    format!(
        "to first write {:.2} s, to last write {:.2} s; {} writes, {dry_runs} dry-runs, {reads} reads \
         ({gate_reads} after the last write), {watches} watches",
        first_write.as_secs_f64(),
        since(last_write).as_secs_f64(),
        writes.len(),
    )
}
