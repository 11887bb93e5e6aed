//! Incremental loading ([`tranche::model::load::LoadCache`]) equals a full
//! load ([`tranche::model::load::load`]), errors included, and incremental
//! rendering ([`tranche::render::RenderCache`]) equals a full render
//! ([`tranche::render::render`]) after every commit of random sequences:
//! image bumps, replica changes, cluster labels, placements, overrides,
//! apps and clusters added and removed, files that break and are fixed
//! again (commits that do not validate), commits that do not render, and
//! failed-over clusters (render inputs). The fleets are loaded from
//! in-memory snapshots by the real model; the daemon's path (a git
//! repository read through `RepoRevisions` with a shared cache) is checked
//! against reading each commit afresh.

use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tranche::git::Snapshot;
use tranche::model::load::{load, LoadCache};
use tranche::render::capacity::app::RenderInputs;
use tranche::render::{render, render_with, RenderCache};

const REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

/// A small fleet the commits change.
#[derive(Debug, Clone)]
struct Repo {
    /// Cluster name → region index.
    clusters: BTreeMap<usize, usize>,
    /// App index → its settings.
    apps: BTreeMap<usize, AppSpec>,
    /// Failed-over clusters per app (`a<app>` → `c<cluster>`).
    failed: tranche::render::Failed,
    /// Clusters whose file holds an invalid label value.
    broken_clusters: BTreeSet<usize>,
}

#[derive(Debug, Clone)]
struct AppSpec {
    tag: u8,
    replicas: u32,
    /// Only clusters of this region, or every cluster.
    region: Option<usize>,
    /// Registry host the override sets in eu-west.
    mirror: u8,
    /// Also ships a ConfigMap named like another app's (a duplicate when
    /// both land on one cluster: a render error).
    clash: bool,
    /// How its files are broken, if they are (a validation error).
    broken: Option<Breakage>,
}

/// A mistake in an app's files that fails validation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Breakage {
    /// The manifest file is not YAML.
    Yaml,
    /// The override file has a field that does not exist.
    OverrideField,
    /// The placement names a cluster that does not exist.
    UnknownCluster,
}

#[derive(Debug, Clone)]
enum Change {
    Tag(usize, u8),
    Replicas(usize, u32),
    Region(usize, Option<usize>),
    Mirror(usize, u8),
    Clash(usize, bool),
    ClusterRegion(usize, usize),
    AddCluster(usize, usize),
    RemoveCluster(usize),
    AddApp(usize),
    RemoveApp(usize),
    /// Fails cluster over for app, or takes it back.
    Fail(usize, usize),
    /// Breaks an app's files, or fixes them (`None`).
    Break(usize, Option<Breakage>),
    /// Breaks a cluster file, or fixes it.
    BreakCluster(usize, bool),
}

fn breakage() -> impl Strategy<Value = Option<Breakage>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(Breakage::Yaml)),
        1 => Just(Some(Breakage::OverrideField)),
        1 => Just(Some(Breakage::UnknownCluster)),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        4 => (0..6usize, 0..4u8).prop_map(|(a, t)| Change::Tag(a, t)),
        2 => (0..6usize, 0..20u32).prop_map(|(a, r)| Change::Replicas(a, r)),
        2 => (0..6usize, proptest::option::of(0..3usize)).prop_map(|(a, r)| Change::Region(a, r)),
        1 => (0..6usize, 0..3u8).prop_map(|(a, m)| Change::Mirror(a, m)),
        1 => (0..6usize, proptest::bool::weighted(0.2)).prop_map(|(a, c)| Change::Clash(a, c)),
        1 => (0..8usize, 0..3usize).prop_map(|(c, r)| Change::ClusterRegion(c, r)),
        1 => (0..8usize, 0..3usize).prop_map(|(c, r)| Change::AddCluster(c, r)),
        1 => (0..8usize).prop_map(Change::RemoveCluster),
        1 => (0..6usize).prop_map(Change::AddApp),
        1 => (0..6usize).prop_map(Change::RemoveApp),
        2 => (0..6usize, 0..8usize).prop_map(|(a, c)| Change::Fail(a, c)),
        2 => (0..6usize, breakage()).prop_map(|(a, b)| Change::Break(a, b)),
        1 => (0..8usize, proptest::bool::ANY).prop_map(|(c, b)| Change::BreakCluster(c, b)),
    ]
}

fn app_spec() -> AppSpec {
    AppSpec {
        tag: 0,
        replicas: 6,
        region: None,
        mirror: 0,
        clash: false,
        broken: None,
    }
}

