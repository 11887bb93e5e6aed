//! Renders a whole fleet, or one cluster.
//!
//! Work that does not depend on the cluster is done once per app
//! (`Prepared`: placement, weights, replica and HPA splits, ordered
//! override rules, policy names); each (app, cluster) pair then costs one
//! clone per object it receives plus the overrides that target it. The
//! output is deterministic: maps are ordered and objects sorted into apply
//! order ([`crate::render::order`]). Every error is collected, not just the
//! first.

use super::{
    check, AppObjects, AppRendering, ClusterRendering, RenderError, RenderedObject, Rendering,
};
use crate::model::{App, Cluster, Fleet, Manifest, ReplicaScheduling};
use crate::object::ObjectRef;
use crate::plan::mask::redact_values;
use crate::render::capacity::app::{app_dynamic_weights, RenderInputs, WeightNote};
use crate::render::hpa::set_bounds;
use crate::render::migration::Split;
use crate::render::order::sort_objects;
use crate::render::overrides::{ordered_rules, OrderedRule};
use crate::render::placement::placed_clusters_knowing;
use crate::render::split::app_weights;
use crate::render::spread::{source, spread_app, Shape, Spread};
use crate::render::stamp::{policy_name, stamp};
use crate::render::{PolicyName, Scope};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Renders every cluster of the registry (clusters no app is placed on
/// are present with no apps).
pub fn render(fleet: &Fleet) -> Result<Rendering, Vec<RenderError>> {
    render_with(fleet, &RenderInputs::default()).map(|(r, _)| r)
}

/// Failed-over clusters per app (from the failover state): their share of
/// the app's replicas is split over the app's other clusters.
pub type Failed = BTreeMap<String, BTreeSet<String>>;

/// [`render`] with some clusters failed over: a failed cluster of an app
/// keeps the app's objects but its weight counts as 0, so Webster splits
/// the whole total over the remaining clusters (the total is kept). An
/// empty `failed` renders git's split.
pub fn render_failover(fleet: &Fleet, failed: &Failed) -> Result<Rendering, Vec<RenderError>> {
    let inputs = RenderInputs {
        failed: failed.clone(),
        ..RenderInputs::default()
    };
    render_with(fleet, &inputs).map(|(r, _)| r)
}

/// [`render`] with what is read beside the model (cluster capacities for
/// `dynamicWeight`); also returns, per app using dynamic weights, why its
/// clusters got their weights.
pub fn render_with(
    fleet: &Fleet,
    inputs: &RenderInputs,
) -> Result<(Rendering, BTreeMap<String, WeightNote>), Vec<RenderError>> {
    render_scoped(fleet, inputs, &Scope::all())
}

/// [`render_with`] for the clusters of `scope` only: apps placed on none
/// of them are not rendered, and the rendering holds only those clusters
/// (equal to the full rendering restricted to them, when that renders).
pub fn render_scoped(
    fleet: &Fleet,
    inputs: &RenderInputs,
    scope: &Scope,
) -> Result<(Rendering, BTreeMap<String, WeightNote>), Vec<RenderError>> {
    render_placed(fleet, &placed(fleet)?, inputs, scope)
}

/// [`render_scoped`], the apps' clusters being `placed`.
pub(super) fn render_placed(
    fleet: &Fleet,
    placed: &BTreeMap<String, BTreeSet<String>>,
    inputs: &RenderInputs,
    scope: &Scope,
) -> Result<(Rendering, BTreeMap<String, WeightNote>), Vec<RenderError>> {
    let mut errors = Vec::new();
    let apps = prepare(
        fleet,
        placed,
        |_, set| scope.touches(set),
        inputs,
        &mut errors,
    );
    let notes = apps
        .iter()
        .filter_map(|a| a.note.clone().map(|n| (a.app.name.clone(), n)))
        .collect();
    let mut duplicates = check::Duplicates::default();
    let clusters = fleet
        .clusters
        .values()
        .filter(|c| scope.contains(&c.name))
        .map(|c| {
            let rendering = render_on(&apps, c, fleet, &mut errors);
            errors.extend(duplicates.check(&rendering));
            (c.name.clone(), rendering)
        })
        .collect();
    if errors.is_empty() {
        Ok((
            Rendering {
                commit: fleet.commit.clone(),
                clusters,
            },
            notes,
        ))
    } else {
        Err(errors)
    }
}

/// Renders one cluster. Placement is still computed for every app (an app
/// may follow others), but splits and overrides only for the apps placed
/// on this cluster; to render many clusters, [`render`] is cheaper.
pub fn render_cluster(fleet: &Fleet, cluster: &str) -> Result<ClusterRendering, Vec<RenderError>> {
    let Some(target) = fleet.clusters.get(cluster) else {
        return Err(vec![RenderError {
            cluster: cluster.to_string(),
            ..RenderError::at(
                "clusters/",
                "metadata.name",
                &format!("cluster {cluster}"),
                "not in the cluster registry (clusters/*.yaml); check the name",
            )
        }]);
    };
    let placed = placed(fleet)?;
    let mut errors = Vec::new();
    let inputs = RenderInputs::default();
    let apps = prepare(
        fleet,
        &placed,
        |_, set| set.contains(cluster),
        &inputs,
        &mut errors,
    );
    let rendering = render_on(&apps, target, fleet, &mut errors);
    errors.extend(check::duplicates(&rendering));
    if errors.is_empty() {
        Ok(rendering)
    } else {
        Err(errors)
    }
}

/// One app's objects as a multi-document YAML stream, in apply order (the
/// content of `tranche render`'s `<dir>/<cluster>/<app>.yaml`).
pub fn rendering_to_yaml(app: &AppRendering) -> String {
    let values: Vec<Value> = app.objects.iter().map(|o| o.object.clone()).collect();
    crate::yaml::to_documents(&values)
}

/// What an app needs on any cluster, worked out once.
pub(super) struct Prepared<'a> {
    pub(super) app: &'a App,
    pub(super) clusters: &'a BTreeSet<String>,
    inventory: PolicyName,
    objects: Vec<PreparedObject<'a>>,
    rules: Vec<OrderedRule<'a>>,
    /// Why the clusters got their weights (dynamic weights only).
    pub(super) note: Option<WeightNote>,
    /// The object lists rendered so far, by what makes one cluster's copy
    /// differ from another's; clusters with the same variant share a list.
    variants: RefCell<HashMap<Variant, AppObjects>>,
}

