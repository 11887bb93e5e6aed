//! The built-in rows of the kind table: Kubernetes' own kinds (with their
//! older API groups where the same kind moved, such as `extensions`) and a
//! few very common add-ons (cert-manager, Gateway API, volume snapshots).

use super::{HealthRule, KindInfo, NameRule, Origin, Scope};

/// Apply order by kind name, for the built-in rows only (a custom kind of
/// the same name in another group has no row, so no rank): namespaces and
/// CRDs first so that what lives in them can be created, then what pods
/// need (accounts, secrets, config, storage, RBAC), services, workloads,
/// and last what points at workloads (ingresses, API services, webhooks).
const APPLY_ORDER: &[&str] = &[
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

/// Cluster-scoped kinds, by (group, kind).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
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
    ("extensions", "PodSecurityPolicy"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    // Common add-ons.
    ("cert-manager.io", "ClusterIssuer"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
    ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
];

/// Namespaced kinds, by (group, kind).
const NAMESPACED: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Endpoints"),
    ("", "Event"),
    ("", "LimitRange"),
    ("", "PersistentVolumeClaim"),
    ("", "Pod"),
    ("", "PodTemplate"),
    ("", "ReplicationController"),
    ("", "ResourceQuota"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("apps", "ControllerRevision"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("extensions", "DaemonSet"),
    ("extensions", "Deployment"),
    ("extensions", "ReplicaSet"),
    ("extensions", "Ingress"),
    ("extensions", "NetworkPolicy"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
    ("coordination.k8s.io", "Lease"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("events.k8s.io", "Event"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("storage.k8s.io", "CSIStorageCapacity"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceClaimTemplate"),
    // Common add-ons.
    ("cert-manager.io", "Certificate"),
    ("cert-manager.io", "CertificateRequest"),
    ("cert-manager.io", "Issuer"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GRPCRoute"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("snapshot.storage.k8s.io", "VolumeSnapshot"),
];

/// Pod spec of workloads that run pods from a template.
const TEMPLATE: &str = "/spec/template/spec";
/// Pod spec of a CronJob.
const JOB_TEMPLATE: &str = "/spec/jobTemplate/spec/template/spec";
/// Replica count of scalable workloads.
const REPLICAS: &str = "/spec/replicas";

/// Every built-in row: (group, kind, what tranche knows).
pub(super) fn rows() -> Vec<(&'static str, &'static str, KindInfo)> {
    let scoped = CLUSTER_SCOPED
        .iter()
        .map(|&(g, k)| (g, k, Scope::Cluster))
        .chain(NAMESPACED.iter().map(|&(g, k)| (g, k, Scope::Namespaced)));
    scoped
        .map(|(group, kind, scope)| {
            let mut info = KindInfo::plain(scope, Origin::Builtin);
            info.apply_rank = APPLY_ORDER.iter().position(|k| *k == kind);
            describe(group, kind, &mut info);
            (group, kind, info)
        })
        .collect()
}

/// Fills in what is special about one built-in kind.
fn describe(group: &str, kind: &str, info: &mut KindInfo) {
    let pods = |info: &mut KindInfo, pod_spec: &str, replicas: bool| {
        info.pod_spec = Some(pod_spec.to_string());
        info.replicas = replicas.then(|| REPLICAS.to_string());
    };
    match (group, kind) {
        ("apps" | "extensions", "Deployment") => {
            info.workload = true;
            pods(info, TEMPLATE, true);
            info.health = HealthRule::Deployment;
        }
        ("apps" | "extensions", "ReplicaSet") => {
            info.workload = true;
            pods(info, TEMPLATE, true);
        }
        ("apps", "StatefulSet") => {
            info.workload = true;
            pods(info, TEMPLATE, true);
            info.health = HealthRule::StatefulSet;
        }
        ("apps" | "extensions", "DaemonSet") => {
            info.workload = true;
            pods(info, TEMPLATE, false);
            info.health = HealthRule::DaemonSet;
        }
        ("batch", "Job") => {
            info.workload = true;
            pods(info, TEMPLATE, false);
            info.health = HealthRule::Job;
        }
        ("batch", "CronJob") => {
            info.workload = true;
            pods(info, JOB_TEMPLATE, false);
        }
        // Run pods, but are not workloads for policy names or splits.
        ("", "ReplicationController") => pods(info, TEMPLATE, false),
        ("", "Pod") => pods(info, "/spec", false),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            info.hpa = true;
            info.health = HealthRule::HorizontalPodAutoscaler;
        }
        ("", "Namespace") => {
            info.health = HealthRule::Namespace;
            info.names = NameRule::Dns1123Label;
        }
        ("", "Service") => info.names = NameRule::Dns1035Label,
        ("", "PersistentVolumeClaim") => info.health = HealthRule::PersistentVolumeClaim,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            info.health = HealthRule::CustomResourceDefinition;
        }
        ("rbac.authorization.k8s.io", _) => info.names = NameRule::PathSegment,
        _ => {}
    }
}
