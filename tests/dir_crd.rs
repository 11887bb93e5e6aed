//! CRDs on directory clusters (issue 9, item 12): applying one does not
//! wait for an `Established` condition nothing would set, and a rollback
//! after a commit that added a CRD and a custom resource removes both.
//! The real binary on a real git repository, directory clusters in a temp
//! dir.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::fixtures::shop_repo;
use support::{tranche, FixtureRepo};

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  \
names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  versions:\n  \
- name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        \
type: object\n        x-kubernetes-preserve-unknown-fields: true\n";

const WIDGET: &str =
    "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\nspec:\n  size: 3\n";

/// A cluster-scoped kind, and one of its objects (no namespace: the CRD in
/// the same repository says so).
const GADGETS: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
metadata:\n  name: gadgets.example.com\nspec:\n  group: example.com\n  scope: Cluster\n  \
names: {kind: Gadget, plural: gadgets}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n\
---\napiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g\n";

const ACCESS: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\n\
spec:\n  default:\n    clusterScopedKinds: [Namespace, CustomResourceDefinition, Gadget]\n";

struct Env {
    repo: FixtureRepo,
    clusters: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let repo = shop_repo(&["a", "b"]);
        repo.write("policies/access.yaml", ACCESS);
        repo.commit("shop v1");
        Env {
            repo,
            clusters: tempfile::tempdir().expect("temp dir"),
            state: tempfile::tempdir().expect("temp dir"),
        }
    }

    async fn apply(&self) -> (i32, String, Duration) {
        let (repo, dir, state) = (
            self.repo.path().display().to_string(),
            self.clusters.path().display().to_string(),
            self.state.path().display().to_string(),
        );
        let started = Instant::now();
        let out = tranche(&[
            "apply",
            &repo,
            "--clusters-dir",
            &dir,
            "--state-dir",
            &state,
        ])
        .await;
        let elapsed = started.elapsed();
        let text = format!(
            "stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text, elapsed)
    }

    fn file(&self, cluster: &str, rel: &str) -> std::path::PathBuf {
        self.clusters.path().join(cluster).join(rel)
    }
}

const CRD_FILE: &str =
    "apiextensions.k8s.io/CustomResourceDefinition/_cluster/widgets.example.com.yaml";
const WIDGET_FILE: &str = "example.com/Widget/shop/w.yaml";
const GADGET_FILE: &str = "example.com/Gadget/_cluster/g.yaml";

#[tokio::test]
async fn a_crd_and_its_resource_apply_without_waiting_for_established() {
    let env = Env::new();
    env.repo
        .write("apps/shop/manifests/crd.yaml", CRD)
        .write("apps/shop/manifests/widget.yaml", WIDGET)
        .write("apps/shop/manifests/gadgets.yaml", GADGETS);
    env.repo.commit("widgets");
    let (code, out, elapsed) = env.apply().await;
    assert_eq!(code, 0, "{out}");
    // The CRD wait allows 60 s; a directory cluster serves the kind at once.
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}\n{out}");
    for c in ["a", "b"] {
        let crd = std::fs::read_to_string(env.file(c, CRD_FILE)).expect("CRD stored");
        assert!(crd.contains("type: Established"), "{crd}");
        assert!(env.file(c, WIDGET_FILE).is_file(), "widget on {c}");
        assert!(env.file(c, GADGET_FILE).is_file(), "gadget on {c}\n{out}");
    }
    let (code, out, _) = env.apply().await;
    assert_eq!(code, 0, "a second apply has nothing to do: {out}");
}

#[tokio::test]
async fn a_rollback_after_a_crd_and_its_resource_removes_both() {
    let env = Env::new();
    let (code, out, _) = env.apply().await;
    assert_eq!(code, 0, "{out}");
    // A foreign object that the next commit also defines: tranche refuses to
    // take it over, which fails the first batch and rolls it back.
    let foreign = env.file("a", "core/ConfigMap/shop/foreign.yaml");
    std::fs::write(
        &foreign,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\n  namespace: shop\ndata: {owner: someone-else}\n",
    )
    .expect("write foreign object");
    env.repo
        .write("apps/shop/manifests/crd.yaml", CRD)
        .write("apps/shop/manifests/widget.yaml", WIDGET)
        .write("apps/shop/manifests/gadgets.yaml", GADGETS)
        .write(
            "apps/shop/manifests/foreign.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: foreign\n  namespace: shop\ndata: {owner: tranche}\n",
        );
    env.repo
        .write("clusters/a.yaml", &support::fixtures::cluster("a", Some(0)))
        .commit("widgets and a clash");
    let (code, out, elapsed) = env.apply().await;
    assert_eq!(code, 1, "the batch fails and rolls back: {out}");
    assert!(out.contains("rolled back"), "{out}");
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}\n{out}");
    assert!(
        !env.file("a", WIDGET_FILE).exists(),
        "widget left behind\n{out}\n{}",
        tree(&env.clusters.path().join("a"))
    );
    assert!(!env.file("a", CRD_FILE).exists(), "CRD left behind\n{out}");
    assert!(
        !env.file("a", GADGET_FILE).exists(),
        "gadget left behind\n{out}"
    );
    assert!(!env.file("b", WIDGET_FILE).exists(), "b was never touched");
    assert!(env
        .file("a", "core/ConfigMap/shop/web-config.yaml")
        .is_file());
    let kept = std::fs::read_to_string(&foreign).expect("foreign object kept");
    assert!(kept.contains("someone-else"), "{kept}");
}

/// Files under `dir`, for assertion messages.
fn tree(dir: &Path) -> String {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
            }
        }
    }
    out.sort();
    out.join("\n")
}

#[tokio::test]
async fn a_kind_declared_cluster_scoped_in_tranche_yaml_applies_without_a_crd() {
    let env = Env::new();
    env.repo
        .write(
            "tranche.yaml",
            "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nmetadata: {name: t}\n\
             spec:\n  clusterScopedKinds: [ClusterPolicy]\n",
        )
        .write(
            "policies/access.yaml",
            &ACCESS.replace("Gadget]", "Gadget, ClusterPolicy]"),
        )
        .write(
            "apps/shop/manifests/policy.yaml",
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: require-labels\nspec: {}\n",
        );
    env.repo.commit("a cluster policy");
    let (code, out, _) = env.apply().await;
    assert_eq!(code, 0, "{out}");
    for c in ["a", "b"] {
        let file = env.file(c, "kyverno.io/ClusterPolicy/_cluster/require-labels.yaml");
        assert!(file.is_file(), "{c}\n{out}");
    }
}
