//! One revision of the fleet: the commit's snapshot loaded into a validated
//! model and rendered for every cluster. CLI commands, rollouts (which also
//! re-render the previous commit to roll back to) and the daemon read
//! commits only through here.

pub mod cache;
pub mod inputs;

pub use cache::{RevisionCache, SharedRevisionCache};

use crate::git::{GitError, RepoSource};
use crate::model::load::LoadCache;
use crate::model::{Fleet, ModelErrors};
use crate::render::{RenderError, Rendering};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A commit, loaded and rendered.
#[derive(Debug, Clone)]
pub struct Revision {
    /// Full commit id.
    pub commit: String,
    /// The validated model at that commit.
    pub fleet: Fleet,
    /// What every cluster should run at that commit.
    pub rendering: Rendering,
    /// Apps rendered by a tool (kustomize), with the tool and its version.
    pub renders: Vec<crate::sources::Render>,
}

/// Why a revision could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// The repository or revision could not be read.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The repository content is invalid (every problem is listed).
    #[error("commit {commit} is invalid:\n{errors}")]
    Invalid {
        /// Commit id.
        commit: String,
        /// All problems found.
        errors: ModelErrors,
    },
    /// Overrides could not be applied.
    #[error("commit {commit} cannot be rendered:\n{}", render_list(.errors))]
    Render {
        /// Commit id.
        commit: String,
        /// All problems found.
        errors: Vec<RenderError>,
    },
}

impl RevisionError {
    /// Every problem, one line each, as the validator reports them
    /// (`file[doc N]: field.path: what is wrong`).
    pub fn problems(&self) -> Vec<String> {
        match self {
            RevisionError::Invalid { errors, .. } => {
                errors.0.iter().map(|e| e.to_string()).collect()
            }
            RevisionError::Render { errors, .. } => errors.iter().map(|e| e.to_string()).collect(),
            RevisionError::Git(e) => vec![e.to_string()],
        }
    }

    /// The first problem alone (for one-line status descriptions): the
    /// first model or render error, or the git error itself.
    pub fn first_problem(&self) -> String {
        match self {
            RevisionError::Invalid { errors, .. } => errors.0.first().map(|e| e.to_string()),
            RevisionError::Render { errors, .. } => errors.first().map(|e| e.to_string()),
            RevisionError::Git(_) => None,
        }
        .unwrap_or_else(|| self.to_string())
    }
}

fn render_list(errors: &[RenderError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Revision {
    /// Reads, validates and renders `rev` (a branch, tag, sha or `HEAD~n`),
    /// with the process's renderers ([`crate::sources::shared`]).
    pub fn read(source: &RepoSource, rev: &str) -> Result<Revision, RevisionError> {
        Revision::read_with(source, rev, crate::sources::shared())
    }

    /// [`Revision::read`] with the given renderers for kustomize apps.
    pub fn read_with(
        source: &RepoSource,
        rev: &str,
        sources: &crate::sources::Sources,
    ) -> Result<Revision, RevisionError> {
        let (fleet, renders) = load(source, rev, sources, None)?;
        let commit = fleet.commit.clone();
        let rendering = crate::render::render(&fleet).map_err(|errors| RevisionError::Render {
            commit: commit.clone(),
            errors,
        })?;
        Ok(Revision {
            commit,
            fleet,
            rendering,
            renders,
        })
    }

    /// Renders again with what was read beside the model (cluster
    /// capacities for `dynamicWeight`); returns why each app using dynamic
    /// weights got them.
    pub fn rerender_with(
        &mut self,
        inputs: &crate::render::capacity::app::RenderInputs,
    ) -> Result<BTreeMap<String, crate::render::capacity::app::WeightNote>, RevisionError> {
        let (rendering, notes) =
            crate::render::render_with(&self.fleet, inputs).map_err(|errors| {
                RevisionError::Render {
                    commit: self.commit.clone(),
                    errors,
                }
            })?;
        self.rendering = rendering;
        Ok(notes)
    }

    /// Whether some app weighs its clusters by free capacity.
    pub fn uses_dynamic_weights(&self) -> bool {
        self.fleet
            .apps
            .values()
            .any(|a| a.placement.dynamic_weight.is_some())
    }

    /// Short commit id (7 hex chars) for messages.
    pub fn short(&self) -> &str {
        short(&self.commit)
    }
}

/// Reads and validates `rev` (its kustomize apps rendered by `sources`,
/// the model loaded through `cache` when given): the model and the tool
/// renders, before the fleet is rendered.
fn load(
    source: &RepoSource,
    rev: &str,
    sources: &crate::sources::Sources,
    cache: Option<&mut LoadCache>,
) -> Result<(Fleet, Vec<crate::sources::Render>), RevisionError> {
    let snapshot = source.snapshot(rev)?;
    let commit = snapshot.commit.clone();
    let invalid = |errors| RevisionError::Invalid {
        commit: commit.clone(),
        errors,
    };
    let prepared = sources.prepare(&snapshot).map_err(invalid)?;
    let fleet = match cache {
        Some(cache) => cache.load(&prepared.snapshot),
        None => crate::model::load::load(&prepared.snapshot),
    };
    let fleet = fleet.map_err(invalid)?;
    Ok((fleet, prepared.renders))
}

/// First 7 characters of a commit id.
pub fn short(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

/// Where rollouts read commits from (the current one, and the previous
/// ones they roll back to). Implemented for a repository on disk; tests can
/// serve revisions from memory.
pub trait Revisions: Send + Sync {
    /// Reads, validates and renders `rev`.
    fn read(&self, rev: &str) -> Result<Revision, RevisionError>;
}

/// Revisions of a fleet directory in a git repository. Opens the repository
/// per read (cheap), so it can be shared across tasks (`git2::Repository`
/// is not `Sync`).
#[derive(Debug, Clone)]
pub struct RepoRevisions {
    /// Fleet directory (the repository root or a directory inside it), or,
    /// with `subdir`, the repository itself (bare clones have no work tree).
    pub path: PathBuf,
    /// Fleet directory inside the repository at `path`.
    pub subdir: Option<String>,
    /// Shared by consecutive reads (the daemon's): each read re-renders
    /// only the apps that changed since the previous one. `None`: every
    /// read renders in full.
    pub cache: Option<SharedRevisionCache>,
}

impl RepoRevisions {
    /// Revisions of the fleet directory `path` (discovers the repository).
    pub fn at(path: impl Into<PathBuf>) -> RepoRevisions {
        RepoRevisions {
            path: path.into(),
            subdir: None,
            cache: None,
        }
    }

    /// Opens the repository.
    pub fn open(&self) -> Result<RepoSource, crate::git::GitError> {
        match &self.subdir {
            None => RepoSource::open(&self.path),
            Some(sub) => Ok(RepoSource::with_subdir(
                git2::Repository::open(&self.path)?,
                sub,
            )),
        }
    }
}

impl Revisions for RepoRevisions {
    fn read(&self, rev: &str) -> Result<Revision, RevisionError> {
        let source = self.open()?;
        match &self.cache {
            None => Revision::read(&source, rev),
            Some(cache) => RevisionCache::lock(cache).read(&source, rev, crate::sources::shared()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelError, ModelErrors};

    #[test]
    fn first_problem_is_the_first_listed_error() {
        let e = RevisionError::Invalid {
            commit: "abc".into(),
            errors: ModelErrors(vec![
                ModelError::file("clusters/a.yaml", "bad"),
                ModelError::file("clusters/b.yaml", "worse"),
            ]),
        };
        assert_eq!(e.first_problem(), "clusters/a.yaml: bad");
    }
}
