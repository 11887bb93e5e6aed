//! [`RevisionCache`]: what consecutive reads of commits share, so that a
//! commit that changes one app reads and checks that app's files only
//! ([`crate::model::load::LoadCache`]) and re-renders that app only
//! ([`crate::render::RenderCache`]). The daemon reads every commit through
//! one (its [`super::RepoRevisions`] carry a [`SharedRevisionCache`]);
//! what comes out equals [`super::Revision::read`] of the same commit.

use super::{Revision, RevisionError};
use crate::git::RepoSource;
use crate::model::load::LoadCache;
use crate::render::RenderCache;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// The last model and rendering, reused by the next read.
#[derive(Default)]
pub struct RevisionCache {
    load: LoadCache,
    render: RenderCache,
}

/// A [`RevisionCache`] shared by the tasks that read commits.
pub type SharedRevisionCache = Arc<Mutex<RevisionCache>>;

impl RevisionCache {
    /// A cache rendering only the clusters of `scope`.
    pub fn scoped(scope: crate::render::Scope) -> RevisionCache {
        RevisionCache {
            load: LoadCache::default(),
            render: RenderCache::scoped(scope),
        }
    }

    /// Reads, validates and renders `rev` as [`Revision::read_with`]
    /// does, re-rendering only the apps whose inputs changed since the
    /// last read.
    pub fn read(
        &mut self,
        source: &RepoSource,
        rev: &str,
        sources: &crate::sources::Sources,
    ) -> Result<Revision, RevisionError> {
        let (fleet, renders) = super::load(source, rev, sources, Some(&mut self.load))?;
        let rendering = match self.render.render(&fleet) {
            Ok(r) => r.clone(),
            Err(errors) => {
                return Err(RevisionError::Render {
                    commit: fleet.commit.clone(),
                    errors,
                })
            }
        };
        Ok(Revision {
            commit: fleet.commit.clone(),
            fleet,
            rendering,
            renders,
        })
    }

    /// Cluster files and app directories (`apps/<app>/`) the last read
    /// loaded afresh.
    pub fn reloaded(&self) -> &[String] {
        self.load.read()
    }

    /// Apps the last read rendered again, by name.
    pub fn rerendered(&self) -> &[String] {
        self.render.rerendered()
    }

    /// Locks `shared`; a cache left by a task that panicked while holding
    /// it may be half updated, so it is emptied (the next read renders in
    /// full).
    pub fn lock(shared: &SharedRevisionCache) -> MutexGuard<'_, RevisionCache> {
        match shared.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                shared.clear_poison();
                let mut guard = poisoned.into_inner();
                *guard = RevisionCache::default();
                guard
            }
        }
    }
}

impl fmt::Debug for RevisionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevisionCache").finish_non_exhaustive()
    }
}
