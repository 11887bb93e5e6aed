//! The leader's loop: wake on a trigger, look at the branch head, queue the
//! commit, roll out one commit at a time (newest wins, jumped-over commits
//! are reported superseded), post previews, and resync for drift.

use super::queue::CommitQueue;
use super::trigger::{debounce, Trigger};
use super::Daemon;
use crate::revision::short;
use crate::rollout::memory::FleetMemory;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, watch};

impl Daemon {
    /// Runs until shutdown. Only acts while `leader` is true.
    pub(super) async fn work(
        &self,
        mut rx: mpsc::UnboundedReceiver<Trigger>,
        mut leader: watch::Receiver<bool>,
    ) {
        let mut queue = queue_from(&self.memory());
        let mut previewed: BTreeMap<String, String> = BTreeMap::new();
        let mut was_leader = false;
        // With drift detection on, look once at start: it also starts the
        // watches that notice later drift.
        let mut triggers = vec![Trigger::Poll];
        if !self.config.resync_interval.is_zero() {
            triggers.push(Trigger::Resync);
        }
        loop {
            if self.shutdown.load(Ordering::Acquire) {
                return;
            }
            let is_leader = *leader.borrow();
            self.live.update(|v| {
                v.role = if is_leader {
                    "leader".into()
                } else {
                    "standby".into()
                }
            });
            if is_leader && !was_leader {
                self.halt.store(false, Ordering::Release);
                if let Some(mirror) = &self.mirror {
                    match mirror.restore_into(self.state.store()).await {
                        Ok(()) => {
                            // (The queue is rebuilt from it after resume.)
                            self.live.load_memory(&self.memory());
                            tracing::info!("took the lead: state restored from the cluster");
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot restore replicated state; using the local copy")
                        }
                    }
                }
                if let Err(e) = self.resume().await {
                    tracing::error!(error = %e, "cannot resume the rollout in flight");
                }
                // A resumed rollout is handled: never deploy its commit again.
                queue = queue_from(&self.memory());
            }
            was_leader = is_leader;
            if is_leader {
                self.tick(&mut queue, &mut previewed, &triggers).await;
            }
            let first = tokio::select! {
                t = rx.recv() => t,
                changed = leader.changed() => changed.ok().map(|_| Trigger::Poll),
            };
            let Some(first) = first else { return };
            triggers = debounce(first, &mut rx).await;
        }
    }

    async fn tick(
        &self,
        queue: &mut CommitQueue,
        previewed: &mut BTreeMap<String, String>,
        triggers: &[Trigger],
    ) {
        self.refresh();
        self.offer_head(queue);
        while let Some(commit) = queue.start_next() {
            self.live.update(|v| v.waiting = None);
            match self.deploy(&commit).await {
                Ok(failed) => queue.finish(failed),
                Err(e) if e.is_halted() => {
                    tracing::warn!(commit = %short(&commit), "{e}");
                    queue.finish(false);
                    return;
                }
                Err(e) => {
                    tracing::error!(commit = %short(&commit), "rollout could not finish: {e}");
                    queue.finish(true);
                }
            }
            if self.halt.load(Ordering::Acquire) {
                return;
            }
            self.refresh();
            self.offer_head(queue);
        }
        if triggers.contains(&Trigger::Failover) {
            self.check_failover().await;
        }
        if triggers.contains(&Trigger::Weights) {
            self.recompute_weights().await;
        }
        self.previews(previewed).await;
        if triggers.iter().any(Trigger::checks_drift) {
            if let Err(e) = self.resync().await {
                tracing::warn!(error = %e, "resync failed");
            }
        }
    }

    /// Fetches a remote repository (errors are logged; the last fetched
    /// state is used).
    fn refresh(&self) {
        if let Err(e) = self.source.fetch() {
            tracing::warn!(error = %e, "fetch failed");
        }
    }

    /// Queues the branch head; commits between the last one handled and
    /// the head (first-parent) are superseded.
    fn offer_head(&self, queue: &mut CommitQueue) {
        let head = match self.source.head() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the tracked branch");
                return;
            }
        };
        self.live.update(|v| v.head = Some(head.clone()));
        let jumped = self.between(queue.last_handled(), queue.running(), &head);
        if queue.offer(&head) {
            tracing::info!(commit = %short(&head), "new commit on the tracked branch");
            self.live.update(|v| v.waiting = Some(head.clone()));
            let mut superseded = queue.take_superseded();
            superseded.extend(jumped);
            superseded.sort();
            superseded.dedup();
            superseded.retain(|c| c != &head);
            self.supersede(&superseded, &head);
        }
    }

    /// First-parent commits after `from` up to (not including) `head`,
    /// minus the one running.
    fn between(&self, from: Option<&str>, running: Option<&str>, head: &str) -> Vec<String> {
        let Some(from) = from else { return vec![] };
        let walk = || -> Result<Vec<String>, git2::Error> {
            let repo = self
                .source
                .repository()
                .map_err(|e| git2::Error::from_str(&e.to_string()))?;
            let mut walk = repo.revwalk()?;
            walk.push(git2::Oid::from_str(head)?)?;
            walk.hide(git2::Oid::from_str(from)?)?;
            if let Some(r) = running {
                walk.hide(git2::Oid::from_str(r)?)?;
            }
            walk.simplify_first_parent()?;
            Ok(walk
                .flatten()
                .map(|o| o.to_string())
                .filter(|c| c != head)
                .take(100)
                .collect())
        };
        walk().unwrap_or_default()
    }

    async fn previews(&self, previewed: &mut BTreeMap<String, String>) {
        let preview = &self.config.preview;
        if preview.refs.is_empty() && !preview.all_branches {
            return;
        }
        let refs = match self.source.other_refs() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list refs for previews");
                return;
            }
        };
        for (name, commit) in refs {
            if preview.wants(&name) && previewed.get(&name) != Some(&commit) {
                self.preview(&name, &commit).await;
                previewed.insert(name, commit);
            }
        }
    }
}

/// A queue that neither redeploys the last commit handled nor retries the
/// failed ones (as remembered in the state store).
fn queue_from(memory: &FleetMemory) -> CommitQueue {
    let last = memory.history.last().map(|h| h.commit.clone());
    CommitQueue::new(last, memory.failed.clone())
}
