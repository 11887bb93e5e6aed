//! Comparing one object: normalize both sides, mask Secrets, then produce
//! the RFC 6902 patch (for JSON output and decisions) and a unified YAML
//! diff (for people). Pure.

use super::{mask::mask_pair, normalize::normalize};
use crate::model::IgnoreRule;
use serde_json::Value;

/// The comparison of a live object with the desired one.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDiff {
    /// Normalized, masked live object.
    pub live: Value,
    /// Normalized, masked desired object.
    pub desired: Value,
    /// Patch from `live` to `desired` over *unmasked* normalized values,
    /// with masked values substituted: empty when nothing changes.
    pub patch: json_patch::Patch,
}

impl ObjectDiff {
    /// Whether the objects are equal after normalization.
    pub fn is_unchanged(&self) -> bool {
        self.patch.0.is_empty()
    }
}

/// Compares `live` with `desired` (the dry-run result of applying the
/// rendered object). Decides equality on unmasked values, so a Secret whose
/// value changed is an update even though the shown patch is masked.
pub fn compare(live: &Value, desired: &Value, ignore: &[IgnoreRule]) -> ObjectDiff {
    let nl = normalize(live, ignore);
    let nd = normalize(desired, ignore);
    let changed = nl != nd;
    let (ml, md) = mask_pair(Some(&nl), Some(&nd));
    let ml = ml.unwrap_or(Value::Null);
    let md = md.unwrap_or(Value::Null);
    let patch = if changed {
        json_patch::diff(&ml, &md)
    } else {
        json_patch::Patch(vec![])
    };
    ObjectDiff {
        live: ml,
        desired: md,
        patch,
    }
}

/// A unified diff of two objects rendered as YAML (`---`/`+++` headers
/// named `live` and `desired`). Either side may be absent (create / prune).
pub fn unified(live: Option<&Value>, desired: Option<&Value>, context: usize) -> String {
    let a = live.map(crate::yaml::to_string).unwrap_or_default();
    let b = desired.map(crate::yaml::to_string).unwrap_or_default();
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(context)
        .header("live", "desired")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commit_annotation_alone_is_not_a_change() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {"tranche.dev/commit": "old"}, "resourceVersion": "1"},
            "data": {"k": "v"}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {"tranche.dev/commit": "new"}, "resourceVersion": "1"},
            "data": {"k": "v"}});
        assert!(compare(&live, &desired, &[]).is_unchanged());
    }

    #[test]
    fn secret_change_is_detected_but_masked() {
        let s = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"p": v}});
        let d = compare(&s("c2VjcmV0MQ=="), &s("c2VjcmV0Mg=="), &[]);
        assert!(!d.is_unchanged());
        let shown = format!(
            "{}{}",
            serde_json::to_string(&d.patch).unwrap(),
            unified(Some(&d.live), Some(&d.desired), 3)
        );
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
    }

    #[test]
    fn unified_diff_shows_changed_line() {
        let a = json!({"spec": {"replicas": 1}});
        let b = json!({"spec": {"replicas": 2}});
        let text = unified(Some(&a), Some(&b), 1);
        assert!(
            text.contains("-  replicas: 1") && text.contains("+  replicas: 2"),
            "{text}"
        );
    }
}
