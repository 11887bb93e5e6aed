//! One simulated cluster's objects: a map per resource, one
//! resourceVersion counter, uids, generations, creation timestamps,
//! server-side apply with field ownership (module `fields`), the instant
//! status of module `status`, and a bounded history of watch events so a
//! watch resumes from its resourceVersion (older than the history: 410
//! Gone). No I/O: the server (module `server`) locks it per request.

use super::fields::{self, Conflict};
use super::kinds::{self, Resource};
use super::status;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Watch events kept for resuming watches.
pub const HISTORY: usize = 5_000;
/// Events a watch may fall behind before it is ended (it then resumes
/// from the history). tokio preallocates the slots: keep it small, it is
/// paid per cluster.
const WATCH_BUFFER: usize = 256;

/// Where an object lives: group, plural, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// API group.
    pub group: String,
    /// Resource plural.
    pub plural: String,
    /// Namespace (`None`: cluster-scoped).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

/// A change, as watches see it.
#[derive(Debug, Clone)]
pub struct Event {
    /// resourceVersion after the change.
    pub rv: u64,
    /// `ADDED`, `MODIFIED`, `DELETED`.
    pub kind: &'static str,
    /// Where.
    pub key: Key,
    /// The object after the change (before, for deletes, with the new RV).
    pub object: Arc<Value>,
    /// The object before the change (`None` on create).
    pub old: Option<Arc<Value>>,
}

/// A failed request: HTTP code, reason and message (a `Status`).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// HTTP status.
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, …
    pub reason: &'static str,
    /// Human message.
    pub message: String,
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: String) -> Failure {
        Failure {
            code,
            reason,
            message,
        }
    }

    /// `deployments.apps "web" not found`.
    pub fn not_found(r: &Resource, name: &str) -> Failure {
        Failure::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(r)),
        )
    }

    /// The Kubernetes `Status` object of this failure.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        })
    }
}

/// `deployments.apps`, or `configmaps` for core.
pub fn qualified(r: &Resource) -> String {
    if r.group.is_empty() {
        r.plural.clone()
    } else {
        format!("{}.{}", r.plural, r.group)
    }
}

/// How a write changes an object.
#[derive(Debug, Clone)]
pub enum Write {
    /// POST of a whole object.
    Create(Value),
    /// PUT of a whole object (its resourceVersion, if set, must match).
    Update(Value),
    /// Server-side apply of a configuration.
    Apply { config: Value, force: bool },
    /// JSON merge patch.
    Merge(Value),
    /// Strategic merge patch (approximated, see `fields`).
    Strategic(Value),
    /// JSON patch (RFC 6902).
    JsonPatch(Value),
}

/// The state of one simulated cluster.
pub struct Store {
    resources: Vec<Resource>,
    objects: BTreeMap<Key, Value>,
    rv: u64,
    uids: u64,
    history: VecDeque<Event>,
    /// Events with an RV at or below this were dropped from the history.
    compacted: u64,
    events: broadcast::Sender<Event>,
    cluster: String,
}

