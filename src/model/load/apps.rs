//! `apps/<app>/`: placement, manifests and overrides of each app, then the
//! checks across apps (followApps cycles, objects claimed twice, access).

use super::document::{header, loc_in, typed, Files};
use super::layout::AppFiles;
use crate::model::raw::{Document, OverrideSpec, PlacementSpec};
use crate::model::validate::manifest::{manifest_in, ObjectRules};
use crate::model::validate::{fleet, overrides, placement, Known, Loc, Problems};
use crate::model::{names, AccessPolicy, App, Manifest, OverrideFile, Placement};
use std::collections::BTreeMap;

/// What app loading needs besides the files.
pub struct AppContext<'a> {
    /// Names that exist.
    pub known: &'a Known,
    /// Namespacing rules.
    pub rules: &'a ObjectRules,
    /// The AccessPolicy in force, or `None` when it is not checkable.
    pub access: Option<&'a AccessPolicy>,
}

/// One app as its directory says it, before the checks across apps.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRead {
    /// The placement, when `placement.yaml` is valid.
    pub placement: Option<Placement>,
    /// Objects of `manifests/*.yaml`, in file then document order.
    pub manifests: Vec<Manifest>,
    /// Files of `overrides/*.yaml`, in path order.
    pub overrides: Vec<OverrideFile>,
}

/// Reads one app directory: everything about the app that its own files
/// (and `cx`) decide, with the problems found there.
pub fn read(
    source: &Files<'_>,
    name: &str,
    files: &AppFiles<'_>,
    cx: &AppContext<'_>,
    p: &mut Problems,
) -> AppRead {
    let dir = format!("apps/{name}/");
    if let Err(why) = names::dns1123_label(name) {
        p.push(
            Loc::file(&dir),
            "",
            format!("invalid app name {name:?}: {why}"),
        );
    }
    let placement = read_placement(source, name, files.placement, cx.known, p);
    let namespace = placement
        .as_ref()
        .and_then(|pl| pl.namespace.as_deref())
        .unwrap_or(&cx.rules.default_namespace);
    let manifests = read_manifests(source, &files.manifests, cx.rules, namespace, p);
    if let Some(access) = cx.access {
        fleet::access(name, &manifests, access, p);
    }
    let overrides = read_overrides(source, name, &files.overrides, &manifests, cx.known, p);
    AppRead {
        placement,
        manifests,
        overrides,
    }
}

/// The checks across apps (followApps cycles, objects claimed twice) over
/// every app read, then the apps that have a valid placement.
pub fn assemble(apps: BTreeMap<String, AppRead>, p: &mut Problems) -> BTreeMap<String, App> {
    let mut placements = BTreeMap::new();
    let mut manifests = BTreeMap::new();
    let mut overrides = BTreeMap::new();
    for (name, read) in apps {
        if let Some(pl) = read.placement {
            placements.insert(name.clone(), pl);
        }
        manifests.insert(name.clone(), read.manifests);
        overrides.insert(name, read.overrides);
    }
    fleet::follow_cycles(&placements, p);
    fleet::duplicate_objects(&manifests, p);
    placements
        .into_iter()
        .map(|(name, placement)| {
            let app = App {
                manifests: manifests.remove(&name).unwrap_or_default(),
                overrides: overrides.remove(&name).unwrap_or_default(),
                name: name.clone(),
                placement,
            };
            (name, app)
        })
        .collect()
}

fn read_placement(
    source: &Files<'_>,
    app: &str,
    path: Option<&str>,
    known: &Known,
    p: &mut Problems,
) -> Option<Placement> {
    let Some(path) = path else {
        p.push(
            Loc::file(&format!("apps/{app}/placement.yaml")),
            "",
            "missing: every app needs a placement.yaml saying which clusters it goes to",
        );
        return None;
    };
    let loc = Loc::file(path);
    let value = source.single_document(path, "Placement", p)?;
    header(loc, &value, &["Placement"], "placement.yaml", p)?;
    let doc: Document<PlacementSpec> = typed(loc, value, p)?;
    Some(placement::placement(loc, doc.spec, known, p))
}

fn read_manifests(
    source: &Files<'_>,
    paths: &[&str],
    rules: &ObjectRules,
    namespace: &str,
    p: &mut Problems,
) -> Vec<Manifest> {
    let mut out = Vec::new();
    for path in paths {
        for (i, value) in source.documents(path, p) {
            out.extend(manifest_in(Loc::doc(path, i), value, rules, namespace, p));
        }
    }
    out
}

fn read_overrides(
    source: &Files<'_>,
    app: &str,
    paths: &[&str],
    objects: &[Manifest],
    known: &Known,
    p: &mut Problems,
) -> Vec<OverrideFile> {
    let mut out = Vec::new();
    for path in paths {
        let docs = source.documents(path, p);
        let count = docs.len();
        for (i, value) in docs {
            let loc = loc_in(path, i, count);
            if header(loc, &value, &["Override"], "overrides/", p).is_none() {
                continue;
            }
            let Some(doc) = typed::<Document<OverrideSpec>>(loc, value, p) else {
                continue;
            };
            let file = overrides::override_file(loc, doc.spec, known, p);
            fleet::unmatched_selectors(loc, app, &file, objects, p);
            out.push(file);
        }
    }
    out
}
