//! Rule order, selection, each overrider kind and failure messages.

use super::*;
use crate::model::{
    ClusterTarget, ImageComponent, ImageOverrider, MapOverrider, Overriders, PlaintextOp,
    ResourceSelector,
};
use crate::render::testkit::{app, cluster, config_map, deployment, eu, names};

fn rule(index: usize, target: ClusterTarget, overriders: Overriders) -> OverrideRule {
    OverrideRule {
        index,
        target,
        overriders,
    }
}

fn label(key: &str, value: &str) -> Overriders {
    Overriders {
        labels: vec![MapOverrider {
            operator: OverrideOp::Add,
            value: [(key.to_string(), value.to_string())].into(),
        }],
        ..Default::default()
    }
}

fn file(name: &str, rules: Vec<OverrideRule>) -> OverrideFile {
    OverrideFile {
        file: format!("apps/shop/overrides/{name}"),
        resource_selectors: vec![],
        rules,
    }
}

fn apply_all(app: &App, c: &Cluster, obj: &mut Value) -> Vec<RenderError> {
    let id = ObjectRef::from_object(obj).unwrap();
    let mut errors = Vec::new();
    for r in ordered_rules(app)
        .unwrap()
        .iter()
        .filter(|r| r.targets(c) && r.selects(&id))
    {
        let pods = crate::kinds::KindTable::builtin().pod_spec_pointer(id.group(), &id.kind);
        r.apply(obj, pods, &c.name, &id.to_string(), &mut errors);
    }
    errors
}

#[test]
fn more_specific_targets_win_then_file_name_then_rule_index() {
    let mut a = app("shop", vec![]);
    let by_name = ClusterTarget {
        cluster_names: names(&["eu-1"]),
        ..Default::default()
    };
    let by_label = ClusterTarget {
        label_selector: eu(),
        ..Default::default()
    };
    a.overrides = vec![
        file(
            "a.yaml",
            vec![
                rule(0, by_name.clone(), label("k", "a-name")),
                rule(1, by_label.clone(), label("k", "a-label")),
            ],
        ),
        file(
            "b.yaml",
            vec![
                rule(0, by_label, label("k", "b-label")),
                rule(1, ClusterTarget::default(), label("k", "b-all")),
                rule(2, by_name.clone(), label("k", "b-name-2")),
            ],
        ),
        file(
            "c.yaml",
            vec![rule(0, ClusterTarget::default(), label("k", "c-all"))],
        ),
    ];
    let order: Vec<(String, usize)> = ordered_rules(&a)
        .unwrap()
        .iter()
        .map(|r| (r.file.file.clone(), r.rule.index))
        .collect();
    let f = |n: &str, i| (format!("apps/shop/overrides/{n}"), i);
    assert_eq!(
        order,
        [
            f("b.yaml", 1),
            f("c.yaml", 0),
            f("a.yaml", 1),
            f("b.yaml", 0),
            f("a.yaml", 0),
            f("b.yaml", 2)
        ]
    );
    let mut on_eu1 = config_map("cfg");
    assert!(apply_all(&a, &cluster("eu-1", &[("region", "eu")]), &mut on_eu1).is_empty());
    assert_eq!(on_eu1["metadata"]["labels"]["k"], "b-name-2");
    let mut on_eu2 = config_map("cfg");
    apply_all(&a, &cluster("eu-2", &[("region", "eu")]), &mut on_eu2);
    assert_eq!(on_eu2["metadata"]["labels"]["k"], "b-label");
    let mut on_us = config_map("cfg");
    apply_all(&a, &cluster("us-1", &[("region", "us")]), &mut on_us);
    assert_eq!(on_us["metadata"]["labels"]["k"], "c-all");
}

