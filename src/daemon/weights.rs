//! Recomputing weights by free capacity (`dynamicWeight:
//! AvailableReplicas`) every `dynamicWeights.interval`: the capacities
//! are read again from the clusters of the last good commit and its apps
//! re-weighed with the hysteresis against the weights last rolled out;
//! weights that moved beyond it start an input-change rollout
//! ([`super::input_change`]), weights within it change nothing. When that
//! rollout fails it rolls back to the weights before (the capacities last
//! read), the weights last used stay the old ones, and weights within the
//! hysteresis of the failed ones are not tried again.

use super::input_change::InputChange;
use super::Daemon;
use crate::render::capacity::within_hysteresis;
use crate::revision::inputs::{weights_of, InputRevisions, Weights};
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
        // Before: the capacities last read (what the last rollout used).
        let before = self.render_inputs(&rev, &clusters, false).await;
        let inputs = self.render_inputs(&rev, &clusters, true).await;
        drop(clusters);
        let last = inputs.previous_weights.clone();
        let revisions = InputRevisions::new(&repo, inputs);
        let notes = match revisions.explained(rev) {
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
        let failed = self.state.failed_weights().unwrap_or_default();
        if retried(&failed, &now) {
            tracing::debug!(commit = %short(&good),
                "weights by free capacity near those that failed to roll out; not tried again");
            return;
        }
        let why = format!("weights by free capacity moved ({})", moved.join("; "));
        let change = InputChange {
            inputs: revisions.inputs,
            before,
            failover_before: self.failover_states(),
            first: None,
            why,
        };
        if let Err(e) = self.roll_inputs(&good, change).await {
            tracing::error!(commit = %short(&good), "weights rollout could not finish: {e}");
        }
    }
}

/// Whether `now` would only try again the weights that `failed` to roll
/// out: every app's weights within the hysteresis of the failed ones.
fn retried(failed: &Weights, now: &Weights) -> bool {
    !failed.is_empty()
        && now
            .iter()
            .all(|(app, w)| failed.get(app).is_some_and(|f| within_hysteresis(f, w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(pairs: &[(&str, u64)]) -> Weights {
        let w = pairs.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        [("shop".to_string(), w)].into()
    }

    #[test]
    fn weights_near_those_that_failed_are_not_tried_again() {
        let failed = weights(&[("a", 80), ("b", 160)]);
        assert!(retried(&failed, &weights(&[("a", 80), ("b", 160)])));
        assert!(retried(&failed, &weights(&[("a", 78), ("b", 158)])));
        assert!(!retried(&failed, &weights(&[("a", 40), ("b", 160)])));
        assert!(!retried(
            &Weights::new(),
            &weights(&[("a", 80), ("b", 160)])
        ));
    }
}
