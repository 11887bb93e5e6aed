//! The gate of a batch under a policy with analysis checks: the health
//! gate without its bake, then the analysis loop ([`analysis::run`]),
//! which bakes (watching for regressions) while it evaluates the checks.

use super::Rollout;
use crate::model::analysis::ClusterVars;
use crate::revision::Revision;
use crate::rollout::analysis::run::{self as analysis, Context, Subject};
use crate::rollout::gate::{self, GateEnd, GateTarget, GateTiming};
use std::collections::BTreeMap;
use std::time::Duration;

impl Rollout<'_> {
    /// Health first (no bake), then analysis through the bake time.
    pub(super) async fn analyze(
        &self,
        index: usize,
        clusters: &[String],
        targets: &[GateTarget<'_>],
        timing: GateTiming,
        rev: &Revision,
    ) -> GateEnd {
        let health = GateTiming {
            bake: Duration::ZERO,
            ..timing
        };
        match gate::wait(targets, health, index, self.observer, self.halt).await {
            GateEnd::Passed => {}
            other => return other,
        }
        let no_labels = BTreeMap::new();
        let subjects: Vec<Subject<'_>> = clusters
            .iter()
            .filter_map(|c| {
                let api = self.api(c)?;
                let labels = rev
                    .fleet
                    .clusters
                    .get(c)
                    .map(|k| &k.labels)
                    .unwrap_or(&no_labels);
                Some(Subject {
                    api,
                    vars: ClusterVars { name: c, labels },
                })
            })
            .collect();
        let ctx = Context {
            analysis: &rev.fleet.policies.rollout.analysis,
            commit: &rev.commit,
            index,
            observer: self.observer,
            halt: self.halt,
        };
        analysis::run(&ctx, &subjects, targets, timing).await
    }
}
