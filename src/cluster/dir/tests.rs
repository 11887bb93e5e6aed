//! Tests of the directory driver on temp dirs.

use super::*;
use serde_json::json;

fn cluster() -> (tempfile::TempDir, DirCluster) {
    let tmp = tempfile::tempdir().unwrap();
    let c = DirCluster::new(tmp.path(), "dev").unwrap();
    (tmp, c)
}

fn deployment(name: &str, replicas: u32, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {"replicas": replicas}
    })
}

fn id(obj: &Value) -> ObjectRef {
    ObjectRef::from_object(obj).unwrap()
}

#[tokio::test]
async fn apply_writes_the_documented_layout_and_get_reads_it_back() {
    let (tmp, c) = cluster();
    c.ping().await.unwrap();
    let d = deployment("web", 2, json!({"app": "web"}));
    let stored = c.apply(&d, ApplyOptions::default()).await.unwrap();
    assert!(tmp
        .path()
        .join("dev/apps/Deployment/shop/web.yaml")
        .is_file());
    assert_eq!(stored["spec"]["replicas"], 2);
    assert_eq!(stored["metadata"]["resourceVersion"], "1");
    assert_eq!(c.get(&id(&d)).await.unwrap(), Some(stored));
    let missing = ObjectRef {
        name: "nope".into(),
        ..id(&d)
    };
    assert_eq!(c.get(&missing).await.unwrap(), None);
}

#[tokio::test]
async fn identical_apply_is_unchanged_and_a_change_bumps_the_version() {
    let (_tmp, c) = cluster();
    let d = deployment("web", 2, json!({}));
    let first = c.apply(&d, ApplyOptions::default()).await.unwrap();
    let second = c.apply(&d, ApplyOptions::default()).await.unwrap();
    assert_eq!(first, second);
    let third = c
        .apply(&deployment("web", 3, json!({})), ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(third["metadata"]["resourceVersion"], "2");
    assert_eq!(third["metadata"]["generation"], 2);
    assert_eq!(third["metadata"]["uid"], first["metadata"]["uid"]);
}

#[tokio::test]
async fn dry_run_returns_the_result_without_writing() {
    let (tmp, c) = cluster();
    let d = deployment("web", 2, json!({}));
    let dry = c
        .apply(
            &d,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(dry["metadata"]["resourceVersion"], "1");
    assert!(!tmp.path().join("dev/apps/Deployment").exists());
    assert_eq!(c.get(&id(&d)).await.unwrap(), None);
}

#[tokio::test]
async fn scope_comes_from_builtin_kinds_crds_or_the_object() {
    let (tmp, c) = cluster();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
    let stored = c.apply(&ns, ApplyOptions::default()).await.unwrap();
    assert!(stored["metadata"].get("namespace").is_none());
    assert!(tmp
        .path()
        .join("dev/core/Namespace/_cluster/shop.yaml")
        .is_file());
    assert!(!c.is_namespaced("v1", "Namespace").await.unwrap());
    assert!(c.is_namespaced("apps/v1", "Deployment").await.unwrap());

    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Cluster"}
    });
    assert!(c.is_namespaced("example.com/v1", "Widget").await.unwrap());
    c.apply(&crd, ApplyOptions::default()).await.unwrap();
    assert!(!c.is_namespaced("example.com/v1", "Widget").await.unwrap());
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    c.apply(&w, ApplyOptions::default()).await.unwrap();
    assert!(tmp
        .path()
        .join("dev/example.com/Widget/_cluster/w.yaml")
        .is_file());

    let g = json!({"apiVersion": "other.io/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    c.apply(&g, ApplyOptions::default()).await.unwrap();
    assert!(!c.is_namespaced("other.io/v1", "Gadget").await.unwrap());
}

#[tokio::test]
async fn objects_whose_namespace_does_not_fit_their_scope_are_refused_not_moved() {
    let (tmp, c) = cluster();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Cluster"}
    });
    c.apply(&crd, ApplyOptions::default()).await.unwrap();
    let refused = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "namespace": "x"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "admins", "namespace": "team-a"}}),
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "team-a"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    ];
    for obj in refused {
        let err = c.apply(&obj, ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(err, ClusterError::WrongScope { .. }), "{err}");
        let id = ObjectRef::from_object(&obj).unwrap();
        let err = c.get(&id).await.unwrap_err();
        assert!(matches!(err, ClusterError::WrongScope { .. }), "{err}");
        assert!(c.delete(&id).await.is_err());
    }
    let err = c
        .list("v1", "Namespace", Some("x"), "")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Namespace is cluster-scoped on this cluster"),
        "{err}"
    );
    // Only the CRD was written.
    let mut written = Vec::new();
    for entry in walk(&tmp.path().join("dev")) {
        written.push(entry);
    }
    assert_eq!(
        written,
        ["apiextensions.k8s.io/CustomResourceDefinition/_cluster/widgets.example.com.yaml"]
    );
}