impl Repo {
    fn new() -> Repo {
        Repo {
            clusters: (0..5).map(|c| (c, c % 3)).collect(),
            apps: (0..4).map(|a| (a, app_spec())).collect(),
            failed: BTreeMap::new(),
            broken_clusters: BTreeSet::new(),
        }
    }

    fn apply(&mut self, change: &Change) {
        match *change {
            Change::Tag(a, t) => {
                self.apps.entry(a).and_modify(|s| s.tag = t);
            }
            Change::Replicas(a, r) => {
                self.apps.entry(a).and_modify(|s| s.replicas = r);
            }
            Change::Region(a, r) => {
                self.apps.entry(a).and_modify(|s| s.region = r);
            }
            Change::Mirror(a, m) => {
                self.apps.entry(a).and_modify(|s| s.mirror = m);
            }
            Change::Clash(a, c) => {
                self.apps.entry(a).and_modify(|s| s.clash = c);
            }
            Change::ClusterRegion(c, r) | Change::AddCluster(c, r) => {
                self.clusters.insert(c, r);
            }
            Change::RemoveCluster(c) => {
                self.clusters.remove(&c);
            }
            Change::AddApp(a) => {
                self.apps.entry(a).or_insert_with(app_spec);
            }
            Change::RemoveApp(a) => {
                self.apps.remove(&a);
            }
            Change::Fail(a, c) => {
                let set = self.failed.entry(format!("a{a}")).or_default();
                if !set.remove(&format!("c{c}")) {
                    set.insert(format!("c{c}"));
                }
            }
            Change::Break(a, b) => {
                self.apps.entry(a).and_modify(|s| s.broken = b);
            }
            Change::BreakCluster(c, true) => {
                self.broken_clusters.insert(c);
            }
            Change::BreakCluster(c, false) => {
                self.broken_clusters.remove(&c);
            }
        }
    }

    fn snapshot(&self, commit: usize) -> Snapshot {
        let mut files: Vec<(String, String)> = vec![(
            "tranche.yaml".into(),
            "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nmetadata:\n  name: props\n\
             spec:\n  defaultNamespace: default\n"
                .into(),
        )];
        for (c, region) in &self.clusters {
            let team = if self.broken_clusters.contains(c) {
                "\"not a label value!\""
            } else {
                "shop"
            };
            files.push((
                format!("clusters/c{c}.yaml"),
                format!(
                    "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: c{c}\n  \
                     labels:\n    region: {}\n    tier: \"{}\"\n    team: {team}\n",
                    REGIONS[*region],
                    1 + c % 2
                ),
            ));
        }
        for (a, spec) in &self.apps {
            let selector = match spec.region {
                Some(r) => format!("{{matchLabels: {{region: {}}}}}", REGIONS[r]),
                None => "{}".into(),
            };
            let names = match spec.broken {
                Some(Breakage::UnknownCluster) => "    clusterNames: [ghost]\n",
                _ => "",
            };
            files.push((
                format!("apps/a{a}/placement.yaml"),
                format!(
                    "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata:\n  name: a{a}\n\
                     spec:\n  clusterAffinity:\n    labelSelector: {selector}\n{names}  replicaScheduling:\n    \
                     replicaSchedulingType: Divided\n    weightPreference:\n      staticWeightList:\n\
                     \x20       - targetCluster:\n            labelSelector:\n              \
                     matchLabels: {{tier: \"1\"}}\n          weight: 2\n\
                     \x20       - targetCluster:\n            labelSelector:\n              \
                     matchLabels: {{tier: \"2\"}}\n          weight: 1\n"
                ),
            ));
            files.push((
                format!("apps/a{a}/overrides/region.yaml"),
                format!(
                    "apiVersion: tranche.dev/v1alpha1\nkind: Override\nmetadata:\n  name: region\n\
                     spec:\n{}  overrideRules:\n    - targetCluster:\n        labelSelector:\n          \
                     matchLabels: {{region: eu-west}}\n      overriders:\n        imageOverrider:\n\
                     \x20         - component: Registry\n            operator: replace\n            \
                     value: m{}.example\n",
                    if spec.broken == Some(Breakage::OverrideField) {
                        "  overideRules: []\n"
                    } else {
                        ""
                    },
                    spec.mirror
                ),
            ));
            let mut clash = if spec.clash {
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a0\n  namespace: default\n"
            } else {
                ""
            }
            .to_string();
            if spec.broken == Some(Breakage::Yaml) {
                clash.push_str("---\ndata: [not closed\n");
            }
            files.push((
                format!("apps/a{a}/manifests/app.yaml"),
                format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a{a}\n  namespace: default\n\
                     spec:\n  replicas: {}\n  selector:\n    matchLabels: {{app: a{a}}}\n  template:\n    \
                     metadata:\n      labels: {{app: a{a}}}\n    spec:\n      containers:\n        \
                     - name: main\n          image: registry.example/a{a}:v{}\n\
                     ---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a{a}\n  namespace: default\n\
                     data:\n  tag: \"{}\"\n{clash}",
                    spec.replicas, spec.tag, spec.tag
                ),
            ));
        }
        Snapshot::from_files(&format!("{commit:040x}"), files)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_load_and_render_equal_full_ones(changes in proptest::collection::vec(
        proptest::collection::vec(change(), 1..3), 1..12)) {
        let mut repo = Repo::new();
        let mut loads = LoadCache::default();
        let mut cache = RenderCache::default();
        for (n, commit) in std::iter::once(Vec::new()).chain(changes).enumerate() {
            for c in &commit {
                repo.apply(c);
            }
            let snapshot = repo.snapshot(n + 1);
            let loaded = loads.load(&snapshot);
            prop_assert_eq!(&loaded, &load(&snapshot), "commit {} after {:?}", n, commit);
            let Ok(fleet) = loaded else {
                continue;
            };
            let inputs = RenderInputs {
                failed: repo.failed.clone(),
                ..RenderInputs::default()
            };
            let full = render_with(&fleet, &inputs);
            let incremental = cache
                .render_with(&fleet, &inputs)
                .map(|(r, notes)| (r.clone(), notes.clone()));
            prop_assert_eq!(&incremental, &full, "commit {} after {:?}", n, commit);
        }
    }
}

