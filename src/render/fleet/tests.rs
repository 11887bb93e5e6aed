//! End-to-end rendering of small fleets built in code.

use super::*;
use crate::model::{
    ClusterAffinity, ClusterTarget, HpaMode, OverrideFile, OverrideOp, OverrideRule, Overriders,
    PlaintextOp, ResourceSelector, WeightRule,
};
use crate::render::testkit::{app, config_map, deployment, eu, fleet, hpa, names};
use serde_json::json;

fn service(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"ports": [{"port": 80}]}})
}

fn divided(mut a: App, weights: &[(&str, u64)]) -> App {
    a.placement.replicas = ReplicaScheduling::Divided {
        weights: weights
            .iter()
            .map(|(c, w)| WeightRule {
                target: ClusterTarget {
                    cluster_names: names(&[c]),
                    ..Default::default()
                },
                weight: *w,
            })
            .collect(),
    };
    a
}

fn kinds(r: &Rendering, cluster: &str, app: &str) -> Vec<String> {
    r.clusters[cluster].apps[app]
        .objects
        .iter()
        .map(|o| o.id.to_string())
        .collect()
}

fn find<'a>(r: &'a Rendering, cluster: &str, app: &str, kind: &str) -> Option<&'a Value> {
    r.clusters[cluster].apps[app]
        .objects
        .iter()
        .find(|o| o.id.kind == kind)
        .map(|o| &o.object)
}

#[test]
fn every_registry_cluster_is_present_even_without_apps() {
    let mut a = app("shop", vec![config_map("cfg")]);
    a.placement.affinity = ClusterAffinity {
        cluster_names: names(&["eu-1"]),
        ..Default::default()
    };
    let r = render(&fleet(vec![a])).unwrap();
    assert_eq!(r.commit, "c0ffee");
    assert_eq!(
        r.clusters.keys().collect::<Vec<_>>(),
        ["eu-1", "eu-2", "us-1"]
    );
    assert!(r.clusters["us-1"].apps.is_empty());
    assert_eq!(r.clusters["eu-1"].apps["shop"].inventory.as_str(), "shop");
}

#[test]
fn divided_workloads_are_split_and_zero_share_clusters_keep_the_other_objects() {
    let a = divided(
        app(
            "shop",
            vec![
                deployment("web", Some(3)),
                service("web"),
                config_map("cfg"),
            ],
        ),
        &[("eu-1", 2), ("eu-2", 1)],
    );
    let r = render(&fleet(vec![a])).unwrap();
    assert_eq!(
        find(&r, "eu-1", "shop", "Deployment").unwrap()["spec"]["replicas"],
        2
    );
    assert_eq!(
        find(&r, "eu-2", "shop", "Deployment").unwrap()["spec"]["replicas"],
        1
    );
    // us-1 has no weight rule: weight 0, no replicas, no Deployment.
    assert_eq!(
        kinds(&r, "us-1", "shop"),
        ["ConfigMap shop/cfg", "Service shop/web"]
    );
    assert_eq!(
        kinds(&r, "eu-1", "shop"),
        [
            "ConfigMap shop/cfg",
            "Service shop/web",
            "Deployment shop/web"
        ]
    );
}

