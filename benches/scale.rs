//! Fleet scale, printed as figures (no assertions): a generated fleet of
//! N clusters × 200 apps (each app: Deployment, Service, ConfigMap; replicas
//! Divided by weights chosen by cluster label; an image override by region),
//! held as an in-memory [`tranche::git::Snapshot`].
//!
//! Prints, for N from `TRANCHE_SCALE_CLUSTERS` (default 1000):
//! load + validate time, full render time, peak memory (VmHWM from
//! /proc/self/status, which only grows, so each figure is the peak so far),
//! and the time of a commit that changes one app's image, loaded with a
//! [`tranche::model::load::LoadCache`] and rendered with a
//! [`tranche::render::RenderCache`], both warmed by the previous commit
//! (and, beside it, the same commit loaded and rendered in full).
//!
//! Then the daemon's path: the same two commits in a real git repository
//! on disk, read through [`tranche::revision::RepoRevisions`] with the
//! render cache the daemon shares across reads (snapshot from git, load +
//! validate, render, and the copy handed to the caller).
//!
//! With `TRANCHE_SCALE_SHARDS=N`, also each of N shard replicas (and the
//! coordinator) rendering only its own clusters, each in a child process
//! for a peak memory of its own ([`shards`]).
//!
//! Run with `cargo bench --bench scale` (or
//! `TRANCHE_SCALE_CLUSTERS=10000 TRANCHE_SCALE_SHARDS=4 cargo bench --bench scale`).

#[path = "scale/shards.rs"]
mod shards;

use std::time::{Duration, Instant};
use tranche::git::Snapshot;

const APPS: usize = 200;
const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

fn main() {
    let clusters: usize = std::env::var("TRANCHE_SCALE_CLUSTERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    if let Ok(spec) = std::env::var(shards::CHILD) {
        return shards::child(clusters, &spec);
    }
    println!("scale: {clusters} clusters × {APPS} apps (Deployment + Service + ConfigMap each)");
    let snapshot = snapshot(clusters, &commit(1), "v1");
    println!(
        "    snapshot: {} files, peak so far {}",
        snapshot.files.len(),
        peak()
    );

    let start = Instant::now();
    let mut loads = tranche::model::load::LoadCache::default();
    let fleet = (loads.load(&snapshot))
        .unwrap_or_else(|e| panic!("the generated fleet must validate:\n{e}"));
    let load = start.elapsed();
    println!("    load + validate: {:.0} ms, peak {}", ms(load), peak());

    let start = Instant::now();
    let mut cache = tranche::render::RenderCache::default();
    let objects = match cache.render(&fleet) {
        Ok(r) => count(r),
        Err(e) => panic!("the generated fleet must render: {:?}", e.first()),
    };
    let render = start.elapsed();
    println!(
        "    render (cold cache): {:.0} ms for {objects} objects, peak {}",
        ms(render),
        peak()
    );
    println!("    validate + render: {:.0} ms", ms(load + render));
    drop(fleet);

    // A commit that changes one app's image.
    let next = snapshot_with_image(snapshot, &commit(2), "v2");
    let start = Instant::now();
    let fleet =
        (loads.load(&next)).unwrap_or_else(|e| panic!("the changed fleet must validate:\n{e}"));
    let reload = start.elapsed();
    let read = loads.read().len();
    drop(loads);
    let start = Instant::now();
    let rendered = cache.render(&fleet).map(count);
    let rerender = start.elapsed();
    assert!(rendered.is_ok(), "the changed fleet must render");
    println!(
        "    one-app commit: load + validate (warm cache, {read} unit(s) read) {:.1} ms, render (warm cache) {:.1} ms, total {:.0} ms, peak {}",
        ms(reload),
        ms(rerender),
        ms(reload + rerender),
        peak()
    );
    let start = Instant::now();
    let full = tranche::model::load::load(&next).map(|f| f.apps.len());
    println!(
        "    same commit, full load + validate without cache: {:.0} ms ({} apps)",
        ms(start.elapsed()),
        full.unwrap_or_default()
    );
    let start = Instant::now();
    let full = tranche::render::render(&fleet).map(|r| count(&r));
    println!(
        "    same commit, full render without cache: {:.0} ms ({} objects)",
        ms(start.elapsed()),
        full.unwrap_or_default()
    );
    drop((fleet, cache));
    daemon_path(clusters);
    let sharded: Option<usize> = std::env::var("TRANCHE_SCALE_SHARDS")
        .ok()
        .and_then(|v| v.parse().ok());
    if let Some(n) = sharded.filter(|n| *n > 0) {
        shards::run(clusters, n);
    }
}

/// The two commits in a git repository, read as the daemon reads them.
fn daemon_path(clusters: usize) {
    use tranche::revision::{Revisions, SharedRevisionCache};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let repo = git2::Repository::init(dir.path()).expect("git init");
    let first = snapshot(clusters, &commit(1), "v1");
    let c1 = commit_files(&repo, &first, "v1");
    let second = snapshot_with_image(first, &commit(2), "v2");
    let c2 = commit_files(&repo, &second, "v2");
    drop(second);
    let revisions = tranche::revision::RepoRevisions {
        path: dir.path().to_path_buf(),
        subdir: None,
        cache: Some(SharedRevisionCache::default()),
    };
    let start = Instant::now();
    let rev = revisions.read(&c1).expect("the first commit reads");
    println!(
        "    daemon path (git repository, shared render cache): first commit {:.0} ms, peak {}",
        ms(start.elapsed()),
        peak()
    );
    drop(rev);
    let start = Instant::now();
    let rev = revisions.read(&c2).expect("the second commit reads");
    println!(
        "    daemon path, one-app commit: {:.0} ms ({} objects), peak {}",
        ms(start.elapsed()),
        count(&rev.rendering),
        peak()
    );
    drop(rev);
    let start = Instant::now();
    let source = revisions.open().expect("the repository opens");
    let files = source.snapshot(&c2).map(|s| s.files.len());
    println!(
        "    of which the git read of the commit: {:.0} ms ({} files)",
        ms(start.elapsed()),
        files.unwrap_or_default()
    );
}

