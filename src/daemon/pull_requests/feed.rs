//! One task per pull request that keeps its comment up to date: the
//! newest body wins (bodies shown while an edit is under way are folded
//! into the next edit), edits never run concurrently (so the comment is
//! posted once), and a forge outage never blocks the rollout — a failed
//! edit is logged and the next body tries again.

use crate::report::forge::Conversation;
use crate::report::pr::thread::{upsert, Upserted};
use std::sync::Arc;
use tokio::sync::watch;

/// Where a pull request's comment bodies go.
pub(super) struct CommentFeed {
    tx: watch::Sender<String>,
}

impl CommentFeed {
    /// Starts the task for pull request `pull`, showing `first` at once.
    pub(super) fn start(
        conversation: Arc<dyn Conversation>,
        pull: u64,
        first: String,
    ) -> CommentFeed {
        let (tx, mut rx) = watch::channel(first);
        tokio::spawn(async move {
            loop {
                let body = rx.borrow_and_update().clone();
                match upsert(&*conversation, pull, &body).await {
                    Ok(Upserted::Unchanged) => {}
                    Ok(done) => tracing::info!(pull, ?done, "pull request comment updated"),
                    Err(e) => {
                        tracing::warn!(pull, error = %e, "cannot update the pull request comment")
                    }
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        });
        CommentFeed { tx }
    }

    /// Makes the comment say `body` (soon).
    pub(super) fn show(&self, body: String) {
        self.tx.send_replace(body);
    }
}