#[test]
fn split_hpas_own_replicas_and_skip_clusters_with_no_max_share() {
    let a = divided(
        app(
            "shop",
            vec![
                deployment("web", Some(10)),
                hpa("v2", "web", Some(1), 3),
                config_map("cfg"),
            ],
        ),
        &[("eu-1", 4), ("eu-2", 1), ("us-1", 1)],
    );
    let r = render(&fleet(vec![a])).unwrap();
    // max 3 over 4:1:1 → 2,1,0: the tie for the third replica (1/1 each) goes to eu-2 by name.
    let eu1 = find(&r, "eu-1", "shop", "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        (&eu1["spec"]["minReplicas"], &eu1["spec"]["maxReplicas"]),
        (&json!(1), &json!(2))
    );
    let eu2 = find(&r, "eu-2", "shop", "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        (&eu2["spec"]["minReplicas"], &eu2["spec"]["maxReplicas"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(kinds(&r, "us-1", "shop"), ["ConfigMap shop/cfg"]);
    for c in ["eu-1", "eu-2"] {
        let d = find(&r, c, "shop", "Deployment").unwrap();
        assert!(
            d["spec"].get("replicas").is_none(),
            "the HPA owns replicas on {c}"
        );
    }
    let hpa_policy = &r.clusters["eu-1"].apps["shop"]
        .objects
        .iter()
        .find(|o| o.id.kind == "HorizontalPodAutoscaler")
        .unwrap()
        .policy;
    assert_eq!(hpa_policy.as_str(), "shop-deployment-web");
}

#[test]
fn duplicate_mode_copies_the_hpa_everywhere() {
    let mut a = divided(
        app(
            "shop",
            vec![deployment("web", Some(10)), hpa("v1", "web", None, 3)],
        ),
        &[("eu-1", 4)],
    );
    a.placement.hpa = HpaMode::Duplicate;
    let r = render(&fleet(vec![a])).unwrap();
    for c in ["eu-1", "eu-2", "us-1"] {
        assert_eq!(
            find(&r, c, "shop", "HorizontalPodAutoscaler").unwrap()["spec"]["maxReplicas"],
            3
        );
        assert!(find(&r, c, "shop", "Deployment").unwrap()["spec"]
            .get("replicas")
            .is_none());
    }
}

#[test]
fn objects_are_stamped_sourced_and_yaml_is_in_apply_order() {
    let r = render(&fleet(vec![app(
        "shop",
        vec![deployment("web", Some(2)), config_map("cfg")],
    )]))
    .unwrap();
    let objects = &r.clusters["eu-1"].apps["shop"].objects;
    assert_eq!(objects[0].source, "apps/shop/manifests/all.yaml[doc 1]");
    assert_eq!(objects[1].policy.as_str(), "shop-deployment-web");
    let d = &objects[1].object;
    assert_eq!(
        d["metadata"]["labels"]["tranche.dev/policy"],
        "shop-deployment-web"
    );
    assert_eq!(d["metadata"]["labels"]["tranche.dev/app"], "shop");
    assert_eq!(
        d["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "tranche"
    );
    assert_eq!(d["metadata"]["annotations"]["tranche.dev/commit"], "c0ffee");
    assert_eq!(d["spec"]["replicas"], 2, "Duplicated: unchanged");
    let yaml = rendering_to_yaml(&r.clusters["eu-1"].apps["shop"]);
    assert!(
        yaml.starts_with("---\napiVersion: v1\nkind: ConfigMap\n"),
        "{yaml}"
    );
    assert_eq!(yaml.matches("---\n").count(), 2);
    assert!(yaml.find("kind: ConfigMap") < yaml.find("kind: Deployment"));
}

#[test]
fn rendering_is_deterministic_and_render_cluster_agrees() {
    let mut a = divided(
        app(
            "shop",
            vec![
                deployment("web", Some(5)),
                hpa("v2", "web", None, 4),
                config_map("cfg"),
            ],
        ),
        &[("eu-1", 1), ("us-1", 2)],
    );
    a.overrides = vec![OverrideFile {
        file: "apps/shop/overrides/eu.yaml".into(),
        resource_selectors: vec![ResourceSelector {
            kind: Some("ConfigMap".into()),
            ..Default::default()
        }],
        rules: vec![OverrideRule {
            index: 0,
            target: ClusterTarget {
                label_selector: eu(),
                ..Default::default()
            },
            overriders: Overriders {
                plaintext: vec![PlaintextOp {
                    path: "/data/region".into(),
                    operator: OverrideOp::Add,
                    value: Some(json!("eu")),
                }],
                ..Default::default()
            },
        }],
    }];
    let f = fleet(vec![a, app("other", vec![config_map("x")])]);
    let first = render(&f).unwrap();
    assert_eq!(first, render(&f).unwrap());
    for c in f.clusters.keys() {
        assert_eq!(render_cluster(&f, c).unwrap(), first.clusters[c]);
    }
    assert_eq!(
        find(&first, "eu-2", "shop", "ConfigMap").unwrap()["data"]["region"],
        "eu"
    );
    assert!(find(&first, "us-1", "shop", "ConfigMap").unwrap()["data"]
        .get("region")
        .is_none());
    let err = render_cluster(&f, "mars").unwrap_err();
    assert_eq!(err[0].to_string(), "clusters/: metadata.name: on cluster mars, cluster mars: not in the cluster registry (clusters/*.yaml); check the name");
}

#[test]
fn overrides_apply_after_the_split() {
    let mut a = divided(
        app("shop", vec![deployment("web", Some(4))]),
        &[("eu-1", 1), ("eu-2", 1)],
    );
    a.overrides = vec![OverrideFile {
        file: "apps/shop/overrides/pin.yaml".into(),
        resource_selectors: vec![],
        rules: vec![OverrideRule {
            index: 0,
            target: ClusterTarget {
                cluster_names: names(&["eu-2"]),
                ..Default::default()
            },
            overriders: Overriders {
                plaintext: vec![PlaintextOp {
                    path: "/spec/replicas".into(),
                    operator: OverrideOp::Replace,
                    value: Some(json!(9)),
                }],
                ..Default::default()
            },
        }],
    }];
    let r = render(&fleet(vec![a])).unwrap();
    assert_eq!(
        find(&r, "eu-1", "shop", "Deployment").unwrap()["spec"]["replicas"],
        2
    );
    assert_eq!(
        find(&r, "eu-2", "shop", "Deployment").unwrap()["spec"]["replicas"],
        9
    );
}

#[test]
fn every_error_is_collected() {
    let bad_rule = |file: &str| OverrideFile {
        file: file.into(),
        resource_selectors: vec![],
        rules: vec![OverrideRule {
            index: 0,
            target: ClusterTarget::default(),
            overriders: Overriders {
                plaintext: vec![PlaintextOp {
                    path: "/spec/nope".into(),
                    operator: OverrideOp::Remove,
                    value: None,
                }],
                ..Default::default()
            },
        }],
    };
    let mut a = app("a", vec![config_map("cfg")]);
    a.overrides = vec![bad_rule("apps/a/overrides/x.yaml")];
    let mut b = app(
        "b",
        vec![deployment("web", None), hpa("v2", "web", None, 0)],
    );
    b = divided(b, &[("eu-1", 1)]);
    let errors = render(&fleet(vec![a, b])).unwrap_err();
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(text.len(), 4, "{text:#?}");
    assert!(
        text[0].contains("apps/b/manifests/all.yaml[doc 1]: spec.maxReplicas"),
        "{}",
        text[0]
    );
    for (i, c) in ["eu-1", "eu-2", "us-1"].iter().enumerate() {
        assert!(
            text[i + 1].contains(&format!(
                "on cluster {c}, ConfigMap shop/cfg: nothing at /spec/nope"
            )),
            "{}",
            text[i + 1]
        );
    }
}

#[test]
fn placement_errors_surface_through_render() {
    let mut a = app("a", vec![]);
    a.placement.affinity = ClusterAffinity {
        follow_apps: names(&["a"]),
        ..Default::default()
    };
    let errors = render(&fleet(vec![a])).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().starts_with("apps/a/placement.yaml: spec.clusterAffinity.followApps: app a: apps follow each other in a cycle (a → a)"));
}

#[test]
fn overrides_that_remove_the_identity_are_errors() {
    let mut a = app("shop", vec![config_map("cfg")]);
    a.placement.affinity = ClusterAffinity {
        cluster_names: names(&["eu-1"]),
        ..Default::default()
    };
    a.overrides = vec![OverrideFile {
        file: "apps/shop/overrides/x.yaml".into(),
        resource_selectors: vec![],
        rules: vec![OverrideRule {
            index: 0,
            target: ClusterTarget::default(),
            overriders: Overriders {
                plaintext: vec![PlaintextOp {
                    path: "/metadata/name".into(),
                    operator: OverrideOp::Remove,
                    value: None,
                }],
                ..Default::default()
            },
        }],
    }];
    let errors = render(&fleet(vec![a])).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "apps/shop/overrides/x.yaml: spec.overrideRules[0].overriders: on cluster eu-1, \
         ConfigMap shop/cfg: the result is refused: metadata.name: overrides removed apiVersion, \
         kind or metadata.name"
    );
}

