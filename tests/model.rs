//! Loading whole fleets: the example repository, built-in policies, and
//! problems that only show across files (all reported at once).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use tranche::git::Snapshot;
use tranche::model::{self, ModelError, OnFailure, ReplicaScheduling};

/// Apps of the example that the real kustomize and helm render first
/// (`tranche::sources`, covered by tests/cli.rs, tests/kustomize.rs and
/// tests/helm.rs): the model alone reads plain manifests, so only their
/// placements are kept here.
const RENDERED_APPS: [&str; 2] = ["apps/catalog/", "apps/reviews/"];

fn example() -> Snapshot {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/repo-layout");
    let mut snapshot = Snapshot::from_dir("0123456789abcdef0123456789abcdef01234567", &root)
        .expect("read examples/repo-layout");
    snapshot.files.retain(|path, _| {
        !RENDERED_APPS.iter().any(|app| path.starts_with(app)) || path.ends_with("/placement.yaml")
    });
    snapshot
}

#[test]
fn example_repository_validates() {
    let fleet = match model::load(&example()) {
        Ok(fleet) => fleet,
        Err(errors) => panic!("examples/repo-layout does not validate:\n{errors}"),
    };
    assert_eq!(fleet.commit, "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(fleet.clusters.len(), 12);
    let regions: std::collections::BTreeSet<_> = fleet
        .clusters
        .values()
        .map(|c| c.labels["region"].as_str())
        .collect();
    assert_eq!(
        regions.into_iter().collect::<Vec<_>>(),
        ["ap-south", "eu-west", "us-east"]
    );
    assert_eq!(fleet.clusters["stg-eu-west-1"].rollout_order, Some(0));
    assert_eq!(fleet.clusters["stg-eu-west-1"].context, "stg-eu-west-1");
    assert!(fleet.clusters["prod-us-east-2"].context.starts_with("gke_"));

    let apps: Vec<_> = fleet.apps.keys().map(String::as_str).collect();
    assert_eq!(
        apps,
        [
            "cart",
            "catalog",
            "checkout",
            "openkruise",
            "recommendations-realtime-feature-pipeline",
            "reviews",
            "shop-config",
            "storefront"
        ]
    );
    let checkout = &fleet.apps["checkout"];
    assert_eq!(checkout.manifests.len(), 5);
    let ReplicaScheduling::Divided { weights } = &checkout.placement.replicas else {
        panic!("checkout is not Divided");
    };
    assert_eq!(weights.len(), 5);
    assert_eq!(fleet.apps["storefront"].overrides.len(), 3);
    // cart runs on CloneSets, a workload kind from policies/ (WorkloadKind).
    assert!(fleet.kinds.is_workload("apps.kruise.io", "CloneSet"));
    assert_eq!(
        fleet.apps["openkruise"].placement.affinity.follow_apps,
        ["cart"]
    );
    assert_eq!(
        fleet.apps["shop-config"].placement.affinity.follow_apps,
        ["checkout", "storefront"]
    );

    // The repo's `careful` rollout policy over the built-in one.
    let rollout = &fleet.policies.rollout;
    assert_eq!(rollout.steps, tranche::model::Steps::Ratio(vec![1, 2, 7]));
    assert_eq!(rollout.health_timeout, Duration::from_secs(600));
    assert_eq!(rollout.bake_time, Duration::from_secs(120));
    assert_eq!(rollout.max_parallel, 3);
    assert_eq!(rollout.on_failure, OnFailure::Rollback);
    assert!(!rollout.force_conflicts);
    // The repo's access policy adds per-app namespaces, keeps built-in denials.
    let access = fleet.policies.access.for_app("checkout");
    assert_eq!(access.namespaces, ["checkout"]);
    assert!(access
        .denied_namespaces
        .contains(&"kube-system".to_string()));
    // Built-in diff policy untouched.
    assert_eq!(fleet.policies.diff, model::builtin_policies().diff);
}

#[test]
fn builtin_policies_are_the_documented_defaults() {
    let p = model::builtin_policies();
    assert_eq!(p.rollout.steps, tranche::model::Steps::Ratio(vec![1, 2, 7]));
    assert_eq!(p.rollout.health_timeout, Duration::from_secs(300));
    assert_eq!(p.rollout.bake_time, Duration::from_secs(30));
    assert_eq!(p.rollout.on_failure, OnFailure::Rollback);
    assert_eq!(p.rollout.max_parallel, 4);
    assert!(!p.rollout.force_conflicts);
    assert_eq!(p.diff.drift, model::DriftMode::Correct);
    assert!(!p.diff.ignore.is_empty());
    assert_eq!(p.access.default.namespaces, ["*"]);
    assert_eq!(
        p.access.default.denied_namespaces,
        [
            "kube-system",
            "kube-public",
            "kube-node-lease",
            "tranche-system"
        ]
    );
    assert_eq!(p.access.default.cluster_scoped_kinds, ["Namespace"]);
}

const CLUSTER: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: NAME, labels: {env: prod}}\n";
const PLACEMENT: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec: {clusterAffinity: {labelSelector: {}}}\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n";

