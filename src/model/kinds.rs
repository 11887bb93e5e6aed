//! Facts about well-known Kubernetes kinds that the model needs before any
//! cluster is asked: which kinds are cluster-scoped (so they get no default
//! namespace) and how each kind's object names are checked.
//!
//! The table is the one place these facts live. Custom resources that are
//! cluster-scoped are declared per repository in `tranche.yaml`
//! (`spec.clusterScopedKinds`); after loading, an object is cluster-scoped
//! exactly when it has no `metadata.namespace`.

use super::names;

/// Cluster-scoped kinds of Kubernetes itself and of very common add-ons,
/// by (API group, kind). The directory cluster driver reads the same table
/// ([`crate::cluster`]), so the model and the driver agree on scope.
const CLUSTER_SCOPED_KINDS: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    // PodSecurityPolicy, on old clusters.
    ("policy", "PodSecurityPolicy"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    // Common add-ons: cert-manager, Gateway API.
    ("cert-manager.io", "ClusterIssuer"),
    ("gateway.networking.k8s.io", "GatewayClass"),
];

/// Whether `kind` is a well-known cluster-scoped kind (Namespace,
/// CustomResourceDefinition, ClusterRole, StorageClass, webhook
/// configurations, …) in any API group. Unknown kinds count as namespaced.
pub fn is_cluster_scoped_kind(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.iter().any(|&(_, k)| k == kind)
}

/// Whether `kind` of API group `group` (empty for the core group) is a
/// well-known cluster-scoped kind; a kind of the same name in another group
/// (a custom resource) is not.
pub fn is_builtin_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&(group, kind))
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
    fn group_qualified_lookup_needs_the_right_group() {
        assert!(is_builtin_cluster_scoped("", "Namespace"));
        assert!(is_builtin_cluster_scoped(
            "rbac.authorization.k8s.io",
            "ClusterRole"
        ));
        assert!(!is_builtin_cluster_scoped("example.com", "Namespace"));
        assert!(!is_builtin_cluster_scoped("apps", "Deployment"));
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
