//! What the daemon renders beside git, and the *input-change rollout*:
//! the last good commit rendered again with new [`RenderInputs`] (the
//! failed-over clusters changed, or the weights by free capacity moved
//! beyond the hysteresis) and rolled out staged and health-gated like a
//! commit. Deploys, rollbacks, resumes, resyncs and previews render with
//! the same inputs, so that nothing undoes a failover or a weight change.
//!
//! The rollout of an input change itself is in [`super::input_change`].
//!
//! A cluster failed over for some app is left out of every rollout until
//! it returns: it is (or was) unreachable, so it is neither applied nor
//! allowed to fail a batch, and what it ran stays there to be judged when
//! it comes back.

use super::observer::ROLLOUT_CONTEXT;
use super::Daemon;
use crate::cluster::capacity::read_capacities;
use crate::plan::compute::Connections;
use crate::render::capacity::app::{RenderInputs, WeightNote};
use crate::render::capacity::Capacities;
use crate::render::Failed;
use crate::report::StatusState;
use crate::revision::inputs::{weights_of, InputRevisions};
use crate::revision::{Revision, Revisions};
use crate::rollout::state::FailoverStates;
use crate::rollout::{RolloutError, RolloutReport};
use std::collections::BTreeMap;

impl Daemon {
    /// The failover state of every app (empty, with a warning, when it
    /// cannot be read).
    pub(super) fn failover_states(&self) -> FailoverStates {
        self.state.failover().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the failover state; assuming no failover");
            FailoverStates::default()
        })
    }

    /// The failed-over clusters per app (apps without any are absent).
    pub(super) fn failed(&self) -> Failed {
        failed_of(&self.failover_states())
    }

    /// The inputs to render `rev` with: free capacities when some app
    /// weighs by them (read from `clusters` when `fresh` or never read,
    /// else those last read), the weights last rolled out (hysteresis),
    /// and the failed-over clusters.
    pub(super) async fn render_inputs(
        &self,
        rev: &Revision,
        clusters: &Connections,
        fresh: bool,
    ) -> RenderInputs {
        let capacities = if rev.uses_dynamic_weights() {
            Some(self.capacities(clusters, fresh).await)
        } else {
            None
        };
        let previous_weights = self.state.weights().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the weights last used; no hysteresis this time");
            Default::default()
        });
        RenderInputs {
            capacities,
            previous_weights,
            failed: self.failed(),
        }
    }

    /// Free capacities: read now when `fresh` or never read, else the
    /// last ones read.
    async fn capacities(&self, clusters: &Connections, fresh: bool) -> Capacities {
        let cached = self
            .capacities
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match cached {
            Some(c) if !fresh => c,
            _ => {
                let read = read_capacities(clusters).await;
                *self.capacities.lock().unwrap_or_else(|p| p.into_inner()) = Some(read.clone());
                read
            }
        }
    }

    /// Connects to `rev`'s clusters and returns the revisions of `repo`
    /// rendered with the inputs ([`Daemon::render_inputs`]), the
    /// connections without the failed-over clusters, `rev` rendered with
    /// the inputs, and why its apps got their weights (when some weighs
    /// by free capacity).
    pub(super) async fn with_inputs<'a>(
        &self,
        repo: &'a dyn Revisions,
        rev: Revision,
        fresh: bool,
    ) -> Result<WithInputs<'a>, RolloutError> {
        let clusters = self.connect(&rev).await;
        let inputs = self.render_inputs(&rev, &clusters, fresh).await;
        let clusters = without_failed(clusters, &inputs.failed);
        let revisions = InputRevisions::new(repo, inputs);
        let (rev, notes) = revisions.explained(rev)?;
        Ok(WithInputs {
            revisions,
            clusters,
            rev,
            notes,
        })
    }

    /// Records the weights a successful rollout used (they are what the
    /// hysteresis keeps from now on; those of a failed input change are
    /// forgotten).
    pub(super) fn remember_weights(&self, notes: &BTreeMap<String, WeightNote>) {
        if let Err(e) = self.state.save_failed_weights(&Default::default()) {
            tracing::warn!(error = %e, "cannot forget the weights that failed to roll out");
        }
        let used = weights_of(notes);
        if used.is_empty() {
            return;
        }
        let mut weights = self.state.weights().unwrap_or_default();
        weights.extend(used);
        if let Err(e) = self.state.save_weights(&weights) {
            tracing::warn!(error = %e, "cannot save the weights used");
        }
    }

    /// Posts the rollout status of `report`'s commit again with the active
    /// failovers appended (`…; failover active for c1 since …`).
    pub(super) fn report_failover(&self, report: &RolloutReport) {
        let states = self.failover_states();
        let active: Vec<String> = states
            .iter()
            .filter_map(|(app, s)| Some(format!("{app}: {}", s.describe()?)))
            .collect();
        if active.is_empty() {
            return;
        }
        let state = if report.outcome.is_success() {
            StatusState::Success
        } else {
            StatusState::Failure
        };
        let text = format!("{}; {}", report.description, active.join("; "));
        self.observer(&report.commit)
            .post(ROLLOUT_CONTEXT, state, &text);
    }
}

/// A commit as the daemon rolls it out ([`Daemon::with_inputs`]).
pub(super) struct WithInputs<'a> {
    /// Commits rendered with the inputs.
    pub revisions: InputRevisions<'a>,
    /// Connections, without the failed-over clusters.
    pub clusters: Connections,
    /// The commit rendered with the inputs.
    pub rev: Revision,
    /// Why its apps got their weights by free capacity.
    pub notes: BTreeMap<String, WeightNote>,
}

/// The failed-over clusters per app of `states` (apps without any are
/// absent).
pub(super) fn failed_of(states: &FailoverStates) -> Failed {
    states
        .iter()
        .filter(|(_, s)| !s.failed.is_empty())
        .map(|(app, s)| (app.clone(), s.failed_set()))
        .collect()
}

/// `clusters` without those failed over for any app.
pub(super) fn without_failed(mut clusters: Connections, failed: &Failed) -> Connections {
    for set in failed.values() {
        for cluster in set {
            clusters.remove(cluster);
        }
    }
    clusters
}
