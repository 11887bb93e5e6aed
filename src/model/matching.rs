//! Small pure queries on the model that loading and rendering share: which
//! clusters a target names, which objects a resource selector picks, and
//! how a manifest is identified in messages.

use super::{Cluster, ClusterTarget, Fleet, Manifest, ResourceSelector};
use crate::object::ObjectRef;
use serde_json::Value;

impl ClusterTarget {
    /// Whether `cluster` is in the target: in `cluster_names` (when any),
    /// matched by `label_selector` (when set), and not excluded — the
    /// Karmada semantics. An empty target matches every cluster.
    pub fn matches(&self, cluster: &Cluster) -> bool {
        let named = self.cluster_names.is_empty() || self.cluster_names.contains(&cluster.name);
        let selected = self
            .label_selector
            .as_ref()
            .is_none_or(|s| s.matches(&cluster.labels));
        named && selected && !self.exclude.contains(&cluster.name)
    }
}

impl ResourceSelector {
    /// Whether `object` has every field this selector sets (apiVersion and
    /// kind exactly, namespace and name).
    pub fn matches(&self, object: &Value) -> bool {
        let field = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        let same = |want: &Option<String>, pointer: &str| {
            want.as_deref().is_none_or(|w| field(pointer) == Some(w))
        };
        same(&self.api_version, "/apiVersion")
            && same(&self.kind, "/kind")
            && same(&self.namespace, "/metadata/namespace")
            && same(&self.name, "/metadata/name")
    }
}

impl Manifest {
    /// The object's identity (always present on a loaded manifest).
    pub fn id(&self) -> Option<ObjectRef> {
        ObjectRef::from_object(&self.object)
    }

    /// `file[doc N]`: where the object was written, for messages.
    pub fn source(&self) -> String {
        format!("{}[doc {}]", self.file, self.doc)
    }
}

impl Fleet {
    /// Names of every cluster of the registry, in name order.
    pub fn cluster_names(&self) -> impl Iterator<Item = &str> {
        self.clusters.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelSelector;
    use serde_json::json;

    fn cluster(name: &str, env: &str) -> Cluster {
        Cluster {
            name: name.into(),
            labels: [("env".to_string(), env.to_string())].into(),
            context: name.into(),
            rollout_order: None,
            file: format!("clusters/{name}.yaml"),
        }
    }

    #[test]
    fn targets_and_their_criteria() {
        let prod = LabelSelector {
            match_labels: [("env".into(), "prod".into())].into(),
            ..Default::default()
        };
        let a = cluster("a", "prod");
        let b = cluster("b", "staging");
        assert!(ClusterTarget::default().matches(&a));
        let by_selector = ClusterTarget {
            label_selector: Some(prod.clone()),
            ..Default::default()
        };
        assert!(by_selector.matches(&a) && !by_selector.matches(&b));
        let both = ClusterTarget {
            cluster_names: vec!["b".into()],
            label_selector: Some(prod),
            exclude: vec![],
        };
        assert!(!both.matches(&a) && !both.matches(&b));
        let excluded = ClusterTarget {
            exclude: vec!["a".into()],
            ..Default::default()
        };
        assert!(!excluded.matches(&a) && excluded.matches(&b));
    }

    #[test]
    fn resource_selectors_match_set_fields() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        assert!(ResourceSelector::default().matches(&obj));
        let sel = ResourceSelector {
            kind: Some("Deployment".into()),
            name: Some("web".into()),
            ..Default::default()
        };
        assert!(sel.matches(&obj));
        let other = ResourceSelector {
            namespace: Some("other".into()),
            ..Default::default()
        };
        assert!(!other.matches(&obj));
    }
}
