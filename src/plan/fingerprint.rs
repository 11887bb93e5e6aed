//! What tranche remembers of each object it applied, so that a plan can
//! call an object unchanged without asking the apiserver: the digest of
//! the rendered object it sent, and a fingerprint of the live object that
//! write (or a dry-run that found nothing to change) left behind.
//!
//! The live fingerprint is the object's `metadata.generation` where the
//! kind has one (it moves on every change of the spec, but not on status
//! writes of controllers, so a Deployment's rollout does not make it
//! stale), else its `resourceVersion` (any write). Both are followed by
//! the live values of the labels and annotations the rendered object sets
//! (a label changed behind tranche's back moves no generation), and only
//! those: keys others add (the Deployment controller's revision
//! annotation) are not tranche's and never drift.
//!
//! Secrets are never remembered: a digest of a Secret would let anyone who
//! can read the inventory test guesses of its values. They are dry-run on
//! every plan. Pure: no I/O.

use crate::object::ANNOTATION_COMMIT;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// What an object looked like when tranche last applied (or confirmed) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Digest of the rendered object sent (commit annotation left out).
    pub desired: String,
    /// Fingerprint of the live object it produced.
    pub live: String,
}

impl Applied {
    /// The record for `rendered` as `live` stores it; `None` for objects
    /// never remembered (Secrets) or a live object without a version.
    pub fn of(rendered: &Value, live: &Value) -> Option<Applied> {
        Some(Applied {
            desired: desired_digest(rendered)?,
            live: live_fingerprint(live, rendered)?,
        })
    }

    /// Whether `live` is still what this record saw and `rendered` still
    /// what was sent: the object is then unchanged, with no request.
    pub fn still_holds(&self, rendered: &Value, live: &Value) -> bool {
        desired_digest(rendered).as_deref() == Some(self.desired.as_str())
            && live_fingerprint(live, rendered).as_deref() == Some(self.live.as_str())
    }
}

fn is_secret(obj: &Value) -> bool {
    obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// sha256 (hex) of the rendered object's JSON, without the commit
/// annotation (it moves with commits that do not change the object);
/// `None` for Secrets.
pub fn desired_digest(rendered: &Value) -> Option<String> {
    if is_secret(rendered) {
        return None;
    }
    digest(rendered, &[])
}

/// sha256 (hex) of `key` and the rendered object's JSON, without the
/// commit annotation.
fn digest(rendered: &Value, key: &[u8]) -> Option<String> {
    let mut obj = rendered.clone();
    if let Some(a) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove(ANNOTATION_COMMIT);
    }
    let text = serde_json::to_string(&obj).ok()?;
    let mut hasher = Sha256::new();
    hasher.update(key);
    hasher.update(text.as_bytes());
    Some(hex::encode(hasher.finalize()))
}

/// Generation (else resourceVersion) of `live`, with the live values of
/// the labels and annotations `rendered` sets; `None` for Secrets and
/// objects without a version.
pub fn live_fingerprint(live: &Value, rendered: &Value) -> Option<String> {
    if is_secret(rendered) {
        return None;
    }
    fingerprint(live, rendered)
}

fn fingerprint(live: &Value, rendered: &Value) -> Option<String> {
    let meta = live.get("metadata")?;
    let version = match meta.get("generation").and_then(Value::as_i64) {
        Some(g) => format!("g{g}"),
        None => format!("r{}", meta.get("resourceVersion")?.as_str()?),
    };
    let mut hasher = Sha256::new();
    for field in ["labels", "annotations"] {
        let Some(keys) = rendered
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for key in keys.keys().filter(|k| *k != ANNOTATION_COMMIT) {
            let value = meta.get(field).and_then(|m| m.get(key));
            hasher.update(format!("{field}\0{key}\0{value:?}\0").as_bytes());
        }
    }
    let tags = hex::encode(&hasher.finalize()[..8]);
    Some(format!("{version}/{tags}"))
}

/// Records of Secrets kept in one process's memory only (never in an
/// inventory, a log or a plan): the daemon's live cache uses them so that
/// an unchanged Secret is not dry-run on every reconcile. The digest is
/// keyed with random bytes of this process, so even a record that leaked
/// would not let anyone test guesses of the values.
#[derive(Clone)]
pub struct SecretMemo {
    key: [u8; 32],
}

impl std::fmt::Debug for SecretMemo {
    /// The key is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretMemo")
    }
}

