//! The leader's three jobs on a commit: deploy it (a staged rollout, its
//! statuses, its git note, and its progress in the comment of the pull
//! request it merges), preview it (`tranche/plan` and the pull-request
//! comment, without applying),
//! and resync (find drift from the last good commit, and correct it or only
//! report it, as the DiffPolicy says).

use super::inputs::WithInputs;
use super::observer::{DaemonObserver, ROLLOUT_CONTEXT};
use super::pull_requests::{PullProgress, PullRequests};
use super::Daemon;
use crate::git::notes::{now_rfc3339, write_note, DeployNote};
use crate::model::DriftMode;
use crate::outcome::RolloutOutcome;
use crate::plan::compute::{plan_fleet, Connections};
use crate::report::pr::problems::ProblemView;
use crate::report::pr::view::{PlanView, Preview};
use crate::report::{CommitStatus, StatusState};
use crate::revision::{short, Revision, Revisions};
use crate::rollout::event::{Fanout, Observer};
use crate::rollout::memory::FleetMemory;
use crate::rollout::{Rollout, RolloutError, RolloutReport};
use tracing::Instrument;

/// Context of PR preview statuses.
pub const PLAN_CONTEXT: &str = "tranche/plan";

impl Daemon {
    /// Connects to the clusters of a revision's registry (open connections,
    /// and their live caches, are reused).
    pub(super) async fn connect(&self, rev: &Revision) -> Connections {
        let clusters: Vec<(String, String)> = rev
            .fleet
            .clusters
            .values()
            .map(|c| (c.name.clone(), c.context.clone()))
            .collect();
        self.clusters.connect(&clusters).await
    }

    pub(super) fn observer(&self, commit: &str) -> DaemonObserver {
        DaemonObserver::new(
            commit,
            self.reporter.clone(),
            self.metrics.clone(),
            self.live.clone(),
            super::status_url(&self.config),
            self.config.per_cluster_statuses,
        )
    }

