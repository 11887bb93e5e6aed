//! `tranche migrate` as the real binary on a git repository in a temp dir:
//! each call commits the next step of `spec.migration` (only the step
//! changes), `tranche render` of each commit moves the replicas from `a`
//! to `b`, the last step leaves `a` without the app, and a dirty work tree
//! or the last step is refused with HEAD unchanged; `tranche apply` on
//! directory clusters prunes the app from `a` at the last step.

mod support;

use std::path::Path;
use support::fixtures::shop_repo;
use support::tranche_blocking;

const PLACEMENT: &str = "apps/shop/placement.yaml";

fn placement(step: usize) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {{name: shop}}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {{matchLabels: {{env: test}}}}\n  replicaScheduling:\n    replicaSchedulingType: Divided\n    \
         weightPreference:\n      staticWeightList:\n        - {{targetCluster: {{}}, weight: 1}}\n  \
         migration:\n    from: [a]\n    to: [b]\n    steps: [10%, 50%, 100%]  # of a's replicas on b\n    step: {step}\n"
    )
}

fn head(repo: &Path) -> (String, String) {
    let git = git2::Repository::open(repo).expect("open");
    let commit = git.head().unwrap().peel_to_commit().unwrap();
    (
        commit.id().to_string(),
        commit.message().unwrap_or("").to_string(),
    )
}

/// Replicas of the shop Deployment per cluster in `tranche render` of
/// HEAD; `None`: the cluster got no shop objects at all.
fn replicas(repo: &Path) -> Vec<(String, Option<u64>)> {
    let out = tempfile::tempdir().expect("temp dir");
    let run = tranche_blocking(&[
        "render",
        repo.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        said.contains("  shop: migration step ") && said.contains(" % to b (from a)"),
        "render says why: {said}"
    );
    ["a", "b", "c"]
        .iter()
        .map(|c| {
            let file = out.path().join(c).join("shop.yaml");
            let replicas = std::fs::read_to_string(file).ok().map(|text| {
                let docs: Vec<serde_json::Value> = text.split("\n---\n").map(parse).collect();
                docs.iter()
                    .find(|d| d["kind"] == "Deployment")
                    .map_or(0, |d| d["spec"]["replicas"].as_u64().unwrap_or(0))
            });
            (c.to_string(), replicas)
        })
        .collect()
}

fn parse(doc: &str) -> serde_json::Value {
    tranche::yaml::from_str(doc).expect("rendered YAML parses")
}

#[test]
fn migrate_commits_each_step_and_refuses_at_the_end_or_when_dirty() {
    let repo = shop_repo(&["a", "b", "c"]);
    // 10 replicas, weights 1: c keeps its half (5), a's half moves to b.
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &support::fixtures::deployment("registry.example.com/shop/web:1.0.0", 10),
    );
    repo.write(PLACEMENT, &placement(1));
    repo.commit("shop: migrate a to b, step 1");
    let path = repo.path();
    let dir = path.to_str().unwrap();
    let mut table = vec![replicas(path)];
    for step in [2, 3] {
        let run = tranche_blocking(&["migrate", "shop", "--next", "--repo", dir]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let percent = [10, 50, 100][step - 1];
        let (_, message) = head(path);
        assert_eq!(
            message,
            format!("migrate shop: migration step {step}/3: {percent} % to b")
        );
        let text = std::fs::read_to_string(path.join(PLACEMENT)).unwrap();
        assert_eq!(text, placement(step), "only the step changed, comment kept");
        table.push(replicas(path));
    }
    let at = |c: &str, row: &Vec<(String, Option<u64>)>| {
        row.iter().find(|(n, _)| n == c).and_then(|(_, r)| *r)
    };
    // (a, b, c) per step; a at the last step has no objects at all.
    let expected = [
        (Some(4), Some(1), Some(5)),
        (Some(3), Some(2), Some(5)),
        (None, Some(5), Some(5)),
    ];
    for (row, want) in table.iter().zip(expected) {
        assert_eq!((at("a", row), at("b", row), at("c", row)), want, "{row:?}");
    }

    let before = head(path);
    let run = tranche_blocking(&["migrate", "shop", "--repo", dir]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(
            "apps/shop/placement.yaml: spec.migration.step: already at the last step (3/3"
        ),
        "{err}"
    );
    assert_eq!(head(path), before);

    repo.write(PLACEMENT, &placement(1));
    let run = tranche_blocking(&["migrate", "shop", "--repo", dir]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("uncommitted changes (apps/shop/placement.yaml)"),
        "{err}"
    );
    assert_eq!(head(path), before);
}

#[test]
fn migrate_refuses_a_migration_to_a_cluster_the_placement_does_not_select() {
    let repo = shop_repo(&["a", "b", "c"]);
    let text = placement(1).replace(
        "labelSelector: {matchLabels: {env: test}}",
        "clusterNames: [a, c]",
    );
    repo.write(PLACEMENT, &text);
    let before = repo.commit("shop: migrate a to b, but b is not placed");
    let run = tranche_blocking(&["migrate", "shop", "--repo", repo.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("apps/shop/placement.yaml: spec.migration.to[0]: cluster \"b\" is not placed"),
        "{err}"
    );
    assert_eq!(head(repo.path()).0, before);
    assert_eq!(
        std::fs::read_to_string(repo.path().join(PLACEMENT)).unwrap(),
        text
    );
}

/// Whether directory cluster `cluster` holds the shop Deployment.
fn has_web(clusters: &Path, cluster: &str) -> bool {
    clusters
        .join(cluster)
        .join("apps/Deployment/shop/web.yaml")
        .exists()
}

#[test]
fn the_last_step_prunes_the_app_from_the_old_cluster() {
    let repo = shop_repo(&["a", "b", "c"]);
    repo.write(
        "apps/shop/manifests/deployment.yaml",
        &support::fixtures::deployment("registry.example.com/shop/web:1.0.0", 10),
    );
    repo.write(PLACEMENT, &placement(2));
    repo.commit("shop: migrate a to b, step 2");
    let dir = repo.path().to_str().unwrap().to_string();
    let clusters = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("temp dir");
    let apply = || {
        let run = tranche_blocking(&[
            "apply",
            &dir,
            "--clusters-dir",
            clusters.path().to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
        ]);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    // `plan` says why a and b get their replicas.
    let plan = tranche_blocking(&[
        "plan",
        &dir,
        "--clusters-dir",
        clusters.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&plan.stdout);
    let why = text.lines().take(3).collect::<Vec<_>>();
    assert_eq!(why[0], "app shop: migration step 2/3: 50 % to b", "{text}");
    let on = |line: &str, cluster: &str| -> u64 {
        let rest = line.strip_prefix(&format!("  {cluster}: ")).expect(line);
        rest.trim_end_matches(" replicas").parse().expect(line)
    };
    let (a, b) = (on(why[1], "a"), on(why[2], "b"));
    // As in the render table above: a's 5 replicas, half of them on b.
    assert_eq!((a, b), (3, 2), "{text}");
    apply();
    assert!(has_web(clusters.path(), "a") && has_web(clusters.path(), "b"));
    let run = tranche_blocking(&["migrate", "shop", "--repo", &dir]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    apply();
    assert!(!has_web(clusters.path(), "a"), "pruned from a");
    assert!(has_web(clusters.path(), "b") && has_web(clusters.path(), "c"));
}
