//! Deploy notes: what tranche did with a commit, kept in git itself as a
//! note under `refs/notes/tranche`, so `git log --notes=tranche` shows the
//! rollout story beside each deployed commit.
//!
//! A note holds the latest story in YAML; when a commit is rolled out more
//! than once (a retry, a rollback to it), earlier stories move into its
//! `attempts` list, oldest first.

use git2::{ErrorCode, Oid, Repository, Signature};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// The notes ref tranche writes.
pub const NOTES_REF: &str = "refs/notes/tranche";

/// Errors reading a note.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// libgit2 failed (repository unreadable, ref locked).
    #[error("git notes ({NOTES_REF}): {0}")]
    Git(#[from] git2::Error),
    /// The note exists but is not a tranche deploy note (someone wrote it by hand).
    #[error("note on {commit} in {NOTES_REF} is not a tranche deploy note: {message} (remove it with `git notes --ref=tranche remove {commit}`)")]
    Malformed {
        /// The annotated commit.
        commit: String,
        /// Why it could not be read.
        message: String,
    },
}

/// What happened when tranche rolled out one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployNote {
    /// `succeeded`, `nothing_to_do`, `rolled_back`, `paused`, `rollback_failed`, `superseded`, `invalid` (`RolloutOutcome::as_str`).
    pub outcome: String,
    /// One line, as in the commit status.
    pub description: String,
    /// Cluster names per batch, in rollout order.
    pub batches: Vec<Vec<String>>,
    /// Clusters the commit reached (applied and healthy).
    pub clusters: Vec<String>,
    /// RFC 3339 UTC time the rollout started.
    pub started_at: String,
    /// RFC 3339 UTC time the rollout ended.
    pub finished_at: String,
    /// Earlier rollouts of the same commit, oldest first. Filled in by
    /// [`write_note`] from the note it replaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

/// An earlier rollout of a commit, as kept in a note's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Its outcome.
    pub outcome: String,
    /// Its description.
    pub description: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: String,
}

impl From<&DeployNote> for Attempt {
    fn from(note: &DeployNote) -> Self {
        Attempt {
            outcome: note.outcome.clone(),
            description: note.description.clone(),
            started_at: note.started_at.clone(),
            finished_at: note.finished_at.clone(),
        }
    }
}

/// The current time as RFC 3339 UTC with seconds, for the note's times.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Records `note` as the latest story of `commit`, replacing the note there.
/// The replaced story (and its history) becomes `attempts`; any `attempts`
/// in `note` itself are ignored. A note that is not a deploy note is
/// overwritten without history.
pub fn write_note(repo: &Repository, commit: Oid, note: &DeployNote) -> Result<(), git2::Error> {
    let mut stored = note.clone();
    stored.attempts = match read_note(repo, commit) {
        Ok(Some(previous)) => {
            let mut history = previous.attempts.clone();
            history.push(Attempt::from(&previous));
            history
        }
        Ok(None) | Err(NoteError::Malformed { .. }) => Vec::new(),
        Err(NoteError::Git(e)) => return Err(e),
    };
    let text = crate::yaml::to_string(&stored);
    let signature = signature(&repo.config()?)?;
    repo.note(&signature, &signature, Some(NOTES_REF), commit, &text, true)?;
    Ok(())
}

/// The deploy note on `commit`, if there is one.
pub fn read_note(repo: &Repository, commit: Oid) -> Result<Option<DeployNote>, NoteError> {
    let note = match repo.find_note(Some(NOTES_REF), commit) {
        Ok(note) => note,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let malformed = |message: String| NoteError::Malformed {
        commit: commit.to_string(),
        message,
    };
    let text = note
        .message()
        .map_err(|_| malformed("not UTF-8".to_string()))?;
    crate::yaml::from_str(text)
        .map(Some)
        .map_err(|e| malformed(e.to_string()))
}

/// The configured identity (`user.name`, `user.email`), else
/// `tranche <tranche@localhost>`: a daemon's checkout usually has none.
fn signature(config: &git2::Config) -> Result<Signature<'static>, git2::Error> {
    let name = config.get_string("user.name").unwrap_or_default();
    let email = config.get_string("user.email").unwrap_or_default();
    if name.trim().is_empty() || email.trim().is_empty() {
        return Signature::now("tranche", "tranche@localhost");
    }
    Signature::now(&name, &email).or_else(|_| Signature::now("tranche", "tranche@localhost"))
}

#[cfg(test)]
mod tests;