/// Every file under `dir`, relative, sorted.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn stored_crds_are_established_at_once() {
    let (_tmp, c) = cluster();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": true, "storage": true}]}
    });
    let stored = c.apply(&crd, ApplyOptions::default()).await.unwrap();
    assert!(
        crate::rollout::health::evaluate(&stored).is_healthy(),
        "{stored}"
    );
    let again = c.apply(&crd, ApplyOptions::default()).await.unwrap();
    assert_eq!(
        again["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn list_filters_by_namespace_and_labels() {
    let (_tmp, c) = cluster();
    c.apply(
        &deployment("a", 1, json!({"app": "a", "tier": "web"})),
        ApplyOptions::default(),
    )
    .await
    .unwrap();
    c.apply(
        &deployment("b", 1, json!({"app": "b", "tier": "db"})),
        ApplyOptions::default(),
    )
    .await
    .unwrap();
    let mut other = deployment("c", 1, json!({"app": "c", "tier": "web"}));
    other["metadata"]["namespace"] = json!("other");
    c.apply(&other, ApplyOptions::default()).await.unwrap();

    let names = |objs: Vec<Value>| -> Vec<String> {
        objs.iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(c.list("apps/v1", "Deployment", None, "").await.unwrap()),
        ["c", "a", "b"]
    );
    assert_eq!(
        names(
            c.list("apps/v1", "Deployment", Some("shop"), "")
                .await
                .unwrap()
        ),
        ["a", "b"]
    );
    assert_eq!(
        names(
            c.list("apps/v1", "Deployment", None, "tier=web")
                .await
                .unwrap()
        ),
        ["c", "a"]
    );
    assert_eq!(
        names(
            c.list("apps/v1", "Deployment", Some("shop"), "tier!=web")
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert!(c
        .list("apps/v1", "StatefulSet", None, "")
        .await
        .unwrap()
        .is_empty());
    let err = c
        .list("apps/v1", "Deployment", None, "a in (b")
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn delete_removes_the_file_and_missing_objects_are_fine() {
    let (tmp, c) = cluster();
    let d = deployment("web", 1, json!({}));
    c.apply(&d, ApplyOptions::default()).await.unwrap();
    c.delete(&id(&d)).await.unwrap();
    assert_eq!(c.get(&id(&d)).await.unwrap(), None);
    assert!(!tmp.path().join("dev/apps").exists());
    c.delete(&id(&d)).await.unwrap();
}

#[tokio::test]
async fn bad_input_is_rejected_not_written() {
    let (tmp, c) = cluster();
    let err = c
        .apply(&json!({"kind": "ConfigMap"}), ApplyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::Invalid { .. }), "{err:?}");
    let evil = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "../../x", "namespace": "n"}});
    let err = c.apply(&evil, ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(err, ClusterError::Invalid { .. }), "{err:?}");
    assert!(!tmp.path().join("x.yaml").exists());
    assert!(DirCluster::new(tmp.path(), "..").is_err());
}

#[tokio::test]
async fn an_unwritable_directory_fails_ping_as_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let c = DirCluster::new(&file, "dev").unwrap();
    let err = c.ping().await.unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(!c.has_controllers());
}
