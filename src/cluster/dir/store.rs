//! The on-disk layout of a directory cluster and its blocking file I/O:
//! `<cluster dir>/<group or core>/<kind>/<namespace or _cluster>/<name>.yaml`,
//! written with [`crate::durable::write_atomic`] (temp file, fsync, rename,
//! fsync of the directory) so a crash never leaves a torn object.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Directory name used for the core (`v1`) group.
pub const CORE_GROUP_DIR: &str = "core";
/// Directory name used in place of a namespace for cluster-scoped objects.
pub const CLUSTER_SCOPE_DIR: &str = "_cluster";

/// An I/O failure; the message names the path.
#[derive(Debug)]
pub struct StoreError {
    /// What failed, where, and why.
    pub message: String,
}

impl StoreError {
    fn new(path: &Path, what: &str, err: impl std::fmt::Display) -> StoreError {
        StoreError {
            message: format!("cannot {what} {}: {err}", path.display()),
        }
    }
}

/// Checks one path segment (group, kind, namespace, name) cannot escape
/// its directory.
pub fn checked_segment<'a>(what: &str, s: &'a str) -> Result<&'a str, String> {
    if s.is_empty() || s == "." || s == ".." || s.starts_with('.') || s.contains(['/', '\\', '\0'])
    {
        return Err(format!("{what} {s:?} cannot be used as a file name"));
    }
    Ok(s)
}

/// Directory holding every object of one kind.
pub fn kind_dir(cluster_dir: &Path, group: &str, kind: &str) -> Result<PathBuf, String> {
    let group = if group.is_empty() {
        CORE_GROUP_DIR
    } else {
        checked_segment("API group", group)?
    };
    Ok(cluster_dir.join(group).join(checked_segment("kind", kind)?))
}

/// File of one object (`namespace: None` = cluster-scoped).
pub fn object_path(
    kind_dir: &Path,
    namespace: Option<&str>,
    name: &str,
) -> Result<PathBuf, String> {
    let scope = match namespace {
        Some(ns) => checked_segment("namespace", ns)?,
        None => CLUSTER_SCOPE_DIR,
    };
    Ok(kind_dir
        .join(scope)
        .join(format!("{}.yaml", checked_segment("name", name)?)))
}

/// Reads one stored object; `Ok(None)` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Value>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::new(path, "read", e)),
    };
    crate::yaml::from_str::<Value>(&text)
        .map(Some)
        .map_err(|e| StoreError::new(path, "parse", e))
}

/// Writes an object atomically: a crash leaves the old file or the new one.
pub fn write_atomic(path: &Path, obj: &Value) -> Result<(), StoreError> {
    let text = crate::yaml::to_string(obj);
    crate::durable::write_atomic(path, text.as_bytes())
        .map_err(|e| StoreError::new(path, "write", e))
}

/// Removes one object file (missing is fine), then the directories it
/// leaves empty, up to (not including) `stop_at`.
pub fn remove(path: &Path, stop_at: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::new(path, "remove", e)),
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == stop_at || !d.starts_with(stop_at) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Names of the scope directories (namespaces and `_cluster`) of a kind.
pub fn scope_dirs(kind_dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(kind_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(StoreError::new(kind_dir, "list", e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::new(kind_dir, "list", e))?;
        if entry.path().is_dir() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// Every object stored in one scope directory, by file name.
pub fn read_all(scope_dir: &Path) -> Result<Vec<Value>, StoreError> {
    let entries = match fs::read_dir(scope_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(StoreError::new(scope_dir, "list", e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| StoreError::new(scope_dir, "list", e))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Dot files are temp files of writes in progress.
        if !name.starts_with('.') && name.ends_with(".yaml") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if let Some(obj) = read(&p)? {
            out.push(obj);
        }
    }
    Ok(out)
}

/// Checks a directory can be created and written to.
pub fn check_writable(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|e| StoreError::new(dir, "create", e))?;
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    fs::write(&probe, b"ok").map_err(|e| StoreError::new(dir, "write to", e))?;
    fs::remove_file(&probe).map_err(|e| StoreError::new(&probe, "remove", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_is_group_kind_scope_name() {
        let root = Path::new("/r/c1");
        let kd = kind_dir(root, "", "ConfigMap").unwrap();
        assert_eq!(kd, Path::new("/r/c1/core/ConfigMap"));
        assert_eq!(
            object_path(&kd, Some("ns"), "a.b").unwrap(),
            Path::new("/r/c1/core/ConfigMap/ns/a.b.yaml")
        );
        let kd = kind_dir(root, "rbac.authorization.k8s.io", "ClusterRole").unwrap();
        assert_eq!(
            object_path(&kd, None, "x").unwrap(),
            Path::new("/r/c1/rbac.authorization.k8s.io/ClusterRole/_cluster/x.yaml")
        );
    }

    #[test]
    fn segments_cannot_escape() {
        assert!(object_path(Path::new("/r"), Some(".."), "a").is_err());
        assert!(object_path(Path::new("/r"), Some("ns"), "a/b").is_err());
        assert!(object_path(Path::new("/r"), Some("ns"), ".hidden").is_err());
        assert!(kind_dir(Path::new("/r"), "", "").is_err());
    }

    #[test]
    fn atomic_write_read_and_remove_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("core/ConfigMap/ns/a.yaml");
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        write_atomic(&path, &obj).unwrap();
        assert_eq!(read(&path).unwrap(), Some(obj.clone()));
        assert_eq!(read_all(path.parent().unwrap()).unwrap(), vec![obj]);
        assert_eq!(
            scope_dirs(&tmp.path().join("core/ConfigMap")).unwrap(),
            vec!["ns"]
        );
        remove(&path, tmp.path()).unwrap();
        assert_eq!(read(&path).unwrap(), None);
        assert!(
            !tmp.path().join("core").exists(),
            "empty directories are pruned"
        );
        remove(&path, tmp.path()).unwrap();
    }

    #[test]
    fn corrupt_files_are_errors_naming_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bad.yaml");
        fs::write(&path, "a: [").unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.message.contains("bad.yaml"), "{}", err.message);
    }
}
