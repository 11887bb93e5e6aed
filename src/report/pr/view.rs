//! What the pull-request comment says, as data: the batch plan, per
//! cluster the objects that would change (with their diffs, Secret values
//! already masked by the plan), the gates and approvals that will apply,
//! or the validation problems; and, after the merge, the rollout's
//! progress. Built from a plan and the fleet it came from. Pure.

use super::problems::ProblemView;
use super::progress::RolloutProgress;
use crate::model::{Allowance, Fleet, RolloutPolicy};
use crate::plan::{diff::unified, Action, Plan};
use crate::rollout::batch::{order_clusters, plan_batches, Rank};

/// Lines of context around each change in a diff.
const DIFF_CONTEXT: usize = 2;

/// Everything the comment on one pull request shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PullComment {
    /// The commit previewed (the pull request's head).
    pub head: String,
    /// Its plan, or why there is none.
    pub preview: Preview,
    /// The rollout after the merge, once it started.
    pub progress: Option<RolloutProgress>,
}

/// The preview part of the comment.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    /// The commit cannot be loaded or rendered: each problem, at
    /// `file:line` where the line is known.
    Invalid(Vec<ProblemView>),
    /// What merging would do.
    Planned(PlanView),
}

/// What merging would do.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanView {
    /// The batches, in order, with their clusters.
    pub batches: Vec<Vec<String>>,
    /// Batches (1-based) that wait for a person's approval.
    pub approvals: Vec<usize>,
    /// The gate terms, one line each (`health within 5m`, …).
    pub gates: Vec<String>,
    /// Clusters that would change, in rollout order.
    pub clusters: Vec<ClusterView>,
    /// Clusters that could not be planned, with why.
    pub unplanned: Vec<(String, String)>,
    /// Why each cluster gets its replicas (migrations, failovers, weights
    /// by free capacity), one line each (`app shop: …`,
    /// `  c1: 8 replicas (available 32)`).
    pub weights: Vec<String>,
}

/// One cluster's changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// Cluster name.
    pub name: String,
    /// Its changes that mutate or are refused, in apply order.
    pub changes: Vec<ChangeView>,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeView {
    /// What the plan says.
    pub action: Action,
    /// `Kind ns/name`.
    pub object: String,
    /// The app it belongs to.
    pub app: String,
    /// Unified YAML diff of masked objects (create, update, prune).
    pub diff: Option<String>,
    /// Why (forbidden, skipped).
    pub reason: Option<String>,
}

impl PlanView {
    /// The view of `plan`, batched as the rollout would batch it under
    /// `fleet`'s rollout policy.
    pub fn of(plan: &Plan, fleet: &Fleet) -> PlanView {
        let policy = &fleet.policies.rollout;
        let changed: Vec<_> = plan.clusters.iter().filter(|c| !c.is_empty()).collect();
        let ranked = changed
            .iter()
            .map(|c| {
                let rank = Rank::of(fleet.clusters.get(&c.name), &policy.cohorts);
                (c.name.clone(), rank)
            })
            .collect();
        let ordered = order_clusters(ranked);
        let batches = plan_batches(&ordered, &policy.steps);
        let approvals = policy
            .approval_before
            .iter()
            .copied()
            .filter(|b| *b <= batches.len())
            .collect();
        let mut clusters = Vec::new();
        let mut unplanned = Vec::new();
        for name in &ordered {
            let Some(c) = changed.iter().find(|c| &c.name == name) else {
                continue;
            };
            if let Some(e) = &c.error {
                unplanned.push((c.name.clone(), e.clone()));
                continue;
            }
            let changes = c
                .changes
                .iter()
                .filter(|ch| ch.action.mutates() || ch.action == Action::Forbidden)
                .map(|ch| ChangeView {
                    action: ch.action,
                    object: ch.id().to_string(),
                    app: ch.app.clone(),
                    diff: ch
                        .action
                        .mutates()
                        .then(|| unified(ch.live.as_ref(), ch.desired.as_ref(), DIFF_CONTEXT)),
                    reason: ch.reason.clone(),
                })
                .collect();
            clusters.push(ClusterView {
                name: c.name.clone(),
                changes,
            });
        }
        PlanView {
            batches,
            approvals,
            gates: gates(policy),
            clusters,
            unplanned,
            weights: Vec::new(),
        }
    }

    /// The view with the weight explanation `lines` (as
    /// [`crate::revision::inputs::explain`] writes them).
    pub fn with_weights(mut self, lines: &str) -> PlanView {
        self.weights = lines.lines().map(str::to_string).collect();
        self
    }

    /// Objects that would change, over every cluster.
    pub fn objects(&self) -> usize {
        self.clusters
            .iter()
            .flat_map(|c| &c.changes)
            .filter(|c| c.action.mutates())
            .count()
    }
}

/// The gate terms of a rollout policy, one line each.
pub fn gates(p: &RolloutPolicy) -> Vec<String> {
    let secs = |d: std::time::Duration| humantime::format_duration(d).to_string();
    let mut out = vec![format!(
        "health: every changed workload healthy within {}, then {} of bake time",
        secs(p.health_timeout),
        secs(p.bake_time)
    )];
    out.push(match p.max_failures {
        Allowance::Count(0) | Allowance::Percent(0) => {
            "a batch fails when one of its clusters fails".to_string()
        }
        Allowance::Count(n) => format!("a batch tolerates {n} failed cluster(s)"),
        Allowance::Percent(n) => format!("a batch tolerates {n}% failed clusters"),
    });
    out.push(match p.on_failure {
        crate::model::OnFailure::Rollback => {
            "on failure: every touched cluster is rolled back".to_string()
        }
        crate::model::OnFailure::Pause => "on failure: the rollout pauses".to_string(),
    });
    if !p.pause_between_batches.is_zero() {
        out.push(format!("{} between batches", secs(p.pause_between_batches)));
    }
    if !p.min_success_time.is_zero() {
        out.push(format!(
            "at least {} from a batch's start to the next",
            secs(p.min_success_time)
        ));
    }
    for w in &p.windows {
        out.push(format!("batches start only in the window {w}"));
    }
    for c in &p.analysis.checks {
        let wanted = c
            .condition
            .as_ref()
            .map_or_else(String::new, |w| format!(", wanted {w}"));
        out.push(format!(
            "analysis `{}` ({}{wanted}) in every cluster of a batch, every {} through the bake time; {} bad result(s) fail the batch",
            c.name,
            c.probe.kind(),
            secs(c.interval),
            c.failure_limit
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analysis::{Check, Condition, Probe};

    #[test]
    fn gates_name_each_analysis_check() {
        let mut p = crate::model::load::builtin_policies().rollout;
        p.analysis.checks.push(Check {
            name: "error-ratio".into(),
            probe: Probe::Job {
                manifest: serde_json::json!({}),
                timeout: std::time::Duration::from_secs(60),
            },
            condition: Some(Condition::parse("< 0.01").expect("condition")),
            failure_limit: 2,
            interval: std::time::Duration::from_secs(10),
        });
        let lines = gates(&p);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("analysis `error-ratio` (job, wanted < 0.01) in every cluster of a batch, every 10s through the bake time; 2 bad result(s) fail the batch")
        );
    }
}
