//! Errors of the state store: each names the directory or file involved and
//! what to do about it.

use std::io;
use std::path::PathBuf;

/// Errors of the state store. Each names the directory or file involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key cannot name a state file.
    #[error("invalid state key {key:?}: {reason}; keys use only a-z, 0-9, '.', '_' and '-'")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The state directory could not be created or read.
    #[error("cannot use state directory {}: {source}; check that it exists and is writable", dir.display())]
    Dir {
        /// The state directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing, renaming, syncing or removing a state file failed.
    #[error("cannot write state file {}: {source}; check the disk has space and the directory is writable", path.display())]
    Write {
        /// The file being written or removed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading a state file failed (other than it being absent).
    #[error("cannot read state file {}: {source}", path.display())]
    Read {
        /// The file being read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The value could not be turned into JSON.
    #[error("cannot encode state {key:?} as JSON: {source}")]
    Encode {
        /// The key being saved.
        key: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// A state file holds no valid JSON of the expected shape.
    #[error(
        "state file {} is corrupt ({source}); it was edited by hand or damaged on disk. \
         Move it aside (e.g. rename it to end in .bad) to start this state afresh",
        path.display()
    )]
    Corrupt {
        /// The corrupt file, left untouched for inspection.
        path: PathBuf,
        /// What the parser found.
        #[source]
        source: serde_json::Error,
    },
    /// Another process holds the state directory's lock.
    #[error(
        "state directory {} is locked by another tranche process ({}); stop it, or give this \
         process another state directory",
        dir.display(),
        holder.map_or_else(|| "pid unknown".to_string(), |pid| format!("pid {pid}"))
    )]
    Locked {
        /// The state directory.
        dir: PathBuf,
        /// Process id recorded by the holder, when readable.
        holder: Option<u32>,
    },
    /// Taking the lock failed for a reason other than contention.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}
