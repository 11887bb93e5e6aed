//! Which entries of a commit's fleet directory tranche reads, and how.
//!
//! Only `tranche.yaml` (or `.yml`), `clusters/`, `policies/` and `apps/`
//! are read; anything else at the fleet root (CI config, docs, vendored
//! trees) is never walked into, so a strange entry there cannot fail a
//! commit. Inside those, hidden entries (`.gitkeep`) are skipped, regular
//! files are read, and every other entry is *refused* with the reason,
//! named by its path: symbolic links (their text is a path, and their
//! target may lie outside the repository), submodules (another
//! repository), names that are not UTF-8 (shown lossily decoded), trees
//! or blobs git cannot read (a corrupt repository), and files over
//! [`MAX_FILE_BYTES`]. The model reports refused entries like any other
//! problem, so nothing inside the fleet directories is skipped silently.
//!
//! The walk keeps its own stack (no recursion, whatever the depth) and
//! checks each blob's size before reading it: at most
//! [`MAX_COMMIT_BYTES`] are read per commit.

use super::snapshot::GitError;
use crate::limits::{human_bytes, MAX_COMMIT_BYTES, MAX_FILE_BYTES};
use git2::{Oid, Repository, Tree, TreeEntry};
use std::collections::BTreeMap;

/// The names tranche reads at the fleet root.
pub const FLEET_ENTRIES: [&str; 5] = [
    "tranche.yaml",
    "tranche.yml",
    "clusters",
    "policies",
    "apps",
];

const MODE_TREE: i32 = 0o040000;
const MODE_BLOB: i32 = 0o100644;
const MODE_EXECUTABLE: i32 = 0o100755;
const MODE_LINK: i32 = 0o120000;
const MODE_SUBMODULE: i32 = 0o160000;

/// What was read under the fleet root.
#[derive(Debug, Default)]
pub struct Read {
    /// Regular files by path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Entries not read, by path (directories end with `/`), with why.
    pub refused: BTreeMap<String, String>,
}

/// Reads the fleet entries of `root` (the fleet directory's tree) in
/// commit `commit` (for messages).
pub fn read(repo: &Repository, root: &Tree<'_>, commit: &str) -> Result<Read, GitError> {
    let mut walk = Walk {
        repo,
        commit,
        read: Read::default(),
        bytes: 0,
        pending: Vec::new(),
    };
    for entry in root.iter() {
        let name = entry.name_bytes();
        if FLEET_ENTRIES.iter().any(|f| f.as_bytes() == name) {
            walk.visit("", &entry)?;
        }
    }
    while let Some((dir, oid)) = walk.pending.pop() {
        match repo.find_tree(oid) {
            Ok(tree) => {
                for entry in tree.iter() {
                    walk.visit(&dir, &entry)?;
                }
            }
            Err(e) => walk.refuse(dir, corrupt("directory", &e)),
        }
    }
    Ok(walk.read)
}

struct Walk<'r> {
    repo: &'r Repository,
    commit: &'r str,
    read: Read,
    /// Bytes of the blobs read so far.
    bytes: u64,
    /// Directories still to read: path (ending with `/`) and tree id.
    pending: Vec<(String, Oid)>,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &str, entry: &TreeEntry<'_>) -> Result<(), GitError> {
        let raw = entry.name_bytes();
        let name = String::from_utf8_lossy(raw);
        if name.starts_with('.') {
            return Ok(());
        }
        let path = format!("{dir}{name}");
        if std::str::from_utf8(raw).is_err() {
            let shown = if entry.filemode() == MODE_TREE {
                format!("{path}/")
            } else {
                path
            };
            self.refuse(
                shown,
                "the name is not UTF-8 (shown with \u{FFFD} for the bytes that are not): rename \
                 it; tranche reads UTF-8 names only"
                    .to_string(),
            );
            return Ok(());
        }
        match entry.filemode() {
            MODE_TREE => self.pending.push((format!("{path}/"), entry.id())),
            MODE_BLOB | MODE_EXECUTABLE => self.blob(path, entry.id())?,
            MODE_LINK => self.refuse(
                path,
                "a symbolic link: commit the file itself (tranche reads the files of the commit, \
                 and a link's target may lie outside it)"
                    .to_string(),
            ),
            MODE_SUBMODULE => self.refuse(
                path,
                "a submodule: tranche does not read other repositories; commit the files here"
                    .to_string(),
            ),
            mode => self.refuse(path, format!("a tree entry of unknown mode {mode:o}")),
        }
        Ok(())
    }

    fn blob(&mut self, path: String, oid: Oid) -> Result<(), GitError> {
        let size = match self.repo.odb().and_then(|odb| odb.read_header(oid)) {
            Ok((size, _)) => size as u64,
            Err(e) => {
                self.refuse(path, corrupt("file", &e));
                return Ok(());
            }
        };
        if size > MAX_FILE_BYTES {
            self.refuse(
                path,
                format!(
                    "{size} bytes, more than tranche reads from one file ({})",
                    human_bytes(MAX_FILE_BYTES)
                ),
            );
            return Ok(());
        }
        self.bytes += size;
        if self.bytes > MAX_COMMIT_BYTES {
            return Err(GitError::TooLarge {
                commit: self.commit.to_string(),
                path,
                limit: human_bytes(MAX_COMMIT_BYTES),
            });
        }
        match self.repo.find_blob(oid) {
            Ok(blob) => {
                self.read.files.insert(path, blob.content().to_vec());
            }
            Err(e) => self.refuse(path, corrupt("file", &e)),
        }
        Ok(())
    }

    fn refuse(&mut self, path: String, why: String) {
        self.read.refused.insert(path, why);
    }
}

fn corrupt(what: &str, e: &git2::Error) -> String {
    format!(
        "git cannot read this {what} ({}): the repository is corrupt",
        e.message()
    )
}

#[cfg(test)]
mod tests;
