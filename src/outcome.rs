//! The one result vocabulary, per object, that CLI output, statuses, metrics
//! and logs all read (as Flux's ssa ChangeSet does).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened (or would happen) to one object on one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
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

impl Outcome {
    /// Lowercase name used in output and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Pruned => "pruned",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
