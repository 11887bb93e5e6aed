//! The daemon's repository: a local one (watched for ref changes), or a
//! remote one cloned bare into the state dir and fetched with git2
//! (HTTPS token or SSH key from files; never logged).

use super::config::{GitAuth, RepoConfig};
use crate::report::secret::redact_url as redact;
use crate::revision::{RepoRevisions, SharedRevisionCache};
use git2::{Cred, FetchOptions, RemoteCallbacks, Repository};
use std::path::{Path, PathBuf};

/// Errors reaching or reading the repository.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// libgit2 failed (clone, fetch, ref lookup).
    #[error("repository {what}: {source}")]
    Git {
        /// What was being done, e.g. `fetch https://…`.
        what: String,
        /// Cause.
        #[source]
        source: git2::Error,
    },
    /// A credential file could not be read.
    #[error("{path}: cannot read credential file: {source}")]
    Credential {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Where commits come from.
pub struct GitSource {
    repo_path: PathBuf,
    remote: Option<Remote>,
    branch: String,
    dir: Option<String>,
    /// Shared by every read of [`GitSource::revisions`]: consecutive
    /// commits re-render only the apps they change.
    cache: SharedRevisionCache,
}

struct Remote {
    url: String,
    auth: Option<GitAuth>,
}

fn git(what: impl Into<String>) -> impl FnOnce(git2::Error) -> SourceError {
    let what = what.into();
    move |source| SourceError::Git { what, source }
}

impl GitSource {
    /// Opens a local repository, or clones a remote one into `state_dir/repo.git`.
    pub fn open(config: &RepoConfig, state_dir: &Path) -> Result<GitSource, SourceError> {
        if let Some(url) = &config.url {
            let repo_path = state_dir.join("repo.git");
            if !repo_path.join("HEAD").exists() {
                std::fs::create_dir_all(&repo_path).map_err(|e| SourceError::Credential {
                    path: repo_path.clone(),
                    source: e,
                })?;
                Repository::init_bare(&repo_path)
                    .map_err(git(format!("init {}", repo_path.display())))?;
            }
            let source = GitSource {
                repo_path,
                remote: Some(Remote {
                    url: url.clone(),
                    auth: config.auth.clone(),
                }),
                branch: config.branch.clone(),
                dir: config.dir.clone(),
                cache: SharedRevisionCache::default(),
            };
            source.fetch()?;
            return Ok(source);
        }
        let path = config.path.clone().unwrap_or_else(|| PathBuf::from("."));
        let repo = Repository::discover(&path).map_err(git(format!("open {}", path.display())))?;
        let root = repo.workdir().unwrap_or(repo.path()).to_path_buf();
        let dir = match &config.dir {
            Some(d) => Some(d.clone()),
            None => {
                let abs = path.canonicalize().unwrap_or(path.clone());
                let root = root.canonicalize().unwrap_or(root.clone());
                abs.strip_prefix(&root)
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
                    .filter(|s| !s.is_empty())
            }
        };
        Ok(GitSource {
            repo_path: root,
            remote: None,
            branch: config.branch.clone(),
            dir,
            cache: SharedRevisionCache::default(),
        })
    }

    /// Fetches the remote (no-op for a local repository).
    pub fn fetch(&self) -> Result<(), SourceError> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let repo = self.repository()?;
        let mut callbacks = RemoteCallbacks::new();
        let auth = remote.auth.clone();
        let mut tried = false;
        callbacks.credentials(move |_url, user, allowed| {
            if tried {
                return Err(git2::Error::from_str("credentials rejected"));
            }
            tried = true;
            let Some(auth) = &auth else {
                return Cred::default();
            };
            let user = auth.username.as_deref().or(user).unwrap_or("git");
            if allowed.contains(git2::CredentialType::SSH_KEY) {
                if let Some(key) = &auth.ssh_key_file {
                    return Cred::ssh_key(user, None, key, None);
                }
            }
            if let Some(file) = &auth.token_file {
                let token = std::fs::read_to_string(file)
                    .map_err(|_| git2::Error::from_str("cannot read the token file"))?;
                return Cred::userpass_plaintext(user, token.trim());
            }
            Cred::default()
        });
        let mut opts = FetchOptions::new();
        opts.remote_callbacks(callbacks);
        let mut r = repo
            .remote_anonymous(&remote.url)
            .map_err(git(format!("remote {}", redact(&remote.url))))?;
        let refspecs = [
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/pull/*/head:refs/remotes/origin/pull/*",
            "+refs/merge-requests/*/head:refs/remotes/origin/merge-requests/*",
        ];
        r.fetch(&refspecs, Some(&mut opts), None)
            .map_err(git(format!("fetch {}", redact(&remote.url))))
    }

    /// The repository (opened anew: git2 handles are not shared across tasks).
    pub fn repository(&self) -> Result<Repository, SourceError> {
        Repository::open(&self.repo_path).map_err(git(format!("open {}", self.repo_path.display())))
    }

    /// Commit id at the head of the tracked branch.
    pub fn head(&self) -> Result<String, SourceError> {
        self.ref_commit(&self.branch_ref())
    }

    /// Full name of the tracked branch's ref in this repository.
    pub fn branch_ref(&self) -> String {
        match self.remote {
            Some(_) => format!("refs/remotes/origin/{}", self.branch),
            None => format!("refs/heads/{}", self.branch),
        }
    }

    /// Commit a ref points at.
    pub fn ref_commit(&self, name: &str) -> Result<String, SourceError> {
        let repo = self.repository()?;
        let r = repo
            .find_reference(name)
            .map_err(git(format!("ref {name}")))?;
        let c = r.peel_to_commit().map_err(git(format!("ref {name}")))?;
        Ok(c.id().to_string())
    }

    /// Branches (and fetched pull-request heads) other than the tracked one,
    /// by the name they have on the forge (`refs/heads/feature`,
    /// `refs/pull/3/head`, `refs/merge-requests/7/head`), with their commits.
    pub fn other_refs(&self) -> Result<Vec<(String, String)>, SourceError> {
        let repo = self.repository()?;
        let tracked = self.branch_ref();
        let mut out = Vec::new();
        for r in repo.references().map_err(git("list refs"))?.flatten() {
            let Ok(name) = r.name().map(str::to_string) else {
                continue;
            };
            if name == tracked || name.ends_with("/HEAD") {
                continue;
            }
            let Some(forge_name) = forge_ref_name(&name, self.remote.is_some()) else {
                continue;
            };
            if let Ok(c) = r.peel_to_commit() {
                out.push((forge_name, c.id().to_string()));
            }
        }
        Ok(out)
    }

    /// Where rollouts read revisions from, through the source's render
    /// cache ([`crate::revision::RevisionCache`]).
    pub fn revisions(&self) -> RepoRevisions {
        RepoRevisions {
            path: self.repo_path.clone(),
            subdir: Some(self.dir.clone().unwrap_or_default()),
            cache: Some(self.cache.clone()),
        }
    }

    /// Paths to watch for ref changes (local repositories only).
    pub fn watch_paths(&self) -> Vec<PathBuf> {
        if self.remote.is_some() {
            return vec![];
        }
        match self.repository() {
            Ok(repo) => vec![repo.path().to_path_buf()],
            Err(_) => vec![],
        }
    }

    /// Whether the repository is remote (fetched on an interval).
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }
}

/// The forge's name for a ref of this repository: the fetch refspecs in
/// [`GitSource::fetch`] in reverse for a remote one (`refs/remotes/origin/pull/3`
/// → `refs/pull/3/head`), branches as they are for a local one. `None` for
/// refs that are not branches or pull-request heads (tags, notes).
pub fn forge_ref_name(local: &str, remote: bool) -> Option<String> {
    if !remote {
        return local.starts_with("refs/heads/").then(|| local.to_string());
    }
    let rest = local.strip_prefix("refs/remotes/origin/")?;
    for kind in ["pull", "merge-requests"] {
        if let Some(id) = rest.strip_prefix(kind).and_then(|r| r.strip_prefix('/')) {
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!("refs/{kind}/{id}/head"));
            }
        }
    }
    Some(format!("refs/heads/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::forge_ref_name;

    #[test]
    fn fetched_refs_get_their_forge_names_back() {
        let name = |r| forge_ref_name(r, true);
        assert_eq!(
            name("refs/remotes/origin/pull/3").as_deref(),
            Some("refs/pull/3/head")
        );
        assert_eq!(
            name("refs/remotes/origin/merge-requests/7").as_deref(),
            Some("refs/merge-requests/7/head")
        );
        assert_eq!(
            name("refs/remotes/origin/feature/x").as_deref(),
            Some("refs/heads/feature/x")
        );
        // A branch that only looks like a pull head keeps being a branch.
        assert_eq!(
            name("refs/remotes/origin/pull/new").as_deref(),
            Some("refs/heads/pull/new")
        );
        assert_eq!(name("refs/notes/tranche"), None);
        assert_eq!(
            forge_ref_name("refs/heads/feature", false).as_deref(),
            Some("refs/heads/feature")
        );
        assert_eq!(forge_ref_name("refs/tags/v1", false), None);
    }
}
