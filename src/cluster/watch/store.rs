//! What one watch holds: the objects of one (apiVersion, kind, namespace,
//! label selector), kept current from watch events. Pure: events in,
//! answers out, no I/O.
//!
//! Metadata-only watches keep a compact [`Meta`] per object (name,
//! resourceVersion, generation, labels, annotations: what a plan's
//! fingerprint reads, see [`crate::plan::fingerprint`]); full watches
//! (tranche's inventories) keep the body too. `managedFields` and
//! `kubectl.kubernetes.io/last-applied-configuration` are never kept.
//!
//! A relist (the watch's first list, or the one after a 410 Gone) is
//! buffered and swapped in whole when it is done, so an object deleted
//! while the watch was away is dropped and the store is never half old,
//! half new. An event older than what the store holds (tranche's own write,
//! recorded from the apiserver's answer before its event arrived) is
//! ignored, so the store never goes back in time.

use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Annotations never kept (large, and never tranche's).
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// (namespace, name) of an object.
pub type Place = (Option<String>, String);

/// The metadata of one object that tranche reads, compactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// `metadata.resourceVersion`.
    pub resource_version: Box<str>,
    /// `metadata.generation`, where the kind has one.
    pub generation: Option<i64>,
    /// `metadata.labels`, sorted by key.
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// `metadata.annotations` (minus [`DROPPED_ANNOTATIONS`]), sorted by key.
    pub annotations: Box<[(Box<str>, Box<str>)]>,
}

/// One object held: its metadata, and its body for full watches.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What plans and drift read.
    pub meta: Meta,
    /// The whole object (full watches only).
    pub body: Option<Box<Value>>,
}

impl Entry {
    /// Reads an object (JSON as the apiserver sends it); `None` without a
    /// name. `full` keeps the body.
    pub fn of(object: &Value, full: bool) -> Option<(Place, Entry)> {
        let meta = object.get("metadata")?;
        let name = meta.get("name")?.as_str()?.to_string();
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|ns| !ns.is_empty())
            .map(str::to_string);
        let pairs = |field: &str| -> Box<[(Box<str>, Box<str>)]> {
            let mut pairs: Vec<(Box<str>, Box<str>)> = meta
                .get(field)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| !DROPPED_ANNOTATIONS.contains(&k.as_str()))
                .filter_map(|(k, v)| Some((k.as_str().into(), v.as_str()?.into())))
                .collect();
            pairs.sort();
            pairs.into_boxed_slice()
        };
        let entry = Entry {
            meta: Meta {
                resource_version: meta
                    .get("resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                generation: meta.get("generation").and_then(Value::as_i64),
                labels: pairs("labels"),
                annotations: pairs("annotations"),
            },
            body: full.then(|| {
                let mut body = object.clone();
                if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("managedFields");
                }
                Box::new(body)
            }),
        };
        Some(((namespace, name), entry))
    }

    /// The object as JSON: the body, or (metadata-only) apiVersion, kind
    /// and the metadata held. apiVersion and kind are always set (the
    /// items of a list come without them; health rules read them).
    pub fn to_value(&self, place: &Place, api_version: &str, kind: &str) -> Value {
        if let Some(body) = &self.body {
            let mut body = (**body).clone();
            if let Some(o) = body.as_object_mut() {
                o.entry("apiVersion").or_insert_with(|| json!(api_version));
                o.entry("kind").or_insert_with(|| json!(kind));
            }
            return body;
        }
        let pairs = |p: &[(Box<str>, Box<str>)]| -> Value {
            Value::Object(
                p.iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect::<Map<String, Value>>(),
            )
        };
        let mut meta = json!({
            "name": place.1,
            "resourceVersion": &*self.meta.resource_version,
            "labels": pairs(&self.meta.labels),
            "annotations": pairs(&self.meta.annotations),
        });
        if let Some(ns) = &place.0 {
            meta["namespace"] = json!(ns);
        }
        if let Some(g) = self.meta.generation {
            meta["generation"] = json!(g);
        }
        json!({"apiVersion": api_version, "kind": kind, "metadata": meta})
    }

    /// Bytes this entry takes in memory (an estimate: heap strings and
    /// the struct; a body is counted as its JSON text).
    pub fn size(&self) -> usize {
        let pairs = |p: &[(Box<str>, Box<str>)]| -> usize {
            p.iter()
                .map(|(k, v)| k.len() + v.len() + 2 * std::mem::size_of::<Box<str>>())
                .sum()
        };
        std::mem::size_of::<Entry>()
            + self.meta.resource_version.len()
            + pairs(&self.meta.labels)
            + pairs(&self.meta.annotations)
            + self
                .body
                .as_ref()
                .map_or(0, |b| serde_json::to_string(b).map_or(0, |s| s.len()))
    }

    /// Whether `other` differs in what drift is about: the spec
    /// (generation, or any write for kinds without one), labels,
    /// annotations, or the body of a full watch.
    fn drifts_from(&self, other: &Entry) -> bool {
        let m = (&self.meta, &other.meta);
        let version = match (m.0.generation, m.1.generation) {
            (Some(a), Some(b)) => a != b,
            _ => m.0.resource_version != m.1.resource_version,
        };
        version
            || m.0.labels != m.1.labels
            || m.0.annotations != m.1.annotations
            || self.body != other.body
    }
}

