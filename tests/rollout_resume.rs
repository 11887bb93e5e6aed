//! "Kill between any two steps", as a table over the rollout machine:
//! directory clusters and in-memory revisions (no git, no apiserver). For
//! every step index N of a rollout that succeeds and of one that fails and
//! rolls back, the process dies (a) just after the record of step N was
//! saved, and (b) after performing step N+1 but before saving its result.
//! A new process then resumes from the state directory. Each row must end
//! exactly like the rollout that was never killed: same outcome, same
//! objects on every cluster, the foreign object untouched, no record left.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tranche::cluster::{ClusterApi, DirCluster};
use tranche::git::{GitError, Snapshot};
use tranche::outcome::RolloutOutcome;
use tranche::plan::compute::Connections;
use tranche::revision::{Revision, RevisionError, Revisions};
use tranche::rollout::event::Silent;
use tranche::rollout::executor::RunLog;
use tranche::rollout::machine::{self, Step, Terms};
use tranche::rollout::record::RolloutRecord;
use tranche::rollout::{Rollout, RolloutState, StateStore};

const V1: &str = "1111111111111111111111111111111111111111";
const V2: &str = "2222222222222222222222222222222222222222";
const CLUSTERS: [&str; 4] = ["c1", "c2", "c3", "c4"];

/// Revisions served from memory.
struct Memory(BTreeMap<String, Revision>);

impl Revisions for Memory {
    fn read(&self, rev: &str) -> Result<Revision, RevisionError> {
        self.0.get(rev).cloned().ok_or_else(|| {
            RevisionError::Git(GitError::BadRevision {
                rev: rev.to_string(),
                repo: "memory".into(),
                source: git2::Error::from_str("no such revision"),
            })
        })
    }
}

fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\ndata:\n  v: \"{value}\"\n"
    )
}

/// v1: `keep` (v=1) and `gone`; v2: `keep` (v=2), `added`, no `gone`.
fn revision(commit: &str) -> Revision {
    let mut files: Vec<(String, String)> = CLUSTERS
        .iter()
        .map(|c| {
            (
                format!("clusters/{c}.yaml"),
                format!("apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {c}\n  labels: {{env: test}}\n"),
            )
        })
        .collect();
    files.push((
        "policies/rollout.yaml".into(),
        "apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: test}\nspec:\n  steps: [1, 2, 7]\n  \
         healthTimeout: 5s\n  bakeTime: 0s\n  onFailure: Rollback\n  maxParallel: 4\n"
            .into(),
    ));
    files.push((
        "apps/shop/placement.yaml".into(),
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n"
            .into(),
    ));
    let objects = if commit == V1 {
        [configmap("keep", "1"), configmap("gone", "1")].join("---\n")
    } else {
        [configmap("keep", "2"), configmap("added", "2")].join("---\n")
    };
    files.push((
        "apps/shop/manifests/all.yaml".into(),
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n{objects}"),
    ));
    let snapshot = Snapshot::from_files(commit, files);
    let fleet = tranche::model::load::load(&snapshot).expect("valid fleet");
    let rendering = tranche::render::render(&fleet).expect("renders");
    Revision {
        commit: commit.to_string(),
        fleet,
        rendering,
        renders: Vec::new(),
    }
}

/// One row's world: cluster directories and a state directory.
struct World {
    dir: tempfile::TempDir,
    /// Name of the ConfigMap that is not tranche's, on c3.
    foreign: &'static str,
    revisions: Memory,
    clusters: Connections,
}

