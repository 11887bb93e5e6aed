//! Incremental rendering: [`RenderCache`] keeps the last commit's
//! [`Rendering`] and, on a new commit, re-renders only the apps whose
//! inputs changed.
//!
//! An app's inputs are digested (SHA-256 of their debug form): the app
//! itself (manifests, placement, overrides), the set of clusters it is
//! placed on, and the fleet-wide inputs every app reads (the cluster
//! registry with its labels, the policies, the kind table). When the
//! fleet-wide digest changes, everything is rendered again; otherwise only
//! the apps whose digest changed (or that appeared or went away) are, the
//! others keep their objects with the commit annotation restamped.
//! Duplicate checks run again on every cluster an app changed on, so the
//! errors are those of a full render. After an error the cache is emptied
//! and the next commit renders in full.

use super::capacity::app::RenderInputs;
use super::fleet::{placed, prepare, render_app};
use super::{check, RenderError, Rendering};
use crate::model::Fleet;
use crate::object::{set_metadata_entry, ANNOTATION_COMMIT};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// SHA-256 of some inputs' debug form.
type InputDigest = [u8; 32];

/// The last rendering and the digests of the inputs it was made from.
#[derive(Debug, Default)]
pub struct RenderCache {
    rendering: Option<Rendering>,
    fleet_digest: InputDigest,
    apps: BTreeMap<String, InputDigest>,
    rerendered: Vec<String>,
}

impl RenderCache {
    /// Renders `fleet` (as [`super::render`] would), reusing the apps whose
    /// inputs are unchanged since the last successful call.
    pub fn render(&mut self, fleet: &Fleet) -> Result<&Rendering, Vec<RenderError>> {
        match self.update(fleet) {
            Ok(()) => self.rendering.as_ref().ok_or_else(Vec::new),
            Err(errors) => {
                *self = RenderCache::default();
                Err(errors)
            }
        }
    }

    /// Apps the last [`RenderCache::render`] rendered again (all of them
    /// after a full render), by name.
    pub fn rerendered(&self) -> &[String] {
        &self.rerendered
    }

    fn update(&mut self, fleet: &Fleet) -> Result<(), Vec<RenderError>> {
        let placed = placed(fleet)?;
        let fleet_digest = digest(|w| {
            write!(
                w,
                "{:?}{:?}{:?}",
                fleet.clusters, fleet.policies, fleet.kinds
            )
        });
        let apps: BTreeMap<String, InputDigest> = fleet
            .apps
            .iter()
            .map(|(name, app)| {
                let d = digest(|w| write!(w, "{app:?}{:?}", placed.get(name)));
                (name.clone(), d)
            })
            .collect();
        let rendering = match self.rendering.as_mut() {
            Some(r) if self.fleet_digest == fleet_digest => r,
            _ => {
                self.rendering = Some(super::render(fleet)?);
                self.fleet_digest = fleet_digest;
                self.rerendered = apps.keys().cloned().collect();
                self.apps = apps;
                return Ok(());
            }
        };
        let changed: BTreeSet<&str> = apps
            .iter()
            .filter(|(name, d)| self.apps.get(*name) != Some(d))
            .map(|(name, _)| name.as_str())
            .chain(
                self.apps
                    .keys()
                    .filter(|name| !apps.contains_key(*name))
                    .map(String::as_str),
            )
            .collect();
        let mut errors = Vec::new();
        let prepared = prepare(
            fleet,
            &placed,
            |name, _| changed.contains(name),
            &RenderInputs::default(),
            &mut errors,
        );
        for (name, cluster) in rendering.clusters.iter_mut() {
            let Some(target) = fleet.clusters.get(name) else {
                continue;
            };
            let before = cluster.apps.len();
            cluster
                .apps
                .retain(|app, _| !changed.contains(app.as_str()));
            let mut touched = before != cluster.apps.len();
            if fleet.commit != rendering.commit {
                for object in cluster.apps.values_mut().flat_map(|a| a.objects.iter_mut()) {
                    set_metadata_entry(
                        &mut object.object,
                        "annotations",
                        ANNOTATION_COMMIT,
                        &fleet.commit,
                    );
                }
            }
            for p in prepared.iter().filter(|p| p.clusters.contains(name)) {
                let app = render_app(p, target, fleet, &mut errors);
                cluster.apps.insert(p.app.name.clone(), app);
                touched = true;
            }
            if touched {
                errors.extend(check::duplicates(cluster));
            }
        }
        rendering.commit = fleet.commit.clone();
        self.rerendered = changed.iter().map(|s| s.to_string()).collect();
        self.apps = apps;
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// SHA-256 of what `write` writes.
fn digest(write: impl FnOnce(&mut HashWriter) -> std::fmt::Result) -> InputDigest {
    let mut w = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail.
    let _ = write(&mut w);
    w.0.finalize().into()
}

/// Feeds formatted text into a hasher without building the string.
struct HashWriter(Sha256);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}