/// A commit that changes one app's image loads and re-renders that app
/// only.
#[test]
fn one_app_commit_loads_and_rerenders_that_app_only() {
    let mut repo = Repo::new();
    let mut loads = LoadCache::default();
    let mut cache = RenderCache::default();
    let fleet = loads.load(&repo.snapshot(1)).expect("valid");
    assert_eq!(loads.read().len(), 5 + 4, "every cluster file and app");
    cache.render(&fleet).expect("renders");
    assert_eq!(cache.rerendered().len(), 4);
    repo.apply(&Change::Tag(2, 3));
    let snapshot = repo.snapshot(2);
    let fleet = loads.load(&snapshot).expect("valid");
    assert_eq!(loads.read(), ["apps/a2/".to_string()]);
    assert_eq!(Ok(&fleet), load(&snapshot).as_ref());
    let rendering = cache.render(&fleet).expect("renders").clone();
    assert_eq!(cache.rerendered(), ["a2".to_string()]);
    assert_eq!(Ok(rendering), render(&fleet));
}

/// Commits of a git repository read through `RepoRevisions` with a shared
/// cache (the daemon's path), forwards and back (a rollback reads an older
/// commit), equal each commit read afresh.
#[test]
fn daemon_reads_through_the_cache_equal_fresh_reads() {
    use tranche::revision::{RepoRevisions, Revision, Revisions, SharedRevisionCache};
    let dir = tempfile::tempdir().expect("temp dir");
    let git = git2::Repository::init(dir.path()).expect("git init");
    let mut repo = Repo::new();
    let steps = [
        vec![],
        vec![Change::Tag(1, 2)],
        vec![Change::ClusterRegion(0, 1), Change::Replicas(3, 9)],
        vec![Change::AddApp(5), Change::RemoveCluster(4)],
        vec![Change::Mirror(2, 1)],
        vec![
            Change::Break(1, Some(Breakage::Yaml)),
            Change::BreakCluster(2, true),
        ],
        vec![Change::Break(1, None), Change::Tag(3, 1)],
        vec![Change::BreakCluster(2, false)],
    ];
    let mut commits = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        for c in step {
            repo.apply(c);
        }
        commits.push(commit_snapshot(&git, &repo.snapshot(n + 1)));
    }
    let revisions = RepoRevisions {
        path: dir.path().to_path_buf(),
        subdir: None,
        cache: Some(SharedRevisionCache::default()),
    };
    let source = tranche::git::RepoSource::open(dir.path()).expect("repository");
    let order = [0, 1, 2, 3, 4, 2, 4, 5, 6, 7, 5, 0, 7];
    let mut invalid = 0;
    for i in order {
        let (cached, fresh) = match (
            revisions.read(&commits[i]),
            Revision::read(&source, &commits[i]),
        ) {
            (Ok(cached), Ok(fresh)) => (cached, fresh),
            (Err(cached), Err(fresh)) => {
                assert_eq!(cached.problems(), fresh.problems(), "commit {i}");
                invalid += 1;
                continue;
            }
            (cached, fresh) => panic!("commit {i}: {:?} but {:?}", cached.err(), fresh.err()),
        };
        assert_eq!(cached.commit, fresh.commit);
        assert_eq!(cached.fleet, fresh.fleet, "commit {i}");
        assert_eq!(cached.rendering, fresh.rendering, "commit {i}");
    }
    assert_eq!(
        invalid, 3,
        "commits 5 and 6 do not validate (5 is read twice)"
    );
}

