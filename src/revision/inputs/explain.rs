//! Why each cluster gets its replicas, for `plan`, `apply`, the daemon's
//! log and the PR preview: per app, the weighted migration step it is at,
//! the clusters failed over (their replicas split over the others), and
//! the weights by free capacity with their warnings.
//!
//! ```text
//! app shop: migration step 2/3: 50 % to new-1
//!   old-1: 5 replicas
//!   new-1: 5 replicas
//! app web: failover active for c1: its replicas are split over the others
//!   c1: 0 replicas (failed over)
//!   c2: 3 replicas
//! app api: weights by free capacity (AvailableReplicas)
//!   c1: 8 replicas (available 32)
//! ```

use crate::render::capacity::app::WeightNote;
use crate::render::Failed;
use crate::revision::Revision;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The explanation lines of `rev` rendered with `failed` (the clusters
/// failed over per app) and `notes` (the apps weighed by free capacity);
/// empty when no app migrates, fails over or weighs by capacity.
pub fn explain(rev: &Revision, notes: &BTreeMap<String, WeightNote>, failed: &Failed) -> String {
    let mut out = String::new();
    for (name, app) in &rev.fleet.apps {
        let Some(m) = app.placement.migration.as_ref().filter(|m| m.step > 0) else {
            continue;
        };
        let _ = writeln!(out, "app {name}: {}", m.describe());
        for cluster in m.from.iter().chain(&m.to) {
            let _ = writeln!(
                out,
                "  {cluster}: {} replicas",
                replicas_on(rev, name, cluster)
            );
        }
    }
    for (name, down) in failed {
        if down.is_empty() || !rev.fleet.apps.contains_key(name) {
            continue;
        }
        let list: Vec<&str> = down.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "app {name}: failover active for {}: its replicas are split over the others",
            list.join(", ")
        );
        for cluster in clusters_of(rev, name) {
            let mark = if down.contains(&cluster) {
                " (failed over)"
            } else {
                ""
            };
            let replicas = replicas_on(rev, name, &cluster);
            let _ = writeln!(out, "  {cluster}: {replicas} replicas{mark}");
        }
        for cluster in down.iter().filter(|c| !clusters_of(rev, name).contains(c)) {
            let _ = writeln!(out, "  {cluster}: 0 replicas (failed over)");
        }
    }
    out.push_str(&explain_weights(rev, notes));
    out
}

/// Per app weighed by free capacity, each weighted cluster's replicas and
/// available replicas, then the warnings.
fn explain_weights(rev: &Revision, notes: &BTreeMap<String, WeightNote>) -> String {
    let mut out = String::new();
    for (app, note) in notes {
        let _ = writeln!(
            out,
            "app {app}: weights by free capacity (AvailableReplicas)"
        );
        if let Some(d) = &note.dynamic {
            for (cluster, weight) in &d.weights {
                let replicas = replicas_on(rev, app, cluster);
                let available = d.available.get(cluster).copied().unwrap_or(0);
                let kept = if d.kept_previous {
                    format!(", weight {weight} kept")
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {cluster}: {replicas} replicas (available {available}{kept})"
                );
            }
        }
        for w in &note.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
    }
    out
}

/// The clusters `app` is rendered for, in name order.
fn clusters_of(rev: &Revision, app: &str) -> Vec<String> {
    rev.rendering
        .clusters
        .iter()
        .filter(|(_, c)| c.apps.contains_key(app))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Sum of the rendered workload replicas of `app` on `cluster`.
pub(super) fn replicas_on(rev: &Revision, app: &str, cluster: &str) -> u64 {
    let Some(a) = rev
        .rendering
        .clusters
        .get(cluster)
        .and_then(|c| c.apps.get(app))
    else {
        return 0;
    };
    a.objects
        .iter()
        .filter_map(|o| {
            let pointer = rev.fleet.kinds.replicas_pointer(o.id.group(), &o.id.kind)?;
            o.object.pointer(pointer).and_then(Value::as_u64)
        })
        .sum()
}
