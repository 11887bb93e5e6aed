//! Applying one cluster's plan: server-side apply in apply order, one
//! wave per rank (Namespaces, then CRDs, waiting for them to be
//! Established, then the rest; module [`waves`]), each wave sent
//! concurrently up to the cluster's in-flight bound (a free slot is
//! refilled at once, [`map_bounded`]); prune last, with the app
//! inventories written so that a crash at any point never leaves an object
//! tranche created untracked:
//!
//! 1. before any write, one journal in the cluster record: `pending:
//!    <commit>` and, per app written, old ∪ new objects
//!    ([`inventory::Journal`]);
//! 2. create/update objects;
//! 3. if all succeeded: prune old − new, then inventory := new objects,
//!    `commit: <commit>` per app, then the cluster record := `<commit>`
//!    with no journal (one write).
//!
//! A failure stops before pruning and leaves the journal, so the apps read
//! as pending: the next plan of this cluster is never empty and a rollback
//! can finish. The record settles last and in one write, so a failed
//! record write also leaves them pending: a settled cluster's record always
//! says what it runs (a stale one would make a later rollback restore the
//! wrong commit). A journal too large for the record (over
//! [`inventory::JOURNAL_LIMIT`]) is replaced by one pending inventory per
//! app, and the record is then written before the inventories settle. A
//! rollback to nothing removes the record; an apply with no object to
//! change still corrects a record that says otherwise.

mod crd;
mod report;
pub mod waves;

pub use report::{ClusterReport, ObjectResult};

use crate::cluster::bounded::map_bounded;
use crate::cluster::{ApplyOptions, ClusterApi, ClusterError};
use crate::inventory::{self, Inventory};
use crate::kinds::KindTable;
use crate::model::RolloutPolicy;
use crate::object::ObjectRef;
use crate::outcome::ObjectOutcome;
use crate::plan::fingerprint::Applied;
use crate::plan::{Action, Change, ClusterPlan};
use std::collections::{BTreeMap, BTreeSet};
use waves::{prune_waves, write_waves};

