//! Rendered objects re-checked after overrides: identity changes, the
//! manifest checks, the AccessPolicy with the kind table's scope, blame,
//! duplicates, and `verify`.

use super::*;
use crate::model::{
    AccessPolicy, App, ClusterTarget, OverrideFile, OverrideOp, OverrideRule, Overriders,
    PlaintextOp,
};
use crate::render::render;
use crate::render::testkit::{app, config_map, fleet};
use serde_json::json;

fn role_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "admins", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "team-a", "apiGroup": "rbac.authorization.k8s.io"}]
    })
}

fn op(path: &str, value: Value) -> PlaintextOp {
    PlaintextOp {
        path: path.into(),
        operator: OverrideOp::Replace,
        value: Some(value),
    }
}

fn with_rules(mut a: App, file: &str, rules: Vec<Vec<PlaintextOp>>) -> App {
    a.overrides.push(OverrideFile {
        file: format!("apps/{}/overrides/{file}", a.name),
        resource_selectors: vec![],
        rules: rules
            .into_iter()
            .enumerate()
            .map(|(index, plaintext)| OverrideRule {
                index,
                target: ClusterTarget::default(),
                overriders: Overriders {
                    plaintext,
                    ..Default::default()
                },
            })
            .collect(),
    });
    a
}

/// The fleet with team-a's policy: namespaces [team-a], no cluster-scoped
/// kinds, no identity overrides.
fn strict(apps: Vec<App>) -> Fleet {
    let mut f = fleet(apps);
    let mut rule = f.policies.access.default.clone();
    rule.namespaces = vec!["team-a".into()];
    rule.cluster_scoped_kinds = vec![];
    rule.identity_overrides = vec![];
    f.policies.access = AccessPolicy {
        default: rule,
        apps: Default::default(),
    };
    f
}

fn messages(fleet: &Fleet) -> Vec<String> {
    render(fleet)
        .expect_err("the rendering must be refused")
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn rolebinding_turned_clusterrolebinding_is_refused_naming_file_and_rule() {
    let a = with_rules(
        app("team-a", vec![role_binding()]),
        "escalate.yaml",
        vec![vec![op("/kind", json!("ClusterRoleBinding"))]],
    );
    let errors = messages(&strict(vec![a]));
    assert!(
        errors.iter().all(|e| e.starts_with(
            "apps/team-a/overrides/escalate.yaml: spec.overrideRules[0].overriders: on cluster "
        )),
        "{errors:#?}"
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("kind: changed from \"RoleBinding\" to \"ClusterRoleBinding\""),
        "{joined}"
    );
    assert!(
        joined.contains("ClusterRoleBinding is cluster-scoped: remove metadata.namespace"),
        "{joined}"
    );
    assert!(
        joined.contains("cluster-scoped kind ClusterRoleBinding is not allowed"),
        "{joined}"
    );
}

#[test]
fn an_allowed_identity_change_is_still_checked_against_the_policy() {
    let a = with_rules(
        app("team-a", vec![role_binding()]),
        "escalate.yaml",
        vec![vec![
            op("/kind", json!("ClusterRoleBinding")),
            PlaintextOp {
                path: "/metadata/namespace".into(),
                operator: OverrideOp::Remove,
                value: None,
            },
        ]],
    );
    let mut f = strict(vec![a]);
    f.policies.access.default.identity_overrides = IdentityField::ALL.to_vec();
    let errors = messages(&f);
    assert_eq!(errors.len(), 3, "one per cluster: {errors:#?}");
    assert!(
        errors[0].ends_with(
            "the result is refused: ClusterRoleBinding admins is not allowed for app team-a by \
             the AccessPolicy: cluster-scoped kind ClusterRoleBinding is not allowed"
        ),
        "{errors:#?}"
    );
    f.policies.access.default.cluster_scoped_kinds = vec!["ClusterRoleBinding".into()];
    assert!(render(&f).is_ok());
}

#[test]
fn renamed_namespace_to_kube_system_is_refused() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}});
    let a = with_rules(
        app("team-a", vec![ns]),
        "rename.yaml",
        vec![vec![op("/metadata/name", json!("kube-system"))]],
    );
    let mut f = strict(vec![a]);
    f.policies.access.default.cluster_scoped_kinds = vec!["Namespace".into()];
    f.policies.access.default.identity_overrides = vec![IdentityField::Name];
    f.policies.access.default.denied_namespaces = vec!["kube-system".into()];
    let joined = messages(&f).join("\n");
    assert!(
        joined.contains(
            "Namespace kube-system is not allowed for app team-a by the AccessPolicy: \
                         namespace \"kube-system\" is not allowed"
        ),
        "{joined}"
    );
}

