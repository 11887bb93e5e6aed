//! A shard's holder at work: each pass reads the batch plan and its
//! shard's status, performs the [`shard_tasks`] (apply and gate, or
//! restore) on the clusters it owns, and writes each result to the status
//! as soon as it has it. Before a cluster is written its entry says
//! `applying` with what it ran before, so a holder that dies mid-batch
//! leaves enough for the next one to apply it again and, on rollback,
//! restore it. Connections (and their live caches) are opened only for
//! the shard's own clusters and kept between passes.

use super::objects::Objects;
use super::protocol::{
    must_plan, shard_tasks, BatchPlan, ClusterEntry, ClusterState, ShardStatus, Task,
};
use super::work::{failed, read_before, task_cluster, Work};
use crate::cluster::connect::{connect_watched, ClusterSource};
use crate::cluster::ClusterApi;
use crate::plan::compute::{plan_clusters, Connections};
use crate::revision::{short, Revision, Revisions};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// One shard's worker, for whichever shard this replica holds.
pub struct ShardWorker {
    /// The protocol's objects.
    pub objects: Objects,
    /// This replica's identity (written as the status's holder).
    pub identity: String,
    /// The batch plan ConfigMap.
    pub plan_name: String,
    /// Clusters worked at once.
    pub parallel: usize,
    /// Time between health checks.
    pub poll: Duration,
    /// Where cluster credentials come from.
    pub source: ClusterSource,
    /// Requests in flight per cluster.
    pub max_in_flight: usize,
    /// Open connections by cluster, with the context each was opened for.
    open: BTreeMap<String, (String, Arc<dyn ClusterApi>)>,
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// No plan, or nothing to do for this shard.
    Idle,
    /// Worked some clusters.
    Worked,
    /// Stopped: the shard's Lease was lost.
    Halted,
}

impl ShardWorker {
    /// A worker with no connection open yet.
    pub fn new(
        objects: Objects,
        identity: String,
        plan_name: String,
        source: ClusterSource,
        parallel: usize,
        max_in_flight: usize,
    ) -> ShardWorker {
        ShardWorker {
            objects,
            identity,
            plan_name,
            parallel: parallel.max(1),
            poll: crate::rollout::gate::DEFAULT_POLL,
            source,
            max_in_flight,
            open: BTreeMap::new(),
        }
    }

    /// One pass for shard `shard` (status ConfigMap `status_name`) at the
    /// plan's current state; `halt` is set when the Lease is lost.
    pub async fn pass(
        &mut self,
        shard: usize,
        status_name: &str,
        revisions: &dyn Revisions,
        halt: &AtomicBool,
    ) -> Result<Pass, super::objects::ObjectError> {
        let Some(plan) = self.objects.plan(&self.plan_name).await? else {
            return Ok(Pass::Idle);
        };
        let mut status = self.objects.status(status_name).await?.unwrap_or_default();
        if status.commit != plan.commit {
            status = ShardStatus {
                commit: plan.commit.clone(),
                ..ShardStatus::default()
            };
        }
        status.holder = self.identity.clone();
        if must_plan(&plan, &status) {
            return self
                .plan(shard, status_name, status, &plan, revisions)
                .await;
        }
        let tasks = shard_tasks(&plan, shard, &status);
        if tasks.is_empty() {
            if status.seen < plan.generation {
                status.seen = plan.generation;
                self.objects.put_status(status_name, &status).await?;
            }
            return Ok(Pass::Idle);
        }
        tracing::info!(shard, commit = %short(&plan.commit), progress = %plan.progress(),
            tasks = tasks.len(), "shard at work");
        let rev = match revisions.read(&plan.commit) {
            Ok(rev) => rev,
            Err(e) => {
                let why = format!(
                    "cannot read commit {}: {}",
                    short(&plan.commit),
                    e.first_problem()
                );
                for t in &tasks {
                    if let Task::Apply { cluster, before } = t {
                        status
                            .clusters
                            .insert(cluster.clone(), failed(before.clone(), &why));
                    }
                }
                status.seen = plan.generation;
                self.objects.put_status(status_name, &status).await?;
                return Ok(Pass::Worked);
            }
        };
        let names: Vec<String> = tasks.iter().map(|t| task_cluster(t).to_string()).collect();
        let connections = self.connect(&names, &rev).await;
        // Record what each cluster ran before, before anything is written.
        for t in &tasks {
            if let Task::Apply { cluster, before } = t {
                let before = match before {
                    Some(b) => b.clone(),
                    None => read_before(&connections, cluster).await,
                };
                status.clusters.insert(
                    cluster.clone(),
                    ClusterEntry {
                        state: ClusterState::Applying,
                        before,
                        changed: false,
                        reason: None,
                    },
                );
            }
        }
        self.objects.put_status(status_name, &status).await?;
        let work = Work {
            connections: &connections,
            rev: &rev,
            batch: plan.batch,
            poll: self.poll,
            halt,
            revisions,
        };
        let recorded: Vec<(&Task, Option<_>)> = tasks
            .iter()
            .map(|t| {
                (
                    t,
                    status
                        .clusters
                        .get(task_cluster(t))
                        .map(|e| e.before.clone()),
                )
            })
            .collect();
        let mut results = futures::stream::iter(recorded)
            .map(|(t, before)| work.perform(t, before))
            .buffer_unordered(self.parallel);
        let mut halted = false;
        while let Some(done) = results.next().await {
            match done {
                Some((cluster, entry)) => {
                    tracing::info!(shard, %cluster, state = ?entry.state, "cluster done");
                    status.clusters.insert(cluster, entry);
                    self.objects.put_status(status_name, &status).await?;
                }
                None => halted = true,
            }
        }
        if halted {
            return Ok(Pass::Halted);
        }
        status.seen = plan.generation;
        self.objects.put_status(status_name, &status).await?;
        Ok(Pass::Worked)
    }