/// Namespaces every cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Store {
    /// A cluster with the built-in kinds and the initial namespaces.
    pub fn new(cluster: &str) -> Store {
        let mut store = Store {
            resources: kinds::built_in(),
            objects: BTreeMap::new(),
            rv: 1,
            uids: 0,
            history: VecDeque::new(),
            compacted: 0,
            events: broadcast::channel(WATCH_BUFFER).0,
            cluster: cluster.to_string(),
        };
        let ns = store.resource("v1", "namespaces").expect("namespaces");
        for name in INITIAL_NAMESPACES {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            store
                .write(&ns, None, name, Write::Create(obj), "kube-apiserver", false)
                .expect("an initial namespace");
        }
        store
    }

    /// The resources served now (built-in and from CRDs).
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The resource `plural` at `api_version`.
    pub fn resource(&self, api_version: &str, plural: &str) -> Option<Resource> {
        self.resources
            .iter()
            .find(|r| r.api_version() == api_version && r.plural == plural)
            .cloned()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every change from now on, with the history after
    /// `since` to replay first; `Err(())` when `since` is older than the
    /// history (410 Gone).
    #[allow(clippy::result_unit_err)]
    pub fn subscribe(&self, since: u64) -> Result<(Vec<Event>, broadcast::Receiver<Event>), ()> {
        if since < self.compacted {
            return Err(());
        }
        let replay = self
            .history
            .iter()
            .filter(|e| e.rv > since)
            .cloned()
            .collect();
        Ok((replay, self.events.subscribe()))
    }

    /// Drops the whole watch history: every watch resuming from an RV
    /// before now gets 410 Gone (as after an etcd compaction).
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    fn key(r: &Resource, namespace: Option<&str>, name: &str) -> Key {
        Key {
            group: r.group.clone(),
            plural: r.plural.clone(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// An object as served at `r`'s apiVersion.
    fn served(r: &Resource, obj: &Value) -> Value {
        let mut obj = obj.clone();
        obj["apiVersion"] = Value::String(r.api_version());
        obj
    }

    /// One object.
    pub fn get(&self, r: &Resource, namespace: Option<&str>, name: &str) -> Result<Value, Failure> {
        self.objects
            .get(&Store::key(r, namespace, name))
            .map(|o| Store::served(r, o))
            .ok_or_else(|| Failure::not_found(r, name))
    }

    /// Every object of `r` (in `namespace`, or all) that `keep` accepts.
    pub fn list(
        &self,
        r: &Resource,
        namespace: Option<&str>,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == r.group && k.plural == r.plural)
            .filter(|(k, _)| namespace.is_none() || k.namespace.as_deref() == namespace)
            .filter(|(_, o)| keep(o))
            .map(|(_, o)| Store::served(r, o))
            .collect()
    }

    /// Creates, updates or applies one object (`subresource`: `status`
    /// writes only the status). Returns the object as stored (or as it
    /// would be, on a dry run).
    pub fn write(
        &mut self,
        r: &Resource,
        namespace: Option<&str>,
        name: &str,
        write: Write,
        manager: &str,
        dry_run: bool,
    ) -> Result<Value, Failure> {
        self.write_sub(r, namespace, name, None, write, manager, dry_run)
    }

    /// [`Store::write`] to a subresource (`Some("status")`) or the object.
    #[allow(clippy::too_many_arguments)]
    pub fn write_sub(
        &mut self,
        r: &Resource,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        write: Write,
        manager: &str,
        dry_run: bool,
    ) -> Result<Value, Failure> {
        let key = Store::key(r, namespace, name);
        if let Some(ns) = namespace {
            let ns_key = Key {
                group: String::new(),
                plural: "namespaces".into(),
                namespace: None,
                name: ns.to_string(),
            };
            let exists = self.objects.contains_key(&ns_key);
            if !exists && !matches!(write, Write::Update(_)) && !self.objects.contains_key(&key) {
                return Err(Failure::new(
                    404,
                    "NotFound",
                    format!("namespaces \"{ns}\" not found"),
                ));
            }
        }
        let old = self.objects.get(&key).cloned();
        let status_only = subresource == Some("status");
        let mut new = match (&old, write) {
            (Some(_), Write::Create(_)) => {
                return Err(Failure::new(
                    409,
                    "AlreadyExists",
                    format!("{} \"{name}\" already exists", qualified(r)),
                ))
            }
            (None, Write::Create(mut obj)) => {
                prepare(&mut obj, r, namespace, name);
                fields::record_update(None, &mut obj, manager);
                obj
            }
            (None, Write::Apply { config, .. }) if !status_only => {
                let mut config = config;
                prepare(&mut config, r, namespace, name);
                fields::apply(None, &config, manager, true).map_err(conflict)?
            }
            (None, _) => return Err(Failure::not_found(r, name)),
            (Some(old), write) => {
                let mut new = match write {
                    Write::Create(_) => unreachable!("handled above"),
                    Write::Update(mut obj) => {
                        let asked = obj
                            .pointer("/metadata/resourceVersion")
                            .and_then(Value::as_str);
                        let current = old
                            .pointer("/metadata/resourceVersion")
                            .and_then(Value::as_str);
                        if asked.is_some_and(|a| !a.is_empty() && Some(a) != current) {
                            return Err(Failure::new(409, "Conflict", format!(
                                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                                qualified(r)
                            )));
                        }
                        prepare(&mut obj, r, namespace, name);
                        obj["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
                        fields::record_update(Some(old), &mut obj, manager);
                        obj
                    }
                    Write::Apply { mut config, force } => {
                        prepare(&mut config, r, namespace, name);
                        fields::apply(Some(old), &config, manager, force).map_err(conflict)?
                    }
                    Write::Merge(patch) => patched(old, manager, |o| json_patch::merge(o, &patch)),
                    Write::Strategic(patch) => {
                        patched(old, manager, |o| fields::strategic_merge_patch(o, &patch))
                    }
                    Write::JsonPatch(patch) => {
                        let ops: json_patch::Patch =
                            serde_json::from_value(patch).map_err(|e| {
                                Failure::new(400, "BadRequest", format!("invalid JSON patch: {e}"))
                            })?;
                        let mut obj = old.clone();
                        json_patch::patch(&mut obj, &ops).map_err(|e| {
                            Failure::new(
                                422,
                                "Invalid",
                                format!("the JSON patch does not apply: {e}"),
                            )
                        })?;
                        fields::record_update(Some(old), &mut obj, manager);
                        obj
                    }
                };
                // Identity stays the server's.
                for k in [
                    "uid",
                    "creationTimestamp",
                    "name",
                    "namespace",
                    "generation",
                    "deletionTimestamp",
                ] {
                    match old["metadata"].get(k) {
                        Some(v) => new["metadata"][k] = v.clone(),
                        None => {
                            if let Some(m) = new["metadata"].as_object_mut() {
                                m.remove(k);
                            }
                        }
                    }
                }
                new
            }
        };
        let custom = !self.is_built_in(r);
        let custom_status = custom && r.subresources.iter().any(|s| s == "status");
        if status::has_status_subresource(&r.kind, custom_status) {
            let kept = if status_only {
                new.get("status").cloned()
            } else {
                old.as_ref().and_then(|o| o.get("status").cloned())
            };
            if status_only {
                // Only the status moves.
                if let Some(old) = &old {
                    let mut o = old.clone();
                    match kept {
                        Some(s) => o["status"] = s,
                        None => {
                            o.as_object_mut().map(|m| m.remove("status"));
                        }
                    }
                    new = o;
                }
            } else if let Some(map) = new.as_object_mut() {
                match kept {
                    Some(s) => map.insert("status".into(), s),
                    None => map.remove("status"),
                };
            }
        }
        secret_string_data(&mut new);
        status::default_spec(&mut new);
        if status::has_generation(&r.kind, custom) {
            let generation = match &old {
                None => 1,
                Some(o) => {
                    let g = o
                        .pointer("/metadata/generation")
                        .and_then(Value::as_i64)
                        .unwrap_or(1);
                    if status::spec_part(o) != status::spec_part(&new) {
                        g + 1
                    } else {
                        g
                    }
                }
            };
            new["metadata"]["generation"] = json!(generation);
        }
        if !status_only {
            if let Some(s) = status::settled(&new) {
                new["status"] = s;
            }
        }
        if old.is_none() {
            self.uids += 1;
            let uid = format!(
                "{:08x}-{:04x}-4000-8000-{:012x}",
                hash(&self.cluster),
                self.uids >> 16,
                self.uids
            );
            new["metadata"]["uid"] = Value::String(uid);
            new["metadata"]["creationTimestamp"] = Value::String(now());
        }
        if let Some(old) = &old {
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
            if *old == new {
                return Ok(Store::served(r, old));
            }
        }
        if dry_run {
            if old.is_none() {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
            }
            return Ok(Store::served(r, &new));
        }
        // Objects with finalizers left that were being deleted go now.
        let finished = new.pointer("/metadata/deletionTimestamp").is_some()
            && new
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(|f| f.is_empty());
        if finished {
            self.remove(&key, r);
            return Ok(Store::served(r, &new));
        }
        let kind = if old.is_none() { "ADDED" } else { "MODIFIED" };
        let stored = self.commit(key, new, kind);
        if r.kind == "CustomResourceDefinition" {
            self.refresh_resources();
        }
        Ok(Store::served(r, &stored))
    }

    fn is_built_in(&self, r: &Resource) -> bool {
        kinds::built_in()
            .iter()
            .any(|b| b.group == r.group && b.plural == r.plural)
    }

    /// Stores `obj` at a new resourceVersion and tells the watches.
    fn commit(&mut self, key: Key, mut obj: Value, kind: &'static str) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let old = self.objects.insert(key.clone(), obj.clone()).map(Arc::new);
        self.publish(Event {
            rv: self.rv,
            kind,
            key,
            object: Arc::new(obj.clone()),
            old,
        });
        obj
    }

    fn publish(&mut self, event: Event) {
        if self.history.len() >= HISTORY {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = dropped.rv;
            }
        }
        self.history.push_back(event.clone());
        // No receiver is fine.
        let _ = self.events.send(event);
    }

    fn remove(&mut self, key: &Key, r: &Resource) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        let old = Some(Arc::new(obj.clone()));
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        self.publish(Event {
            rv: self.rv,
            kind: "DELETED",
            key: key.clone(),
            object: Arc::new(obj.clone()),
            old,
        });
        if r.kind == "Namespace" {
            let inside: Vec<Key> = self
                .objects
                .keys()
                .filter(|k| k.namespace.as_deref() == Some(key.name.as_str()))
                .cloned()
                .collect();
            for k in inside {
                if let Some(rr) = self
                    .resources
                    .iter()
                    .find(|x| x.group == k.group && x.plural == k.plural)
                    .cloned()
                {
                    self.remove(&k, &rr);
                }
            }
        }
        if r.kind == "CustomResourceDefinition" {
            let group = obj
                .pointer("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let plural = obj
                .pointer("/spec/names/plural")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let instances: Vec<Key> = self
                .objects
                .keys()
                .filter(|k| k.group == group && k.plural == plural)
                .cloned()
                .collect();
            for k in instances {
                self.objects.remove(&k);
            }
            self.refresh_resources();
        }
        Some(obj)
    }

    /// Deletes one object; with `preconditions` (`uid`, `resourceVersion`)
    /// that no longer hold, 409. An object with finalizers is only marked
    /// (deletionTimestamp) until they are removed.
    pub fn delete(
        &mut self,
        r: &Resource,
        namespace: Option<&str>,
        name: &str,
        preconditions: &Value,
        dry_run: bool,
    ) -> Result<Value, Failure> {
        let key = Store::key(r, namespace, name);
        let Some(obj) = self.objects.get(&key).cloned() else {
            return Err(Failure::not_found(r, name));
        };
        for (field, pointer) in [
            ("uid", "/metadata/uid"),
            ("resourceVersion", "/metadata/resourceVersion"),
        ] {
            if let Some(want) = preconditions.get(field).and_then(Value::as_str) {
                if obj.pointer(pointer).and_then(Value::as_str) != Some(want) {
                    return Err(Failure::new(409, "Conflict", format!(
                        "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {field}: {want}",
                        qualified(r)
                    )));
                }
            }
        }
        if dry_run {
            return Ok(Store::served(r, &obj));
        }
        let has_finalizers = obj
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if obj.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(Store::served(r, &obj));
            }
            let mut marked = obj;
            marked["metadata"]["deletionTimestamp"] = Value::String(now());
            let stored = self.commit(key, marked, "MODIFIED");
            return Ok(Store::served(r, &stored));
        }
        let gone = self.remove(&key, r).expect("present");
        Ok(Store::served(r, &gone))
    }

    fn refresh_resources(&mut self) {
        let mut resources = kinds::built_in();
        for (k, crd) in &self.objects {
            if k.plural == "customresourcedefinitions" {
                resources.extend(kinds::of_crd(crd));
            }
        }
        self.resources = resources;
    }

    /// How many objects the cluster holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }
}

