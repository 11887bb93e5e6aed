//! The coordinator (holder of the leader Lease): for the branch head it
//! writes a batch plan in `planning`; once the shards have reported which
//! of their clusters have changes, it batches those — in rollout order,
//! split by the RolloutPolicy's steps — and then, each round, reads the
//! shards' statuses and moves the plan on as [`coordinate`] decides. All it knows is in the plan object, so a new
//! coordinator carries on where the last one stopped.

use super::config::ShardingConfig;
use super::objects::{ObjectError, Objects};
use super::protocol::{changed_clusters, coordinate, BatchPlan, PlanPhase, ShardStatus};
use crate::revision::{short, Revision, Revisions};
use crate::rollout::batch::{order_clusters, plan_batches, Rank};
use std::collections::BTreeSet;

/// The coordinator's view of the protocol objects.
pub struct Coordinator {
    /// The protocol's objects.
    pub objects: Objects,
    /// Shard settings (names, count).
    pub sharding: ShardingConfig,
}

/// The batches of a revision: those of its registry's clusters that take
/// part (`participants`), in rollout order.
pub fn batches_of(rev: &Revision, participants: &BTreeSet<String>) -> Vec<Vec<String>> {
    let policy = &rev.fleet.policies.rollout;
    let ranked = rev
        .fleet
        .clusters
        .values()
        .filter(|c| participants.contains(&c.name))
        .map(|c| (c.name.clone(), Rank::of(Some(c), &policy.cohorts)))
        .collect();
    plan_batches(&order_clusters(ranked), &policy.steps)
}

/// What a round leaves: the plan after it and the shards' statuses read
/// (by shard; none read for a plan written just now).
#[derive(Debug, Clone)]
pub struct Round {
    /// The plan.
    pub plan: BatchPlan,
    /// Each shard's status (`None`: not written yet).
    pub statuses: Vec<Option<ShardStatus>>,
}

impl Coordinator {
    /// One round with the branch at `head`.
    pub async fn round(&self, head: &str, revisions: &dyn Revisions) -> Result<Round, ObjectError> {
        let name = &self.sharding.plan_name;
        let plan = self.objects.plan(name).await?;
        let plan = match plan {
            Some(p) if !(p.phase.is_finished() && p.commit != head) => p,
            _ => {
                let plan = self.plan(head, revisions);
                self.objects.put_plan(name, &plan).await?;
                tracing::info!(commit = %short(head), batches = ?plan.batches, "batch plan written");
                return Ok(Round {
                    plan,
                    statuses: vec![],
                });
            }
        };
        let mut statuses = Vec::with_capacity(plan.shards);
        for i in 0..plan.shards {
            statuses.push(self.objects.status(&self.sharding.status_name(i)).await?);
        }
        if plan.phase.is_finished() {
            return Ok(Round { plan, statuses });
        }
        let next = match plan.phase {
            PlanPhase::Planning => changed_clusters(&plan, &statuses)
                .map(|changed| self.batched(&plan, &changed, revisions)),
            _ => coordinate(&plan, &statuses),
        };
        let Some(next) = next else {
            return Ok(Round { plan, statuses });
        };
        self.objects.put_plan(name, &next).await?;
        match next.phase {
            PlanPhase::Planning => {}
            PlanPhase::Rolling if plan.phase == PlanPhase::Planning => {
                tracing::info!(commit = %short(&next.commit), batches = ?next.batches, "batched the clusters with changes")
            }
            PlanPhase::Rolling => {
                tracing::info!(commit = %short(&next.commit), batch = next.batch + 1, "next batch")
            }
            PlanPhase::RollingBack => tracing::warn!(commit = %short(&next.commit),
                failure = next.failure.as_deref().unwrap_or(""), "batch failed: rolling back"),
            PlanPhase::Deployed => tracing::info!(commit = %short(&next.commit), "deployed"),
            PlanPhase::Failed => tracing::warn!(commit = %short(&next.commit), "rolled back"),
        }
        Ok(Round {
            plan: next,
            statuses,
        })
    }

    /// A new plan for `commit`, for the shards to plan; a commit that
    /// cannot be read gets a failed plan (so it is not tried again until a
    /// newer commit arrives).
    fn plan(&self, commit: &str, revisions: &dyn Revisions) -> BatchPlan {
        let plan = BatchPlan::planning(commit, self.sharding.shards);
        match revisions.read(commit) {
            Ok(_) => plan,
            Err(e) => invalid(plan, &e),
        }
    }

    /// `plan` with the `changed` clusters batched.
    fn batched(
        &self,
        plan: &BatchPlan,
        changed: &BTreeSet<String>,
        revisions: &dyn Revisions,
    ) -> BatchPlan {
        match revisions.read(&plan.commit) {
            Ok(rev) => plan.batched(batches_of(&rev, changed)),
            Err(e) => invalid(plan.batched(vec![]), &e),
        }
    }
}

/// `plan` failed: its commit cannot be read.
fn invalid(mut plan: BatchPlan, e: &crate::revision::RevisionError) -> BatchPlan {
    tracing::error!(commit = %short(&plan.commit), error = %e, "commit cannot be deployed");
    plan.phase = PlanPhase::Failed;
    plan.failure = Some(format!("invalid: {}", e.first_problem()));
    plan
}
