//! Which commit to deploy next. Pure: the daemon feeds it branch heads as
//! they are seen and takes the next commit when it is free.
//!
//! Rules: new commits arriving during a rollout wait; when the rollout ends
//! only the newest waiting commit runs, the ones it jumped over are
//! reported superseded. A commit that failed is not retried until a newer
//! commit arrives; a commit already deployed is not deployed again.

use std::collections::BTreeSet;

/// The daemon's queue of commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitQueue {
    /// Commit being rolled out, if any.
    running: Option<String>,
    /// Newest commit waiting.
    waiting: Option<String>,
    /// Commits that were waiting and got replaced by a newer one.
    superseded: Vec<String>,
    /// Last commit handled (deployed or failed).
    last_handled: Option<String>,
    /// Commits that failed (not retried).
    failed: BTreeSet<String>,
}

impl CommitQueue {
    /// A queue that knows the last commit handled and the failed ones
    /// (from the state store), so a restart neither redeploys nor retries.
    pub fn new(last_handled: Option<String>, failed: BTreeSet<String>) -> CommitQueue {
        CommitQueue {
            last_handled,
            failed,
            ..Default::default()
        }
    }

    /// The branch head is `commit`. Returns whether it was queued.
    pub fn offer(&mut self, commit: &str) -> bool {
        let known = self.running.as_deref() == Some(commit)
            || self.waiting.as_deref() == Some(commit)
            || self.last_handled.as_deref() == Some(commit)
            || self.failed.contains(commit);
        if known {
            return false;
        }
        if let Some(old) = self.waiting.replace(commit.to_string()) {
            self.superseded.push(old);
        }
        true
    }

    /// Takes the next commit to roll out, if none is running.
    pub fn start_next(&mut self) -> Option<String> {
        if self.running.is_some() {
            return None;
        }
        let next = self.waiting.take()?;
        self.running = Some(next.clone());
        Some(next)
    }

    /// The running rollout ended; `failed` marks the commit not to retry.
    pub fn finish(&mut self, failed: bool) {
        if let Some(c) = self.running.take() {
            if failed {
                self.failed.insert(c.clone());
            }
            self.last_handled = Some(c);
        }
    }

    /// Commits superseded since the last call (to report them).
    pub fn take_superseded(&mut self) -> Vec<String> {
        std::mem::take(&mut self.superseded)
    }

    /// Commit being rolled out.
    pub fn running(&self) -> Option<&str> {
        self.running.as_deref()
    }

    /// Last commit handled (deployed or failed).
    pub fn last_handled(&self) -> Option<&str> {
        self.last_handled.as_deref()
    }

    /// Commit waiting to run.
    pub fn waiting(&self) -> Option<&str> {
        self.waiting.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_waiting_commit_wins_and_others_are_superseded() {
        let mut q = CommitQueue::default();
        assert!(q.offer("a"));
        assert_eq!(q.start_next().as_deref(), Some("a"));
        assert!(q.offer("b"));
        assert!(q.offer("c"));
        assert_eq!(q.start_next(), None, "one rollout at a time");
        q.finish(false);
        assert_eq!(q.start_next().as_deref(), Some("c"));
        assert_eq!(q.take_superseded(), vec!["b".to_string()]);
        assert!(q.take_superseded().is_empty());
    }

    #[test]
    fn failed_commit_is_not_retried_until_a_newer_one() {
        let mut q = CommitQueue::default();
        q.offer("bad");
        q.start_next();
        q.finish(true);
        assert!(!q.offer("bad"));
        assert_eq!(q.start_next(), None);
        assert!(q.offer("fix"));
        assert_eq!(q.start_next().as_deref(), Some("fix"));
    }

    #[test]
    fn restart_does_not_redeploy_the_last_commit() {
        let mut q = CommitQueue::new(Some("done".into()), ["bad".to_string()].into());
        assert!(!q.offer("done"));
        assert!(!q.offer("bad"));
        assert!(!q.offer("done"));
        assert!(q.offer("new"));
    }

    #[test]
    fn running_commit_is_not_queued_again() {
        let mut q = CommitQueue::default();
        q.offer("a");
        q.start_next();
        assert!(!q.offer("a"));
        assert_eq!(q.waiting(), None);
        assert_eq!(q.running(), Some("a"));
    }
}
