//! Keeping tranche's one comment on a pull request: found by its hidden
//! [`MARKER`](super::MARKER) among the first 100 comments (tranche posts
//! it when the pull request is first previewed, so it is near the top),
//! edited in place when its body changes, posted when there is none.

use crate::report::forge::{Conversation, ForgeError, Thread};

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// There was no comment: one was posted.
    Created,
    /// The comment was edited.
    Edited,
    /// The comment already said this.
    Unchanged,
}

/// Makes tranche's comment on pull request `pull` say `body`.
pub async fn upsert(
    conversation: &dyn Conversation,
    pull: u64,
    body: &str,
) -> Result<Upserted, ForgeError> {
    let mine = conversation
        .comments(pull)
        .await?
        .into_iter()
        .find(|c| c.body.contains(super::MARKER));
    match mine {
        Some(c) if c.body.trim() == body.trim() => Ok(Upserted::Unchanged),
        Some(c) => {
            conversation.edit(pull, c.id, body).await?;
            Ok(Upserted::Edited)
        }
        None => {
            conversation.post(&Thread::Pull(pull), body).await?;
            Ok(Upserted::Created)
        }
    }
}
