//! Why each app using `dynamicWeight` got its replicas per cluster, for
//! `plan` and `apply`: `c1: 6 replicas (available 12)`, and the warnings
//! for excluded clusters.

use crate::cluster::capacity::read_capacities;
use crate::plan::compute::Connections;
use crate::render::capacity::app::{RenderInputs, WeightNote};
use crate::revision::{Revision, RevisionError};
use serde_json::Value;
use std::collections::BTreeMap;

/// Renders `rev` again with `inputs` when they hold capacities (some app
/// uses dynamic weights, see [`inputs_for`]) and returns the explanation
/// lines (empty otherwise).
pub fn rerender_explained(
    rev: &mut Revision,
    inputs: &RenderInputs,
) -> Result<String, RevisionError> {
    if inputs.capacities.is_none() {
        return Ok(String::new());
    }
    let notes = rev.rerender_with(inputs)?;
    Ok(explain(rev, &notes))
}

/// The lines for `notes`: per app, each weighted cluster's replicas and
/// available replicas, then warnings.
pub fn explain(rev: &Revision, notes: &BTreeMap<String, WeightNote>) -> String {
    let mut out = String::new();
    for (app, note) in notes {
        out.push_str(&format!(
            "app {app}: weights by free capacity (AvailableReplicas)\n"
        ));
        if let Some(d) = &note.dynamic {
            for (cluster, weight) in &d.weights {
                let replicas = replicas_on(rev, app, cluster);
                let available = d.available.get(cluster).copied().unwrap_or(0);
                let kept = if d.kept_previous {
                    format!(", weight {weight} kept")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "  {cluster}: {replicas} replicas (available {available}{kept})\n"
                ));
            }
        }
        for w in &note.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    out
}

/// Sum of the rendered workload replicas of `app` on `cluster`.
fn replicas_on(rev: &Revision, app: &str, cluster: &str) -> u64 {
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

/// Revisions rendered with the capacities read once at the start of
/// `apply`, so the rollout (and a rollback's previous commit) splits by
/// the same free capacity that `plan` shows.
pub struct CapacityRevisions<'a> {
    /// Where commits are read from.
    pub inner: &'a dyn crate::revision::Revisions,
    /// Capacities read from the clusters.
    pub inputs: RenderInputs,
}

impl crate::revision::Revisions for CapacityRevisions<'_> {
    fn read(&self, rev: &str) -> Result<Revision, RevisionError> {
        let mut revision = self.inner.read(rev)?;
        if revision.uses_dynamic_weights() {
            revision.rerender_with(&self.inputs)?;
        }
        Ok(revision)
    }
}

/// The inputs for `rev`'s dynamic weights (no capacity read when no app
/// uses them).
pub async fn inputs_for(rev: &Revision, connections: &Connections) -> RenderInputs {
    RenderInputs {
        capacities: if rev.uses_dynamic_weights() {
            Some(read_capacities(connections).await)
        } else {
            None
        },
        ..RenderInputs::default()
    }
}
