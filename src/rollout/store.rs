//! Durable rollout state on local disk, the embedded default: one JSON file
//! per key in a state directory, replaced atomically, with an exclusive lock
//! so only one tranche process writes a directory at a time.
//!
//! # Guarantees
//!
//! * [`StateStore::save`] replaces `<key>.json` with
//!   [`crate::durable::write_atomic`] (temp file, fsync, rename, fsync of
//!   the directory): after a crash at any point, `load` sees either the old
//!   value or the new one.
//! * A leftover temp file from a crash is never read, and is deleted when
//!   the next process takes the lock ([`StateStore::lock`]).
//! * A state file that is not valid JSON of the expected shape (edited by
//!   hand, disk trouble) is reported as [`StoreError::Corrupt`] naming the
//!   file and how to recover; nothing panics and nothing is overwritten.
//!
//! # Caveats
//!
//! The lock is advisory (`flock`): it keeps tranche processes apart, not
//! other programs. Writers should hold a [`StoreLock`] for as long as they
//! run; readers need none.

use crate::durable::{is_temp_file, sync_dir, write_atomic};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod error;
mod mirror;

pub use error::StoreError;
pub use mirror::Mirror;

/// Name of the lock file inside the state directory (never a valid key file).
const LOCK_FILE: &str = "state.lock";
/// Longest key accepted; keeps file names far below filesystem limits.
const MAX_KEY_LEN: usize = 128;

/// A directory of JSON state files, one per key, optionally mirrored
/// elsewhere (see [`Mirror`]).
#[derive(Clone)]
pub struct StateStore {
    dir: PathBuf,
    mirror: Option<Arc<dyn Mirror>>,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.dir)
            .field("mirrored", &self.mirror.is_some())
            .finish()
    }
}

/// Exclusive hold on a state directory; released when dropped (or when the
/// process dies, since the kernel drops `flock` locks with the descriptor).
#[derive(Debug)]
pub struct StoreLock {
    file: File,
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Closing the descriptor releases the lock too; unlocking first
        // makes the release immediate even if the File is leaked elsewhere.
        let _ = self.file.unlock();
    }
}

impl StateStore {
    /// Opens (creating if needed) the state directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<StateStore, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| StoreError::Dir {
            dir: dir.clone(),
            source,
        })?;
        Ok(StateStore { dir, mirror: None })
    }

    /// The same store, also telling `mirror` about every change.
    pub fn with_mirror(mut self, mirror: Arc<dyn Mirror>) -> StateStore {
        self.mirror = Some(mirror);
        self
    }

    /// Replaces the local value of `key` with `json` from a mirror (not
    /// mirrored back). The JSON is checked before it is written.
    pub fn restore(&self, key: &str, json: &str) -> Result<(), StoreError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|source| StoreError::Corrupt {
                path: self.path_of(key).unwrap_or_default(),
                source,
            })?;
        self.write_local(key, &value)
    }

    /// Removes the local value of `key` (not mirrored).
    pub fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.remove_local(key)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves `value` under `key`, atomically replacing any previous value,
    /// then tells the mirror (which never fails the save).
    pub fn save<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.write_local(key, value)?;
        if let Some(m) = &self.mirror {
            if let Ok(json) = serde_json::to_string(value) {
                m.put(key, &json);
            }
        }
        Ok(())
    }

    fn write_local<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| StoreError::Encode {
            key: key.to_string(),
            source,
        })?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes).map_err(|source| StoreError::Write { path, source })
    }

    /// Loads the value under `key`; `None` when nothing was saved.
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let path = self.path_of(key)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Corrupt { path, source })
    }

    /// Removes the value under `key` (and from the mirror); removing a
    /// missing key is fine.
    pub fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.remove_local(key)?;
        if let Some(m) = &self.mirror {
            m.delete(key);
        }
        Ok(())
    }

    fn remove_local(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map_err(|source| StoreError::Write { path, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Write { path, source }),
        }
    }

    /// Keys with a saved value, sorted.
    pub fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
            .filter(|key| validate_key(key).is_ok())
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Takes the directory's exclusive lock without waiting, records this
    /// process id in it, and deletes temp files left by a crashed writer.
    /// Fails with [`StoreError::Locked`] when another process holds it.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let path = self.dir.join(LOCK_FILE);
        let lock_err = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(StoreError::Locked {
                    dir: self.dir.clone(),
                    holder,
                });
            }
            Err(TryLockError::Error(source)) => return Err(lock_err(source)),
        }
        let lock = StoreLock { file };
        lock.file.set_len(0).map_err(lock_err)?;
        (&lock.file)
            .write_all(format!("{}\n", std::process::id()).as_bytes())
            .and_then(|()| lock.file.sync_all())
            .map_err(lock_err)?;
        self.clean_temp_files()?;
        Ok(lock)
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key).map_err(|reason| StoreError::InvalidKey {
            key: key.to_string(),
            reason,
        })?;
        Ok(self.dir.join(format!("{key}.json")))
    }

    fn file_names(&self) -> Result<Vec<String>, StoreError> {
        let dir_err = |source| StoreError::Dir {
            dir: self.dir.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(dir_err)? {
            let entry = entry.map_err(dir_err)?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        Ok(names)
    }

    /// Only safe under the lock: otherwise it could delete a live writer's file.
    fn clean_temp_files(&self) -> Result<(), StoreError> {
        for name in self.file_names()? {
            if is_temp_file(&name) {
                let path = self.dir.join(&name);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => return Err(StoreError::Write { path, source }),
                }
            }
        }
        Ok(())
    }
}

/// Checks a key: 1–128 characters of `[a-z0-9._-]`, not starting with `.`
/// (no hidden files, no `.`/`..`), so it can never leave the directory.
fn validate_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() {
        return Err("it is empty");
    }
    if key.len() > MAX_KEY_LEN {
        return Err("it is longer than 128 characters");
    }
    if key.starts_with('.') {
        return Err("it starts with '.'");
    }
    let allowed =
        |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    if !key.chars().all(allowed) {
        return Err("it contains a character outside [a-z0-9._-]");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
