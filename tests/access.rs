//! The AccessPolicy holds on what is really applied (issue 9, items 1 and
//! 4): overrides cannot turn an app's objects into something its policy
//! refuses, and scope comes from the kind table or discovery, never from
//! whether an object carries `metadata.namespace`.
//!
//! Each bypass the issue found is refused by `tranche validate`, naming the
//! override file and rule, and `tranche apply` writes nothing: no file in
//! directory clusters, no write in the audit log of real kube-apiservers
//! (tests/support TestFleet). A cluster-scoped kind the repository cannot
//! know about is refused by the plan and the driver from discovery.

mod support;

use serde_json::json;
use std::path::Path;
use support::fixtures::cluster;
use support::{tranche, FixtureRepo, TestFleet};

const CLUSTERS: [&str; 2] = ["a", "b"];

const ACCESS: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\n\
spec:\n  apps:\n    team-a: {namespaces: [team-a], clusterScopedKinds: [Namespace, Gadget]}\n    \
platform: {clusterScopedKinds: [CustomResourceDefinition]}\n";

const PLACEMENT: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    \
labelSelector: {matchLabels: {env: test}}\n";

const TEAM_A: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: admins, namespace: team-a}\n\
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n\
subjects: [{kind: Group, name: team-a, apiGroup: rbac.authorization.k8s.io}]\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader, namespace: team-a}\n\
rules: [{apiGroups: [\"*\"], resources: [\"*\"], verbs: [\"*\"]}]\n---\n\
apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n";

const GADGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
metadata: {name: gadgets.example.com}\nspec:\n  group: example.com\n  scope: Cluster\n  \
names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}\n  versions:\n  \
- name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        \
type: object\n        x-kubernetes-preserve-unknown-fields: true\n";

/// One override file of app team-a with a single plaintext op.
fn override_file(selector: &str, op: &str, path: &str, value: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Override\nmetadata: {{name: x}}\nspec:\n  \
         resourceSelectors: [{selector}]\n  overrideRules:\n  - overriders:\n      plaintext:\n      \
         - {{path: {path}, operator: {op}, value: {value}}}\n"
    )
}

/// The four bypasses: (override file, its content, a piece of the message).
fn bypasses() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "escalate.yaml",
            override_file(
                "{kind: RoleBinding, name: admins}",
                "replace",
                "/kind",
                "ClusterRoleBinding",
            ),
            "kind: changed from \"RoleBinding\" to \"ClusterRoleBinding\"",
        ),
        (
            "cluster-role.yaml",
            override_file(
                "{kind: Role, name: reader}",
                "replace",
                "/kind",
                "ClusterRole",
            ),
            "cluster-scoped kind ClusterRole is not allowed",
        ),
        (
            "kube-system.yaml",
            override_file(
                "{kind: Namespace, name: team-a}",
                "replace",
                "/metadata/name",
                "kube-system",
            ),
            "metadata.name: changed from \"team-a\" to \"kube-system\"",
        ),
        (
            "gadget-namespace.yaml",
            override_file(
                "{kind: Gadget, name: g}",
                "add",
                "/metadata/namespace",
                "team-a",
            ),
            "metadata.namespace: Gadget is cluster-scoped (CustomResourceDefinition in \
             apps/platform/manifests/crd.yaml[doc 0]): remove metadata.namespace",
        ),
    ]
}

/// The base repository: team-a (policy: namespace team-a only) and
/// platform (the Gadget CRD), on clusters a and b.
fn repo() -> FixtureRepo {
    let repo = FixtureRepo::new();
    for c in CLUSTERS {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, None));
    }
    repo.write("policies/access.yaml", ACCESS)
        .write("apps/team-a/placement.yaml", PLACEMENT)
        .write("apps/team-a/manifests/objects.yaml", TEAM_A)
        .write("apps/platform/placement.yaml", PLACEMENT)
        .write("apps/platform/manifests/crd.yaml", GADGET_CRD);
    repo
}