    /// A rollout over `clusters` with the daemon's settings; `force` takes
    /// back fields other managers changed (drift correction).
    pub(super) fn rollout<'a>(
        &'a self,
        revisions: &'a dyn Revisions,
        clusters: &'a Connections,
        observer: &'a dyn Observer,
        force: bool,
    ) -> Rollout<'a> {
        Rollout {
            revisions,
            rollback_revisions: None,
            clusters,
            state: &self.state,
            observer,
            parallel: self.config.clusters.parallel,
            poll: self.poll,
            halt: Some(&self.halt),
            force_conflicts: force,
            clock: &crate::rollout::clock::SystemClock,
            control: Some(&self.control),
        }
    }

    /// What the fleet remembers (empty when nothing was saved or the file
    /// cannot be read: the daemon then starts afresh, and says so).
    pub(super) fn memory(&self) -> FleetMemory {
        self.state.memory().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the fleet memory; starting afresh");
            FleetMemory::default()
        })
    }

    /// Plans `rev` (read from `repo`) as it is rolled out: rendered with
    /// the daemon's inputs (free capacity read now when `fresh`, around
    /// failed-over clusters), against the clusters without the
    /// failed-over ones.
    async fn plan_with_inputs<'a>(
        &self,
        repo: &'a dyn Revisions,
        rev: Revision,
        fresh: bool,
    ) -> Result<(WithInputs<'a>, crate::plan::Plan), RolloutError> {
        let w = self.with_inputs(repo, rev, fresh).await?;
        let plan = plan_fleet(
            &w.clusters,
            &w.rev.rendering,
            &w.rev.fleet.policies,
            self.config.clusters.parallel,
        )
        .await;
        Ok((w, plan))
    }

    /// Rolls `commit` out. Returns whether it failed (not to be retried).
    pub(super) async fn deploy(&self, commit: &str) -> Result<bool, RolloutError> {
        let repo = self.source.revisions();
        let observer = self.observer(commit);
        let rev = match repo.read(commit) {
            Ok(rev) => rev,
            Err(e) => {
                let text = format!("invalid: {}", e.first_problem());
                tracing::error!(commit = %short(commit), error = %e, "commit cannot be deployed");
                observer.post(ROLLOUT_CONTEXT, StatusState::Error, &text);
                self.remember_invalid(commit, &text)?;
                self.note(
                    commit,
                    RolloutOutcome::Invalid.as_str(),
                    &text,
                    &[],
                    now_rfc3339(),
                );
                return Ok(true);
            }
        };
        // Split by free capacity read now, around failed-over clusters.
        let w = self.with_inputs(&repo, rev, true).await?;
        for line in
            crate::revision::inputs::explain(&w.rev, &w.notes, &w.revisions.inputs.failed).lines()
        {
            tracing::info!(commit = %short(commit), "{}", line.trim_start());
        }
        let (revisions, clusters, notes) = (w.revisions, w.clusters, w.notes);
        let _running = self.metrics.rollout_in_progress();
        let started = now_rfc3339();
        let fanout;
        let observer: &dyn Observer = match self.pull_progress(commit) {
            Some(progress) => {
                fanout = Fanout(vec![Box::new(observer), Box::new(progress)]);
                &fanout
            }
            None => &observer,
        };
        let rollout = self.rollout(&revisions, &clusters, observer, false);
        let span = tracing::info_span!("rollout", commit = %short(commit));
        let report = rollout.run(commit).instrument(span).await?;
        if report.outcome.is_success() {
            self.remember_weights(&notes);
        }
        self.after_rollout(&report, started);
        self.report_failover(&report);
        Ok(!report.outcome.is_success())
    }

    /// Shows the rollout of `commit` in the comment of the pull request it
    /// merges, if tranche previewed one.
    fn pull_progress(&self, commit: &str) -> Option<PullProgress> {
        let pulls = self.pulls.as_ref()?;
        let repo = self.source.repository().ok()?;
        let c = repo.find_commit(git2::Oid::from_str(commit).ok()?).ok()?;
        let merged: Vec<String> = c.parent_ids().skip(1).map(|o| o.to_string()).collect();
        let pull = pulls.pull_of(commit, &merged, c.message().unwrap_or_default())?;
        tracing::info!(commit = %short(commit), pull, "showing the rollout in the pull request's comment");
        Some(pulls.progress(pull, commit))
    }

    /// Finishes a rollout left in flight by a previous process.
    pub(super) async fn resume(&self) -> Result<(), RolloutError> {
        let Some(record) = self.state.record()? else {
            return Ok(());
        };
        let repo = self.source.revisions();
        let rev = repo.read(&record.commit)?;
        if record.inputs_change {
            return self.resume_input_change(rev).await;
        }
        let w = self.with_inputs(&repo, rev, false).await?;
        let (revisions, clusters) = (w.revisions, w.clusters);
        let observer = self.observer(&record.commit);
        observer.post(
            ROLLOUT_CONTEXT,
            StatusState::Pending,
            &format!("resuming: {}", record.progress()),
        );
        let started = now_rfc3339();
        let rollout = self.rollout(&revisions, &clusters, &observer, false);
        if let Some(report) = rollout.resume().await? {
            self.after_rollout(&report, started);
        }
        Ok(())
    }

    fn after_rollout(&self, report: &RolloutReport, started: String) {
        let clusters: Vec<String> = report.batches.iter().flatten().cloned().collect();
        self.note(
            &report.commit,
            report.outcome.as_str(),
            &report.description,
            &report.batches,
            started,
        );
        let memory = self.memory();
        self.live.load_memory(&memory);
        tracing::info!(commit = %short(&report.commit), outcome = report.outcome.as_str(),
            clusters = clusters.len(), "{}", report.description);
    }

    fn remember_invalid(&self, commit: &str, text: &str) -> Result<(), RolloutError> {
        let memory = self.state.remember_invalid(commit, text)?;
        self.live.load_memory(&memory);
        Ok(())
    }

    /// Writes the git note on `commit` (failures are logged, never fatal).
    pub(super) fn note(
        &self,
        commit: &str,
        outcome: &str,
        description: &str,
        batches: &[Vec<String>],
        started: String,
    ) {
        let result = (|| -> Result<(), String> {
            let repo = self.source.repository().map_err(|e| e.to_string())?;
            let oid = git2::Oid::from_str(commit).map_err(|e| e.to_string())?;
            let note = DeployNote {
                outcome: outcome.to_string(),
                description: description.to_string(),
                batches: batches.to_vec(),
                clusters: batches.iter().flatten().cloned().collect(),
                started_at: started,
                finished_at: now_rfc3339(),
                attempts: vec![],
            };
            write_note(&repo, oid, &note).map_err(|e| e.to_string())
        })();
        if let Err(e) = result {
            tracing::warn!(commit = %short(commit), error = %e, "cannot write git note");
        }
    }

    /// Reports commits jumped over by a newer one.
    pub(super) fn supersede(&self, commits: &[String], by: &str) {
        for c in commits {
            tracing::info!(commit = %short(c), by = %short(by), "superseded");
            let observer = self.observer(c);
            let text = format!("superseded by {}: not deployed on its own", short(by));
            observer.post(ROLLOUT_CONTEXT, StatusState::Error, &text);
            self.note(
                c,
                RolloutOutcome::Superseded.as_str(),
                &text,
                &[],
                now_rfc3339(),
            );
        }
    }

    /// Posts `tranche/plan` on a ref's commit: what merging it would change.
    pub(super) async fn preview(&self, git_ref: &str, commit: &str) {
        let Some(reporter) = &self.reporter else {
            return;
        };
        let post = |state, text: String| {
            reporter.post(commit, CommitStatus::new(PLAN_CONTEXT, state, text))
        };
        post(StatusState::Pending, format!("planning {git_ref}"));
        let pull = self
            .pulls
            .as_ref()
            .and_then(|p| Some((p, PullRequests::number_of(git_ref)?)));
        let rev = match self.source.revisions().read(commit) {
            Ok(rev) => rev,
            Err(e) => {
                post(
                    StatusState::Failure,
                    format!("invalid: {}", e.first_problem()),
                );
                if let Some((p, n)) = pull {
                    p.show_preview(n, commit, Preview::Invalid(ProblemView::list(&e)));
                }
                return;
            }
        };
        let repo = self.source.revisions();
        let (w, plan) = match self.plan_with_inputs(&repo, rev, true).await {
            Ok(planned) => planned,
            Err(e) => {
                post(StatusState::Failure, format!("invalid: {e}"));
                return;
            }
        };
        let rev = &w.rev;
        if let Some((p, n)) = pull {
            let why = crate::revision::inputs::explain(rev, &w.notes, &w.revisions.inputs.failed);
            let view = PlanView::of(&plan, &rev.fleet).with_weights(&why);
            p.show_preview(n, commit, Preview::Planned(view));
        }
        let s = plan.summary();
        let objects = s.create + s.update + s.prune;
        let mut text = format!(
            "would change {objects} objects in {} clusters",
            s.clusters_changed
        );
        if s.clusters_failed > 0 {
            text.push_str(&format!(" ({} unreachable)", s.clusters_failed));
        }
        let state = if s.forbidden > 0 {
            StatusState::Failure
        } else {
            StatusState::Success
        };
        if s.forbidden > 0 {
            text.push_str(&format!("; {} forbidden", s.forbidden));
        }
        post(state, text);
    }

    /// Looks for drift from the last good commit; corrects it when the
    /// DiffPolicy says `Correct`, else only reports it.
    pub(super) async fn resync(&self) -> Result<(), RolloutError> {
        let Some(good) = self.state.memory()?.last_good else {
            return Ok(());
        };
        let repo = self.source.revisions();
        let plain = repo.read(&good)?;
        // What the last rollout applied: git's commit with the same inputs
        // (a failover or weights by free capacity are not drift).
        let (w, plan) = self.plan_with_inputs(&repo, plain, false).await?;
        let (revisions, clusters, rev) = (w.revisions, w.clusters, w.rev);
        let mut drifted = 0;
        self.live.update(|v| v.drift.clear());
        for c in plan
            .clusters
            .iter()
            .filter(|c| c.reachable && c.error.is_none())
        {
            let n = c.mutating_changes();
            if n > 0 {
                drifted += n;
                self.metrics.record_drift(&c.name, n as u64);
                tracing::warn!(cluster = %c.name, objects = n, "drift detected");
            }
            self.live.update(|v| {
                v.drift.insert(c.name.clone(), n);
            });
        }
        tracing::debug!(commit = %short(&good), drifted, "looked for drift");
        if drifted > 0 && rev.fleet.policies.diff.drift == DriftMode::Correct {
            tracing::info!(commit = %short(&good), "correcting drift");
            let observer = crate::rollout::event::Silent;
            let rollout = self.rollout(&revisions, &clusters, &observer, true);
            rollout.run(&good).await?;
        }
        Ok(())
    }
}
