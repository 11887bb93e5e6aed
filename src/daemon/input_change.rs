//! The *input-change rollout*: the last good commit rolled out again with
//! new [`RenderInputs`] (a failover or a return decided, weights by free
//! capacity moved beyond the hysteresis), staged and health-gated like a
//! commit. Its rollback restores the same commit rendered with the inputs
//! *before* the change, and its failure fails the change, not the commit:
//! the commit stays the last good one and is not failed
//! ([`crate::rollout::memory`]); the failover state goes back to what it
//! was ([`roll_back`]: reported as `failover of c1 rolled back: …`, tried
//! again only after `after` passes again), and the weights last used stay
//! the old ones (they are only saved after a success), as do the free
//! capacities that later renders reuse; the weights that failed are kept
//! so that the recompute does not try them again while capacity stays
//! near them ([`super::weights`]).
//!
//! The failover state before the change is saved in the state store while
//! the rollout runs, so that a rollout resumed after a restart rolls back
//! to the same inputs and restores the same state.

use super::inputs::{failed_of, without_failed};
use super::Daemon;
use crate::render::capacity::app::{RenderInputs, WeightNote};
use crate::render::capacity::Capacities;
use crate::revision::inputs::{weights_of, InputRevisions};
use crate::revision::{short, Revision};
use crate::rollout::clock::{Clock, SystemClock};
use crate::rollout::failover::roll_back;
use crate::rollout::state::FailoverStates;
use crate::rollout::{RolloutError, RolloutReport};
use std::collections::BTreeMap;
use tracing::Instrument;

/// An input change to roll out ([`Daemon::roll_inputs`]).
pub(super) struct InputChange {
    /// The inputs after the change.
    pub inputs: RenderInputs,
    /// The inputs before it: what a rollback renders the commit with.
    pub before: RenderInputs,
    /// The failover state before it (restored when the rollout fails).
    pub failover_before: FailoverStates,
    /// Cluster put in the first batch (a returning one).
    pub first: Option<String>,
    /// What changed, for the log.
    pub why: String,
}

impl Daemon {
    /// Rolls `commit` (the last good one) out again with `change`'s
    /// inputs. Returns whether it failed.
    pub(super) async fn roll_inputs(
        &self,
        commit: &str,
        change: InputChange,
    ) -> Result<bool, RolloutError> {
        self.state
            .save_failover_before(Some(&change.failover_before))?;
        let repo = self.source.revisions();
        let revisions = InputRevisions {
            inner: &repo,
            inputs: change.inputs,
            first: change.first,
        };
        let previous = InputRevisions::new(&repo, change.before);
        let (rev, notes) = revisions.read_explained(commit)?;
        let clusters = without_failed(self.connect(&rev).await, &revisions.inputs.failed);
        tracing::info!(commit = %short(commit), first = ?revisions.first,
            "input change: {}; rolling out", change.why);
        let observer = self.observer(commit);
        let _running = self.metrics.rollout_in_progress();
        let mut rollout = self.rollout(&revisions, &clusters, &observer, false);
        rollout.rollback_revisions = Some(&previous);
        let span = tracing::info_span!("input_change", commit = %short(commit));
        let report = rollout.run(commit).instrument(span).await?;
        tracing::info!(commit = %short(commit), outcome = report.outcome.as_str(),
            "input change ({}): {}", change.why, report.description);
        let capacities = previous.inputs.capacities.as_ref();
        self.input_change_finished(&report, &notes, &change.failover_before, capacities);
        Ok(!report.outcome.is_success())
    }

    /// Finishes an input-change rollout left in flight (`rev`: its commit
    /// as git has it): the rollback restores the failover state saved
    /// before the change (the current one if none was saved).
    pub(super) async fn resume_input_change(&self, rev: Revision) -> Result<(), RolloutError> {
        let commit = rev.commit.clone();
        let failover_before = self
            .state
            .failover_before()?
            .unwrap_or_else(|| self.failover_states());
        let repo = self.source.revisions();
        let w = self.with_inputs(&repo, rev, false).await?;
        let mut before = w.revisions.inputs.clone();
        before.failed = failed_of(&failover_before);
        let previous = InputRevisions::new(&repo, before);
        let observer = self.observer(&commit);
        let mut rollout = self.rollout(&w.revisions, &w.clusters, &observer, false);
        rollout.rollback_revisions = Some(&previous);
        if let Some(report) = rollout.resume().await? {
            tracing::info!(commit = %short(&commit), outcome = report.outcome.as_str(),
                "resumed input change: {}", report.description);
            self.input_change_finished(&report, &w.notes, &failover_before, None);
        }
        Ok(())
    }

    /// After an input-change rollout whose apps got `notes`: on success
    /// its weights are the ones used; on failure they are the failed ones,
    /// the failover state goes back to `before` and the free capacities
    /// reused by later renders to `capacities` (when given). The saved
    /// `before` is forgotten; the status of the commit shows the active
    /// failovers.
    fn input_change_finished(
        &self,
        report: &RolloutReport,
        notes: &BTreeMap<String, WeightNote>,
        before: &FailoverStates,
        capacities: Option<&Capacities>,
    ) {
        self.live.load_memory(&self.memory());
        if report.outcome.is_success() {
            self.remember_weights(notes);
        } else {
            let why = report
                .failure
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_else(|| report.description.clone());
            self.undo_failover(before, &why);
            if let Some(c) = capacities {
                *self.capacities.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.clone());
            }
            if let Err(e) = self.state.save_failed_weights(&weights_of(notes)) {
                tracing::warn!(error = %e, "cannot save the weights that failed to roll out");
            }
        }
        if let Err(e) = self.state.save_failover_before(None) {
            tracing::warn!(error = %e, "cannot forget the failover state before the input change");
        }
        self.report_failover(report);
    }

    /// Puts every app whose failed set changed since `before` back to it
    /// ([`roll_back`]), reported and logged.
    fn undo_failover(&self, before: &FailoverStates, why: &str) {
        let now = SystemClock.now();
        let current = self.failover_states();
        let mut states = current.clone();
        for (app, state) in &current {
            let prev = before.get(app).cloned().unwrap_or_default();
            if prev.failed == state.failed {
                continue;
            }
            let back = roll_back(&prev, state, now, why);
            if let Some(line) = &back.rolled_back {
                tracing::warn!(app = %app, "{line}");
            }
            states.insert(app.clone(), back);
        }
        if states == current {
            return;
        }
        if let Err(e) = self.state.save_failover(&states) {
            tracing::error!(error = %e, "cannot save the failover state rolled back");
            return;
        }
        self.live.load_failover(&states);
        self.metrics.set_failover(&states);
    }
}
