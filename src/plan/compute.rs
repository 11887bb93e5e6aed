//! Computing one cluster's plan: the only part of planning that talks to a
//! cluster (get, list inventories, server-side dry-run apply).
//!
//! Rules, in order, for each rendered object: its kind's scope on this
//! cluster (the CRD this rendering ships, else discovery) does not fit its
//! namespace, or the AccessPolicy refuses it with that scope → `forbidden`
//! (never sent); absent → `create`; detached → `skip`; present
//! but not tranche's (no managed-by label and not in the app's inventory) or
//! another app's → `forbidden` (never taken over silently); otherwise the
//! dry-run result is compared with live → `update` or `unchanged`, except
//! that an object whose rendering and live fingerprint both still match
//! what its inventory remembers is `unchanged` with no request at all
//! ([`super::fingerprint`]; a Secret, which no inventory remembers, when
//! the connection remembers it in memory, [`ClusterApi::recalls_unchanged`]).
//! Live objects come from one list per kind ([`super::cache`], in the
//! daemon from watches, metadata only: a changed object is then read
//! whole with a GET); what the lists do not hold is read with a GET. Then
//! inventory objects no longer rendered → `prune` (only if tranche manages
//! them and they are not detached). Fields a `WorkloadKind` retains take
//! their live values before the dry-run ([`super::retain`]).

use super::cache::LiveCache;
use super::diff::{compare, unified};
use super::fingerprint::Applied;
use super::mask::mask;
use super::normalize::normalize;
use super::{Action, Change, ClusterPlan, Plan};
use crate::cluster::bounded::map_bounded;
use crate::cluster::{ApplyOptions, ClusterApi, ClusterError};
use crate::inventory::{self, Inventory};
use crate::kinds::{crd_declares, KindTable, Scope};
use crate::model::AccessRequest;
use crate::model::Policies;
use crate::object::{is_detached, is_managed, label, ObjectRef, LABEL_APP};
use crate::render::{ClusterRendering, RenderedObject, Rendering};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

type Key = (String, String, Option<String>, String);

/// Plans one cluster. Never fails as a whole: an unreachable cluster gives
/// `reachable: false`, any other cluster-level error fills `error`.
pub async fn plan_cluster(
    api: &dyn ClusterApi,
    rendering: &ClusterRendering,
    policies: &Policies,
) -> ClusterPlan {
    let name = api.name().to_string();
    // The ping goes beside the first reads instead of a round trip before
    // them; an unreachable cluster is still reported as such.
    let (pinged, planned) = futures::join!(api.ping(), plan_reachable(api, rendering, policies));
    if let Err(e) = pinged {
        return ClusterPlan::unreachable(&name, e.to_string());
    }
    match planned {
        Ok(plan) => plan,
        Err(e) if e.is_unreachable() => ClusterPlan::unreachable(&name, e.to_string()),
        Err(e) => ClusterPlan::failed(&name, e.to_string()),
    }
}

