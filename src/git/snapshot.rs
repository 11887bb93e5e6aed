//! [`RepoSource`] finds the git repository that holds a fleet directory and
//! reads that directory's subtree at any revision into a [`Snapshot`]
//! (which entries, and how, is [`super::tree`]'s business).

use git2::{ErrorCode, Oid, Repository};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading the repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not inside a git repository.
    #[error("{path}: not inside a git repository (run `git init` there, or pass the path of a checkout)")]
    NotARepository {
        /// The path given.
        path: PathBuf,
    },
    /// The path does not exist.
    #[error("{path}: no such directory")]
    NoSuchPath {
        /// The path given.
        path: PathBuf,
    },
    /// A revision could not be resolved to a commit.
    // The git reason is the source: `{:#}` (anyhow) prints it once, after this.
    #[error("revision {rev:?} does not name a commit in {repo}")]
    BadRevision {
        /// The revision asked for.
        rev: String,
        /// Repository path.
        repo: PathBuf,
        /// Underlying git error.
        #[source]
        source: git2::Error,
    },
    /// The fleet directory does not exist in the commit.
    #[error("{subdir} does not exist in commit {commit}")]
    MissingSubtree {
        /// Directory inside the repository.
        subdir: String,
        /// Commit id.
        commit: String,
    },
    /// The fleet directory's tree cannot be read (a corrupt repository).
    #[error("commit {commit}: git cannot read {path} (the repository is corrupt)")]
    CorruptTree {
        /// The directory (`the fleet root` or a path).
        path: String,
        /// Commit id.
        commit: String,
        /// Underlying git error.
        #[source]
        source: git2::Error,
    },
    /// The fleet's files add up to more than tranche reads from one commit.
    #[error(
        "commit {commit}: the fleet's files add up to more than {limit} at {path} (the limit \
         per commit): tranche reads no further"
    )]
    TooLarge {
        /// Commit id.
        commit: String,
        /// The file that went over the limit.
        path: String,
        /// The limit, for people.
        limit: String,
    },
    /// Any other libgit2 failure.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// The files of a fleet directory at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Full hex id of the commit.
    pub commit: String,
    /// File contents by path relative to the fleet directory, `/`-separated.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Entries of the fleet directories that were not read, by path
    /// (directories end with `/`), with why: symbolic links, submodules,
    /// names that are not UTF-8, unreadable objects, files over the size
    /// limit. The model reports each as a problem.
    pub refused: BTreeMap<String, String>,
}

impl Snapshot {
    /// A snapshot built from in-memory files (tests, benchmarks).
    pub fn from_files<I, P, C>(commit: &str, files: I) -> Snapshot
    where
        I: IntoIterator<Item = (P, C)>,
        P: Into<String>,
        C: Into<Vec<u8>>,
    {
        Snapshot {
            commit: commit.to_string(),
            files: files
                .into_iter()
                .map(|(p, c)| (p.into(), c.into()))
                .collect(),
            refused: BTreeMap::new(),
        }
    }

    /// Reads the files under `root` from disk into a snapshot labelled
    /// `commit`, paths relative to `root` and `/`-separated, as a commit of
    /// that directory would hold them. For tests and benchmarks over
    /// checked-in fleets: tranche itself reads commits, never work trees.
    pub fn from_dir(commit: &str, root: &Path) -> std::io::Result<Snapshot> {
        fn walk(
            dir: &Path,
            root: &Path,
            out: &mut BTreeMap<String, Vec<u8>>,
        ) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    walk(&path, root, out)?;
                } else if let Ok(rel) = path.strip_prefix(root) {
                    let rel: Vec<_> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect();
                    out.insert(rel.join("/"), std::fs::read(&path)?);
                }
            }
            Ok(())
        }
        let mut files = BTreeMap::new();
        walk(root, root, &mut files)?;
        Ok(Snapshot {
            commit: commit.to_string(),
            files,
            refused: BTreeMap::new(),
        })
    }
}

/// A git repository plus the directory inside it that holds the fleet.
pub struct RepoSource {
    repo: Repository,
    /// Fleet directory relative to the repository root ("" = root), `/`-separated.
    subdir: String,
}

impl RepoSource {
    /// Opens the repository containing `path` (the root or a directory inside it).
    pub fn open(path: &Path) -> Result<RepoSource, GitError> {
        let abs = path.canonicalize().map_err(|_| GitError::NoSuchPath {
            path: path.to_path_buf(),
        })?;
        let repo = Repository::discover(&abs).map_err(|_| GitError::NotARepository {
            path: path.to_path_buf(),
        })?;
        let root = match repo.workdir() {
            Some(w) => w.canonicalize().unwrap_or_else(|_| w.to_path_buf()),
            None => repo.path().to_path_buf(),
        };
        let rel = abs.strip_prefix(&root).unwrap_or(Path::new(""));
        let subdir = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        Ok(RepoSource { repo, subdir })
    }

    /// Opens a repository (bare or not) and reads the fleet from `subdir`.
    pub fn with_subdir(repo: Repository, subdir: &str) -> RepoSource {
        RepoSource {
            repo,
            subdir: subdir.trim_matches('/').to_string(),
        }
    }

    /// The underlying repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// Fleet directory inside the repository ("" = root).
    pub fn subdir(&self) -> &str {
        &self.subdir
    }

    /// Resolves a revision (`HEAD`, a branch, a tag, a sha, `HEAD~2`) to a commit id.
    pub fn resolve(&self, rev: &str) -> Result<Oid, GitError> {
        let obj = self
            .repo
            .revparse_single(rev)
            .map_err(|source| GitError::BadRevision {
                rev: rev.to_string(),
                repo: self.repo.path().to_path_buf(),
                source,
            })?;
        let commit = obj
            .peel_to_commit()
            .map_err(|source| GitError::BadRevision {
                rev: rev.to_string(),
                repo: self.repo.path().to_path_buf(),
                source,
            })?;
        Ok(commit.id())
    }

    /// Reads every blob under the fleet directory at `rev`.
    pub fn snapshot(&self, rev: &str) -> Result<Snapshot, GitError> {
        let oid = self.resolve(rev)?;
        self.snapshot_at(oid)
    }

    /// Reads the fleet directory at commit `oid` (see [`super::tree`]).
    pub fn snapshot_at(&self, oid: Oid) -> Result<Snapshot, GitError> {
        let commit_id = oid.to_string();
        let corrupt = |path: &str| {
            let commit = commit_id.clone();
            let path = path.to_string();
            move |source| GitError::CorruptTree {
                path,
                commit,
                source,
            }
        };
        let commit = self.repo.find_commit(oid)?;
        let mut tree = commit.tree().map_err(corrupt("the root directory"))?;
        if !self.subdir.is_empty() {
            let missing = || GitError::MissingSubtree {
                subdir: self.subdir.clone(),
                commit: commit_id.clone(),
            };
            let entry = match tree.get_path(Path::new(&self.subdir)) {
                Ok(entry) => entry,
                Err(e) if e.code() == ErrorCode::NotFound => return Err(missing()),
                Err(e) => return Err(corrupt(&self.subdir)(e)),
            };
            if entry.kind() != Some(git2::ObjectType::Tree) {
                return Err(missing());
            }
            tree = self
                .repo
                .find_tree(entry.id())
                .map_err(corrupt(&self.subdir))?;
        }
        let read = super::tree::read(&self.repo, &tree, &commit_id)?;
        Ok(Snapshot {
            commit: commit_id,
            files: read.files,
            refused: read.refused,
        })
    }
}
