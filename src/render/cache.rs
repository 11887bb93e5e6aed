//! Incremental rendering: [`RenderCache`] keeps the last commit's
//! [`Rendering`] and, on a new commit, re-renders only the apps whose
//! inputs changed.
//!
//! An app's inputs are the app itself (manifests, placement, overrides),
//! the clusters it is placed on (names and everything their files say),
//! what the [`RenderInputs`] hold for it (its failed-over clusters; the
//! capacities and previous weights when it uses `dynamicWeight`), and the
//! fleet-wide inputs every app reads (the policies, the kind table, which
//! clusters exist). The cache keeps the last inputs and compares them with
//! the new ones (structural equality, nothing is formatted or hashed).
//! While the registry is unchanged, an app whose placement is unchanged,
//! and so is that of every app it follows, keeps its clusters without
//! placement being worked out again
//! ([`super::placement::placed_clusters_knowing`]).
//! When a fleet-wide input changes, everything is rendered again;
//! otherwise only the apps whose inputs changed (or that appeared or went
//! away) are, the others keep their objects with the commit annotation
//! restamped (once per shared list, [`super::AppObjects`]). Duplicate
//! checks run again on every cluster an app changed on, so the errors are
//! those of a full render. After an error the cache is emptied and the
//! next commit renders in full.

use super::capacity::app::{RenderInputs, WeightNote};
use super::fleet::{placed, placed_knowing, prepare, render_app, render_placed};
use super::{check, AppObjects, RenderError, Rendering, Scope};
use crate::kinds::KindTable;
use crate::model::{App, Cluster, Fleet, Policies};
use crate::object::{set_metadata_entry, ANNOTATION_COMMIT};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The clusters of each app, by app name.
type Placed = BTreeMap<String, BTreeSet<String>>;

/// The last rendering and the inputs it was made from.
#[derive(Debug, Default)]
pub struct RenderCache {
    last: Option<Last>,
    rerendered: Vec<String>,
    /// The clusters rendered (all by default).
    scope: Scope,
}

/// One successful rendering with its inputs.
#[derive(Debug)]
struct Last {
    rendering: Rendering,
    notes: BTreeMap<String, WeightNote>,
    policies: Policies,
    kinds: KindTable,
    clusters: BTreeMap<String, Cluster>,
    placed: Placed,
    apps: BTreeMap<String, AppInputs>,
}

/// What one app's rendering depends on besides the fleet-wide inputs and
/// its clusters.
#[derive(Debug, PartialEq)]
struct AppInputs {
    app: App,
    beside: Beside,
}

/// What the [`RenderInputs`] hold for one app.
#[derive(Debug, PartialEq)]
struct Beside {
    failed: Option<BTreeSet<String>>,
    /// Capacities and previous weights, for `dynamicWeight` apps only.
    dynamic: Option<RenderInputs>,
}

impl Beside {
    fn of(app: &App, inputs: &RenderInputs) -> Beside {
        let dynamic = app.placement.dynamic_weight.map(|_| RenderInputs {
            capacities: inputs.capacities.clone(),
            previous_weights: (inputs.previous_weights.get(&app.name).cloned())
                .map(|w| [(app.name.clone(), w)].into())
                .unwrap_or_default(),
            failed: BTreeMap::new(),
        });
        Beside {
            failed: inputs.failed.get(&app.name).cloned(),
            dynamic,
        }
    }
}

impl AppInputs {
    fn of(app: &App, inputs: &RenderInputs) -> AppInputs {
        AppInputs {
            app: app.clone(),
            beside: Beside::of(app, inputs),
        }
    }
}

impl RenderCache {
    /// A cache rendering only the clusters of `scope` ([`super::render_scoped`]).
    pub fn scoped(scope: Scope) -> RenderCache {
        RenderCache {
            scope,
            ..RenderCache::default()
        }
    }

    /// Renders `fleet` (as [`super::render`] would), reusing the apps whose
    /// inputs are unchanged since the last successful call.
    pub fn render(&mut self, fleet: &Fleet) -> Result<&Rendering, Vec<RenderError>> {
        self.render_with(fleet, &RenderInputs::default())
            .map(|(r, _)| r)
    }

    /// [`super::render_with`] through the cache: the rendering and, per
    /// app using dynamic weights, why its clusters got their weights.
    pub fn render_with(
        &mut self,
        fleet: &Fleet,
        inputs: &RenderInputs,
    ) -> Result<(&Rendering, &BTreeMap<String, WeightNote>), Vec<RenderError>> {
        if let Err(errors) = self.update(fleet, inputs) {
            *self = RenderCache::scoped(self.scope.clone());
            return Err(errors);
        }
        self.last
            .as_ref()
            .map(|l| (&l.rendering, &l.notes))
            .ok_or_else(Vec::new)
    }

    /// Apps the last [`RenderCache::render`] rendered again (all of them
    /// after a full render), by name.
    pub fn rerendered(&self) -> &[String] {
        &self.rerendered
    }