async fn plan_reachable(
    api: &dyn ClusterApi,
    rendering: &ClusterRendering,
    policies: &Policies,
) -> Result<ClusterPlan, ClusterError> {
    let crd_kinds = crd_kinds(rendering);
    // Objects are planned concurrently, as many as the cluster takes at
    // once; results keep rendering order.
    let at_once = api.max_in_flight().max(1);
    let objects: Vec<(&String, &RenderedObject)> = rendering
        .apps
        .iter()
        .flat_map(|(app, r)| r.objects.iter().map(move |o| (app, o)))
        .collect();
    let desired_keys: BTreeSet<Key> = objects.iter().map(|(_, o)| o.id.group_kind_key()).collect();
    // The inventories and the rendered kinds are listed at once; kinds
    // only an inventory names (objects to prune) are listed after.
    let (state, mut cache) = futures::join!(
        inventory::read_state(api),
        LiveCache::warm(api, objects.iter().map(|(_, o)| &o.id))
    );
    let state = state?;
    let inventories = state.inventories;
    cache
        .widen(api, inventories.values().flat_map(|i| &i.objects))
        .await;
    let (inventories_ref, crd_ref) = (&inventories, &crd_kinds);
    let cache = &cache;
    let planned = map_bounded(objects, at_once, |(app, obj)| {
        let inv = inventories_ref.get(app);
        plan_object(api, cache, app, obj, inv, crd_ref, policies)
    })
    .await
    .into_iter()
    .collect::<Result<Vec<(Change, Option<Applied>)>, ClusterError>>()?;
    let mut applied = BTreeMap::new();
    let mut changes = Vec::with_capacity(planned.len());
    for (change, seen) in planned {
        if let Some(seen) = seen {
            applied.insert(change.id(), seen);
        }
        changes.push(change);
    }
    let gone: Vec<(&String, &ObjectRef)> = inventories
        .iter()
        .flat_map(|(app, inv)| inv.objects.iter().map(move |id| (app, id)))
        .filter(|(_, id)| !desired_keys.contains(&id.group_kind_key()))
        .collect();
    let mut prunes: Vec<Change> = map_bounded(gone, at_once, |(app, id)| {
        super::prune::plan_prune(api, cache, app, id)
    })
    .await
    .into_iter()
    .collect::<Result<Vec<Option<Change>>, ClusterError>>()?
    .into_iter()
    .flatten()
    .collect();
    let kinds = KindTable::builtin();
    prunes.sort_by_key(|c| {
        let id = c.id();
        std::cmp::Reverse(kinds.apply_rank(id.group(), &id.kind))
    });
    changes.extend(prunes);
    let needs_sync = inventories.values().any(|i| i.pending.is_some());
    Ok(ClusterPlan {
        name: api.name().to_string(),
        reachable: true,
        error: None,
        changes,
        inventories,
        needs_sync,
        cluster_commit: state.commit,
        applied,
    })
}

/// (group, kind) pairs defined by CRDs in this rendering, with the scope
/// they declare: their objects may not be servable yet, and are then
/// planned as creates.
fn crd_kinds(rendering: &ClusterRendering) -> BTreeMap<(String, String), Scope> {
    rendering
        .apps
        .values()
        .flat_map(|a| &a.objects)
        .filter_map(|o| crd_declares(&o.object))
        .map(|(group, kind, scope)| ((group, kind), scope))
        .collect()
}

/// The scope of `id`'s kind on this cluster: what a CRD of this rendering
/// declares, else what the cluster serves (discovery). A cluster that
/// cannot tell (a directory cluster without a CRD for the kind) keeps the
/// scope the object gives, which validation settled with the fleet's kind
/// table.
async fn scope_on(
    api: &dyn ClusterApi,
    id: &ObjectRef,
    crd_kinds: &BTreeMap<(String, String), Scope>,
) -> Result<Scope, ClusterError> {
    if let Some(scope) = crd_kinds.get(&(id.group().to_string(), id.kind.clone())) {
        return Ok(*scope);
    }
    Ok(match api.scope(&id.api_version, &id.kind).await? {
        Some(scope) => scope,
        None if id.namespace.is_some() => Scope::Namespaced,
        None => Scope::Cluster,
    })
}

/// Why `id` does not fit `scope`, if it does not.
fn scope_mismatch(id: &ObjectRef, scope: Scope) -> Option<String> {
    match (scope, &id.namespace) {
        (Scope::Cluster, Some(ns)) => Some(format!(
            "{} is cluster-scoped on this cluster but the object sets namespace {ns:?}; tranche \
             never moves an object to another scope",
            id.kind
        )),
        (Scope::Namespaced, None) => Some(format!(
            "{} is namespaced on this cluster but the object sets no namespace",
            id.kind
        )),
        _ => None,
    }
}