fn output(out: &std::process::Output) -> (i32, String) {
    let text = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `tranche apply` onto fresh directory clusters: exit code, output, and
/// every file written.
async fn apply_to_dirs(repo: &str) -> (i32, String, Vec<String>) {
    let dirs = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("temp dir");
    let (d, s) = (
        dirs.path().display().to_string(),
        state.path().display().to_string(),
    );
    let args = ["apply", repo, "--clusters-dir", &d, "--state-dir", &s];
    let (code, text) = output(&tranche(&args).await);
    (code, text, files_under(dirs.path()))
}

/// `tranche apply` onto the test fleet: exit code and output.
async fn apply_to_fleet(repo: &str, fleet: &TestFleet) -> (i32, String) {
    let state = tempfile::tempdir().expect("temp dir");
    let kc = fleet.kubeconfig_path().display().to_string();
    let s = state.path().display().to_string();
    output(&tranche(&["apply", repo, "--kubeconfig", &kc, "--state-dir", &s]).await)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overrides_that_bypass_the_access_policy_are_refused_and_nothing_is_written() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    let base = repo();
    base.commit("team-a and platform");
    let (code, text) = output(&tranche(&["validate", &base.path().display().to_string()]).await);
    assert_eq!(code, 0, "the base repository is valid: {text}");

    for (file, content, piece) in bypasses() {
        let repo = repo();
        repo.write(&format!("apps/team-a/overrides/{file}"), &content);
        repo.commit(file);
        let path = repo.path().display().to_string();

        let (code, text) = output(&tranche(&["validate", &path]).await);
        assert_eq!(code, 1, "{file}: {text}");
        let located =
            format!("apps/team-a/overrides/{file}: spec.overrideRules[0].overriders: on cluster a");
        assert!(
            text.contains(&located),
            "{file}: names the file and rule\n{text}"
        );
        assert!(text.contains(piece), "{file}: says why ({piece})\n{text}");

        let (code, text, files) = apply_to_dirs(&path).await;
        assert_eq!(
            code, 2,
            "{file}: an invalid commit is an error before any change\n{text}"
        );
        assert_eq!(files, Vec::<String>::new(), "{file}: nothing written");

        let since: Vec<usize> = audit_lens(&fleet).await;
        let (code, text) = apply_to_fleet(&path, &fleet).await;
        assert_eq!(code, 2, "{file}: {text}");
        for (c, since) in CLUSTERS.iter().zip(since) {
            let writes = fleet.mutating_requests(c, since).await;
            assert!(
                writes.is_empty(),
                "{file}: cluster {c} received writes: {writes:#?}"
            );
        }
    }
}

async fn audit_lens(fleet: &TestFleet) -> Vec<usize> {
    let mut out = Vec::new();
    for c in CLUSTERS {
        out.push(fleet.audit_len(c).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_that_discovery_says_is_cluster_scoped_is_never_written_with_a_namespace() {
    let fleet = TestFleet::start(&CLUSTERS).await;
    // The CRD is installed by someone else: the repository cannot know its scope.
    let crd: serde_json::Value = serde_yaml::from_str(GADGET_CRD).expect("CRD YAML");
    for c in CLUSTERS {
        fleet
            .apply_as(c, "platform-team", &crd, false)
            .await
            .expect("install the CRD");
        support::eventually(
            "gadgets served",
            std::time::Duration::from_secs(30),
            || async {
                let path = "/apis/example.com/v1";
                let (code, _) = fleet
                    .request(c, reqwest::Method::GET, path, None, "application/json")
                    .await;
                (code == 200).then_some(())
            },
        )
        .await;
    }
    let repo = FixtureRepo::new();
    for c in CLUSTERS {
        repo.write(&format!("clusters/{c}.yaml"), &cluster(c, None));
    }
    repo.write(
        "policies/access.yaml",
        &ACCESS.replace(
            "    platform: {clusterScopedKinds: [CustomResourceDefinition]}\n",
            "",
        ),
    )
    .write("apps/team-a/placement.yaml", PLACEMENT)
    .write(
        "apps/team-a/manifests/gadget.yaml",
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: team-a}\n---\n\
         apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: team-a}\ndata: {k: v}\n",
    );
    repo.commit("a gadget with a namespace");
    let path = repo.path().display().to_string();
    let (code, text) = output(&tranche(&["validate", &path]).await);
    assert_eq!(code, 0, "the repository cannot know Gadget's scope: {text}");

    let kubeconfig = fleet.kubeconfig_path().display().to_string();
    let (code, text) =
        output(&tranche(&["plan", &path, "--kubeconfig", &kubeconfig, "-o", "json"]).await);
    assert!(
        text.contains("\"action\": \"forbidden\"") || text.contains("\"action\":\"forbidden\""),
        "exit {code}: {text}"
    );
    assert!(
        text.contains("Gadget is cluster-scoped on this cluster"),
        "{text}"
    );

    let since = audit_lens(&fleet).await;
    let (code, text) = apply_to_fleet(&path, &fleet).await;
    assert_eq!(code, 1, "the forbidden object fails the batch: {text}");
    assert!(
        text.contains("Gadget is cluster-scoped on this cluster"),
        "{text}"
    );
    for (c, since) in CLUSTERS.iter().zip(since) {
        let writes = fleet.mutating_requests(c, since).await;
        let gadgets: Vec<_> = writes
            .iter()
            .filter(|e| e.pointer("/objectRef/resource") == Some(&json!("gadgets")))
            .collect();
        assert!(gadgets.is_empty(), "cluster {c}: {gadgets:#?}");
        let path = "/apis/example.com/v1/gadgets/g";
        let (code, body) = fleet
            .request(c, reqwest::Method::GET, path, None, "application/json")
            .await;
        assert_eq!(code, 404, "cluster {c}: no cluster-wide gadget: {body}");
    }

    // The driver itself refuses, right before the request, whoever calls it.
    let api = fleet.cluster("a").await;
    let since = fleet.audit_len("a").await;
    for obj in [
        json!({"apiVersion": "example.com/v1", "kind": "Gadget",
               "metadata": {"name": "g2", "namespace": "team-a"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "escalated", "namespace": "team-a"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
               "subjects": [{"kind": "Group", "name": "team-a", "apiGroup": "rbac.authorization.k8s.io"}]}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "no-namespace"}}),
    ] {
        for dry_run in [true, false] {
            let opts = tranche::cluster::ApplyOptions {
                dry_run,
                force: false,
            };
            let err = api.apply(&obj, opts).await.expect_err("refused");
            assert!(
                matches!(err, tranche::cluster::ClusterError::WrongScope { .. }),
                "{err}"
            );
        }
        let id = tranche::object::ObjectRef::from_object(&obj).expect("identity");
        assert!(api.get(&id).await.is_err());
        assert!(api.delete(&id).await.is_err());
    }
    let writes = fleet.mutating_requests("a", since).await;
    assert!(writes.is_empty(), "{writes:#?}");
}

#[tokio::test]
async fn overridden_objects_are_validated_like_manifests() {
    let cases = [
        (
            "/metadata/name",
            "'Bad Name!'",
            "metadata.name: invalid ConfigMap name \"Bad Name!\"",
        ),
        (
            "/metadata/name",
            "'../../x'",
            "metadata.name: invalid ConfigMap name \"../../x\"",
        ),
        (
            "/metadata/namespace",
            "'../../etc'",
            "metadata.namespace: invalid namespace \"../../etc\"",
        ),
        (
            "/metadata/namespace",
            "kube-system",
            "namespace \"kube-system\" is not allowed",
        ),
        (
            "/metadata/labels",
            "{'bad key!': v}",
            "metadata.labels.bad key!:",
        ),
    ];
    for (i, (path, value, piece)) in cases.iter().enumerate() {
        let repo = FixtureRepo::new();
        repo.write("clusters/a.yaml", &cluster("a", None))
            .write(
                "policies/access.yaml",
                "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\n\
                 spec:\n  default: {identityOverrides: [name, namespace]}\n",
            )
            .write("apps/shop/placement.yaml", PLACEMENT)
            .write(
                "apps/shop/manifests/config.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {k: v}\n",
            )
            .write(
                "apps/shop/overrides/bad.yaml",
                &override_file("{kind: ConfigMap}", "add", path, value),
            );
        repo.commit("bad override");
        let repo_path = repo.path().display().to_string();
        let (code, text) = output(&tranche(&["validate", &repo_path]).await);
        assert_eq!(code, 1, "case {i}: {text}");
        assert!(
            text.contains(
                "apps/shop/overrides/bad.yaml: spec.overrideRules[0].overriders: on cluster a"
            ),
            "case {i}: {text}"
        );
        assert!(text.contains(piece), "case {i}: {piece}\n{text}");
        let (code, text, files) = apply_to_dirs(&repo_path).await;
        assert_eq!(code, 2, "case {i}: {text}");
        assert_eq!(files, Vec::<String>::new(), "case {i}");
    }
}