#[test]
fn the_manifest_checks_run_on_overridden_objects() {
    let mut cm = config_map("cfg");
    cm["metadata"]["namespace"] = json!("team-a");
    let a = with_rules(
        app("team-a", vec![cm]),
        "bad.yaml",
        vec![
            vec![op("/data", json!({"k": "fine"}))],
            vec![
                op("/metadata/name", json!("Bad Name!")),
                PlaintextOp {
                    path: "/metadata/labels".into(),
                    operator: OverrideOp::Add,
                    value: Some(json!({"bad key!": "v"})),
                },
            ],
        ],
    );
    let mut f = strict(vec![a]);
    f.policies.access.default.identity_overrides = vec![IdentityField::Name];
    let errors = messages(&f);
    let first = &errors[0];
    // The first rule is harmless: the second is blamed.
    assert!(
        first.starts_with("apps/team-a/overrides/bad.yaml: spec.overrideRules[1].overriders:"),
        "{first}"
    );
    let joined = errors.join("\n");
    assert!(
        joined.contains("metadata.name: invalid ConfigMap name \"Bad Name!\""),
        "{joined}"
    );
    assert!(joined.contains("metadata.labels.bad key!:"), "{joined}");
}

#[test]
fn a_custom_kind_given_a_namespace_is_refused_when_its_crd_says_cluster() {
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "w"}});
    let a = with_rules(
        app("team-a", vec![widget]),
        "ns.yaml",
        vec![vec![PlaintextOp {
            path: "/metadata/namespace".into(),
            operator: OverrideOp::Add,
            value: Some(json!("team-a")),
        }]],
    );
    let mut f = strict(vec![a]);
    f.policies.access.default.identity_overrides = vec![IdentityField::Namespace];
    f.policies.access.default.cluster_scoped_kinds = vec!["Widget".into()];
    f.kinds.insert(
        "example.com",
        "Widget",
        crate::kinds::KindInfo::plain(
            Scope::Cluster,
            crate::kinds::Origin::Crd("apps/platform/manifests/crd.yaml[doc 0]".into()),
        ),
    );
    let joined = messages(&f).join("\n");
    assert!(
        joined.contains(
            "metadata.namespace: Widget is cluster-scoped (CustomResourceDefinition in \
             apps/platform/manifests/crd.yaml[doc 0]): remove metadata.namespace"
        ),
        "{joined}"
    );
}

#[test]
fn two_objects_renamed_into_one_are_reported() {
    let a = with_rules(
        app("shop", vec![config_map("a"), config_map("b")]),
        "same.yaml",
        vec![vec![op("/metadata/name", json!("same"))]],
    );
    let joined = messages(&fleet(vec![a])).join("\n");
    assert!(
        joined.contains(
            "ConfigMap shop/same: rendered twice on this cluster, also from \
                         apps/shop/manifests/all.yaml[doc 0]"
        ),
        "{joined}"
    );
}

#[test]
fn verify_accepts_what_render_returns_and_catches_tampering() {
    let a = with_rules(
        app("team-a", vec![role_binding()]),
        "data.yaml",
        vec![vec![op("/subjects/0/name", json!("team-a-admins"))]],
    );
    let f = strict(vec![a]);
    let mut rendering = render(&f).expect("a harmless override renders");
    assert_eq!(verify(&f, &rendering), []);
    let cluster = rendering.clusters.get_mut("eu-1").expect("cluster");
    let obj = &mut cluster.apps.get_mut("team-a").expect("app").objects[0];
    obj.object["kind"] = json!("ClusterRoleBinding");
    let errors: Vec<String> = verify(&f, &rendering)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(!errors.is_empty());
    assert!(
        errors[0]
            .starts_with("apps/team-a/manifests/all.yaml[doc 0]: rendered object: on cluster eu-1"),
        "{errors:#?}"
    );
}
