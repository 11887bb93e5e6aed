//! Recomputing weights by free capacity (`dynamicWeight:
//! AvailableReplicas`) every `dynamicWeights.interval`: the capacities
//! are read again from the clusters of the last good commit and its apps
//! re-weighed with the hysteresis against the weights last rolled out;
//! weights that moved beyond it start an input-change rollout
//! ([`super::inputs`]), weights within it change nothing.

use super::Daemon;
use crate::revision::inputs::{weights_of, InputRevisions};
use crate::revision::{short, Revisions};

impl Daemon {
    /// One recompute; rolls out when the weights moved.
    pub(super) async fn recompute_weights(&self) {
        let Some(good) = self.memory().last_good else {
            return;
        };
        let repo = self.source.revisions();
        let rev = match repo.read(&good) {
            Ok(rev) if rev.uses_dynamic_weights() => rev,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(commit = %short(&good), error = %e, "weights: cannot read the last good commit");
                return;
            }
        };
        let clusters = self.connect(&rev).await;
        let inputs = self.render_inputs(&rev, &clusters, true).await;
        drop(clusters);
        let last = inputs.previous_weights.clone();
        let revisions = InputRevisions::new(&repo, inputs);
        let notes = match revisions.read_explained(&good) {
            Ok((_, notes)) => notes,
            Err(e) => {
                tracing::warn!(commit = %short(&good), error = %e, "weights: cannot render with the capacities read");
                return;
            }
        };
        let now = weights_of(&notes);
        let moved: Vec<String> = now
            .iter()
            .filter(|(app, w)| last.get(*app) != Some(*w))
            .map(|(app, w)| {
                format!(
                    "{app}: {:?} → {w:?}",
                    last.get(app).cloned().unwrap_or_default()
                )
            })
            .collect();
        if moved.is_empty() {
            tracing::debug!(commit = %short(&good), "weights by free capacity within the hysteresis; nothing to do");
            return;
        }
        let why = format!("weights by free capacity moved ({})", moved.join("; "));
        if let Err(e) = self.roll_inputs(&good, revisions.inputs, None, &why).await {
            tracing::error!(commit = %short(&good), "weights rollout could not finish: {e}");
        }
    }
}