/// A small valid fleet (clusters a and b, apps web and api) plus `extra`
/// files, which replace files of the same path.
fn fleet(extra: &[(&str, &str)]) -> Snapshot {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for c in ["a", "b"] {
        files.insert(format!("clusters/{c}.yaml"), CLUSTER.replace("NAME", c));
    }
    for app in ["web", "api"] {
        files.insert(format!("apps/{app}/placement.yaml"), PLACEMENT.to_string());
        files.insert(
            format!("apps/{app}/manifests/app.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {app}, namespace: {app}}}\n"
            ),
        );
    }
    for (path, text) in extra {
        files.insert(path.to_string(), text.to_string());
    }
    Snapshot::from_files("c0ffee", files)
}

fn errors(snapshot: &Snapshot) -> Vec<ModelError> {
    match model::load(snapshot) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

#[test]
fn small_fleet_is_valid_and_defaults_the_namespace() {
    let fleet = model::load(&fleet(&[("apps/web/manifests/more.yaml", CONFIGMAP)])).unwrap();
    let more = &fleet.apps["web"].manifests[1];
    assert_eq!(more.object["metadata"]["namespace"], "default");
    assert_eq!(more.source(), "apps/web/manifests/more.yaml[doc 0]");
}

#[test]
fn default_namespace_comes_from_tranche_yaml() {
    let repo =
        "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nspec: {defaultNamespace: web}\n";
    let fleet = model::load(&fleet(&[
        ("tranche.yaml", repo),
        ("apps/web/manifests/more.yaml", CONFIGMAP),
    ]))
    .unwrap();
    assert_eq!(
        fleet.apps["web"].manifests[1].object["metadata"]["namespace"],
        "web"
    );
}

#[test]
fn three_independent_problems_are_three_errors() {
    let errors = errors(&fleet(&[
        ("clusters/b.yaml", &CLUSTER.replace("NAME", "c")),
        ("apps/api/placement.yaml", "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec: {clusterAffinity: {clusterNames: [z]}}\n"),
        ("apps/web/manifests/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n"),
    ]));
    let locations: Vec<_> = errors.iter().map(|e| e.location()).collect();
    assert_eq!(
        locations,
        [
            "apps/api/placement.yaml: spec.clusterAffinity.clusterNames[0]",
            "apps/web/manifests/bad.yaml[doc 0]: metadata.name",
            "clusters/b.yaml: metadata.name",
        ]
    );
}

#[test]
fn missing_placement_is_reported() {
    let mut snapshot = fleet(&[]);
    snapshot.files.remove("apps/api/placement.yaml");
    assert_eq!(
        errors(&snapshot),
        [ModelError::file(
            "apps/api/placement.yaml",
            "missing: every app needs a placement.yaml saying which clusters it goes to"
        )]
    );
}

#[test]
fn the_same_object_in_two_apps_names_both_files() {
    let dup = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: web}\n";
    assert_eq!(
        errors(&fleet(&[("apps/api/manifests/z.yaml", dup)])),
        [ModelError::doc(
            "apps/web/manifests/app.yaml",
            0,
            None,
            "ConfigMap web/web is already defined by app api in apps/api/manifests/z.yaml[doc 0]: \
             each object belongs to exactly one app (share it with followApps instead)"
        )]
    );
}