#[test]
fn failed_over_clusters_give_their_replicas_to_the_others() {
    let a = divided(
        app("shop", vec![deployment("web", Some(9)), config_map("cfg")]),
        &[("eu-1", 1), ("eu-2", 1), ("us-1", 1)],
    );
    let f = fleet(vec![a]);
    let replicas = |r: &Rendering, c: &str| {
        find(r, c, "shop", "Deployment").map(|d| d["spec"]["replicas"].clone())
    };
    let git = render(&f).unwrap();
    assert_eq!(
        ["eu-1", "eu-2", "us-1"].map(|c| replicas(&git, c)),
        [Some(json!(3)), Some(json!(3)), Some(json!(3))]
    );
    let failed: Failed = [("shop".to_string(), names(&["us-1"]).into_iter().collect())].into();
    let r = render_failover(&f, &failed).unwrap();
    // The total is kept on the remaining clusters; the failed one keeps
    // the app's other objects but no Deployment.
    assert_eq!(
        replicas(&r, "eu-1").unwrap().as_u64().unwrap()
            + replicas(&r, "eu-2").unwrap().as_u64().unwrap(),
        9
    );
    assert_eq!(replicas(&r, "us-1"), None);
    assert_eq!(kinds(&r, "us-1", "shop"), ["ConfigMap shop/cfg"]);
    // No failed cluster: git's split exactly.
    assert_eq!(render_failover(&f, &Failed::new()).unwrap(), git);
}
