//! Performing each step of the machine against the clusters. Every
//! cluster is planned, applied and gated the same way wherever it happens
//! (a batch, or a rollback): [`plan_clusters`], [`Rollout::apply_plan`],
//! [`gate::wait`]. Nothing here fails as a whole: whatever goes wrong is
//! put into the step's result.

use super::{Rollout, RunLog};
use crate::apply::{apply_cluster, ClusterReport};
use crate::cluster::ClusterApi;
use crate::inventory;
use crate::model::RolloutPolicy;
use crate::outcome::ObjectOutcome;
use crate::plan::compute::plan_clusters;
use crate::plan::{Action, ClusterPlan};
use crate::revision::Revision;
use crate::rollout::event::{RolloutEvent, Silent};
use crate::rollout::gate::{self, GateEnd, GateTarget, GateTiming};
use crate::rollout::machine::{Applied, Participant, PlanVerdict, Prepared, StepResult};
use crate::rollout::record::{Failure, Previous, RolloutRecord};
use crate::rollout::restore::restore_target;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tracing::Instrument;

impl Rollout<'_> {
    pub(super) fn api(&self, name: &str) -> Option<&dyn ClusterApi> {
        self.clusters
            .get(name)
            .and_then(|c| c.as_ref().ok())
            .map(|a| a.as_ref())
    }

    /// Clusters applied at once within a batch.
    fn batch_parallel(&self, policy: &RolloutPolicy) -> usize {
        self.parallel.min(policy.max_parallel).max(1)
    }

    /// What a cluster ran before, from its cluster record. A failed read is
    /// `Unknown`, never "nothing".
    async fn read_previous(&self, name: &str) -> Previous {
        let Some(api) = self.api(name) else {
            return Previous::Unknown("not connected".into());
        };
        match inventory::cluster_commit(api).await {
            Ok(Some(commit)) => Previous::Commit(commit),
            Ok(None) => Previous::Nothing,
            Err(e) => Previous::Unknown(e.to_string()),
        }
    }

    /// Plans the fleet's clusters; those whose plan is not empty take part.
    pub(super) async fn plan_rollout(&self, rev: &Revision, log: &mut RunLog) -> StepResult {
        let names: Vec<String> = self
            .clusters
            .keys()
            .filter(|n| rev.fleet.clusters.contains_key(*n))
            .cloned()
            .collect();
        let policies = &rev.fleet.policies;
        let plans = plan_clusters(
            self.clusters,
            &names,
            &rev.rendering,
            policies,
            self.parallel,
        );
        let changing: Vec<ClusterPlan> =
            plans.await.into_iter().filter(|p| !p.is_empty()).collect();
        let participants: Vec<Participant> = futures::stream::iter(&changing)
            .map(|p| async move {
                let previous = if p.reachable {
                    self.read_previous(&p.name).await
                } else {
                    let why = p.error.clone().unwrap_or_else(|| "unreachable".into());
                    Previous::Unknown(why)
                };
                let cluster = rev.fleet.clusters.get(&p.name);
                Participant {
                    rank: crate::rollout::batch::Rank::of(cluster, &policies.rollout.cohorts),
                    cluster: p.name.clone(),
                    previous,
                }
            })
            .buffered(self.parallel.max(1))
            .collect()
            .await;
        log.planned = Some((std::time::Instant::now(), changing));
        StepResult::Planned(participants)
    }

    /// Re-plans a batch's clusters (reads only) and re-reads the previous
    /// commits the machine asked for.
    pub(super) async fn prepare(
        &self,
        index: usize,
        clusters: &[String],
        reread: &[String],
        rev: &Revision,
        log: &mut RunLog,
    ) -> StepResult {
        let policies = &rev.fleet.policies;
        let parallel = self.batch_parallel(&policies.rollout);
        let mut by_name = fresh_plans(log.planned.take());
        let left: Vec<String> = (clusters.iter())
            .filter(|c| !by_name.contains_key(*c))
            .cloned()
            .collect();
        let planned = plan_clusters(self.clusters, &left, &rev.rendering, policies, parallel).await;
        by_name.extend(planned.into_iter().map(|p| (p.name.clone(), p)));
        let plans: Vec<ClusterPlan> = clusters.iter().filter_map(|c| by_name.remove(c)).collect();
        let mut prepared = Vec::new();
        for plan in &plans {
            let plan_verdict = if !plan.reachable || plan.error.is_some() {
                PlanVerdict::Failed(Failure {
                    cluster: plan.name.clone(),
                    object: None,
                    reason: plan.error.clone().unwrap_or_else(|| "unreachable".into()),
                })
            } else if plan.is_empty() {
                PlanVerdict::NoChanges
            } else {
                PlanVerdict::Changes(
                    plan.changes
                        .iter()
                        .filter(|c| matches!(c.action, Action::Create | Action::Update))
                        .map(|c| c.id())
                        .collect(),
                )
            };
            let previous = match (reread.contains(&plan.name), &plan_verdict) {
                (true, PlanVerdict::Failed(f)) => Some(Previous::Unknown(f.reason.clone())),
                (true, _) => Some(self.read_previous(&plan.name).await),
                (false, _) => None,
            };
            prepared.push(Prepared {
                cluster: plan.name.clone(),
                previous,
                plan: plan_verdict,
            });
        }
        log.plans = Some((index, plans));
        StepResult::Prepared(prepared)
    }

    /// Applies one cluster's plan at `commit` (empty: no commit, a
    /// rollback to nothing).
    async fn apply_plan(
        &self,
        plan: &ClusterPlan,
        commit: &str,
        policy: &RolloutPolicy,
    ) -> ClusterReport {
        match self.api(&plan.name) {
            Some(api) => {
                let span = tracing::info_span!("cluster", cluster = %plan.name);
                apply_cluster(api, plan, commit, policy)
                    .instrument(span)
                    .await
            }
            None => {
                let mut r = ClusterReport::new(&plan.name, commit);
                r.reachable = false;
                r.error = Some(plan.error.clone().unwrap_or_else(|| "not connected".into()));
                r
            }
        }
    }

    /// Writes a batch's clusters, with the plans just prepared when this
    /// process prepared them (else planned again: a resumed apply).
    pub(super) async fn apply_batch(
        &self,
        index: usize,
        clusters: &[String],
        rev: &Revision,
        log: &mut RunLog,
    ) -> StepResult {
        let policies = &rev.fleet.policies;
        let parallel = self.batch_parallel(&policies.rollout);
        let mut cached: BTreeMap<String, ClusterPlan> = match log.plans.take() {
            Some((i, plans)) if i == index => {
                plans.into_iter().map(|p| (p.name.clone(), p)).collect()
            }
            _ => BTreeMap::new(),
        };
        let missing: Vec<String> = clusters
            .iter()
            .filter(|c| !cached.contains_key(*c))
            .cloned()
            .collect();
        for p in plan_clusters(self.clusters, &missing, &rev.rendering, policies, parallel).await {
            cached.insert(p.name.clone(), p);
        }
        let plans: Vec<&ClusterPlan> = clusters.iter().filter_map(|c| cached.get(c)).collect();
        let commit = &rev.commit;
        let reports: Vec<ClusterReport> = futures::stream::iter(plans)
            .map(|plan| self.apply_plan(plan, commit, &policies.rollout))
            .buffered(parallel)
            .collect()
            .await;
        let mut applied = Vec::new();
        for r in reports {
            self.observer.on_event(&RolloutEvent::ClusterApplied {
                index,
                report: r.clone(),
            });
            log.apps.extend(
                r.results
                    .iter()
                    .filter(|o| o.outcome != ObjectOutcome::Unchanged)
                    .map(|o| o.app.clone()),
            );
            applied.push(Applied {
                cluster: r.cluster.clone(),
                changed: r.changed().into_iter().cloned().collect(),
                failure: r.failed().then(|| failure_of(&r)),
            });
            log.applied.push(r);
        }
        StepResult::Applied(applied)
    }

    fn timing(&self, policy: &RolloutPolicy, bake: Duration) -> GateTiming {
        GateTiming {
            timeout: policy.health_timeout,
            bake,
            poll: self.poll,
        }
    }

    /// Waits for a batch's gate; `None` when halted.
    pub(super) async fn gate(
        &self,
        index: usize,
        clusters: &[String],
        record: &RolloutRecord,
        rev: &Revision,
    ) -> Option<StepResult> {
        let empty = BTreeSet::new();
        let mut targets = Vec::new();
        for c in clusters {
            let Some(api) = self.api(c) else {
                return Some(StepResult::GateFailed(Failure {
                    cluster: c.clone(),
                    object: None,
                    reason: "not connected".into(),
                }));
            };
            targets.push(GateTarget {
                api,
                objects: record.changed.get(c).unwrap_or(&empty),
                kinds: &rev.fleet.kinds,
            });
        }
        let policy = &rev.fleet.policies.rollout;
        let timing = self.timing(policy, policy.bake_time);
        let end = if policy.analysis.checks.is_empty() {
            gate::wait(&targets, timing, index, self.observer, self.halt).await
        } else {
            self.analyze(index, clusters, &targets, timing, rev).await
        };
        match end {
            GateEnd::Passed => Some(StepResult::GatePassed),
            GateEnd::Failed(f) => Some(StepResult::GateFailed(f)),
            GateEnd::Halted => None,
        }
    }

    /// Restores `cluster` to `to` (`None`: nothing): re-render that commit,
    /// plan, apply, gate the restored objects (no bake). Gives the report
    /// and why it is not restored, if it is not; `None` when halted.
    pub(super) async fn restore(
        &self,
        cluster: &str,
        to: Option<&str>,
        policy: &RolloutPolicy,
    ) -> Option<(ClusterReport, Option<String>)> {
        let target = restore_target(to, |commit| self.read_rollback(commit));
        let (rendering, policies, kinds) = match target {
            Ok(target) => target,
            Err(why) => {
                let mut report = ClusterReport::new(cluster, to.unwrap_or(""));
                report.error = Some(why.clone());
                return Some((report, Some(why)));
            }
        };
        let names = [cluster.to_string()];
        let plan = plan_clusters(self.clusters, &names, &rendering, &policies, 1)
            .await
            .pop()
            .unwrap_or_else(|| ClusterPlan::unreachable(cluster, "not planned".into()));
        let mut report = self
            .apply_plan(&plan, to.unwrap_or(""), &policies.rollout)
            .await;
        if report.failed() {
            let why = report
                .first_failure()
                .unwrap_or_else(|| "rollback failed".into());
            return Some((report, Some(why)));
        }
        let Some(api) = self.api(cluster) else {
            return Some((report, Some("not connected".into())));
        };
        let changed = report.changed().into_iter().cloned().collect();
        let targets = [GateTarget {
            api,
            objects: &changed,
            kinds: &kinds,
        }];
        let timing = self.timing(policy, Duration::ZERO);
        match gate::wait(&targets, timing, 0, &Silent, self.halt).await {
            GateEnd::Passed => Some((report, None)),
            GateEnd::Failed(f) => {
                let why = format!("restored but not healthy: {f}");
                report.error = Some(why.clone());
                Some((report, Some(why)))
            }
            GateEnd::Halted => None,
        }
    }
}

/// Why applying a cluster failed: its first failed object, else the
/// cluster-level error.
fn failure_of(r: &ClusterReport) -> Failure {
    match r
        .results
        .iter()
        .find(|o| o.outcome == ObjectOutcome::Failed)
    {
        Some(o) => Failure {
            cluster: r.cluster.clone(),
            object: Some(o.id.to_string()),
            reason: o.message.clone().unwrap_or_else(|| "failed".into()),
        },
        None => Failure {
            cluster: r.cluster.clone(),
            object: None,
            reason: r.error.clone().unwrap_or_else(|| "failed".into()),
        },
    }
}

/// The planning step's plans by cluster when they are fresh (made less
/// than [`super::FRESH_PLANS`] ago); none otherwise.
fn fresh_plans(
    planned: Option<(std::time::Instant, Vec<ClusterPlan>)>,
) -> BTreeMap<String, ClusterPlan> {
    match planned {
        Some((at, plans)) if at.elapsed() < super::FRESH_PLANS => {
            plans.into_iter().map(|p| (p.name.clone(), p)).collect()
        }
        _ => BTreeMap::new(),
    }
}