/// Applies `plan` (computed for `commit`) to its cluster. Never panics and
/// never returns early without a report: every change gets a result. An
/// empty `commit` means "no commit" (a rollback to before tranche managed
/// the cluster): the cluster record is then removed.
pub async fn apply_cluster(
    api: &dyn ClusterApi,
    plan: &ClusterPlan,
    commit: &str,
    policy: &RolloutPolicy,
) -> ClusterReport {
    let mut report = ClusterReport::new(&plan.name, commit);
    if !plan.reachable {
        report.error = Some(plan.error.clone().unwrap_or_else(|| "unreachable".into()));
        report.reachable = false;
        return report;
    }
    if let Some(e) = &plan.error {
        report.error = Some(e.clone());
        return report;
    }
    if plan.is_empty() {
        report.results = plan
            .changes
            .iter()
            .map(|c| result(c, ObjectOutcome::Unchanged, None))
            .collect();
        if let Err(e) = settle_record(api, plan, commit).await {
            report.fail_cluster(&e);
        }
        return report;
    }
    let (new_sets, apps) = desired_sets(plan);
    // Only apps that change (or whose inventory is unsettled) are written.
    let apps: BTreeSet<String> = apps
        .into_iter()
        .filter(|a| needs_write(plan, a, &new_sets))
        .collect();
    // `tranche-system` exists when the plan read tranche's state there; a
    // round trip is spent on it only for a cluster new to tranche.
    let system_known = plan.cluster_commit.is_some() || !plan.inventories.is_empty();
    if !system_known {
        if let Err(e) = inventory::ensure_namespace(api).await {
            report.fail_cluster(&e);
            return report;
        }
    }
    // 1. Track everything before writing anything (apps concurrently).
    let pending: Vec<Inventory> = apps
        .iter()
        .map(|app| {
            let old = plan.inventories.get(app);
            let mut objects: BTreeSet<ObjectRef> =
                old.map(|i| i.objects.clone()).unwrap_or_default();
            objects.extend(new_sets.get(app).cloned().unwrap_or_default());
            Inventory {
                app: app.clone(),
                commit: old.and_then(|i| i.commit.clone()),
                pending: Some(commit.to_string()),
                objects,
                applied: old.map(|i| i.applied.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let at_once = api.max_in_flight().max(1);
    let journaled = match track(api, plan, &pending, commit, system_known).await {
        Ok(journaled) => journaled,
        Err(e) => {
            report.fail_cluster(&e);
            return report;
        }
    };
    // 2. Create and update, a wave per apply rank, each wave concurrently.
    let kinds = KindTable::builtin();
    let force = policy.force_conflicts;
    // What each object looks like now: as written, or as the plan found it.
    let mut applied = plan.applied.clone();
    for wave in write_waves(&plan.changes, kinds) {
        let answers = map_bounded(wave, at_once, |c| async move {
            (c, apply_change(api, c, force).await)
        })
        .await;
        let mut lost = None;
        for (c, (outcome, error, stored)) in answers {
            if let Some(stored) = stored {
                applied.insert(c.id(), stored);
            }
            if lost.is_none() && error.as_ref().is_some_and(|e| e.is_unreachable()) {
                lost = Some(c.id());
            }
            report
                .results
                .push(result(c, outcome, error.as_ref().map(|e| e.to_string())));
        }
        if let Some(id) = lost {
            report.reachable = false;
            report.error = Some(format!("cluster became unreachable while applying {id}"));
            return report;
        }
    }
    if report.has_failures() {
        report.error = Some(format!(
            "{} object(s) failed",
            report.count(ObjectOutcome::Failed)
        ));
        return report;
    }
    // 3. Prune (reverse rank waves), then the cluster record, then settle
    // the inventories.
    for wave in prune_waves(&plan.changes, kinds) {
        let answers = map_bounded(
            wave,
            at_once,
            |c| async move { (c, api.delete(&c.id()).await) },
        )
        .await;
        for (c, deleted) in answers {
            report.results.push(match deleted {
                Ok(()) => result(c, ObjectOutcome::Pruned, None),
                Err(e) => result(c, ObjectOutcome::Failed, Some(e.to_string())),
            });
        }
    }
    if report.has_failures() {
        report.error = Some(format!(
            "{} prune(s) failed",
            report.count(ObjectOutcome::Failed)
        ));
        return report;
    }
    // Without a journal the record goes first: the pending inventories
    // then settle, each in its own write.
    if !journaled {
        if let Err(e) = record(api, commit).await {
            report.fail_cluster(&e);
            return report;
        }
    }
    let applied = &applied;
    let settled = map_bounded(&apps, at_once, |app| {
        let objects = new_sets.get(app).cloned().unwrap_or_default();
        let applied = objects
            .iter()
            .filter_map(|id| Some((id.clone(), applied.get(id)?.clone())))
            .collect();
        async move {
            if objects.is_empty() {
                inventory::remove(api, app).await
            } else {
                let inv = Inventory {
                    app: app.clone(),
                    commit: Some(commit.into()),
                    pending: None,
                    objects,
                    applied,
                };
                inventory::write(api, &inv).await
            }
        }
    })
    .await;
    if let Some(Err(e)) = settled.into_iter().find(Result::is_err) {
        report.fail_cluster(&e);
        return report;
    }
    if journaled {
        if let Err(e) = record(api, commit).await {
            report.fail_cluster(&e);
        }
    }
    report
}

/// Step 1: tracks every object the apply may create before it writes any,
/// in one journal when it fits in the cluster record (`Ok(true)`), else in
/// one pending inventory per app (`Ok(false)`). When the namespace was
/// taken to exist (`system_known`) and the journal write fails, the
/// namespace is made sure of and the journal written once more (it may have
/// been deleted since the plan).
async fn track(
    api: &dyn ClusterApi,
    plan: &ClusterPlan,
    pending: &[Inventory],
    commit: &str,
    system_known: bool,
) -> Result<bool, ClusterError> {
    if pending.is_empty() {
        return Ok(false);
    }
    let journal = inventory::Journal::of(pending, commit);
    let completed = plan.cluster_commit.as_deref();
    let written = match inventory::write_journal(api, &journal, completed).await {
        Err(e) if system_known && !e.is_unreachable() => {
            tracing::debug!(cluster = api.name(), error = %e, "journal write failed; making sure of tranche-system");
            inventory::ensure_namespace(api).await?;
            inventory::write_journal(api, &journal, completed).await?
        }
        written => written?,
    };
    if written {
        return Ok(true);
    }
    let at_once = api.max_in_flight().max(1);
    let tracked = map_bounded(pending, at_once, |inv| inventory::write(api, inv)).await;
    tracked.into_iter().find(Result::is_err).unwrap_or(Ok(()))?;
    Ok(false)
}

/// The cluster record := `commit` (removed for an empty one), ending any
/// journal.
async fn record(api: &dyn ClusterApi, commit: &str) -> Result<(), ClusterError> {
    if commit.is_empty() {
        inventory::clear_cluster_commit(api).await
    } else {
        inventory::set_cluster_commit(api, commit).await
    }
}

/// Makes the cluster record say `commit` (none for an empty one) when the
/// plan found it saying something else; writes nothing when it agrees.
async fn settle_record(
    api: &dyn ClusterApi,
    plan: &ClusterPlan,
    commit: &str,
) -> Result<(), crate::cluster::ClusterError> {
    match (commit.is_empty(), plan.cluster_commit.as_deref()) {
        (true, None) => Ok(()),
        (true, Some(_)) => inventory::clear_cluster_commit(api).await,
        (false, Some(c)) if c == commit => Ok(()),
        (false, _) => {
            inventory::ensure_namespace(api).await?;
            inventory::set_cluster_commit(api, commit).await
        }
    }
}

/// Whether `app`'s inventory must be written by this apply: one of its
/// objects changes, its inventory is missing or unfinished, or the set of
/// objects it tracks changes (e.g. an object was detached).
fn needs_write(
    plan: &ClusterPlan,
    app: &str,
    new_sets: &BTreeMap<String, BTreeSet<ObjectRef>>,
) -> bool {
    let mutates = plan
        .changes
        .iter()
        .any(|c| c.app == app && c.action.mutates());
    let tracked = plan.inventories.get(app);
    let unsettled = tracked.is_none_or(|i| i.pending.is_some());
    let empty = BTreeSet::new();
    let differs = tracked.map(|i| &i.objects) != Some(new_sets.get(app).unwrap_or(&empty));
    // Objects confirmed unchanged that the inventory does not remember yet.
    let unremembered = tracked.is_some_and(|i| {
        plan.applied
            .iter()
            .any(|(id, seen)| i.objects.contains(id) && i.applied.get(id) != Some(seen))
    });
    mutates || unsettled || differs || unremembered
}

/// Objects each app should track after this commit (created, updated or
/// unchanged; never skipped/forbidden ones), and every app involved
/// (rendered now or holding an inventory).
fn desired_sets(plan: &ClusterPlan) -> (BTreeMap<String, BTreeSet<ObjectRef>>, BTreeSet<String>) {
    let mut sets: BTreeMap<String, BTreeSet<ObjectRef>> = BTreeMap::new();
    let mut apps: BTreeSet<String> = plan.inventories.keys().cloned().collect();
    for c in &plan.changes {
        apps.insert(c.app.clone());
        if matches!(
            c.action,
            Action::Create | Action::Update | Action::Unchanged
        ) {
            sets.entry(c.app.clone()).or_default().insert(c.id());
        }
    }
    (sets, apps)
}

/// Carries out one change; for a write, also what the stored object looks
/// like (for the inventory to remember).
async fn apply_change(
    api: &dyn ClusterApi,
    c: &Change,
    force: bool,
) -> (ObjectOutcome, Option<ClusterError>, Option<Applied>) {
    match c.action {
        Action::Unchanged => (ObjectOutcome::Unchanged, None, None),
        Action::Skip => (ObjectOutcome::Skipped, None, None),
        Action::Forbidden => (ObjectOutcome::Failed, None, None),
        Action::Prune => (ObjectOutcome::Pruned, None, None),
        Action::Create | Action::Update => {
            let Some(obj) = &c.object else {
                return (ObjectOutcome::Failed, None, None);
            };
            let opts = ApplyOptions {
                dry_run: false,
                force,
            };
            match api.apply(obj, opts).await {
                Ok(stored) => {
                    let seen = Applied::of(obj, &stored);
                    if crate::kinds::is_crd(c.id().group(), &c.kind) {
                        if let Err(e) = crd::wait_established(api, &c.id()).await {
                            return (ObjectOutcome::Failed, Some(e), None);
                        }
                    }
                    (created_or_configured(c), None, seen)
                }
                Err(e) => (ObjectOutcome::Failed, Some(e), None),
            }
        }
    }
}

fn created_or_configured(c: &Change) -> ObjectOutcome {
    if c.action == Action::Create {
        ObjectOutcome::Created
    } else {
        ObjectOutcome::Configured
    }
}

fn result(c: &Change, outcome: ObjectOutcome, error: Option<String>) -> ObjectResult {
    let message = error.or_else(|| {
        (outcome == ObjectOutcome::Failed || outcome == ObjectOutcome::Skipped)
            .then(|| c.reason.clone())
            .flatten()
    });
    // An apiserver message about a Secret may quote one of its values.
    let message = match (&c.object, message) {
        (Some(obj), Some(m)) => Some(crate::plan::mask::redact_values(&m, obj)),
        (_, m) => m,
    };
    ObjectResult {
        app: c.app.clone(),
        id: c.id(),
        outcome,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(app: &str, name: &str, action: Action) -> Change {
        Change {
            action,
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("ns".into()),
            name: name.into(),
            app: app.into(),
            patch: None,
            reason: None,
            live: None,
            desired: None,
            object: None,
        }
    }

    fn settled(app: &str, names: &[&str]) -> Inventory {
        Inventory {
            app: app.into(),
            commit: Some("old".into()),
            pending: None,
            applied: BTreeMap::new(),
            objects: names
                .iter()
                .map(|n| change(app, n, Action::Unchanged).id())
                .collect(),
        }
    }

    #[test]
    fn only_changing_or_unsettled_apps_get_their_inventory_written() {
        let mut plan = ClusterPlan::failed("c", String::new());
        plan.error = None;
        plan.changes = vec![
            change("web", "a", Action::Update),
            change("db", "b", Action::Unchanged),
            change("cache", "c", Action::Unchanged),
            change("new", "d", Action::Unchanged),
        ];
        plan.inventories
            .insert("web".into(), settled("web", &["a"]));
        plan.inventories.insert("db".into(), settled("db", &["b"]));
        let mut cache = settled("cache", &["c"]);
        cache.pending = Some("crashed".into());
        plan.inventories.insert("cache".into(), cache);
        let (sets, apps) = desired_sets(&plan);
        let written: Vec<&String> = apps
            .iter()
            .filter(|a| needs_write(&plan, a, &sets))
            .collect();
        assert_eq!(
            written,
            vec!["cache", "new", "web"],
            "db is settled and unchanged"
        );
    }
}
