//! The one outcome vocabulary: what happened to an object
//! ([`ObjectOutcome`], as Flux's ssa ChangeSet), how a rollout of a commit
//! ended ([`RolloutOutcome`]), and a commit with its outcome
//! ([`CommitOutcome`]). CLI output, JSON reports, commit statuses, git
//! notes, metrics, badges and logs all read these, and nothing else names
//! outcomes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened (or would happen) to one object on one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectOutcome {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Configured,
    /// The object already matched; nothing was sent.
    Unchanged,
    /// The object was in the previous inventory only and was deleted.
    Pruned,
    /// The object is detached (`tranche.dev/detach: "true"`) and was left alone.
    Skipped,
    /// Applying or deleting the object failed (the reason is reported beside it).
    Failed,
}

impl ObjectOutcome {
    /// Every object outcome, in the order reports list them.
    pub const ALL: [ObjectOutcome; 6] = [
        ObjectOutcome::Created,
        ObjectOutcome::Configured,
        ObjectOutcome::Unchanged,
        ObjectOutcome::Pruned,
        ObjectOutcome::Skipped,
        ObjectOutcome::Failed,
    ];

    /// Lowercase name used in output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectOutcome::Created => "created",
            ObjectOutcome::Configured => "configured",
            ObjectOutcome::Unchanged => "unchanged",
            ObjectOutcome::Pruned => "pruned",
            ObjectOutcome::Skipped => "skipped",
            ObjectOutcome::Failed => "failed",
        }
    }
}

impl fmt::Display for ObjectOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the rollout of one commit ended (or why it never ran).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RolloutOutcome {
    /// No cluster needed a change.
    NothingToDo,
    /// Every batch applied and healthy.
    Succeeded,
    /// A batch failed and every touched cluster was rolled back.
    RolledBack,
    /// A batch failed and the policy says Pause: clusters left as they are.
    Paused,
    /// A batch failed and the rollback did not complete (clusters named).
    RollbackFailed,
    /// A newer commit arrived before this one started.
    Superseded,
    /// The commit cannot be read, validated or rendered: nothing was applied.
    Invalid,
}

impl RolloutOutcome {
    /// Whether the commit is now deployed where it should be.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            RolloutOutcome::NothingToDo | RolloutOutcome::Succeeded
        )
    }

    /// snake_case name for metrics labels and git notes (the JSON report
    /// uses the camelCase serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutOutcome::NothingToDo => "nothing_to_do",
            RolloutOutcome::Succeeded => "succeeded",
            RolloutOutcome::RolledBack => "rolled_back",
            RolloutOutcome::Paused => "paused",
            RolloutOutcome::RollbackFailed => "rollback_failed",
            RolloutOutcome::Superseded => "superseded",
            RolloutOutcome::Invalid => "invalid",
        }
    }
}

impl fmt::Display for RolloutOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A commit and how its rollout ended, with the one-line description the
/// commit status shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitOutcome {
    /// Commit.
    pub commit: String,
    /// Outcome.
    pub outcome: RolloutOutcome,
    /// One-line description.
    pub description: String,
}
