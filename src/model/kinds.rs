//! Facts about well-known Kubernetes kinds that the model needs before any
//! cluster is asked: which kinds are cluster-scoped (so they get no default
//! namespace) and how each kind's object names are checked.
//!
//! The table is the one place these facts live. Custom resources that are
//! cluster-scoped are declared per repository in `tranche.yaml`
//! (`spec.clusterScopedKinds`); after loading, an object is cluster-scoped
//! exactly when it has no `metadata.namespace`.

use super::names;

/// Cluster-scoped kinds of Kubernetes itself and of very common add-ons.
const CLUSTER_SCOPED_KINDS: &[&str] = &[
    // core/v1
    "Namespace",
    "Node",
    "PersistentVolume",
    "ComponentStatus",
    // rbac.authorization.k8s.io
    "ClusterRole",
    "ClusterRoleBinding",
    // apiextensions / apiregistration
    "CustomResourceDefinition",
    "APIService",
    // admissionregistration.k8s.io
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    // storage.k8s.io
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "VolumeAttributesClass",
    // scheduling, node, networking
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "IPAddress",
    "ServiceCIDR",
    // certificates, flowcontrol, resource
    "CertificateSigningRequest",
    "ClusterTrustBundle",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "DeviceClass",
    "ResourceSlice",
    // policy (PodSecurityPolicy on old clusters)
    "PodSecurityPolicy",
    // authentication / authorization reviews
    "TokenReview",
    "SelfSubjectReview",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "SubjectAccessReview",
    // common add-ons: cert-manager, Gateway API
    "ClusterIssuer",
    "GatewayClass",
];

/// Whether `kind` is a well-known cluster-scoped kind (Namespace,
/// CustomResourceDefinition, ClusterRole, StorageClass, webhook
/// configurations, …). Unknown kinds count as namespaced.
pub fn is_cluster_scoped_kind(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// Checks `metadata.name` of an object of `kind` the way the apiserver
/// does: Namespaces are DNS-1123 labels, Services DNS-1035 labels, RBAC
/// objects path segments (so `system:…` names work), all else DNS-1123
/// subdomains. Returns why the name is invalid.
pub fn check_object_name(kind: &str, name: &str) -> Result<(), String> {
    match kind {
        "Namespace" => names::dns1123_label(name),
        "Service" => names::dns1035_label(name),
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            names::path_segment_name(name)
        }
        _ => names::dns1123_subdomain(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_knows_common_cluster_scoped_kinds() {
        for kind in [
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "StorageClass",
        ] {
            assert!(is_cluster_scoped_kind(kind), "{kind}");
        }
        for kind in [
            "Deployment",
            "Service",
            "ConfigMap",
            "Role",
            "HorizontalPodAutoscaler",
        ] {
            assert!(!is_cluster_scoped_kind(kind), "{kind}");
        }
    }

    #[test]
    fn object_names_depend_on_kind() {
        assert!(check_object_name("ClusterRole", "system:view-extra").is_ok());
        assert!(check_object_name("ConfigMap", "system:view-extra").is_err());
        assert!(check_object_name("ConfigMap", "shop.config").is_ok());
        assert!(check_object_name("Namespace", "shop.config").is_err());
        assert!(check_object_name("Service", "1web").is_err());
    }
}
