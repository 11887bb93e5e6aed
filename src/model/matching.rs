//! Small pure queries on the model that loading and rendering share: which
//! clusters a target or an affinity selects, which objects a resource
//! selector picks, and how a manifest is identified in messages.
//!
//! Cluster selection has one definition, Karmada's (`ClusterMatches` in
//! karmada-io/karmada `pkg/util/selector.go`), used for placements, weight
//! rules and override rules alike: a cluster is selected when it is in
//! `clusterNames` (if any are given) AND matches `labelSelector` (if one is
//! set) AND is not in `exclude`. Setting both names and a selector narrows
//! the selection, it does not widen it; setting neither selects every
//! cluster (minus exclusions).

use super::{
    Cluster, ClusterAffinity, ClusterTarget, Fleet, LabelSelector, Manifest, ResourceSelector,
};
use crate::object::ObjectRef;

/// The one selection rule (see the module doc).
fn selects(
    names: &[String],
    selector: Option<&LabelSelector>,
    exclude: &[String],
    cluster: &Cluster,
) -> bool {
    (names.is_empty() || names.contains(&cluster.name))
        && selector.is_none_or(|s| s.matches(&cluster.labels))
        && !exclude.contains(&cluster.name)
}

impl ClusterTarget {
    /// Whether `cluster` is in the target: in `cluster_names` (when any),
    /// matched by `label_selector` (when set), and not excluded — the
    /// Karmada semantics. An empty target matches every cluster.
    pub fn matches(&self, cluster: &Cluster) -> bool {
        selects(
            &self.cluster_names,
            self.label_selector.as_ref(),
            &self.exclude,
            cluster,
        )
    }
}

impl ClusterAffinity {
    /// Whether the affinity's own criteria accept `cluster`, read exactly as
    /// [`ClusterTarget::matches`] reads a target. The candidates they filter
    /// are the registry, or — with `follow_apps` — the union of the followed
    /// apps' clusters; validation allows only `exclude` beside `follow_apps`,
    /// so a follower goes to that union minus its exclusions.
    pub fn selects(&self, cluster: &Cluster) -> bool {
        selects(
            &self.cluster_names,
            self.label_selector.as_ref(),
            &self.exclude,
            cluster,
        )
    }
}

impl ResourceSelector {
    /// Whether the object `id` has every field this selector sets
    /// (apiVersion and kind exactly, namespace and name).
    pub fn matches(&self, id: &ObjectRef) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        same(&self.api_version, Some(&id.api_version))
            && same(&self.kind, Some(&id.kind))
            && same(&self.namespace, id.namespace.as_deref())
            && same(&self.name, Some(&id.name))
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

    fn cluster(name: &str, env: &str) -> Cluster {
        Cluster {
            name: name.into(),
            labels: [("env".to_string(), env.to_string())].into(),
            context: name.into(),
            rollout_order: None,
            file: format!("clusters/{name}.yaml"),
        }
    }

    fn prod() -> Option<LabelSelector> {
        Some(LabelSelector {
            match_labels: [("env".into(), "prod".into())].into(),
            ..Default::default()
        })
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn targets_and_their_criteria() {
        let a = cluster("a", "prod");
        let b = cluster("b", "staging");
        assert!(ClusterTarget::default().matches(&a));
        let by_selector = ClusterTarget {
            label_selector: prod(),
            ..Default::default()
        };
        assert!(by_selector.matches(&a) && !by_selector.matches(&b));
        let by_name = ClusterTarget {
            cluster_names: names(&["b"]),
            ..Default::default()
        };
        assert!(!by_name.matches(&a) && by_name.matches(&b));
        let excluded = ClusterTarget {
            exclude: names(&["a"]),
            ..Default::default()
        };
        assert!(!excluded.matches(&a) && excluded.matches(&b));
    }

    /// Karmada ANDs the criteria: names and a selector together narrow the
    /// selection (a union would have matched both clusters here).
    #[test]
    fn names_and_selector_together_select_their_intersection() {
        let a = cluster("a", "prod");
        let b = cluster("b", "staging");
        let c = cluster("c", "prod");
        let both = ClusterTarget {
            cluster_names: names(&["a", "b"]),
            label_selector: prod(),
            exclude: vec![],
        };
        assert!(both.matches(&a));
        assert!(!both.matches(&b), "named but not matched by the selector");
        assert!(!both.matches(&c), "matched by the selector but not named");
        let minus = ClusterTarget {
            exclude: names(&["a"]),
            ..both
        };
        assert!(!minus.matches(&a), "exclusions win over names and selector");
    }

    #[test]
    fn affinities_select_as_targets_do() {
        let clusters = [
            cluster("a", "prod"),
            cluster("b", "staging"),
            cluster("c", "prod"),
        ];
        let affinities = [
            ClusterAffinity::default(),
            ClusterAffinity {
                cluster_names: names(&["a", "b"]),
                label_selector: prod(),
                exclude: names(&["c"]),
                follow_apps: vec![],
            },
            ClusterAffinity {
                exclude: names(&["b"]),
                follow_apps: names(&["other"]),
                ..Default::default()
            },
        ];
        for affinity in &affinities {
            let target = ClusterTarget {
                cluster_names: affinity.cluster_names.clone(),
                label_selector: affinity.label_selector.clone(),
                exclude: affinity.exclude.clone(),
            };
            for c in &clusters {
                assert_eq!(affinity.selects(c), target.matches(c), "{affinity:?} {c:?}");
            }
        }
        assert!(!affinities[2].selects(&clusters[1]));
    }

    #[test]
    fn resource_selectors_match_set_fields() {
        let id = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
        };
        assert!(ResourceSelector::default().matches(&id));
        let sel = ResourceSelector {
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
            name: Some("web".into()),
            ..Default::default()
        };
        assert!(sel.matches(&id));
        let other = ResourceSelector {
            namespace: Some("other".into()),
            ..Default::default()
        };
        assert!(!other.matches(&id));
        let cluster_scoped = ObjectRef {
            namespace: None,
            ..id
        };
        let in_shop = ResourceSelector {
            namespace: Some("shop".into()),
            ..Default::default()
        };
        assert!(!in_shop.matches(&cluster_scoped));
    }
}
