//! Revisions rendered with what is read beside git ([`RenderInputs`]:
//! free capacities for `dynamicWeight`, the weights used last time for
//! the hysteresis, and the clusters failed over per app), the one way the
//! CLI (`plan`, `apply`) and the daemon (deploys, rollbacks, resyncs,
//! previews and input-change rollouts) read a commit when such inputs
//! matter. Also the explanation lines shown in `plan` and PR previews:
//! `c1: 6 replicas (available 12)`.

use super::{Revision, RevisionError, Revisions};
use crate::model::LabelSelector;
use crate::render::capacity::app::{RenderInputs, WeightNote};
use std::collections::BTreeMap;

/// Label put (in memory only, after rendering) on the cluster that must go
/// in the first batch, and matched by a cohort put before every other.
const FIRST_LABEL: &str = "tranche.dev/first-batch";

/// Weights used per app and cluster (what the hysteresis compares with).
pub type Weights = BTreeMap<String, BTreeMap<String, u64>>;

/// Commits of `inner`, rendered again with `inputs` when they change
/// anything for the commit; `first`, if set, goes in the first batch of a
/// rollout (a failed-over cluster returning is refilled first).
pub struct InputRevisions<'a> {
    /// Where commits are read from.
    pub inner: &'a dyn Revisions,
    /// What the rendering takes beside git.
    pub inputs: RenderInputs,
    /// Cluster put first in the rollout order.
    pub first: Option<String>,
}

impl<'a> InputRevisions<'a> {
    /// `inner` with `inputs`, in the usual rollout order.
    pub fn new(inner: &'a dyn Revisions, inputs: RenderInputs) -> InputRevisions<'a> {
        InputRevisions {
            inner,
            inputs,
            first: None,
        }
    }

    /// Reads `rev` and, per app whose weights come from free capacity, why
    /// its clusters got their weights (empty when nothing was re-rendered).
    pub fn read_explained(
        &self,
        rev: &str,
    ) -> Result<(Revision, BTreeMap<String, WeightNote>), RevisionError> {
        self.explained(self.inner.read(rev)?)
    }

    /// `revision` (as `inner` gives it) rendered again with the inputs
    /// when they change it, put in this rollout order, and why its apps
    /// got their weights (empty when nothing was re-rendered).
    pub fn explained(
        &self,
        mut revision: Revision,
    ) -> Result<(Revision, BTreeMap<String, WeightNote>), RevisionError> {
        let notes = if self.changes(&revision) {
            revision.rerender_with(&self.inputs)?
        } else {
            BTreeMap::new()
        };
        if let Some(first) = &self.first {
            put_first(&mut revision, first);
        }
        Ok((revision, notes))
    }

    /// Whether the inputs change `rev`'s rendering ([`inputs_change`]).
    pub fn changes(&self, rev: &Revision) -> bool {
        inputs_change(&self.inputs, rev)
    }
}

/// Whether `inputs` change `rev`'s rendering: capacities were read and
/// some app uses them, or some app has a failed-over cluster.
pub fn inputs_change(inputs: &RenderInputs, rev: &Revision) -> bool {
    let dynamic = inputs.capacities.is_some() && rev.uses_dynamic_weights();
    let failed = inputs
        .failed
        .iter()
        .any(|(app, set)| !set.is_empty() && rev.fleet.apps.contains_key(app));
    dynamic || failed
}

impl Revisions for InputRevisions<'_> {
    fn read(&self, rev: &str) -> Result<Revision, RevisionError> {
        self.read_explained(rev).map(|(r, _)| r)
    }
}

/// Puts `cluster` before every other in `rev`'s rollout order: a cohort
/// matching only it goes first (cohorts rank before `rolloutOrder`).
fn put_first(rev: &mut Revision, cluster: &str) {
    let Some(c) = rev.fleet.clusters.get_mut(cluster) else {
        return;
    };
    c.labels.insert(FIRST_LABEL.into(), "true".into());
    let selector = LabelSelector {
        match_labels: [(FIRST_LABEL.to_string(), "true".to_string())].into(),
        match_expressions: Vec::new(),
    };
    // Every other cluster ranks after this cohort, in its usual order.
    let cohorts = &mut rev.fleet.policies.rollout.cohorts;
    cohorts.insert(0, selector);
}

/// The weights each app's clusters got from free capacity (apps with
/// static weights, or whose capacity could not be used, are absent).
pub fn weights_of(notes: &BTreeMap<String, WeightNote>) -> Weights {
    notes
        .iter()
        .filter_map(|(app, n)| Some((app.clone(), n.dynamic.as_ref()?.weights.clone())))
        .collect()
}

mod explain;
#[cfg(test)]
mod tests;

pub use explain::explain;
