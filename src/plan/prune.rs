//! Planning the prune of one inventory entry that is no longer rendered:
//! gone already → nothing; detached, relabelled or another app's → `skip`
//! (never deleted); otherwise `prune`, with the live object for the diff.

use super::cache::LiveCache;
use super::compute::{change, read};
use super::mask::mask;
use super::normalize::normalize;
use super::{Action, Change};
use crate::cluster::{ClusterApi, ClusterError};
use crate::object::{is_detached, is_managed, label, ObjectRef, LABEL_APP};

/// The prune change for `id` of `app`, if there is anything to prune.
pub(super) async fn plan_prune(
    api: &dyn ClusterApi,
    cache: &LiveCache,
    app: &str,
    id: &ObjectRef,
) -> Result<Option<Change>, ClusterError> {
    let mut c = change(Action::Prune, app, id);
    // A metadata-only cache cannot show the diff: read the body.
    let found = match cache.has_body(id) {
        true => read(api, cache, id).await,
        false => api.get(id).await,
    };
    let live = match found {
        Ok(Some(live)) => live,
        Ok(None) | Err(ClusterError::UnknownKind { .. }) => return Ok(None),
        Err(ClusterError::WrongScope { message, .. }) => {
            c.action = Action::Skip;
            c.reason = Some(format!("inventory entry refused, not pruned: {message}"));
            return Ok(Some(c));
        }
        Err(e) => return Err(e),
    };
    if is_detached(&live) {
        c.action = Action::Skip;
        c.reason = Some("detached (tranche.dev/detach: \"true\"); not pruned".into());
    } else if !is_managed(&live) || label(&live, LABEL_APP).is_some_and(|o| o != app) {
        c.action = Action::Skip;
        c.reason = Some("no longer managed by tranche for this app; not pruned".into());
    } else {
        c.live = Some(mask(&normalize(&live, &[])));
    }
    Ok(Some(c))
}
