use super::*;
use serde_json::json;

fn t() -> &'static KindTable {
    KindTable::builtin()
}

#[test]
fn scope_is_keyed_by_group_and_kind() {
    assert_eq!(t().scope("", "Namespace"), Some(Scope::Cluster));
    assert_eq!(
        t().scope("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        Some(Scope::Cluster)
    );
    assert_eq!(
        t().scope("rbac.authorization.k8s.io", "RoleBinding"),
        Some(Scope::Namespaced)
    );
    assert_eq!(t().scope("apps", "Deployment"), Some(Scope::Namespaced));
    // Same names in other groups are custom resources the table does not know.
    assert_eq!(t().scope("example.com", "Namespace"), None);
    assert_eq!(t().scope("example.com", "Deployment"), None);
    assert_eq!(t().scope("", "Deployment"), None);
}

#[test]
fn a_custom_deployment_is_never_a_deployment() {
    let custom = ("example.com", "Deployment");
    assert!(t().is_workload("apps", "Deployment"));
    assert!(!t().is_workload(custom.0, custom.1));
    assert_eq!(
        t().replicas_pointer("apps", "Deployment"),
        Some("/spec/replicas")
    );
    assert_eq!(t().replicas_pointer(custom.0, custom.1), None);
    assert_eq!(t().pod_spec_pointer(custom.0, custom.1), None);
    assert_eq!(
        t().health_rule("apps", "Deployment"),
        HealthRule::Deployment
    );
    assert_eq!(t().health_rule(custom.0, custom.1), HealthRule::Exists);
    assert_eq!(t().apply_rank(custom.0, custom.1), usize::MAX);
    assert!(t().apply_rank("apps", "Deployment") < usize::MAX);
}

#[test]
fn workloads_replicas_and_pod_specs() {
    assert!(t().is_workload("batch", "CronJob"));
    assert_eq!(t().replicas_pointer("batch", "CronJob"), None);
    assert_eq!(
        t().pod_spec_pointer("batch", "CronJob"),
        Some("/spec/jobTemplate/spec/template/spec")
    );
    assert_eq!(t().pod_spec_pointer("", "Pod"), Some("/spec"));
    assert!(!t().is_workload("", "Pod"));
    assert!(t().is_workload("extensions", "Deployment"));
    assert!(t().is_hpa("autoscaling", "HorizontalPodAutoscaler"));
    assert!(!t().is_hpa("example.com", "HorizontalPodAutoscaler"));
}

#[test]
fn apply_order_puts_namespaces_and_crds_first() {
    let rank = |g, k| t().apply_rank(g, k);
    assert_eq!(rank("", "Namespace"), 0);
    assert_eq!(rank("apiextensions.k8s.io", "CustomResourceDefinition"), 1);
    assert!(rank("", "ServiceAccount") < rank("", "Secret"));
    assert!(rank("", "Service") < rank("apps", "Deployment"));
    assert!(rank("apps", "Deployment") < rank("autoscaling", "HorizontalPodAutoscaler"));
    assert!(
        rank(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration"
        ) < rank("example.com", "Widget")
    );
}

#[test]
fn names_rules_follow_the_apiserver() {
    assert_eq!(t().name_rule("", "Namespace"), NameRule::Dns1123Label);
    assert_eq!(t().name_rule("", "Service"), NameRule::Dns1035Label);
    assert_eq!(
        t().name_rule("rbac.authorization.k8s.io", "ClusterRole"),
        NameRule::PathSegment
    );
    assert_eq!(
        t().name_rule("example.com", "Namespace"),
        NameRule::Dns1123Subdomain
    );
}

#[test]
fn runtime_entries_extend_the_table() {
    let mut table = KindTable::default();
    table.declare_cluster_scoped("ClusterThing");
    assert_eq!(
        table.scope("example.com", "ClusterThing"),
        Some(Scope::Cluster)
    );
    assert_eq!(
        table.get("x.io", "ClusterThing").map(|i| &i.origin),
        Some(&Origin::Repository)
    );
    // A declared name never overrides a built-in row.
    table.declare_cluster_scoped("Deployment");
    assert_eq!(table.scope("apps", "Deployment"), Some(Scope::Namespaced));
    let mut clone_set = KindInfo::plain(Scope::Namespaced, Origin::Policy("p.yaml".into()));
    clone_set.workload = true;
    clone_set.replicas = Some("/spec/replicas".into());
    clone_set.pod_spec = Some("/spec/template/spec".into());
    table.insert("apps.kruise.io", "CloneSet", clone_set);
    assert!(table.is_workload("apps.kruise.io", "CloneSet"));
    assert!(!KindTable::builtin().is_workload("apps.kruise.io", "CloneSet"));
}

#[test]
fn crds_declare_group_kind_and_scope() {
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget"}, "scope": "Cluster"}
    });
    assert_eq!(
        crd_declares(&crd),
        Some(("example.com".into(), "Widget".into(), Scope::Cluster))
    );
    let mut fake = crd.clone();
    fake["apiVersion"] = json!("example.com/v1");
    assert_eq!(crd_declares(&fake), None);
    let mut odd = crd;
    odd["spec"]["scope"] = json!("Everywhere");
    assert_eq!(crd_declares(&odd), None);
    assert_eq!(group_of("apps/v1"), "apps");
    assert_eq!(group_of("v1"), "");
}