#[test]
fn overriders_run_in_field_order_within_a_rule() {
    let mut a = app("shop", vec![]);
    let overriders = Overriders {
        plaintext: vec![PlaintextOp {
            path: "/metadata/labels".into(),
            operator: OverrideOp::Add,
            value: Some(json!({"k": "plaintext"})),
        }],
        image: vec![ImageOverrider {
            path: None,
            component: ImageComponent::Tag,
            operator: OverrideOp::Replace,
            value: "1.28".into(),
        }],
        labels: vec![MapOverrider {
            operator: OverrideOp::Replace,
            value: [("k".to_string(), "labels".to_string())].into(),
        }],
        ..Default::default()
    };
    a.overrides = vec![file(
        "x.yaml",
        vec![rule(0, ClusterTarget::default(), overriders)],
    )];
    let mut d = deployment("web", Some(1));
    assert!(apply_all(&a, &cluster("eu-1", &[]), &mut d).is_empty());
    assert_eq!(
        d["metadata"]["labels"]["k"], "labels",
        "labels run after plaintext"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
}

#[test]
fn resource_selectors_pick_objects_as_written() {
    let mut a = app("shop", vec![]);
    let mut f = file(
        "x.yaml",
        vec![rule(0, ClusterTarget::default(), label("k", "v"))],
    );
    f.resource_selectors = vec![ResourceSelector {
        kind: Some("Deployment".into()),
        name: Some("web".into()),
        ..Default::default()
    }];
    a.overrides = vec![f];
    let c = cluster("eu-1", &[]);
    let mut web = deployment("web", Some(1));
    let mut api = deployment("api", Some(1));
    let mut cfg = config_map("web");
    apply_all(&a, &c, &mut web);
    apply_all(&a, &c, &mut api);
    apply_all(&a, &c, &mut cfg);
    assert_eq!(web["metadata"]["labels"]["k"], "v");
    assert!(api["metadata"].get("labels").is_none() && cfg["metadata"].get("labels").is_none());
    let id = ObjectRef::from_object(&web).unwrap();
    let ns = ResourceSelector {
        namespace: Some("other".into()),
        ..Default::default()
    };
    assert!(!ns.matches(&id));
    let version = ResourceSelector {
        api_version: Some("apps/v1".into()),
        ..Default::default()
    };
    assert!(version.matches(&id));
}

fn plaintext(ops: Vec<(OverrideOp, &str, Option<Value>)>) -> Overriders {
    Overriders {
        plaintext: ops
            .into_iter()
            .map(|(operator, path, value)| PlaintextOp {
                path: path.into(),
                operator,
                value,
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn plaintext_add_replace_remove() {
    let mut a = app("shop", vec![]);
    a.overrides = vec![file(
        "x.yaml",
        vec![rule(
            0,
            ClusterTarget::default(),
            plaintext(vec![
                (OverrideOp::Add, "/spec/paused", Some(json!(true))),
                (OverrideOp::Replace, "/spec/replicas", Some(json!(7))),
                (OverrideOp::Remove, "/spec/selector", None),
            ]),
        )],
    )];
    let mut d = deployment("web", Some(1));
    assert!(apply_all(&a, &cluster("eu-1", &[]), &mut d).is_empty());
    assert_eq!(
        (&d["spec"]["paused"], &d["spec"]["replicas"]),
        (&json!(true), &json!(7))
    );
    assert!(d["spec"].get("selector").is_none());
}

#[test]
fn failing_plaintext_ops_name_file_rule_op_cluster_and_object() {
    let mut a = app("shop", vec![]);
    a.overrides = vec![file(
        "prod.yaml",
        vec![
            rule(0, ClusterTarget::default(), label("ok", "yes")),
            rule(
                1,
                ClusterTarget::default(),
                plaintext(vec![
                    (OverrideOp::Add, "/spec/paused", Some(json!(true))),
                    (OverrideOp::Replace, "/spec/foo", Some(json!(1))),
                    (OverrideOp::Add, "/spec/a/b", Some(json!(1))),
                    (OverrideOp::Remove, "/spec/template/spec/containers/9", None),
                ]),
            ),
        ],
    )];
    let mut d = deployment("web", Some(1));
    let errors: Vec<String> = apply_all(&a, &cluster("eu-1", &[]), &mut d)
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, [
        "apps/shop/overrides/prod.yaml: spec.overrideRules[1].overriders.plaintext[1] (replace /spec/foo): \
         on cluster eu-1, Deployment shop/web: nothing at /spec/foo to replace; use add to create it",
        "apps/shop/overrides/prod.yaml: spec.overrideRules[1].overriders.plaintext[2] (add /spec/a/b): \
         on cluster eu-1, Deployment shop/web: /spec/a does not exist; add creates only the last part of the path",
        "apps/shop/overrides/prod.yaml: spec.overrideRules[1].overriders.plaintext[3] \
         (remove /spec/template/spec/containers/9): on cluster eu-1, Deployment shop/web: \
         nothing at /spec/template/spec/containers/9 to remove; use add to create it",
    ]);
    // The ops that could apply did.
    assert_eq!(d["spec"]["paused"], json!(true));
}

#[test]
fn unparsable_pointers_are_reported_once_per_rule() {
    let mut a = app("shop", vec![]);
    a.overrides = vec![file(
        "x.yaml",
        vec![rule(
            3,
            ClusterTarget::default(),
            plaintext(vec![(OverrideOp::Add, "spec/replicas", Some(json!(1)))]),
        )],
    )];
    let errors = ordered_rules(&a).unwrap_err();
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(text.starts_with("apps/shop/overrides/x.yaml: spec.overrideRules[3].overriders.plaintext[0] (add spec/replicas): every selected object: not a JSON pointer"), "{text}");
}
