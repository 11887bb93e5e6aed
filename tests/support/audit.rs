//! Reading an apiserver's audit log (one JSON event per line, policy
//! `level: Metadata`, stage `ResponseComplete`) to count what clients
//! really sent.

use super::files::{CONTROLLER_MANAGER_USER, KWOK_USER, SCHEDULER_USER};
use serde_json::Value;
use std::path::Path;

/// Query parameter marking the harness's own sync requests (filtered out).
pub const MARKER_PARAM: &str = "tranche-audit-marker";

/// Verbs that change state.
const MUTATING_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

/// Every event in the log, in order, without the harness's markers.
pub fn read_events(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| !request_uri(e).contains(MARKER_PARAM))
        .collect()
}

/// Whether the log holds the marker request `marker`.
pub fn has_marker(log: &Path, marker: &str) -> bool {
    let needle = format!("{MARKER_PARAM}={marker}");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(&needle)
}

/// `requestURI` of an event.
pub fn request_uri(event: &Value) -> &str {
    event["requestURI"].as_str().unwrap_or_default()
}

/// A create/update/patch/delete that was not a dry run, made by a client
/// such as tranche or the test (not by the apiserver itself nor by the
/// cluster's controllers, scheduler or kwok: `system:` users are left out).
pub fn is_mutating(event: &Value) -> bool {
    let verb = event["verb"].as_str().unwrap_or_default();
    MUTATING_VERBS.contains(&verb)
        && !request_uri(event).contains("dryRun")
        && !user(event).starts_with("system:")
}

/// The user who made the request.
pub fn user(event: &Value) -> &str {
    event["user"]["username"].as_str().unwrap_or_default()
}

/// A write (not a dry run) by one of the cluster's own components:
/// controller-manager, scheduler or kwok.
pub fn is_controller_write(event: &Value) -> bool {
    let verb = event["verb"].as_str().unwrap_or_default();
    MUTATING_VERBS.contains(&verb)
        && !request_uri(event).contains("dryRun")
        && [CONTROLLER_MANAGER_USER, SCHEDULER_USER, KWOK_USER].contains(&user(event))
}

/// Whether an event is about namespace `ns`: an object in it, or the
/// Namespace object itself.
pub fn concerns_namespace(event: &Value, ns: &str) -> bool {
    let o = &event["objectRef"];
    o["namespace"] == ns || (o["resource"] == "namespaces" && o["name"] == ns)
}

/// `Verb resource ns/name` of an event, for readable assertions, e.g.
/// `patch deployments shop/web`.
pub fn object_ref(event: &Value) -> String {
    let o = &event["objectRef"];
    let name = match (o["namespace"].as_str(), o["name"].as_str()) {
        (Some(ns), Some(n)) => format!("{ns}/{n}"),
        (None, Some(n)) => n.to_string(),
        (Some(ns), None) => format!("{ns}/*"),
        (None, None) => "*".to_string(),
    };
    format!(
        "{} {} {}",
        event["verb"].as_str().unwrap_or("?"),
        o["resource"].as_str().unwrap_or("?"),
        name
    )
}