/// What one cluster's copy of an app depends on besides the app itself:
/// the shape of each object there (`None`: no copy) and the override
/// rules (indices into `Prepared::rules`) that target the cluster.
/// Overrides read the cluster only to name it in errors, so two clusters
/// with the same variant get the same objects.
type Variant = (Vec<Option<Shape>>, Vec<usize>);

/// One manifest with its identity, spread and policy name.
struct PreparedObject<'a> {
    manifest: &'a Manifest,
    id: ObjectRef,
    /// `Kind ns/name`, for errors.
    label: String,
    spread: Spread,
    policy: PolicyName,
    source: String,
}

pub(super) fn placed(
    fleet: &Fleet,
) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<RenderError>> {
    placed_knowing(fleet, BTreeMap::new())
}

/// [`placed`] with some apps' clusters known
/// ([`crate::render::placement::placed_clusters_knowing`]).
pub(super) fn placed_knowing(
    fleet: &Fleet,
    known: BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeMap<String, BTreeSet<String>>, Vec<RenderError>> {
    placed_clusters_knowing(fleet, known)
        .map_err(|errors| errors.iter().map(|e| e.to_render_error()).collect())
}

/// Prepares the apps whose name and cluster set pass `wanted`; apps that
/// cannot be prepared add their errors and are left out.
pub(super) fn prepare<'a>(
    fleet: &'a Fleet,
    placed: &'a BTreeMap<String, BTreeSet<String>>,
    wanted: impl Fn(&str, &BTreeSet<String>) -> bool,
    inputs: &RenderInputs,
    errors: &mut Vec<RenderError>,
) -> Vec<Prepared<'a>> {
    let mut out = Vec::new();
    for (name, app) in &fleet.apps {
        let Some(clusters) = placed.get(name).filter(|set| wanted(name, set)) else {
            continue;
        };
        let mut note = None;
        let weights = match &app.placement.replicas {
            ReplicaScheduling::Divided { weights } => {
                // A migration's trimmed side keeps its weight in the split.
                let mut selected = clusters.clone();
                if let Some(m) = &app.placement.migration {
                    selected.extend(m.from.iter().chain(&m.to).cloned());
                }
                note = match app_dynamic_weights(app, &selected, inputs, &fleet.kinds) {
                    Ok(n) => n,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                let mut weights = match note.as_ref().and_then(|n| n.dynamic.as_ref()) {
                    Some(d) => d.weights.clone(),
                    None => app_weights(&selected, weights, &fleet.clusters),
                };
                for down in inputs.failed.get(name).into_iter().flatten() {
                    if let Some(w) = weights.get_mut(down) {
                        *w = 0;
                    }
                }
                Some(Split {
                    weights,
                    migration: app.placement.migration.clone(),
                })
            }
            ReplicaScheduling::Duplicated => None,
        };
        let spread = spread_app(app, weights.as_ref(), &fleet.kinds);
        let rules = ordered_rules(app);
        let (spread, rules) = match (spread, rules) {
            (Ok(spread), Ok(rules)) => (spread, rules),
            (spread, rules) => {
                errors.extend(spread.err().into_iter().flatten());
                errors.extend(rules.err().into_iter().flatten());
                continue;
            }
        };
        let objects = app
            .manifests
            .iter()
            .zip(spread)
            .map(|(manifest, (id, spread))| PreparedObject {
                policy: policy_name(name, &id, &manifest.object, &fleet.kinds),
                label: id.to_string(),
                source: source(manifest),
                manifest,
                id,
                spread,
            })
            .collect();
        out.push(Prepared {
            app,
            clusters,
            inventory: PolicyName::for_app(name),
            objects,
            rules,
            note,
            variants: RefCell::default(),
        });
    }
    out
}