/// Replaces the work tree of `git` with `snapshot`'s files and commits them.
fn commit_snapshot(git: &git2::Repository, snapshot: &Snapshot) -> String {
    let root = git.workdir().expect("work tree").to_path_buf();
    for dir in ["clusters", "apps"] {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
    for (path, bytes) in &snapshot.files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, bytes).expect("file");
    }
    let mut index = git.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index
        .update_all(["*"], None)
        .expect("removed files leave the index");
    index.write().expect("index written");
    let tree = git
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let sig = git2::Signature::now("t", "t@example.com").expect("signature");
    let parent = git.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    git.commit(Some("HEAD"), &sig, &sig, "step", &tree, &parents)
        .expect("commit")
        .to_string()
}

/// `rendering` restricted to the clusters `keep` says yes to.
fn restricted(
    rendering: &tranche::render::Rendering,
    keep: &dyn Fn(&str) -> bool,
) -> tranche::render::Rendering {
    let mut out = rendering.clone();
    out.clusters.retain(|c, _| keep(c));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A shard's scoped rendering (fresh, and through a scoped cache over
    /// a random sequence of commits) equals the full rendering restricted
    /// to the shard's clusters whenever the full one renders, and finds no
    /// error a full render does not.
    #[test]
    fn scoped_render_equals_the_full_render_restricted(
        shards in 1..4usize,
        changes in proptest::collection::vec(proptest::collection::vec(change(), 1..3), 1..10),
    ) {
        use tranche::render::{render_scoped, Scope};
        use tranche::shard::shard_of;
        let mut repo = Repo::new();
        let mut caches: Vec<RenderCache> = (0..shards)
            .map(|i| RenderCache::scoped(Scope::only(move |c| shard_of(c, shards) == i)))
            .collect();
        for (n, commit) in std::iter::once(Vec::new()).chain(changes).enumerate() {
            for c in &commit {
                repo.apply(c);
            }
            let Ok(fleet) = tranche::model::load::load(&repo.snapshot(n + 1)) else {
                continue;
            };
            let inputs = RenderInputs {
                failed: repo.failed.clone(),
                ..RenderInputs::default()
            };
            let full = render_with(&fleet, &inputs);
            for (i, cache) in caches.iter_mut().enumerate() {
                let mine = move |c: &str| shard_of(c, shards) == i;
                let scope = Scope::only(mine);
                let fresh = render_scoped(&fleet, &inputs, &scope).map(|(r, _)| r);
                let cached = cache.render_with(&fleet, &inputs).map(|(r, _)| r.clone());
                prop_assert_eq!(&cached, &fresh, "shard {} commit {} after {:?}", i, n, commit);
                match (&full, &fresh) {
                    (Ok((all, _)), _) => {
                        prop_assert_eq!(fresh.as_ref().ok(), Some(&restricted(all, &mine)));
                    }
                    (Err(all), Err(some)) => {
                        for e in some {
                            prop_assert!(all.contains(e), "{} not in the full render's errors", e);
                        }
                    }
                    (Err(_), Ok(_)) => {}
                }
            }
        }
    }
}

/// A scope of no cluster renders nothing (a coordinator's reads), and
/// the shards' scopes together hold the whole rendering.
#[test]
fn the_shards_scopes_partition_the_rendering() {
    use tranche::render::{render_scoped, Scope};
    use tranche::shard::shard_of;
    let fleet = tranche::model::load::load(&Repo::new().snapshot(1)).expect("valid");
    let inputs = RenderInputs::default();
    let (full, _) = render_with(&fleet, &inputs).expect("renders");
    let (none, _) = render_scoped(&fleet, &inputs, &Scope::none()).expect("renders");
    assert!(none.clusters.is_empty());
    let mut joined = BTreeMap::new();
    for i in 0..3 {
        let scope = Scope::only(move |c| shard_of(c, 3) == i);
        let (part, _) = render_scoped(&fleet, &inputs, &scope).expect("renders");
        joined.extend(part.clusters);
    }
    assert_eq!(joined, full.clusters);
}
