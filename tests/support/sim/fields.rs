//! Field ownership for server-side apply, kept simple: every leaf of an
//! object (a scalar, an array, or an empty map; arrays are atomic) is a
//! path, and each field manager owns a set of paths, stored as the
//! object's `metadata.managedFields` (`FieldsV1`). An apply conflicts
//! where it would change a value another manager owns; with `force` the
//! ownership moves. Fields a manager applied before and no longer applies
//! are removed unless someone else owns them. Other writes (create, update,
//! merge patches) take ownership of the values they changed. Pure.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A field path: map keys from the root.
pub type Path = Vec<String>;

/// Top-level keys that are identity or the server's, never owned.
const UNOWNED_ROOT: &[&str] = &["apiVersion", "kind", "status"];
/// `metadata` keys that are identity or the server's, never owned.
const UNOWNED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
];

/// Every owned leaf of `obj` with its value.
pub fn leaves(obj: &Value) -> Vec<(Path, Value)> {
    let mut out = Vec::new();
    if let Some(map) = obj.as_object() {
        for (k, v) in map {
            if UNOWNED_ROOT.contains(&k.as_str()) {
                continue;
            }
            if k == "metadata" {
                for (mk, mv) in v.as_object().into_iter().flatten() {
                    if !UNOWNED_METADATA.contains(&mk.as_str()) {
                        walk(mv, vec![k.clone(), mk.clone()], &mut out);
                    }
                }
            } else {
                walk(v, vec![k.clone()], &mut out);
            }
        }
    }
    out
}

fn walk(v: &Value, path: Path, out: &mut Vec<(Path, Value)>) {
    match v.as_object() {
        Some(map) if !map.is_empty() => {
            for (k, child) in map {
                let mut p = path.clone();
                p.push(k.clone());
                walk(child, p, out);
            }
        }
        _ => out.push((path, v.clone())),
    }
}

/// The value at `path`.
pub fn get<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

/// Sets `value` at `path`, making maps on the way.
pub fn set(obj: &mut Value, path: &[String], value: Value) {
    let mut at = obj;
    for k in &path[..path.len() - 1] {
        if !at.get(k).is_some_and(Value::is_object) {
            at[k.as_str()] = Value::Object(Map::new());
        }
        at = &mut at[k.as_str()];
    }
    at[path[path.len() - 1].as_str()] = value;
}

/// Removes the value at `path`, then every map above it left empty.
pub fn remove(obj: &mut Value, path: &[String]) {
    fn go(v: &mut Value, path: &[String]) -> bool {
        let Some(map) = v.as_object_mut() else {
            return false;
        };
        if path.len() == 1 {
            map.remove(&path[0]);
        } else if let Some(child) = map.get_mut(&path[0]) {
            if go(child, &path[1..]) {
                map.remove(&path[0]);
            }
        }
        map.is_empty()
    }
    go(obj, path);
}

/// Whether two paths overlap (one is a prefix of the other).
fn overlaps(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// `FieldsV1` of a set of paths (`{"f:spec": {"f:replicas": {}}}`).
pub fn fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Value::Object(Map::new());
    for p in paths {
        let keyed: Path = p.iter().map(|k| format!("f:{k}")).collect();
        set(&mut root, &keyed, Value::Object(Map::new()));
    }
    root
}

/// The paths of a `FieldsV1` (the inverse of [`fields_v1`]).
pub fn paths_of(fields: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let mut leaves = Vec::new();
    walk(fields, Vec::new(), &mut leaves);
    for (p, _) in leaves {
        let p: Path = p
            .iter()
            .map(|k| k.strip_prefix("f:").unwrap_or(k).to_string())
            .collect();
        if !p.is_empty() {
            out.insert(p);
        }
    }
    out
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// Field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// Paths it owns.
    pub paths: BTreeSet<Path>,
}

/// The managers recorded in an object.
pub fn managers(obj: &Value) -> Vec<Managed> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| Managed {
            manager: m["manager"].as_str().unwrap_or_default().to_string(),
            operation: m["operation"].as_str().unwrap_or("Update").to_string(),
            paths: paths_of(&m["fieldsV1"]),
        })
        .collect()
}

/// Writes `managers` (without empty ones) into the object's metadata.
pub fn set_managers(obj: &mut Value, managers: &[Managed], api_version: &str, time: &str) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.paths.is_empty())
        .map(|m| {
            let mut entry = serde_json::json!({
                "manager": m.manager, "operation": m.operation, "apiVersion": api_version,
                "fieldsType": "FieldsV1", "fieldsV1": fields_v1(&m.paths),
            });
            if !time.is_empty() {
                entry["time"] = Value::String(time.to_string());
            }
            entry
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("managedFields".into(), Value::Array(entries));
    }
}