/// Renders every prepared app placed on `cluster` (the caller checks
/// for duplicates).
fn render_on(
    apps: &[Prepared<'_>],
    cluster: &Cluster,
    fleet: &Fleet,
    errors: &mut Vec<RenderError>,
) -> ClusterRendering {
    let apps = apps
        .iter()
        .filter(|p| p.clusters.contains(&cluster.name))
        .map(|p| (p.app.name.clone(), render_app(p, cluster, fleet, errors)))
        .collect();
    ClusterRendering {
        cluster: cluster.name.clone(),
        apps,
    }
}

/// One app on one cluster. Objects that overrides touched are checked
/// again ([`check::overridden`]); a refused one is left out (and reported).
/// A cluster whose variant was rendered before without errors shares that
/// list ([`AppObjects`]).
pub(super) fn render_app(
    p: &Prepared<'_>,
    cluster: &Cluster,
    fleet: &Fleet,
    errors: &mut Vec<RenderError>,
) -> AppRendering {
    let shapes = p
        .objects
        .iter()
        .map(|o| o.spread.on(&cluster.name))
        .collect();
    let targeting = (p.rules.iter().enumerate())
        .filter(|(_, r)| r.targets(cluster))
        .map(|(i, _)| i)
        .collect();
    let variant: Variant = (shapes, targeting);
    let known = p.variants.borrow().get(&variant).cloned();
    let objects = match known {
        Some(objects) => objects,
        None => {
            let first_error = errors.len();
            let objects = render_variant(p, &variant, cluster, fleet, errors);
            // A list rendered with errors names its cluster in them: every
            // cluster of that variant renders (and reports) on its own.
            if errors.len() == first_error {
                p.variants.borrow_mut().insert(variant, objects.clone());
            }
            objects
        }
    };
    AppRendering {
        app: p.app.name.clone(),
        inventory: p.inventory.clone(),
        objects,
    }
}

/// The objects of `variant` (on `cluster`, named in errors).
fn render_variant(
    p: &Prepared<'_>,
    (shapes, targeting): &Variant,
    cluster: &Cluster,
    fleet: &Fleet,
    errors: &mut Vec<RenderError>,
) -> AppObjects {
    let kinds = &fleet.kinds;
    let checker = check::Checker::new(fleet, &p.app.name);
    let rules: Vec<&OrderedRule<'_>> = targeting.iter().filter_map(|i| p.rules.get(*i)).collect();
    let mut objects = Vec::with_capacity(p.objects.len());
    for (o, shape) in p.objects.iter().zip(shapes) {
        let Some(shape) = *shape else {
            continue;
        };
        let (group, kind) = (o.id.group(), o.id.kind.as_str());
        let replicas = kinds.replicas_pointer(group, kind);
        let start = || {
            let mut value = o.manifest.object.clone();
            reshape(&mut value, shape, replicas);
            value
        };
        let mut value = start();
        let applied: Vec<&OrderedRule<'_>> =
            rules.iter().copied().filter(|r| r.selects(&o.id)).collect();
        let id = if applied.is_empty() {
            o.id.clone()
        } else {
            let pod_spec = kinds.pod_spec_pointer(group, kind);
            let first_error = errors.len();
            for rule in &applied {
                rule.apply(&mut value, pod_spec, &cluster.name, &o.label, errors);
            }
            let touched = check::Overridden {
                manifest: o.manifest,
                original: &o.id,
                label: &o.label,
                rules: &applied,
                pod_spec,
            };
            let ok = check::overridden(&checker, &touched, start, &cluster.name, &value, errors);
            redact_secret_values(&mut errors[first_error..], &o.manifest.object, &value);
            match ObjectRef::from_object(&value).filter(|_| ok) {
                Some(id) => id,
                None => continue,
            }
        };
        stamp(&mut value, &p.app.name, &o.policy, &fleet.commit);
        objects.push(RenderedObject {
            id,
            policy: o.policy.clone(),
            object: value,
            source: o.source.clone(),
        });
    }
    sort_objects(&mut objects, kinds);
    objects.into()
}

/// Errors about a Secret never quote its values, whatever an overrider
/// put in the message (before or after the overrides ran).
fn redact_secret_values(errors: &mut [RenderError], before: &Value, after: &Value) {
    for e in errors {
        for obj in [before, after] {
            e.message = redact_values(&e.message, obj);
        }
    }
}

/// Gives a copy the replica count (at `replicas`, the kind's replica
/// pointer) or HPA bounds of its cluster.
fn reshape(obj: &mut Value, shape: Shape, replicas: Option<&str>) {
    match (shape, replicas) {
        (Shape::Unchanged, _) | (Shape::NoReplicas | Shape::Replicas(_), None) => {}
        (Shape::NoReplicas, Some(pointer)) => {
            if let Some((parent, key)) = split_pointer(obj, pointer) {
                parent.shift_remove(key);
            }
        }
        (Shape::Replicas(n), Some(pointer)) => {
            if let Some((parent, key)) = split_pointer(obj, pointer) {
                parent.insert(key.to_string(), n.into());
            }
        }
        (Shape::Bounds(bounds), _) => set_bounds(obj, bounds),
    }
}

/// The map holding the last part of `pointer` (created as needed, as
/// objects) and that last part; `None` when a part on the way is not a map.
fn split_pointer<'v, 'p>(
    obj: &'v mut Value,
    pointer: &'p str,
) -> Option<(&'v mut serde_json::Map<String, Value>, &'p str)> {
    let (parents, key) = pointer.rsplit_once('/')?;
    let mut at = obj;
    for part in parents.split('/').filter(|p| !p.is_empty()) {
        at = at
            .as_object_mut()?
            .entry(part)
            .or_insert_with(|| Value::Object(Default::default()));
    }
    Some((at.as_object_mut()?, key))
}

#[cfg(test)]
mod tests;
