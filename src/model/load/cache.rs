//! Incremental loading: [`LoadCache`] keeps what each cluster file and
//! each app directory of the last commits read to, so that a commit that
//! changes one app parses and checks that app's files only.
//!
//! A *unit* is a cluster file or an app directory: what reading it gives
//! (the cluster, or the app's placement, manifests and overrides) depends
//! on its own files and, for an app, on the context it is checked in (the
//! names that exist, the object rules from `tranche.yaml`, the CRDs and
//! the `WorkloadKind` policies, the AccessPolicy in force). A unit is
//! reused when its files hold the same bytes at the same paths (compared
//! exactly, nothing is hashed) and, for an app, the context is equal;
//! when the context changes, every app is read again. A reused unit
//! reports the problems it found again, in the order it found them, and
//! charges what its YAML expanded to against the commit's limits
//! ([`super::document::Files::charge`]); when that would go over them,
//! it is read again, so the limit is reported at the same file as in a
//! fresh load. Everything else is read afresh on every commit: the
//! layout, `tranche.yaml`, the policies, the CRDs, and the checks across
//! apps (followApps cycles, objects claimed twice). So [`LoadCache::load`]
//! returns exactly what [`super::load`] does, errors included.

use super::apps::{self, AppContext, AppRead};
use super::clusters;
use super::document::Files;
use super::layout::{AppFiles, Layout};
use crate::git::Snapshot;
use crate::model::validate::manifest::ObjectRules;
use crate::model::validate::{Known, Problems};
use crate::model::{AccessPolicy, Cluster, Fleet, ModelError, ModelErrors};
use crate::yaml::Size;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// What consecutive loads share (see the module doc).
#[derive(Default)]
pub struct LoadCache {
    /// Cluster files, by path.
    clusters: HashMap<String, Unit<Option<Cluster>>>,
    /// App directories, by app name, read in `context`.
    apps: HashMap<String, Unit<AppRead>>,
    context: Option<Context>,
    /// Units the last load read (not reused): file paths and `apps/<app>/`.
    read: Vec<String>,
}

/// What an app is checked against besides its files.
#[derive(Debug, PartialEq)]
struct Context {
    known: Known,
    rules: ObjectRules,
    access: Option<AccessPolicy>,
}

impl Context {
    fn is(&self, cx: &AppContext<'_>) -> bool {
        self.known == *cx.known && self.rules == *cx.rules && self.access.as_ref() == cx.access
    }
}

/// One unit as it was read.
struct Unit<T> {
    /// The files it read, in order, with their bytes (`None`: not among
    /// the snapshot's files, e.g. refused).
    files: Vec<(String, Option<Vec<u8>>)>,
    value: T,
    /// The problems it reported, with their files.
    problems: Vec<(String, ModelError)>,
    /// What its YAML expanded to.
    size: Size,
}

impl<T> Unit<T> {
    fn holds(&self, paths: &[&str], source: &Files<'_>) -> bool {
        self.files.len() == paths.len()
            && (self.files.iter().zip(paths))
                .all(|((path, bytes), p)| path == p && bytes.as_deref() == source.bytes(p))
    }
}

impl LoadCache {
    /// Reads and validates `snapshot` as [`super::load`] does, reusing the
    /// cluster files and app directories that did not change since the
    /// last call.
    pub fn load(&mut self, snapshot: &Snapshot) -> Result<Fleet, ModelErrors> {
        self.read.clear();
        super::load_through(snapshot, Some(self))
    }

    /// The units the last [`LoadCache::load`] read (all of them the first
    /// time): cluster file paths, and `apps/<app>/` for app directories.
    pub fn read(&self) -> &[String] {
        &self.read
    }
}

impl fmt::Debug for LoadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadCache")
            .field("clusters", &self.clusters.len())
            .field("apps", &self.apps.len())
            .finish_non_exhaustive()
    }
}