impl World {
    async fn new(failing: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clusters: Connections = CLUSTERS
            .iter()
            .map(|c| {
                let api: Arc<dyn ClusterApi> =
                    Arc::new(DirCluster::new(&dir.path().join("clusters"), c).unwrap());
                (c.to_string(), Ok(api))
            })
            .collect();
        let revisions = Memory(
            [V1, V2]
                .iter()
                .map(|c| (c.to_string(), revision(c)))
                .collect(),
        );
        // A ConfigMap someone else made (not tranche's). With `failing`, it
        // has the name v2 adds on c3, so c3's apply fails (batch 3).
        let foreign = if failing { "added" } else { "foreign" };
        let world = World {
            dir,
            foreign,
            revisions,
            clusters,
        };
        let report = world.rollout(&world.state()).run(V1).await.unwrap();
        assert_eq!(report.outcome, RolloutOutcome::Succeeded);
        let object = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": foreign, "namespace": "shop"}, "data": {"owner": "someone else"}
        });
        world.clusters["c3"]
            .as_ref()
            .unwrap()
            .apply(&object, Default::default())
            .await
            .unwrap();
        world
    }

    /// The foreign object's file, as written.
    fn foreign(&self) -> String {
        let file = format!("clusters/c3/core/ConfigMap/shop/{}.yaml", self.foreign);
        std::fs::read_to_string(self.dir.path().join(file)).expect("the foreign object exists")
    }

    fn state(&self) -> RolloutState {
        RolloutState::new(StateStore::open(self.dir.path().join("state")).unwrap())
    }

    fn rollout<'a>(&'a self, state: &'a RolloutState) -> Rollout<'a> {
        Rollout {
            revisions: &self.revisions,
            rollback_revisions: None,
            clusters: &self.clusters,
            state,
            observer: &Silent,
            parallel: 8,
            poll: std::time::Duration::from_millis(10),
            halt: None,
            force_conflicts: false,
            clock: &tranche::rollout::clock::SystemClock,
            control: None,
        }
    }

    /// Every object on every cluster, without the bookkeeping that differs
    /// between worlds or that a re-apply may bump.
    fn objects(&self) -> BTreeMap<String, serde_json::Value> {
        let mut out = BTreeMap::new();
        collect(&self.dir.path().join("clusters"), "", &mut out);
        out
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut BTreeMap<String, serde_json::Value>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}/{name}");
        if entry.path().is_dir() {
            collect(&entry.path(), &path, out);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let mut v: serde_json::Value = tranche::yaml::from_str(&text).unwrap();
            if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                for key in ["resourceVersion", "generation", "uid", "creationTimestamp"] {
                    meta.remove(key);
                }
            }
            // What inventories remember of each object embeds its
            // generation, which moves with every write like the above.
            if let Some(data) = v.get_mut("data").and_then(|d| d.as_object_mut()) {
                data.remove("applied");
            }
            out.insert(path, v);
        }
    }
}

/// How the process dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kill {
    /// After step N's record is saved.
    AfterSave,
    /// After step N+1 was performed, before its result is saved.
    BeforeSave,
}

/// Runs v2 by hand for `steps` steps (then dies as `kill` says); returns
/// whether the rollout finished before the kill point.
async fn run_until(world: &World, steps: usize, kill: Kill) -> bool {
    let state = world.state();
    let rollout = world.rollout(&state);
    let rev = world.revisions.read(V2).unwrap();
    let terms = Terms::from(&rev.fleet.policies.rollout);
    let mut record = RolloutRecord::new(V2, 1);
    state.save_record(&record).unwrap();
    let mut step = machine::next(&record);
    let mut log = RunLog::default();
    for _ in 0..steps {
        if matches!(step, Step::Finish { .. }) {
            return true;
        }
        let result = rollout
            .perform(&step, &record, &rev, &mut log)
            .await
            .unwrap();
        let (r, s) = machine::advance(record, result, &terms);
        state.save_record(&r).unwrap();
        record = r;
        step = s;
    }
    if matches!(step, Step::Finish { .. }) {
        return true;
    }
    if kill == Kill::BeforeSave {
        let _lost = rollout.perform(&step, &record, &rev, &mut log).await;
    }
    false
}

async fn table(failing: bool) -> usize {
    // The rollout nobody killed.
    let reference = World::new(failing).await;
    let report = reference.rollout(&reference.state()).run(V2).await.unwrap();
    let want_outcome = if failing {
        RolloutOutcome::RolledBack
    } else {
        RolloutOutcome::Succeeded
    };
    assert_eq!(report.outcome, want_outcome, "{}", report.description);
    let want = reference.objects();
    let want_memory = reference.state().memory().unwrap().cluster_commits;
    let mut rows = 0;
    for steps in 0.. {
        let mut finished = false;
        for kill in [Kill::AfterSave, Kill::BeforeSave] {
            let world = World::new(failing).await;
            let foreign = world.foreign();
            finished = run_until(&world, steps, kill).await;
            let state = world.state();
            let report = world.rollout(&state).run(V2).await.unwrap();
            let row = format!("failing={failing} steps={steps} {kill:?}");
            assert_eq!(
                report.outcome, want_outcome,
                "{row}: {}",
                report.description
            );
            assert!(report.left_behind.is_empty(), "{row}");
            assert_eq!(world.objects(), want, "{row}: cluster contents differ");
            assert_eq!(
                world.foreign(),
                foreign,
                "{row}: the foreign object was touched"
            );
            assert_eq!(
                state.record().unwrap(),
                None,
                "{row}: the record is cleared"
            );
            assert_eq!(
                state.memory().unwrap().cluster_commits,
                want_memory,
                "{row}: the fleet memory says what each cluster runs"
            );
            rows += 1;
        }
        if finished {
            break;
        }
    }
    eprintln!("failing={failing}: {rows} kill points, each resumed to the same end");
    rows
}