/// Writes `snapshot`'s files into the work tree of `repo` and commits
/// them; returns the commit id.
fn commit_files(repo: &git2::Repository, snapshot: &Snapshot, message: &str) -> String {
    let root = repo.workdir().expect("a work tree").to_path_buf();
    for (path, bytes) in &snapshot.files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("directories");
        }
        std::fs::write(&path, bytes).expect("a file");
    }
    let mut index = repo.index().expect("the index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("git add");
    index.write().expect("the index is written");
    let tree = repo
        .find_tree(index.write_tree().expect("a tree"))
        .expect("the tree");
    let sig = git2::Signature::now("bench", "bench@example.com").expect("a signature");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .expect("git commit")
        .to_string()
}

fn count(r: &tranche::render::Rendering) -> usize {
    r.clusters
        .values()
        .flat_map(|c| c.apps.values())
        .map(|a| a.objects.len())
        .sum()
}

fn commit(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak resident memory of this process (VmHWM), for people.
fn peak() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The generated fleet at `commit`, app 0 running image tag `tag`.
fn snapshot(clusters: usize, commit: &str, tag: &str) -> Snapshot {
    let mut files: Vec<(String, String)> = vec![(
        "tranche.yaml".into(),
        "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nmetadata:\n  name: scale\n\
         spec:\n  defaultNamespace: default\n"
            .into(),
    )];
    for c in 0..clusters {
        let region = REGIONS[c % REGIONS.len()];
        let tier = 1 + c % 3;
        files.push((
            format!("clusters/c{c:05}.yaml"),
            format!(
                "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: c{c:05}\n  \
                 labels:\n    region: {region}\n    tier: \"{tier}\"\n    env: prod\n"
            ),
        ));
    }
    for a in 0..APPS {
        let app = format!("app{a:03}");
        files.push((format!("apps/{app}/placement.yaml"), placement(&app)));
        files.push((
            format!("apps/{app}/overrides/region.yaml"),
            region_override(&app),
        ));
        let tag = if a == 0 { tag } else { "v1" };
        files.push((
            format!("apps/{app}/manifests/app.yaml"),
            manifests(&app, tag),
        ));
    }
    Snapshot::from_files(commit, files)
}

/// `snapshot` as the next commit, with app 0's image at `tag`.
fn snapshot_with_image(mut snapshot: Snapshot, commit: &str, tag: &str) -> Snapshot {
    snapshot.commit = commit.to_string();
    snapshot.files.insert(
        "apps/app000/manifests/app.yaml".into(),
        manifests("app000", tag).into_bytes(),
    );
    snapshot
}

fn placement(app: &str) -> String {
    format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata:\n  name: {app}\nspec:\n  \
         clusterAffinity:\n    labelSelector: {{}}\n  replicaScheduling:\n    \
         replicaSchedulingType: Divided\n    weightPreference:\n      staticWeightList:\n\
         \x20       - targetCluster:\n            labelSelector:\n              matchLabels: {{tier: \"1\"}}\n          weight: 3\n\
         \x20       - targetCluster:\n            labelSelector:\n              matchLabels: {{tier: \"2\"}}\n          weight: 2\n\
         \x20       - targetCluster:\n            labelSelector:\n              matchLabels: {{tier: \"3\"}}\n          weight: 1\n"
    )
}

fn region_override(app: &str) -> String {
    let mut out = format!(
        "apiVersion: tranche.dev/v1alpha1\nkind: Override\nmetadata:\n  name: region\nspec:\n  \
         resourceSelectors:\n    - apiVersion: apps/v1\n      kind: Deployment\n      name: {app}\n  \
         overrideRules:\n"
    );
    for region in REGIONS {
        out.push_str(&format!(
            "    - targetCluster:\n        labelSelector:\n          matchLabels: {{region: {region}}}\n      \
             overriders:\n        imageOverrider:\n          - component: Registry\n            \
             operator: replace\n            value: {region}.registry.example\n"
        ));
    }
    out
}

fn manifests(app: &str, tag: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  namespace: default\n\
         spec:\n  replicas: 3000\n  selector:\n    matchLabels: {{app: {app}}}\n  template:\n    \
         metadata:\n      labels: {{app: {app}}}\n    spec:\n      containers:\n        - name: main\n          \
         image: registry.example/{app}:{tag}\n          ports:\n            - containerPort: 8080\n\
         ---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\n  namespace: default\nspec:\n  \
         selector: {{app: {app}}}\n  ports:\n    - port: 80\n      targetPort: 8080\n\
         ---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\n  namespace: default\n\
         data:\n  greeting: hello from {app}\n"
    )
}