/// A small stable hash of a name, for uids.
fn hash(text: &str) -> u32 {
    text.bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619))
}

/// apiVersion, kind, name and namespace as the URL says.
fn prepare(obj: &mut Value, r: &Resource, namespace: Option<&str>, name: &str) {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    obj["apiVersion"] = Value::String(r.api_version());
    obj["kind"] = Value::String(r.kind.clone());
    if !obj["metadata"].is_object() {
        obj["metadata"] = Value::Object(Map::new());
    }
    obj["metadata"]["name"] = Value::String(name.to_string());
    match namespace {
        Some(ns) => obj["metadata"]["namespace"] = Value::String(ns.to_string()),
        None => {
            obj["metadata"]
                .as_object_mut()
                .map(|m| m.remove("namespace"));
        }
    }
    secret_string_data(obj);
}

fn patched(old: &Value, manager: &str, patch: impl FnOnce(&mut Value)) -> Value {
    let mut obj = old.clone();
    patch(&mut obj);
    fields::record_update(Some(old), &mut obj, manager);
    obj
}

/// A Secret's `stringData` goes into `data`, base64-encoded.
fn secret_string_data(obj: &mut Value) {
    if obj["kind"] != "Secret" {
        return;
    }
    let Some(string_data) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    for (k, v) in string_data.as_object().into_iter().flatten() {
        let text = v.as_str().unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        if !obj["data"].is_object() {
            obj["data"] = Value::Object(Map::new());
        }
        obj["data"][k.as_str()] = Value::String(encoded);
    }
}

/// The 409 of an apply that conflicts.
fn conflict(conflicts: Vec<Conflict>) -> Failure {
    let n = conflicts.len();
    let parts: Vec<String> = conflicts
        .iter()
        .map(|c| {
            format!(
                "conflict with \"{}\": {}",
                c.manager,
                fields::dotted(&c.path)
            )
        })
        .collect();
    let plural = if n == 1 { "" } else { "s" };
    Failure::new(
        409,
        "Conflict",
        format!(
            "Apply failed with {n} conflict{plural}: {}",
            parts.join(", ")
        ),
    )
}
