//! Turns a [`Snapshot`] of the fleet directory into a validated [`Fleet`],
//! reporting every problem at once.
//!
//! Order matters only where one part needs another: the layout gives the
//! names that exist ([`layout`]), `tranche.yaml` gives the namespacing
//! rules and policy choice ([`repository`]), policies give the access rules
//! that app objects are checked against ([`policies`]), then [`clusters`]
//! and [`apps`] are read. A broken file never hides problems in others.

pub mod apps;
pub mod cache;
pub mod clusters;
pub mod document;
pub mod layout;
pub mod lines;
pub mod policies;
pub mod repository;

use super::validate::{Loc, Problems};
use super::{Fleet, ModelErrors, Policies};
use crate::git::Snapshot;
pub use cache::LoadCache;
use cache::Units;
use document::Files;

/// Reads and validates the fleet in `snapshot` (paths relative to the fleet
/// root, like `clusters/eu-1.yaml` or `apps/shop/manifests/deploy.yaml`).
///
/// Repository policies are laid over [`builtin_policies`] field by field.
/// On success the fleet holds only valid data; otherwise every problem is
/// returned, in file order, each naming its file and document or field,
/// and the field's line where it is found in the file.
///
/// [`LoadCache::load`] does the same, reusing what did not change since
/// the commit it read before.
pub fn load(snapshot: &Snapshot) -> Result<Fleet, ModelErrors> {
    load_through(snapshot, None)
}

/// [`load`], reading clusters and apps through `cache` when given.
fn load_through(snapshot: &Snapshot, cache: Option<&mut LoadCache>) -> Result<Fleet, ModelErrors> {
    check(snapshot, Units(cache)).map_err(|mut errors| {
        lines::fill(&mut errors, &snapshot.files);
        errors
    })
}

/// [`load`] without the lines.
fn check(snapshot: &Snapshot, mut units: Units<'_>) -> Result<Fleet, ModelErrors> {
    let mut p = Problems::default();
    for (path, why) in &snapshot.refused {
        p.push(Loc::file(path), "", why.as_str());
    }
    let paths = snapshot.files.keys().chain(snapshot.refused.keys());
    let layout = layout::classify(paths, &snapshot.refused, &mut p);
    let known = layout.known();
    let source = Files::new(snapshot);
    let mut repo = repository::settings(&source, layout.repository, &mut p);
    let manifests: Vec<&str> = layout
        .apps
        .values()
        .flat_map(|a| a.manifests.clone())
        .collect();
    crate::model::validate::crds::declare(snapshot, &manifests, &mut repo.rules.kinds);
    let clusters = (layout.clusters.iter())
        .filter_map(|(stem, path)| units.cluster(&source, stem, path, &mut p))
        .map(|c| (c.name.clone(), c))
        .collect();
    let Some(base) = policies::builtin(&mut p) else {
        return Err(p.into_errors());
    };
    let loaded = policies::load(&source, &layout.policies, &repo, &known, base, &mut p);
    for w in &loaded.policies.workload_kinds {
        let mut info = w.info.clone();
        // The fleet's CRD says what the apiserver will do about the scope.
        if let Some(crd) = repo.rules.kinds.get(&w.group, &w.kind) {
            info.scope = crd.scope;
        }
        repo.rules.kinds.insert(&w.group, &w.kind, info);
    }
    let cx = apps::AppContext {
        known: &known,
        rules: &repo.rules,
        access: loaded.access_checkable.then_some(&loaded.policies.access),
    };
    units.check_apps_in(&cx);
    let apps = (layout.apps.iter())
        .map(|(name, files)| (name.clone(), units.app(&source, name, files, &cx, &mut p)))
        .collect();
    let apps = apps::assemble(apps, &mut p);
    units.finish(&layout);
    p.finish(Fleet {
        commit: snapshot.commit.clone(),
        clusters,
        apps,
        policies: loaded.policies,
        kinds: repo.rules.kinds,
    })
}

/// The built-in policies: the project's `policies/*.yaml`, embedded in the
/// binary (rollout 1:2:7 with a 5m health timeout and 30s bake, diff
/// ignore rules for controller-owned fields, access to every namespace
/// but the system ones).
///
/// # Panics
///
/// Only if the embedded files are invalid, which is a defect of the build
/// caught by this module's tests, never by user input.
pub fn builtin_policies() -> Policies {
    let mut p = Problems::default();
    let policies = policies::builtin(&mut p);
    match policies {
        Some(policies) if p.is_empty() => policies,
        _ => panic!(
            "the built-in policies/ files are invalid: {}",
            p.into_errors()
        ),
    }
}