/// How one load reads its units: through a cache, or afresh.
pub(super) struct Units<'c>(pub(super) Option<&'c mut LoadCache>);

impl Units<'_> {
    /// The cluster of `clusters/<stem>.yaml` ([`clusters::read`]).
    pub(super) fn cluster(
        &mut self,
        source: &Files<'_>,
        stem: &str,
        path: &str,
        p: &mut Problems,
    ) -> Option<Cluster> {
        let Some(cache) = self.0.as_deref_mut() else {
            return clusters::read(source, stem, path, p);
        };
        let read = |p: &mut Problems| clusters::read(source, stem, path, p);
        let (value, fresh) = through(&mut cache.clusters, path, &[path], source, p, read);
        if fresh {
            cache.read.push(path.to_string());
        }
        value
    }

    /// Sets the context the apps of this load are checked in: when it is
    /// not the one the kept apps were read in, they are all forgotten.
    pub(super) fn check_apps_in(&mut self, cx: &AppContext<'_>) {
        let Some(cache) = self.0.as_deref_mut() else {
            return;
        };
        if !cache.context.as_ref().is_some_and(|c| c.is(cx)) {
            cache.apps.clear();
            cache.context = Some(Context {
                known: cx.known.clone(),
                rules: cx.rules.clone(),
                access: cx.access.cloned(),
            });
        }
    }

    /// App `name` from its directory ([`apps::read`]), checked in the
    /// context last given to [`Units::check_apps_in`].
    pub(super) fn app(
        &mut self,
        source: &Files<'_>,
        name: &str,
        files: &AppFiles<'_>,
        cx: &AppContext<'_>,
        p: &mut Problems,
    ) -> AppRead {
        let Some(cache) = self.0.as_deref_mut() else {
            return apps::read(source, name, files, cx, p);
        };
        let paths: Vec<&str> = (files.placement.iter())
            .chain(&files.manifests)
            .chain(&files.overrides)
            .copied()
            .collect();
        let read = |p: &mut Problems| apps::read(source, name, files, cx, p);
        let (value, fresh) = through(&mut cache.apps, name, &paths, source, p, read);
        if fresh {
            cache.read.push(format!("apps/{name}/"));
        }
        value
    }

    /// Forgets the units `layout` no longer has.
    pub(super) fn finish(&mut self, layout: &Layout<'_>) {
        if let Some(cache) = self.0.as_deref_mut() {
            let paths: HashSet<&str> = layout.clusters.values().copied().collect();
            cache
                .clusters
                .retain(|path, _| paths.contains(path.as_str()));
            cache.apps.retain(|name, _| layout.apps.contains_key(name));
        }
    }
}

/// The unit `key` of `units`, reused when it holds `paths` as they are in
/// `source` and its size can be charged, else read with `read` (and kept,
/// unless the commit's limits cut the reading short); whether it was read.
fn through<T: Clone>(
    units: &mut HashMap<String, Unit<T>>,
    key: &str,
    paths: &[&str],
    source: &Files<'_>,
    p: &mut Problems,
    read: impl FnOnce(&mut Problems) -> T,
) -> (T, bool) {
    if let Some(unit) = units.get(key).filter(|u| u.holds(paths, source)) {
        if source.charge(unit.size) {
            p.replay(&unit.problems);
            return (unit.value.clone(), false);
        }
    }
    let (start, before) = (p.len(), source.used());
    let value = read(p);
    if !source.exhausted() {
        let after = source.used();
        let unit = Unit {
            files: (paths.iter())
                .map(|path| (path.to_string(), source.bytes(path).map(<[u8]>::to_vec)))
                .collect(),
            value: value.clone(),
            problems: p.since(start),
            size: Size {
                text: after.text.saturating_sub(before.text),
                nodes: after.nodes.saturating_sub(before.nodes),
            },
        };
        units.insert(key.to_string(), unit);
    }
    (value, true)
}

#[cfg(test)]
mod tests;
