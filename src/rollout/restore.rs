//! What a cluster is restored to in a rollback, the one rule for the
//! executor and for shard replicas: the rendering, policies and kinds of
//! the commit it ran before, or — when it ran nothing of tranche's — an
//! empty rendering with the built-in policies, so that planning it prunes
//! tranche's objects.

use crate::kinds::KindTable;
use crate::model::Policies;
use crate::render::Rendering;
use crate::revision::{short, Revision, RevisionError};
use std::collections::BTreeMap;

/// The rendering, policies and kind table a cluster is restored to.
pub type RestoreTarget = (Rendering, Policies, KindTable);

/// The target for `to` (`None`: nothing), reading commits with `read`;
/// `Err` says why it cannot be read (`cannot read commit abc1234: …`).
pub fn restore_target(
    to: Option<&str>,
    read: impl FnOnce(&str) -> Result<Revision, RevisionError>,
) -> Result<RestoreTarget, String> {
    match to {
        Some(commit) => match read(commit) {
            Ok(rev) => Ok((rev.rendering, rev.fleet.policies, rev.fleet.kinds)),
            Err(e) => Err(format!(
                "cannot read commit {}: {}",
                short(commit),
                e.first_problem()
            )),
        },
        None => Ok((
            Rendering {
                commit: String::new(),
                clusters: BTreeMap::new(),
            },
            crate::model::load::builtin_policies(),
            KindTable::default(),
        )),
    }
}
