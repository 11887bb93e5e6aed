//! What the coordinator shows of a sharded rollout: each round's plan and
//! shard statuses go through the [`Narrator`] into the unsharded daemon's
//! [`DaemonObserver`] — forge commit statuses (`tranche/rollout`, and
//! `tranche/cluster/<name>` when asked), metrics, badges, `/api/status`
//! and the web view — and a finished rollout into the fleet memory the
//! view shows (last good commit, the commit each cluster runs, history).
//! That memory lives in the coordinator's process: a new coordinator
//! starts it from the plan it finds.

use super::narrate::{outcome_of, record_of, Narrator};
use super::protocol::{BatchPlan, ShardStatus};
use crate::daemon::observer::DaemonObserver;
use crate::daemon::status::LiveStatus;
use crate::outcome::RolloutOutcome;
use crate::report::metrics::InProgress;
use crate::report::{Metrics, StatusReporter};
use crate::rollout::event::{Observer, RolloutEvent};
use crate::rollout::memory::FleetMemory;
use crate::rollout::record::now;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Where the coordinator's account goes.
pub struct Reporting {
    /// Status view (`/api/status`, the web view).
    pub live: LiveStatus,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Forge statuses (None: no forge configured).
    pub reporter: Option<StatusReporter>,
    /// Link posted with statuses.
    pub target_url: Option<String>,
    /// Also post `tranche/cluster/<name>`.
    pub per_cluster: bool,
    narrator: Narrator,
    /// The observer of the plan's commit, and when it was first seen.
    current: Option<(DaemonObserver, u64)>,
    running: Option<InProgress>,
    memory: FleetMemory,
}

impl Reporting {
    /// Reporting into `live` and `metrics`, posting through `reporter`.
    pub fn new(
        live: LiveStatus,
        metrics: Arc<Metrics>,
        reporter: Option<StatusReporter>,
        target_url: Option<String>,
        per_cluster: bool,
    ) -> Reporting {
        Reporting {
            live,
            metrics,
            reporter,
            target_url,
            per_cluster,
            narrator: Narrator::default(),
            current: None,
            running: None,
            memory: FleetMemory::default(),
        }
    }

    /// This replica stopped coordinating: the next coordinator tells the
    /// rest of the rollout.
    pub fn lost_lead(&mut self) {
        self.narrator.reset();
        self.current = None;
        self.running = None;
    }

    /// Tells one round: the branch `head`, the plan and the statuses read.
    pub fn round(&mut self, head: &str, plan: &BatchPlan, statuses: &[Option<ShardStatus>]) {
        self.live.update(|v| {
            v.head = Some(head.to_string());
            v.waiting = (head != plan.commit).then(|| head.to_string());
        });
        let events = self.narrator.tell(plan, statuses);
        if events.is_empty() {
            return;
        }
        if self
            .current
            .as_ref()
            .is_none_or(|(o, _)| o.commit != plan.commit)
        {
            let observer = DaemonObserver::new(
                &plan.commit,
                self.reporter.clone(),
                self.metrics.clone(),
                self.live.clone(),
                self.target_url.clone(),
                self.per_cluster,
            );
            self.current = Some((observer, now()));
        }
        if !plan.phase.is_finished() && self.running.is_none() {
            self.running = Some(self.metrics.rollout_in_progress());
        }
        let Some((observer, started)) = &self.current else {
            return;
        };
        let started = *started;
        for event in &events {
            observer.on_event(event);
        }
        if events
            .iter()
            .any(|e| matches!(e, RolloutEvent::Finished { .. }))
        {
            self.running = None;
            self.remember(plan, statuses, started);
        }
    }

    /// Folds a finished plan into the fleet memory and the view.
    fn remember(&mut self, plan: &BatchPlan, statuses: &[Option<ShardStatus>], started: u64) {
        match outcome_of(plan, statuses) {
            None => return,
            Some(RolloutOutcome::Invalid) => {
                let why = plan.failure.as_deref().unwrap_or("invalid commit");
                self.memory.record_invalid(&plan.commit, why, now());
            }
            Some(_) => {
                let record = record_of(plan, statuses, started);
                self.memory.record_rollout(&record, &BTreeSet::new(), now());
            }
        }
        self.live.load_memory(&self.memory);
    }
}