#[test]
fn follow_apps_cycles_and_unknown_apps() {
    let follow = |apps: &str| {
        format!("apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec: {{clusterAffinity: {{followApps: [{apps}]}}}}\n")
    };
    let errors = errors(&fleet(&[
        ("apps/api/placement.yaml", &follow("web")),
        ("apps/web/placement.yaml", &follow("api, ghost")),
    ]));
    assert_eq!(
        errors,
        [
            ModelError::field(
                "apps/api/placement.yaml",
                "spec.clusterAffinity.followApps",
                "followApps cycle: api -> web -> api: an app cannot follow itself, directly or \
                 through other apps"
            )
            .with_line(3),
            ModelError::field(
                "apps/web/placement.yaml",
                "spec.clusterAffinity.followApps[1]",
                "unknown app \"ghost\": there is no apps/ghost/ directory"
            )
            .with_line(3),
        ]
    );
}

#[test]
fn objects_outside_the_access_policy_are_errors() {
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: kube-system}\nstringData: {token: hunter2}\n";
    let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: \"system:web\"}\n";
    let errors = errors(&fleet(&[(
        "apps/web/manifests/x.yaml",
        &format!("{secret}---\n{role}"),
    )]));
    assert_eq!(
        errors,
        [
            ModelError::doc(
                "apps/web/manifests/x.yaml",
                0,
                None,
                "Secret kube-system/token is not allowed for app web by the AccessPolicy: \
                 namespace \"kube-system\" is not allowed"
            ),
            ModelError::doc(
                "apps/web/manifests/x.yaml",
                1,
                None,
                "ClusterRole system:web is not allowed for app web by the AccessPolicy: \
                 cluster-scoped kind ClusterRole is not allowed"
            ),
        ]
    );
    assert!(
        !format!("{errors:?}").contains("hunter2"),
        "Secret data leaked into errors"
    );
}

#[test]
fn repo_policies_override_builtin_field_by_field() {
    let policy = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: mine}\nspec: {onFailure: Pause}\n";
    let fleet = model::load(&fleet(&[("policies/rollout.yaml", policy)])).unwrap();
    let builtin = model::builtin_policies();
    assert_eq!(fleet.policies.rollout.on_failure, OnFailure::Pause);
    assert_eq!(fleet.policies.rollout.steps, builtin.rollout.steps);
    assert_eq!(
        fleet.policies.rollout.health_timeout,
        builtin.rollout.health_timeout
    );
}

#[test]
fn several_policies_of_a_kind_need_a_choice() {
    let policy = |name: &str| {
        format!("apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: {name}}}\nspec: {{steps: [1]}}\n")
    };
    let two = format!("{}---\n{}", policy("a"), policy("b"));
    assert_eq!(
        errors(&fleet(&[("policies/rollout.yaml", &two)])),
        [ModelError::doc(
            "policies/rollout.yaml",
            1,
            None,
            "several RolloutPolicy documents (a in policies/rollout.yaml, b in \
             policies/rollout.yaml): pick one with spec.policies.rollout in tranche.yaml"
        )]
    );
    let repo =
        "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nspec: {policies: {rollout: c}}\n";
    assert_eq!(
        errors(&fleet(&[
            ("policies/rollout.yaml", &two),
            ("tranche.yaml", repo)
        ])),
        [ModelError::field(
            "tranche.yaml",
            "spec.policies.rollout",
            "no RolloutPolicy named \"c\" in policies/ (found: a in policies/rollout.yaml, b in \
             policies/rollout.yaml)"
        )
        .with_line(3)]
    );
}