    /// Plans the shard's clusters of the plan's commit against their live
    /// state and reports those with changes: only they take part. A
    /// commit that cannot be read here yet is tried again next pass.
    async fn plan(
        &mut self,
        shard: usize,
        status_name: &str,
        mut status: ShardStatus,
        plan: &BatchPlan,
        revisions: &dyn Revisions,
    ) -> Result<Pass, super::objects::ObjectError> {
        let rev = match revisions.read(&plan.commit) {
            Ok(rev) => rev,
            Err(e) => {
                tracing::warn!(shard, commit = %short(&plan.commit), error = %e.first_problem(),
                    "cannot plan the commit yet");
                return Ok(Pass::Idle);
            }
        };
        let names: Vec<String> = rev
            .fleet
            .clusters
            .keys()
            .filter(|c| super::shard_of(c, plan.shards) == shard)
            .cloned()
            .collect();
        // One this replica did not render takes part, to fail visibly
        // (planned against nothing it would look empty).
        let (names, unrendered): (Vec<String>, Vec<String>) = names
            .into_iter()
            .partition(|c| super::work::rendered(&rev.rendering, c));
        let connections = self.connect(&names, &rev).await;
        let policies = &rev.fleet.policies;
        let plans = plan_clusters(
            &connections,
            &names,
            &rev.rendering,
            policies,
            self.parallel,
        );
        let changed: BTreeSet<String> = plans
            .await
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.name)
            .chain(unrendered)
            .collect();
        tracing::info!(shard, commit = %short(&plan.commit), clusters = names.len(),
            changed = changed.len(), "planned");
        status.changed = Some(changed);
        status.seen = plan.generation;
        self.objects.put_status(status_name, &status).await?;
        Ok(Pass::Worked)
    }

    /// Connections to `names` (open ones kept, others opened now).
    async fn connect(&mut self, names: &[String], rev: &Revision) -> Connections {
        let wanted: Vec<(String, String)> = names
            .iter()
            .filter_map(|n| {
                rev.fleet
                    .clusters
                    .get(n)
                    .map(|c| (n.clone(), c.context.clone()))
            })
            .collect();
        let missing: Vec<(String, String)> = wanted
            .iter()
            .filter(|(n, ctx)| self.open.get(n).map(|(c, _)| c) != Some(ctx))
            .cloned()
            .collect();
        let mut out = Connections::new();
        if !missing.is_empty() {
            for (name, conn) in connect_watched(&self.source, &missing, self.max_in_flight).await {
                match conn {
                    Ok(api) => {
                        let ctx = missing
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, c)| c.clone());
                        self.open.insert(name, (ctx.unwrap_or_default(), api));
                    }
                    Err(e) => {
                        self.open.remove(&name);
                        out.insert(name, Err(e));
                    }
                }
            }
        }
        for (name, _) in &wanted {
            if let Some((_, api)) = self.open.get(name) {
                out.insert(name.clone(), Ok(api.clone()));
            }
        }
        out
    }
}
