//! `spec.namespace` on a Placement (issue 14): the namespace of the app's
//! namespaced objects that set none, checked against the AccessPolicy like
//! any namespace an object names. Online Boutique's manifests carry no
//! namespace; with this they land where the platform team says.

use std::collections::BTreeMap;
use tranche::git::Snapshot;
use tranche::model::{self, ModelError};

const CLUSTER: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata: {name: a, labels: {env: prod}}\n";
const MANIFESTS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\n\
apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pinned, namespace: elsewhere}\n";

fn placement(namespace: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity: \
         {{labelSelector: {{}}}}\n  namespace: {namespace}\n"
    )
}

fn fleet(namespace: &str, extra: &[(&str, &str)]) -> Snapshot {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    files.insert("clusters/a.yaml".into(), CLUSTER.into());
    files.insert("apps/shop/placement.yaml".into(), placement(namespace));
    files.insert("apps/shop/manifests/all.yaml".into(), MANIFESTS.into());
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
fn namespace_less_objects_land_in_the_placement_namespace() {
    let fleet = model::load(&fleet("boutique", &[])).expect("valid fleet");
    let rendering = tranche::render::render(&fleet).expect("renders");
    let objects = &rendering.clusters["a"].apps["shop"].objects;
    let namespaces: BTreeMap<String, Option<String>> = objects
        .iter()
        .map(|o| (o.id.name.clone(), o.id.namespace.clone()))
        .collect();
    assert_eq!(namespaces["settings"].as_deref(), Some("boutique"));
    // an object that names its namespace keeps it
    assert_eq!(namespaces["pinned"].as_deref(), Some("elsewhere"));
}

#[test]
fn the_placement_namespace_wins_over_the_repository_default() {
    let repo =
        "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nspec: {defaultNamespace: web}\n";
    let fleet = model::load(&fleet("boutique", &[("tranche.yaml", repo)])).expect("valid");
    assert_eq!(
        fleet.apps["shop"].manifests[0].object["metadata"]["namespace"],
        "boutique"
    );
}

#[test]
fn an_invalid_namespace_is_named() {
    assert_eq!(
        errors(&fleet("Not_A_Namespace", &[])),
        [ModelError::field(
            "apps/shop/placement.yaml",
            "spec.namespace",
            "invalid namespace \"Not_A_Namespace\": must consist of lowercase letters, digits and '-', and start and end with a letter or digit"
        )
        .with_line(5)]
    );
}

#[test]
fn the_placement_namespace_is_checked_against_the_access_policy() {
    let access =
        "apiVersion: tranche.dev/v1alpha1\nkind: AccessPolicy\nmetadata: {name: default}\n\
spec:\n  apps:\n    shop: {namespaces: [shop, elsewhere]}\n";
    let errs = errors(&fleet("boutique", &[("policies/access.yaml", access)]));
    assert_eq!(errs.len(), 1, "{errs:?}");
    let text = errs[0].to_string();
    assert!(
        text.contains("apps/shop/manifests/all.yaml")
            && text.contains("settings")
            && text.contains("boutique")
            && text.contains("AccessPolicy"),
        "{text}"
    );
    // the namespace the policy allows passes
    assert!(errors(&fleet("shop", &[("policies/access.yaml", access)])).is_empty());
}