pub(super) fn change(action: Action, app: &str, id: &ObjectRef) -> Change {
    Change {
        action,
        api_version: id.api_version.clone(),
        kind: id.kind.clone(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        app: app.to_string(),
        patch: None,
        reason: None,
        live: None,
        desired: None,
        object: None,
    }
}

/// Reads one object: from the cache if it holds it (or knows it absent),
/// else with a GET.
pub(super) async fn read(
    api: &dyn ClusterApi,
    cache: &LiveCache,
    id: &ObjectRef,
) -> Result<Option<Value>, ClusterError> {
    match cache.get(id) {
        Some(live) => Ok(Some(live.clone())),
        None if cache.known_absent(id) => Ok(None),
        None => api.get(id).await,
    }
}

/// Plans one object; with it, what the object is known to look like when
/// the plan finds it unchanged (for the inventory to remember).
async fn plan_object(
    api: &dyn ClusterApi,
    cache: &LiveCache,
    app: &str,
    obj: &RenderedObject,
    inv: Option<&Inventory>,
    crd_kinds: &BTreeMap<(String, String), Scope>,
    policies: &Policies,
) -> Result<(Change, Option<Applied>), ClusterError> {
    let id = &obj.id;
    let mut c = change(Action::Create, app, id);
    let scope = scope_on(api, id, crd_kinds).await?;
    if let Some(reason) = scope_mismatch(id, scope) {
        c.action = Action::Forbidden;
        c.reason = Some(reason);
        return Ok((c, None));
    }
    let request = AccessRequest::of(id, scope);
    if let Some(reason) = policies.access.for_app(app).denial(&request) {
        c.action = Action::Forbidden;
        c.reason = Some(format!("AccessPolicy for app {app}: {reason}"));
        return Ok((c, None));
    }
    let live = match read(api, cache, id).await {
        Ok(live) => live,
        Err(ClusterError::UnknownKind { .. })
            if crd_kinds.contains_key(&(id.group().to_string(), id.kind.clone())) =>
        {
            None
        }
        Err(ClusterError::Forbidden { message, .. }) => {
            c.action = Action::Forbidden;
            c.reason = Some(format!("RBAC: {message}"));
            return Ok((c, None));
        }
        Err(e) => return Err(e),
    };
    let ignore = &policies.diff.ignore;
    let Some(live) = live else {
        c.desired = Some(mask(&normalize(&obj.object, ignore)));
        c.object = Some(obj.object.clone());
        return Ok((c, None));
    };
    if is_detached(&live) {
        c.action = Action::Skip;
        c.reason = Some("detached (tranche.dev/detach: \"true\")".into());
        return Ok((c, None));
    }
    let in_inventory = inv.is_some_and(|i| {
        i.objects
            .iter()
            .any(|o| o.group_kind_key() == id.group_kind_key())
    });
    if !is_managed(&live) && !in_inventory {
        c.action = Action::Forbidden;
        c.reason = Some(
            "exists and is not managed by tranche; to hand it over, label it \
             app.kubernetes.io/managed-by=tranche"
                .into(),
        );
        return Ok((c, None));
    }
    if let Some(owner) = label(&live, LABEL_APP).filter(|o| *o != app) {
        c.action = Action::Forbidden;
        c.reason = Some(format!("belongs to app {owner} on this cluster"));
        return Ok((c, None));
    }
    // Nothing changed on either side since tranche last saw it: no request.
    let remembered = inv.and_then(|i| i.applied.get(id));
    if let Some(seen) = remembered.filter(|r| r.still_holds(&obj.object, &live)) {
        c.action = Action::Unchanged;
        c.object = Some(obj.object.clone());
        return Ok((c, Some(seen.clone())));
    }
    if api.recalls_unchanged(id, &obj.object, &live) {
        c.action = Action::Unchanged;
        c.object = Some(obj.object.clone());
        return Ok((c, None));
    }
    // Only metadata came from the watch: the diff needs the whole object.
    let live = match cache.has_body(id) {
        true => live,
        false => match api.get(id).await? {
            Some(live) => live,
            None => {
                c.desired = Some(mask(&normalize(&obj.object, ignore)));
                c.object = Some(obj.object.clone());
                return Ok((c, None));
            }
        },
    };
    let opts = ApplyOptions {
        dry_run: true,
        force: policies.rollout.force_conflicts,
    };
    let retained = policies
        .workload_kinds
        .iter()
        .find(|w| w.group == id.group() && w.kind == id.kind)
        .filter(|w| !w.info.retain.is_empty())
        .map(|w| super::retain::retain(&obj.object, &live, &w.info.retain));
    let object = retained.as_ref().unwrap_or(&obj.object);
    c.object = Some(object.clone());
    let mut seen = None;
    match api.apply(object, opts).await {
        Ok(desired) => {
            let d = compare(&live, &desired, ignore);
            c.action = if d.is_unchanged() {
                seen = Applied::of(&obj.object, &live);
                api.remember_unchanged(id, &obj.object, &live);
                Action::Unchanged
            } else {
                Action::Update
            };
            if !d.is_unchanged() {
                c.patch = Some(d.patch);
                c.live = Some(d.live);
                c.desired = Some(d.desired);
            }
        }
        Err(ClusterError::Forbidden { message, .. }) => {
            c.action = Action::Forbidden;
            c.reason = Some(format!("RBAC: {message}"));
            c.object = None;
        }
        Err(e) if e.is_unreachable() => return Err(e),
        Err(e) => {
            c.action = Action::Update;
            c.reason = Some(super::mask::redact_values(
                &format!("server-side dry-run failed: {e}"),
                object,
            ));
        }
    }
    Ok((c, seen))
}

/// Unified diff text of one change (create: all `+`, prune: all `-`).
pub fn change_diff(c: &Change) -> String {
    unified(c.live.as_ref(), c.desired.as_ref(), 3)
}

/// Connections to clusters by name; a failed connection is kept as its error.
pub type Connections = BTreeMap<String, Result<Arc<dyn ClusterApi>, ClusterError>>;

/// What cluster `name` should run at `rendering`: its rendering, or
/// nothing when no app is placed there.
pub fn desired(rendering: &Rendering, name: &str) -> ClusterRendering {
    rendering
        .clusters
        .get(name)
        .cloned()
        .unwrap_or_else(|| ClusterRendering {
            cluster: name.to_string(),
            apps: BTreeMap::new(),
        })
}

/// Plans `names` against `rendering`, at most `parallel` at once, in the
/// order given. A cluster without a connection (or whose connection
/// failed) is `reachable: false`. The one way every caller plans clusters:
/// `plan`, the rollout's planning and batches, and rollbacks.
pub async fn plan_clusters(
    connections: &Connections,
    names: &[String],
    rendering: &Rendering,
    policies: &Policies,
    parallel: usize,
) -> Vec<ClusterPlan> {
    futures::stream::iter(names)
        .map(|name| async move {
            match connections.get(name) {
                Some(Ok(api)) => {
                    plan_cluster(api.as_ref(), &desired(rendering, name), policies).await
                }
                Some(Err(e)) => ClusterPlan::unreachable(name, e.to_string()),
                None => ClusterPlan::unreachable(name, "not connected".into()),
            }
        })
        .buffered(parallel.max(1))
        .collect()
        .await
}

/// Plans every connected cluster concurrently (at most `parallel` at once).
pub async fn plan_fleet(
    connections: &Connections,
    rendering: &Rendering,
    policies: &Policies,
    parallel: usize,
) -> Plan {
    let names: Vec<String> = connections.keys().cloned().collect();
    Plan {
        commit: rendering.commit.clone(),
        clusters: plan_clusters(connections, &names, rendering, policies, parallel).await,
    }
}