#[tokio::test]
async fn a_successful_rollout_killed_between_any_two_steps_ends_the_same() {
    let rows = table(false).await;
    // plan, 3 × (prepare, apply, gate), finish.
    assert!(rows >= 2 * 11, "{rows} rows");
}

#[tokio::test]
async fn a_failing_rollout_killed_between_any_two_steps_rolls_back_the_same() {
    let rows = table(true).await;
    // plan, 3 × (prepare, apply, gate) up to the failing apply, 4 restores, finish.
    assert!(rows >= 2 * 12, "{rows} rows");
}

#[tokio::test]
async fn the_reference_rollouts_really_differ() {
    // Guards the table: v2 changes every cluster, and the failing row
    // really fails on c3 and restores v1.
    let ok = World::new(false).await;
    let before = ok.objects();
    ok.rollout(&ok.state()).run(V2).await.unwrap();
    let after = ok.objects();
    assert_ne!(before, after);
    assert!(after.keys().any(|k| k.ends_with("/shop/added.yaml")));
    assert!(!after.keys().any(|k| k.ends_with("/shop/gone.yaml")));
    let bad = World::new(true).await;
    let before = bad.objects();
    let report = bad.rollout(&bad.state()).run(V2).await.unwrap();
    assert_eq!(
        report.failure.as_ref().map(|f| f.cluster.as_str()),
        Some("c3")
    );
    assert_eq!(bad.objects(), before, "rolled back to exactly v1");
}

/// Found while fixing the sweep's stale record: a rollback to nothing (a
/// cluster tranche had never completed a commit on) used to leave
/// `tranche.cluster` naming the failed commit, so a later failed rollout
/// would have "restored" that commit there.
#[tokio::test]
async fn a_rollback_to_nothing_removes_the_cluster_record() {
    let dir = tempfile::tempdir().unwrap();
    let clusters: Connections = CLUSTERS
        .iter()
        .map(|c| {
            let api: Arc<dyn ClusterApi> =
                Arc::new(DirCluster::new(&dir.path().join("clusters"), c).unwrap());
            (c.to_string(), Ok(api))
        })
        .collect();
    // c3 already holds a `keep` that is not tranche's: its batch fails.
    let foreign = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "keep", "namespace": "shop"}, "data": {"owner": "someone else"}});
    let c3 = clusters["c3"].as_ref().unwrap();
    c3.apply(&foreign, Default::default()).await.unwrap();
    let revisions = Memory([(V1.to_string(), revision(V1))].into_iter().collect());
    let state = RolloutState::new(StateStore::open(dir.path().join("state")).unwrap());
    let rollout = Rollout {
        revisions: &revisions,
        rollback_revisions: None,
        clusters: &clusters,
        state: &state,
        observer: &Silent,
        parallel: 8,
        poll: std::time::Duration::from_millis(10),
        halt: None,
        force_conflicts: false,
        clock: &tranche::rollout::clock::SystemClock,
        control: None,
    };
    let report = rollout.run(V1).await.unwrap();
    assert_eq!(
        report.outcome,
        RolloutOutcome::RolledBack,
        "{}",
        report.description
    );
    for c in ["c1", "c2"] {
        let api = clusters[c].as_ref().unwrap();
        assert_eq!(
            tranche::inventory::cluster_commit(api.as_ref())
                .await
                .unwrap(),
            None,
            "{c} runs nothing of tranche's again"
        );
        let inventories = tranche::inventory::read_state(api.as_ref()).await.unwrap();
        assert!(inventories.inventories.is_empty(), "{c}: {inventories:?}");
    }
    assert_eq!(
        state.memory().unwrap().cluster_commits.get("c1"),
        None,
        "the fleet memory agrees"
    );
}