/// A conflict: another manager owns a field the apply would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The owner.
    pub manager: String,
    /// The field.
    pub path: Path,
}

/// `.spec.replicas`.
pub fn dotted(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// Server-side apply of `config` by `manager` onto `live` (`None`: a new
/// object): the merged object with its managed fields, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, Vec<Conflict>> {
    let applied = leaves(config);
    let mut owners = live.map(managers).unwrap_or_default();
    let mut merged = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let mut conflicts = Vec::new();
    for (path, value) in &applied {
        if get(&merged, path) == Some(value) {
            continue;
        }
        for other in owners.iter_mut().filter(|o| o.manager != manager) {
            let clashing: Vec<Path> = other
                .paths
                .iter()
                .filter(|p| overlaps(p, path))
                .cloned()
                .collect();
            if clashing.is_empty() {
                continue;
            }
            if force {
                for p in clashing {
                    other.paths.remove(&p);
                }
            } else {
                conflicts.push(Conflict {
                    manager: other.manager.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    let now: BTreeSet<Path> = applied.iter().map(|(p, _)| p.clone()).collect();
    let before = owners
        .iter()
        .find(|o| o.manager == manager && o.operation == "Apply")
        .map(|o| o.paths.clone())
        .unwrap_or_default();
    for gone in before.difference(&now) {
        let kept = owners
            .iter()
            .any(|o| o.manager != manager && o.paths.iter().any(|p| overlaps(p, gone)))
            || now.iter().any(|p| overlaps(p, gone));
        if !kept {
            remove(&mut merged, gone);
        }
    }
    for (path, value) in &applied {
        // A leaf replaces whatever was under it (a map became a scalar).
        set(&mut merged, path, value.clone());
    }
    for key in ["apiVersion", "kind"] {
        if let Some(v) = config.get(key) {
            merged[key] = v.clone();
        }
    }
    for key in ["name", "namespace"] {
        if let Some(v) = config.pointer(&format!("/metadata/{key}")) {
            merged["metadata"][key] = v.clone();
        }
    }
    owners.retain(|o| !(o.manager == manager && o.operation == "Apply"));
    owners.push(Managed {
        manager: manager.to_string(),
        operation: "Apply".into(),
        paths: now,
    });
    let api_version = config["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    set_managers(&mut merged, &owners, &api_version, "");
    Ok(merged)
}

/// Ownership after a non-apply write by `manager` from `old` to `new`:
/// it takes every leaf whose value changed (all of them on create).
pub fn record_update(old: Option<&Value>, new: &mut Value, manager: &str) {
    let mut owners = old.map(managers).unwrap_or_default();
    let changed: BTreeSet<Path> = leaves(new)
        .into_iter()
        .filter(|(p, v)| old.and_then(|o| get(o, p)) != Some(v))
        .map(|(p, _)| p)
        .collect();
    let present: BTreeSet<Path> = leaves(new).into_iter().map(|(p, _)| p).collect();
    for o in owners.iter_mut() {
        o.paths.retain(|p| {
            present.iter().any(|q| overlaps(p, q)) && !changed.iter().any(|c| overlaps(c, p))
        });
    }
    match owners
        .iter_mut()
        .find(|o| o.manager == manager && o.operation == "Update")
    {
        Some(o) => o.paths.extend(changed),
        None => owners.push(Managed {
            manager: manager.to_string(),
            operation: "Update".into(),
            paths: changed,
        }),
    }
    let api_version = new["apiVersion"].as_str().unwrap_or_default().to_string();
    set_managers(new, &owners, &api_version, "");
}

/// A strategic merge patch, approximated: a merge patch in which lists of
/// maps that all have a `name` are merged item by item on `name`.
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("a map");
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
            continue;
        }
        let slot = map.entry(k.clone()).or_insert(Value::Null);
        match (slot.as_array_mut(), v.as_array()) {
            (Some(live), Some(items)) if items.iter().all(|i| i["name"].is_string()) => {
                for item in items {
                    match live.iter_mut().find(|l| l["name"] == item["name"]) {
                        Some(l) => strategic_merge_patch(l, item),
                        None => live.push(item.clone()),
                    }
                }
            }
            _ => strategic_merge_patch(slot, v),
        }
    }
}
