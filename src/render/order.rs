//! Apply order, as a data table (as Helm and Flux keep it): namespaces and
//! CRDs first so that what lives in them can be created, then what pods
//! need (accounts, secrets, config, storage, RBAC), services, workloads,
//! and last what points at workloads (ingresses, API services, webhooks).
//! Kinds not in the table go after all known kinds. Within a kind objects
//! go by namespace (cluster-scoped first), then name. Pruning runs in the
//! reverse order.

use crate::render::RenderedObject;

/// Known kinds in apply order.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "PriorityClass",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Position of `kind` in apply order; every unknown kind shares the last
/// position (after all known kinds).
pub fn apply_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// Sorts objects into apply order: rank, then kind (orders unknown kinds
/// among themselves), namespace (cluster-scoped first), name, apiVersion.
pub fn sort_objects(objects: &mut [RenderedObject]) {
    objects.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
}

fn sort_key(o: &RenderedObject) -> (usize, &str, Option<&str>, &str, &str) {
    let id = &o.id;
    (
        apply_rank(&id.kind),
        &id.kind,
        id.namespace.as_deref(),
        &id.name,
        &id.api_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::render::PolicyName;
    use serde_json::Value;

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> RenderedObject {
        RenderedObject {
            id: ObjectRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: ns.map(str::to_string),
                name: name.into(),
            },
            policy: PolicyName::for_object("app", name),
            object: Value::Null,
            source: String::new(),
        }
    }

    #[test]
    fn namespaces_and_crds_first_unknown_kinds_last() {
        assert_eq!(apply_rank("Namespace"), 0);
        assert_eq!(apply_rank("CustomResourceDefinition"), 1);
        assert!(apply_rank("ServiceAccount") < apply_rank("Secret"));
        assert!(apply_rank("Service") < apply_rank("Deployment"));
        assert!(apply_rank("Deployment") < apply_rank("HorizontalPodAutoscaler"));
        assert!(apply_rank("HorizontalPodAutoscaler") < apply_rank("StatefulSet"));
        assert!(apply_rank("ValidatingWebhookConfiguration") < apply_rank("Widget"));
        assert_eq!(apply_rank("Widget"), apply_rank("Gadget"));
    }

    #[test]
    fn sorts_by_rank_kind_namespace_name() {
        let mut objects = vec![
            obj("Widget", Some("a"), "w"),
            obj("Deployment", Some("b"), "web"),
            obj("Deployment", Some("a"), "web"),
            obj("Gadget", Some("a"), "g"),
            obj("ConfigMap", Some("a"), "z"),
            obj("ConfigMap", Some("a"), "b"),
            obj("Namespace", None, "a"),
            obj("CustomResourceDefinition", None, "widgets.example.com"),
        ];
        sort_objects(&mut objects);
        let got: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(
            got,
            [
                "Namespace a",
                "CustomResourceDefinition widgets.example.com",
                "ConfigMap a/b",
                "ConfigMap a/z",
                "Deployment a/web",
                "Deployment b/web",
                "Gadget a/g",
                "Widget a/w",
            ]
        );
    }
}
