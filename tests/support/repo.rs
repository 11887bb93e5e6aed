//! Real git repositories in temp dirs for integration tests: write files,
//! commit (git2), revert (the git CLI, as a user would).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git repository in a temp dir, removed on drop.
pub struct FixtureRepo {
    dir: tempfile::TempDir,
}

impl FixtureRepo {
    /// An empty repository on branch `main`.
    pub fn new() -> FixtureRepo {
        let dir = tempfile::Builder::new()
            .prefix("tranche-repo-")
            .tempdir()
            .expect("temp dir");
        let repo = git2::Repository::init(dir.path()).expect("git init");
        repo.set_head("refs/heads/main").expect("set HEAD");
        let mut cfg = repo.config().expect("config");
        cfg.set_str("user.name", "Test User").expect("user.name");
        cfg.set_str("user.email", "test@example.com")
            .expect("user.email");
        FixtureRepo { dir }
    }

    /// Root of the work tree.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating directories).
    pub fn write(&self, rel: &str, content: &str) -> &Self {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        self
    }

    /// Removes a file.
    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.dir.path().join(rel)).expect("remove");
        self
    }

    /// Copies a directory tree into the repository at `rel`.
    pub fn copy_dir(&self, from: &Path, rel: &str) -> &Self {
        self.copy_dir_filtered(from, rel, |_| true)
    }

    /// Copies the files of a directory tree for which `keep` is true.
    pub fn copy_dir_filtered(&self, from: &Path, rel: &str, keep: impl Fn(&Path) -> bool) -> &Self {
        for entry in walk(from).into_iter().filter(|p| keep(p)) {
            let sub = entry.strip_prefix(from).expect("prefix");
            let text = std::fs::read_to_string(&entry).expect("read");
            let target = if rel.is_empty() {
                sub.to_path_buf()
            } else {
                Path::new(rel).join(sub)
            };
            self.write(target.to_str().expect("utf-8 path"), &text);
        }
        self
    }

    /// Stages everything and commits (the configured user, now); returns
    /// the commit id.
    pub fn commit(&self, message: &str) -> String {
        let repo = git2::Repository::open(self.dir.path()).expect("open");
        let sig = repo.signature().expect("signature");
        self.commit_as(&repo, message, &sig)
    }

    /// Stages everything and commits as a fixed author and committer at
    /// `seconds` after the epoch (UTC), so the same files, message, time
    /// and parent always give the same commit id (golden files that show
    /// it stay valid); returns the commit id.
    pub fn commit_at(&self, message: &str, seconds: i64) -> String {
        let repo = git2::Repository::open(self.dir.path()).expect("open");
        let time = git2::Time::new(seconds, 0);
        let sig = git2::Signature::new("Test User", "test@example.com", &time).expect("signature");
        self.commit_as(&repo, message, &sig)
    }

    fn commit_as(&self, repo: &git2::Repository, message: &str, sig: &git2::Signature) -> String {
        let mut index = repo.index().expect("index");
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .expect("add");
        index.update_all(["*"].iter(), None).expect("update");
        index.write().expect("write index");
        let tree = repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("find tree");
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), sig, sig, message, &tree, &parents)
            .expect("commit")
            .to_string()
    }

    /// `git revert --no-edit <commit>` with the git CLI; returns the new commit.
    pub fn revert(&self, commit: &str) -> String {
        self.git(&["revert", "--no-edit", commit]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// Runs the git CLI in the repository and returns stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
