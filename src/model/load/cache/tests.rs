use super::*;
use std::collections::BTreeMap;

const REPO: &str =
    "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nspec:\n  defaultNamespace: apps\n";

fn cluster(name: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\n  \
         labels: {{env: prod}}\n"
    )
}

fn placement(clusters: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nspec:\n  clusterAffinity:\n    \
         clusterNames: [{clusters}]\n"
    )
}

fn config_map(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n")
}

/// Two clusters and two apps, every file valid.
fn files() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("tranche.yaml".into(), REPO.into()),
        ("clusters/eu-1.yaml".into(), cluster("eu-1")),
        ("clusters/us-1.yaml".into(), cluster("us-1")),
        ("apps/shop/placement.yaml".into(), placement("eu-1, us-1")),
        (
            "apps/shop/manifests/cm.yaml".into(),
            config_map("shop", "a"),
        ),
        ("apps/blog/placement.yaml".into(), placement("eu-1")),
        (
            "apps/blog/manifests/cm.yaml".into(),
            config_map("blog", "a"),
        ),
    ])
}

fn snapshot(commit: u8, files: &BTreeMap<String, String>) -> Snapshot {
    Snapshot::from_files(&format!("{commit:02x}").repeat(20), files.clone())
}

/// Loads through `cache` and checks the result against a fresh load.
fn load(cache: &mut LoadCache, snapshot: &Snapshot) -> Result<Fleet, ModelErrors> {
    let cached = cache.load(snapshot);
    assert_eq!(cached, super::super::load(snapshot), "{}", snapshot.commit);
    cached
}

#[test]
fn a_commit_changing_one_app_reads_that_app_only() {
    let mut cache = LoadCache::default();
    let mut files = files();
    load(&mut cache, &snapshot(1, &files)).expect("valid");
    assert_eq!(
        cache.read(),
        [
            "clusters/eu-1.yaml",
            "clusters/us-1.yaml",
            "apps/blog/",
            "apps/shop/"
        ]
    );
    files.insert(
        "apps/shop/manifests/cm.yaml".into(),
        config_map("shop", "b"),
    );
    let fleet = load(&mut cache, &snapshot(2, &files)).expect("valid");
    assert_eq!(cache.read(), ["apps/shop/"]);
    assert_eq!(fleet.apps["shop"].manifests[0].object["data"]["k"], "b");
    load(&mut cache, &snapshot(3, &files)).expect("valid");
    assert!(cache.read().is_empty(), "{:?}", cache.read());
}

#[test]
fn reused_units_report_their_problems_again_until_fixed() {
    let mut cache = LoadCache::default();
    let mut files = files();
    files.insert(
        "clusters/us-1.yaml".into(),
        cluster("us-1").replace("env: prod", "env: \"bad value!\""),
    );
    files.insert("apps/blog/placement.yaml".into(), placement("eu-1, ghost"));
    let first = load(&mut cache, &snapshot(1, &files)).expect_err("invalid");
    assert_eq!(first.0.len(), 2, "{first}");
    // Another app changes: both problems are still reported, with lines.
    files.insert(
        "apps/shop/manifests/cm.yaml".into(),
        config_map("shop", "b"),
    );
    let second = load(&mut cache, &snapshot(2, &files)).expect_err("invalid");
    assert_eq!(cache.read(), ["apps/shop/"]);
    assert_eq!(second, first);
    assert!(second.0.iter().all(|e| e.line.is_some()), "{second}");
    // Fixing one file leaves the other's problem.
    files.insert("apps/blog/placement.yaml".into(), placement("eu-1"));
    let third = load(&mut cache, &snapshot(3, &files)).expect_err("invalid");
    assert_eq!(third.0, first.0[1..]);
    files.insert("clusters/us-1.yaml".into(), cluster("us-1"));
    load(&mut cache, &snapshot(4, &files)).expect("valid again");
    assert_eq!(cache.read(), ["clusters/us-1.yaml"]);
}

#[test]
fn apps_are_read_again_when_the_names_or_rules_they_are_checked_against_change() {
    let mut cache = LoadCache::default();
    let mut files = files();
    load(&mut cache, &snapshot(1, &files)).expect("valid");
    files.insert("apps/blog/placement.yaml".into(), placement("eu-1, ap-1"));
    load(&mut cache, &snapshot(2, &files)).expect_err("ap-1 does not exist yet");
    // A new cluster: every app is checked against the names again.
    files.insert("clusters/ap-1.yaml".into(), cluster("ap-1"));
    load(&mut cache, &snapshot(3, &files)).expect("ap-1 exists now");
    assert_eq!(
        cache.read(),
        ["clusters/ap-1.yaml", "apps/blog/", "apps/shop/"]
    );
    // Another default namespace changes every app's objects.
    files.insert("tranche.yaml".into(), REPO.replace("apps", "web"));
    let fleet = load(&mut cache, &snapshot(4, &files)).expect("valid");
    assert_eq!(cache.read(), ["apps/blog/", "apps/shop/"]);
    assert_eq!(
        fleet.apps["shop"].manifests[0].object["metadata"]["namespace"],
        "web"
    );
}

#[test]
fn removed_units_are_forgotten_and_come_back_read_afresh() {
    let mut cache = LoadCache::default();
    let mut files = files();
    load(&mut cache, &snapshot(1, &files)).expect("valid");
    let blog: Vec<(String, String)> = (files.iter())
        .filter(|(path, _)| path.starts_with("apps/blog/"))
        .map(|(p, t)| (p.clone(), t.clone()))
        .collect();
    files.retain(|path, _| !path.starts_with("apps/blog/"));
    load(&mut cache, &snapshot(2, &files)).expect("valid");
    assert_eq!(cache.apps.len(), 1);
    files.extend(blog);
    load(&mut cache, &snapshot(3, &files)).expect("valid");
    assert_eq!(cache.read(), ["apps/blog/", "apps/shop/"]);
}

#[test]
fn a_unit_moved_to_other_paths_is_read_again() {
    let mut cache = LoadCache::default();
    let mut files = files();
    load(&mut cache, &snapshot(1, &files)).expect("valid");
    let text = files
        .remove("apps/shop/manifests/cm.yaml")
        .expect("present");
    files.insert("apps/shop/manifests/config.yaml".into(), text);
    let fleet = load(&mut cache, &snapshot(2, &files)).expect("valid");
    assert_eq!(cache.read(), ["apps/shop/"]);
    assert_eq!(
        fleet.apps["shop"].manifests[0].file,
        "apps/shop/manifests/config.yaml"
    );
}
