//! The resources a simulated cluster serves: the built-in kinds tranche
//! and its tests use, plus the kinds of CustomResourceDefinitions applied
//! to it, and the discovery documents built from them. Pure.

use serde_json::{json, Value};

/// One served resource (a kind at one group/version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group (`""` for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural, as in URLs.
    pub plural: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Subresources served (`status`, `scale`).
    pub subresources: Vec<String>,
}

impl Resource {
    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// `(group, version, kind, plural, namespaced, has status)` of every
/// built-in kind.
const BUILT_IN: &[(&str, &str, &str, &str, bool, bool)] = &[
    ("", "v1", "Namespace", "namespaces", false, true),
    ("", "v1", "ConfigMap", "configmaps", true, false),
    ("", "v1", "Secret", "secrets", true, false),
    ("", "v1", "Service", "services", true, true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, false),
    ("", "v1", "Pod", "pods", true, true),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        true,
    ),
    (
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        true,
    ),
    ("", "v1", "Node", "nodes", false, true),
    ("", "v1", "Endpoints", "endpoints", true, false),
    ("", "v1", "Event", "events", true, false),
    ("", "v1", "LimitRange", "limitranges", true, false),
    ("", "v1", "ResourceQuota", "resourcequotas", true, true),
    ("apps", "v1", "Deployment", "deployments", true, true),
    ("apps", "v1", "StatefulSet", "statefulsets", true, true),
    ("apps", "v1", "DaemonSet", "daemonsets", true, true),
    ("apps", "v1", "ReplicaSet", "replicasets", true, true),
    (
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        false,
    ),
    ("batch", "v1", "Job", "jobs", true, true),
    ("batch", "v1", "CronJob", "cronjobs", true, true),
    (
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        true,
    ),
    (
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        true,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        true,
    ),
    ("coordination.k8s.io", "v1", "Lease", "leases", true, false),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        false,
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
        false,
    ),
];

/// The built-in resources.
pub fn built_in() -> Vec<Resource> {
    BUILT_IN
        .iter()
        .map(
            |(group, version, kind, plural, namespaced, status)| Resource {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced: *namespaced,
                subresources: match (*status, *kind) {
                    (true, "Deployment" | "StatefulSet" | "ReplicaSet") => {
                        vec!["status".into(), "scale".into()]
                    }
                    (true, _) => vec!["status".into()],
                    (false, _) => vec![],
                },
            },
        )
        .collect()
}

/// Whether `group`/`plural` is a built-in resource (not from a CRD).
pub fn is_built_in(group: &str, plural: &str) -> bool {
    BUILT_IN
        .iter()
        .any(|(g, _, _, p, _, _)| *g == group && *p == plural)
}

/// The resources a CustomResourceDefinition serves: one per served version.
pub fn of_crd(crd: &Value) -> Vec<Resource> {
    let spec = &crd["spec"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let (group, kind, plural) = (
        text(&spec["group"]),
        text(&spec["names"]["kind"]),
        text(&spec["names"]["plural"]),
    );
    if group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Vec::new();
    }
    let namespaced = spec["scope"] != "Cluster";
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == true)
        .map(|v| Resource {
            group: group.clone(),
            version: text(&v["name"]),
            kind: kind.clone(),
            plural: plural.clone(),
            namespaced,
            subresources: if v["subresources"]["status"].is_object() {
                vec!["status".into()]
            } else {
                vec![]
            },
        })
        .collect()
}

/// The `APIResourceList` of one group/version; `None` when nothing is
/// served there.
pub fn resource_list(resources: &[Resource], api_version: &str) -> Option<Value> {
    let verbs = json!([
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch"
    ]);
    let mut items = Vec::new();
    for r in resources.iter().filter(|r| r.api_version() == api_version) {
        items.push(json!({
            "name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced,
            "kind": r.kind, "verbs": verbs,
        }));
        for sub in &r.subresources {
            items.push(json!({
                "name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": if sub == "scale" { "Scale" } else { r.kind.as_str() },
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    (!items.is_empty()).then(|| {
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": items})
    })
}

/// The `APIGroupList` of `/apis`.
pub fn group_list(resources: &[Resource]) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => {
                versions.push(r.version.clone())
            }
            Some(_) => {}
            None => groups.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            let preferred = versions[versions.len() - 1].clone();
            json!({"name": group, "versions": versions, "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}