/// Whether `new` is older than `held` (both numeric resourceVersions, as
/// etcd-backed apiservers give; anything else is never called older).
fn is_older(new: &str, held: &str) -> bool {
    matches!((new.parse::<u64>(), held.parse::<u64>()), (Ok(n), Ok(h)) if n < h)
}

/// The objects of one watch.
#[derive(Debug, Default)]
pub struct WatchStore {
    objects: HashMap<Place, Entry>,
    /// A relist in progress.
    relist: Option<HashMap<Place, Entry>>,
    /// A first list has completed.
    synced: bool,
}

impl WatchStore {
    /// Whether a first list has completed (until then, nothing is known).
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The entry at `place`.
    pub fn get(&self, place: &Place) -> Option<&Entry> {
        self.objects.get(place)
    }

    /// Every entry.
    pub fn iter(&self) -> impl Iterator<Item = (&Place, &Entry)> {
        self.objects.iter()
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Bytes held (see [`Entry::size`]), with the keys.
    pub fn size(&self) -> usize {
        self.objects
            .iter()
            .map(|((ns, name), e)| {
                e.size()
                    + name.len()
                    + ns.as_ref().map_or(0, String::len)
                    + std::mem::size_of::<Place>()
            })
            .sum()
    }

    /// An added or modified object; returns whether it drifted.
    pub fn apply(&mut self, place: Place, entry: Entry) -> bool {
        match self.objects.get(&place) {
            Some(held) if is_older(&entry.meta.resource_version, &held.meta.resource_version) => {
                false
            }
            Some(held) => {
                let drifted = held.drifts_from(&entry);
                self.objects.insert(place, entry);
                drifted
            }
            None => {
                self.objects.insert(place, entry);
                true
            }
        }
    }

    /// tranche's own write, from the apiserver's answer: held at once, so
    /// the next plan sees it even before its watch event (which then
    /// changes nothing).
    pub fn record(&mut self, place: Place, entry: Entry) {
        self.apply(place, entry);
    }

    /// A deleted object; returns whether it was held.
    pub fn delete(&mut self, place: &Place) -> bool {
        self.objects.remove(place).is_some()
    }

    /// A relist begins.
    pub fn init(&mut self) {
        self.relist = Some(HashMap::new());
    }

    /// An object of the relist.
    pub fn init_apply(&mut self, place: Place, entry: Entry) {
        self.relist
            .get_or_insert_with(HashMap::new)
            .insert(place, entry);
    }

    /// The relist is complete: it replaces what was held. Returns whether
    /// anything drifted meanwhile (changed, appeared or vanished).
    pub fn init_done(&mut self) -> bool {
        let fresh = self.relist.take().unwrap_or_default();
        let drifted = self.synced
            && (fresh.len() != self.objects.len()
                || fresh.iter().any(|(place, e)| {
                    self.objects
                        .get(place)
                        .is_none_or(|held| held.drifts_from(e))
                }));
        self.objects = fresh;
        self.synced = true;
        drifted
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