#[test]
fn override_selectors_must_match_an_object() {
    let o = "apiVersion: tranche.dev/v1alpha1\nkind: Override\nspec:\n  resourceSelectors: [{kind: Deployment}]\n  \
             overrideRules: [{overriders: {labelsOverrider: [{operator: add, value: {a: b}}]}}]\n";
    assert_eq!(
        errors(&fleet(&[("apps/web/overrides/o.yaml", o)])),
        [ModelError::field(
            "apps/web/overrides/o.yaml",
            "spec.resourceSelectors[0]",
            "matches no object of app web (check apiVersion, kind, namespace and name)"
        )
        .with_line(4)]
    );
}

#[test]
fn malformed_yaml_and_wrong_kinds_are_located() {
    let errors = errors(&fleet(&[
        (
            "apps/web/manifests/broken.yaml",
            "apiVersion: v1\nkind: [ConfigMap\n",
        ),
        (
            "clusters/b.yaml",
            "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: b}\n",
        ),
    ]));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0].location(),
        "apps/web/manifests/broken.yaml[doc 0]"
    );
    assert!(
        errors[0].message.starts_with("invalid YAML: "),
        "{}",
        errors[0].message
    );
    // The unclosed bracket itself, not the end of the file.
    assert!(
        errors[0].message.contains("line 2, column 7"),
        "{}",
        errors[0].message
    );
    assert_eq!(
        errors[1],
        ModelError::field(
            "clusters/b.yaml",
            "kind",
            "\"Placement\" does not belong in clusters/: expected Cluster"
        )
        .with_line(2)
    );
}

#[test]
fn app_names_are_dns_labels() {
    let errors = errors(&fleet(&[
        ("apps/Web_App/placement.yaml", PLACEMENT),
        (
            "apps/Web_App/manifests/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: w}\n",
        ),
    ]));
    assert_eq!(
        errors,
        [ModelError::file(
            "apps/Web_App/",
            "invalid app name \"Web_App\": must consist of lowercase letters, digits and '-', and \
             start and end with a letter or digit"
        )]
    );
}

#[test]
fn entries_the_snapshot_refused_are_reported_once_without_knock_on_errors() {
    let mut snapshot = fleet(&[]);
    snapshot.files.remove("clusters/b.yaml");
    snapshot.files.remove("apps/web/placement.yaml");
    for (path, why) in [
        ("clusters/b.yaml", "a symbolic link"),
        ("apps/web/placement.yaml", "a submodule"),
        ("apps/api/manifests/", "git cannot read this directory"),
        ("apps/api/README.md", "a symbolic link"),
    ] {
        snapshot.refused.insert(path.into(), why.into());
    }
    assert_eq!(
        errors(&snapshot),
        [
            ModelError::file("apps/api/README.md", "a symbolic link"),
            ModelError::file("apps/api/manifests/", "git cannot read this directory"),
            ModelError::file("apps/web/placement.yaml", "a submodule"),
            ModelError::file("clusters/b.yaml", "a symbolic link"),
        ]
    );
}

#[test]
fn problems_name_the_line_of_their_field() {
    let placement = "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    clusterNames:\n      - a\n      - z\n";
    let policy = "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata:\n  name: mine\nspec:\n  steps:\n    - 1\n    - 0\n";
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n---\n# the third\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n";
    let errors = errors(&fleet(&[
        ("apps/api/placement.yaml", placement),
        ("policies/rollout.yaml", policy),
        ("apps/web/manifests/three.yaml", manifest),
    ]));
    let found: Vec<_> = errors.iter().map(|e| (e.location(), e.line)).collect();
    assert_eq!(
        found,
        [
            (
                "apps/api/placement.yaml: spec.clusterAffinity.clusterNames[1]".to_string(),
                Some(7)
            ),
            (
                "apps/web/manifests/three.yaml[doc 2]: metadata.name".to_string(),
                Some(13)
            ),
            ("policies/rollout.yaml: spec.steps[1]".to_string(), Some(8)),
        ],
        "{errors:#?}"
    );
    assert!(
        errors[0].to_string().ends_with(" (line 7)"),
        "{}",
        errors[0]
    );
}