    fn update(&mut self, fleet: &Fleet, inputs: &RenderInputs) -> Result<(), Vec<RenderError>> {
        let last = match self.last.as_mut() {
            Some(l)
                if l.policies == fleet.policies
                    && l.kinds == fleet.kinds
                    && l.clusters.keys().eq(fleet.clusters.keys()) =>
            {
                l
            }
            _ => {
                let placed = placed(fleet)?;
                let (rendering, notes) = render_placed(fleet, &placed, inputs, &self.scope)?;
                self.rerendered = fleet.apps.keys().cloned().collect();
                self.last = Some(Last {
                    rendering,
                    notes,
                    policies: fleet.policies.clone(),
                    kinds: fleet.kinds.clone(),
                    clusters: fleet.clusters.clone(),
                    placed,
                    apps: (fleet.apps.iter())
                        .map(|(name, app)| (name.clone(), AppInputs::of(app, inputs)))
                        .collect(),
                });
                return Ok(());
            }
        };
        let moved: BTreeSet<&str> = (fleet.clusters.iter())
            .filter(|(name, c)| last.clusters.get(*name) != Some(c))
            .map(|(name, _)| name.as_str())
            .collect();
        // With the registry unchanged, an app whose placement (and that of
        // every app it follows) is unchanged keeps its clusters.
        let mut kept = Placed::new();
        if moved.is_empty() {
            let mut memo = BTreeMap::new();
            for name in fleet.apps.keys() {
                if steady(name, fleet, &last.apps, &mut memo) {
                    if let Some((name, set)) = last.placed.remove_entry(name) {
                        kept.insert(name, set);
                    }
                }
            }
        }
        let placed = placed_knowing(fleet, kept)?;
        let changed: BTreeSet<String> = (fleet.apps.iter())
            .filter(|(name, app)| {
                let same = last.apps.get(*name).is_some_and(|l| {
                    l.app == **app
                        && l.beside == Beside::of(app, inputs)
                        && last
                            .placed
                            .get(*name)
                            .is_none_or(|old| placed.get(*name) == Some(old))
                });
                let on_moved =
                    (placed.get(*name).into_iter().flatten()).any(|c| moved.contains(c.as_str()));
                !same || on_moved
            })
            .map(|(name, _)| name.clone())
            .chain(
                (last.apps.keys())
                    .filter(|name| !fleet.apps.contains_key(*name))
                    .cloned(),
            )
            .collect();
        let mut errors = Vec::new();
        let prepared = prepare(
            fleet,
            &placed,
            |name, set| changed.contains(name) && self.scope.touches(set),
            inputs,
            &mut errors,
        );
        let rendering = &mut last.rendering;
        let restamp = fleet.commit != rendering.commit;
        // Old list → the same list restamped, so that clusters sharing a
        // list keep sharing one (the old list is kept alive, so its id
        // stays unique while the map lives).
        let mut restamped: HashMap<usize, (AppObjects, AppObjects)> = HashMap::new();
        let mut duplicates = check::Duplicates::default();
        for (name, cluster) in rendering.clusters.iter_mut() {
            let Some(target) = fleet.clusters.get(name) else {
                continue;
            };
            let before = cluster.apps.len();
            cluster
                .apps
                .retain(|app, _| !changed.contains(app.as_str()));
            let mut touched = before != cluster.apps.len();
            if restamp {
                for app in cluster.apps.values_mut() {
                    let (_, new) = restamped.entry(app.objects.list_id()).or_insert_with(|| {
                        let mut new = app.objects.clone();
                        for object in new.iter_mut() {
                            set_metadata_entry(
                                &mut object.object,
                                "annotations",
                                ANNOTATION_COMMIT,
                                &fleet.commit,
                            );
                        }
                        (app.objects.clone(), new)
                    });
                    app.objects = new.clone();
                }
            }
            for p in prepared.iter().filter(|p| p.clusters.contains(name)) {
                let app = render_app(p, target, fleet, &mut errors);
                cluster.apps.insert(p.app.name.clone(), app);
                touched = true;
            }
            if touched {
                errors.extend(duplicates.check(cluster));
            }
        }
        rendering.commit = fleet.commit.clone();
        last.notes.retain(|app, _| !changed.contains(app.as_str()));
        for p in &prepared {
            if let Some(note) = &p.note {
                last.notes.insert(p.app.name.clone(), note.clone());
            }
        }
        drop(prepared);
        for name in &changed {
            match fleet.apps.get(name) {
                Some(app) => last.apps.insert(name.clone(), AppInputs::of(app, inputs)),
                None => last.apps.remove(name),
            };
        }
        if !moved.is_empty() {
            last.clusters = fleet.clusters.clone();
        }
        last.placed = placed;
        self.rerendered = changed.into_iter().collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Whether app `name` has the placement it had in `last`, and so have the
/// apps it follows, transitively (`memo`: the answers so far; an app is
/// taken as not steady while its answer is worked out, so a cycle of
/// follows is never steady).
fn steady<'a>(
    name: &'a str,
    fleet: &'a Fleet,
    last: &BTreeMap<String, AppInputs>,
    memo: &mut BTreeMap<&'a str, bool>,
) -> bool {
    if let Some(known) = memo.get(name) {
        return *known;
    }
    memo.insert(name, false);
    let Some(app) = fleet.apps.get(name) else {
        return false;
    };
    let same = last
        .get(name)
        .is_some_and(|l| l.app.placement == app.placement)
        && (app.placement.affinity.follow_apps.iter()).all(|f| steady(f, fleet, last, memo));
    memo.insert(name, same);
    same
}