impl Default for SecretMemo {
    /// A fresh random key (the std hasher's random keys are the entropy).
    fn default() -> SecretMemo {
        use std::hash::{BuildHasher, Hasher};
        let mut key = [0u8; 32];
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
        SecretMemo { key }
    }
}

impl SecretMemo {
    /// The record for a Secret `rendered` as `live` stores it (any other
    /// object: `None`, inventories remember those).
    pub fn record(&self, rendered: &Value, live: &Value) -> Option<Applied> {
        if !is_secret(rendered) {
            return None;
        }
        Some(Applied {
            desired: digest(rendered, &self.key)?,
            live: fingerprint(live, rendered)?,
        })
    }

    /// Whether `record` still holds for `rendered` and `live`.
    pub fn holds(&self, record: &Applied, rendered: &Value, live: &Value) -> bool {
        self.record(rendered, live).as_ref() == Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop",
                            "labels": {"app.kubernetes.io/managed-by": "tranche"},
                            "annotations": {"tranche.dev/commit": "c1"}},
               "spec": {"replicas": 2}})
    }

    fn live(generation: i64, rv: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "shop", "generation": generation,
                            "resourceVersion": rv,
                            "labels": {"app.kubernetes.io/managed-by": "tranche"},
                            "annotations": {"tranche.dev/commit": "c1"}},
               "spec": {"replicas": 2}, "status": {"replicas": 2}})
    }

    #[test]
    fn status_writes_and_foreign_annotations_keep_the_record() {
        let record = Applied::of(&rendered(), &live(1, "100")).unwrap();
        let mut later = live(1, "250");
        later["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("1");
        assert!(record.still_holds(&rendered(), &later));
    }

    #[test]
    fn a_spec_edit_a_tranche_label_edit_or_a_new_rendering_breaks_it() {
        let record = Applied::of(&rendered(), &live(1, "100")).unwrap();
        assert!(
            !record.still_holds(&rendered(), &live(2, "101")),
            "spec edited"
        );
        let mut relabelled = live(1, "102");
        relabelled["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("someone");
        assert!(
            !record.still_holds(&rendered(), &relabelled),
            "label edited"
        );
        let mut unlabelled = live(1, "103");
        unlabelled["metadata"]["labels"] = json!({});
        assert!(
            !record.still_holds(&rendered(), &unlabelled),
            "label removed"
        );
        let mut changed = rendered();
        changed["spec"]["replicas"] = json!(3);
        assert!(
            !record.still_holds(&changed, &live(1, "100")),
            "new rendering"
        );
    }

    #[test]
    fn a_new_commit_annotation_alone_is_the_same_rendering() {
        let record = Applied::of(&rendered(), &live(1, "100")).unwrap();
        let mut next = rendered();
        next["metadata"]["annotations"]["tranche.dev/commit"] = json!("c2");
        assert!(record.still_holds(&next, &live(1, "100")));
    }

    #[test]
    fn kinds_without_generation_follow_the_resource_version() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}});
        let mut stored = cm.clone();
        stored["metadata"]["resourceVersion"] = json!("7");
        let record = Applied::of(&cm, &stored).unwrap();
        assert!(record.still_holds(&cm, &stored));
        stored["metadata"]["resourceVersion"] = json!("8");
        assert!(!record.still_holds(&cm, &stored), "written since");
    }

    #[test]
    fn secrets_are_never_remembered() {
        let s = json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "s", "namespace": "n", "resourceVersion": "1"},
                       "data": {"k": "c2VjcmV0"}});
        assert_eq!(Applied::of(&s, &s), None);
        assert_eq!(desired_digest(&s), None);
    }

    #[test]
    fn secret_memos_are_keyed_per_process_and_follow_both_sides() {
        let s = json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": "s", "namespace": "n", "resourceVersion": "1"},
                       "data": {"k": "c2VjcmV0"}});
        let (a, b) = (SecretMemo::default(), SecretMemo::default());
        let ra = a.record(&s, &s).unwrap();
        assert_ne!(Some(&ra), b.record(&s, &s).as_ref(), "another key");
        assert!(a.holds(&ra, &s, &s));
        let mut changed = s.clone();
        changed["data"]["k"] = json!("b3RoZXI=");
        assert!(!a.holds(&ra, &changed, &s), "new values");
        let mut written = s.clone();
        written["metadata"]["resourceVersion"] = json!("2");
        assert!(!a.holds(&ra, &s, &written), "written since");
        assert_eq!(a.record(&rendered(), &live(1, "1")), None, "Secrets only");
        assert_eq!(format!("{a:?}"), "SecretMemo");
    }
}
