//! Where one step's time went, from the proxies' log: the time to the
//! first write (planning), to the last write (planning and applying,
//! inventories included; in a one-cluster fleet that is the whole first
//! apply, the rest is the health gate), and what was sent by kind of
//! request.

use super::support::proxy::Seen;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The apiserver's mean time (ms) for tranche's writes among `events`
/// (audit: from receiving the request to completing the answer).
pub fn server_write_ms(events: &[Value]) -> f64 {
    let at = |e: &Value, field: &str| {
        e[field]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339(t).ok())
    };
    let times: Vec<f64> = events
        .iter()
        .filter(|e| super::support::is_mutating(e) && e["stage"] == "ResponseComplete")
        .filter_map(|e| {
            let took = at(e, "stageTimestamp")?.duration_since(at(e, "requestReceivedTimestamp")?);
            Some(took.ok()?.as_secs_f64() * 1000.0)
        })
        .collect();
    times.iter().sum::<f64>() / times.len().max(1) as f64
}

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
    // Requests in flight on average while writing, and a write's mean
    // latency through the proxy: the bound kept full, and how long the
    // apiserver took beyond the round trip.
    let busy: Duration = step
        .iter()
        .filter(|s| last_write.is_some_and(|w| s.started <= w))
        .filter_map(|s| Some(s.finished?.duration_since(s.started)))
        .sum();
    let window = since(last_write).saturating_sub(first_write);
    let write_time: Duration = writes
        .iter()
        .filter_map(|s| Some(s.finished?.duration_since(s.started)))
        .sum();
    let mean_write = write_time.as_secs_f64() * 1000.0 / writes.len().max(1) as f64;
    let in_flight = busy.as_secs_f64() / since(last_write).as_secs_f64().max(1e-9);
    format!(
        "to first write {:.2} s, to last write {:.2} s (writing {:.2} s, a write {mean_write:.0} ms, \
         {in_flight:.1} in flight on average); {} writes, {dry_runs} dry-runs, {reads} reads \
         ({gate_reads} after the last write), {watches} watches",
        first_write.as_secs_f64(),
        since(last_write).as_secs_f64(),
        window.as_secs_f64(),
        writes.len(),
    )
}
