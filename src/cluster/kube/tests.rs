//! Tests of the kube driver's offline parts.

use super::*;

#[tokio::test]
async fn kubeconfig_errors_never_quote_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let text =
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: [s3cr3t-t0ken\n";
    std::fs::write(&path, text).unwrap();
    let err = KubeCluster::from_kubeconfig("c1", Some(&path), "ctx")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(err.is_unreachable(), "{message}");
    assert!(message.contains("line 6"), "{message}");
    assert!(message.contains("\"ctx\""), "{message}");
    assert!(!message.contains("s3cr3t"), "{message}");
}

#[tokio::test]
async fn a_missing_context_is_unreachable_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let text = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n";
    std::fs::write(&path, text).unwrap();
    let err = KubeCluster::from_kubeconfig("c1", Some(&path), "prod")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ClusterError::Unreachable { cluster, message } if cluster == "c1" && message.contains("\"prod\"")),
        "{err:?}"
    );
}
