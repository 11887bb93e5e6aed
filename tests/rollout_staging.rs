//! Batch policies through the executor, with directory clusters and an
//! injected clock: a canary cohort goes first, percent steps cut the
//! batches, a time window holds a batch (nothing is written to its
//! clusters) until the clock enters it, and the pause between batches
//! waits for the clock.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tranche::cluster::{ClusterApi, DirCluster};
use tranche::git::Snapshot;
use tranche::outcome::RolloutOutcome;
use tranche::plan::compute::Connections;
use tranche::revision::{Revision, RevisionError, Revisions};
use tranche::rollout::clock::{Clock, ManualClock};
use tranche::rollout::event::{Observer, RolloutEvent};
use tranche::rollout::{Rollout, RolloutState, StateStore};

const V1: &str = "1111111111111111111111111111111111111111";
const CLUSTERS: [&str; 4] = ["c1", "c2", "c3", "c4"];

struct One(Revision);

impl Revisions for One {
    fn read(&self, _: &str) -> Result<Revision, RevisionError> {
        Ok(self.0.clone())
    }
}

fn revision(policy: &str) -> Revision {
    let mut files: Vec<(String, String)> = CLUSTERS
        .iter()
        .map(|c| {
            let tier = if *c == "c4" { "canary" } else { "main" };
            (
                format!("clusters/{c}.yaml"),
                format!("apiVersion: tranche.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: {c}\n  labels: {{env: test, tier: {tier}}}\n"),
            )
        })
        .collect();
    files.push((
        "policies/rollout.yaml".into(),
        format!("apiVersion: tranche.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {{name: test}}\nspec:\n  healthTimeout: 5s\n  bakeTime: 0s\n{policy}"),
    ));
    files.push((
        "apps/shop/placement.yaml".into(),
        "apiVersion: tranche.dev/v1alpha1\nkind: Placement\nmetadata: {name: shop}\nspec:\n  clusterAffinity:\n    \
         labelSelector: {matchLabels: {env: test}}\n"
            .into(),
    ));
    files.push((
        "apps/shop/manifests/all.yaml".into(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: shop\ndata:\n  v: \"1\"\n".into(),
    ));
    let snapshot = Snapshot::from_files(V1, files);
    let fleet = tranche::model::load::load(&snapshot).expect("valid fleet");
    let rendering = tranche::render::render(&fleet).expect("renders");
    Revision {
        commit: V1.to_string(),
        fleet,
        rendering,
        renders: Vec::new(),
    }
}

/// Keeps a line per event; on the first batch's health moves the clock to
/// `after_first` (unix seconds), as if that batch took that long.
struct Recorder {
    lines: Mutex<Vec<String>>,
    clock: Arc<ManualClock>,
    after_first: u64,
}

impl Observer for Recorder {
    fn on_event(&self, event: &RolloutEvent) {
        let line = match event {
            RolloutEvent::Waiting { index, reason } => format!("wait {index}: {reason}"),
            RolloutEvent::BatchStarted { index, clusters } => {
                format!("start {index}: {}", clusters.join(","))
            }
            RolloutEvent::BatchHealthy { index, .. } => {
                if *index == 0 {
                    self.clock.set(self.after_first);
                }
                format!("healthy {index}")
            }
            RolloutEvent::Finished { outcome, .. } => format!("finished {outcome}"),
            _ => return,
        };
        self.lines.lock().unwrap().push(line);
    }
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (real time, bounded) until a line starting with `prefix` shows.
    async fn until(&self, prefix: &str) -> String {
        for _ in 0..500 {
            if let Some(l) = self.lines().into_iter().find(|l| l.starts_with(prefix)) {
                return l;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no event {prefix:?} in {:?}", self.lines());
    }
}

fn written(dir: &Path, cluster: &str) -> bool {
    dir.join("clusters")
        .join(cluster)
        .join("core/ConfigMap/shop/web.yaml")
        .exists()
}

fn at(text: &str) -> u64 {
    text.parse::<jiff::Timestamp>().unwrap().as_second() as u64
}

struct World {
    dir: tempfile::TempDir,
    clusters: Connections,
    revisions: One,
}

impl World {
    fn new(policy: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clusters = CLUSTERS
            .iter()
            .map(|c| {
                let api: Arc<dyn ClusterApi> =
                    Arc::new(DirCluster::new(&dir.path().join("clusters"), c).unwrap());
                (c.to_string(), Ok(api))
            })
            .collect();
        World {
            dir,
            clusters,
            revisions: One(revision(policy)),
        }
    }

    async fn run(
        &self,
        clock: &Arc<ManualClock>,
        observer: &Recorder,
    ) -> tranche::rollout::RolloutReport {
        let state = RolloutState::new(StateStore::open(self.dir.path().join("state")).unwrap());
        let rollout = Rollout {
            revisions: &self.revisions,
            rollback_revisions: None,
            clusters: &self.clusters,
            state: &state,
            observer,
            parallel: 4,
            poll: std::time::Duration::from_millis(10),
            halt: None,
            force_conflicts: false,
            clock: clock.as_ref() as &dyn Clock,
            control: None,
        };
        rollout.run(V1).await.unwrap()
    }
}

#[tokio::test]
async fn a_time_window_holds_each_batch_until_the_clock_enters_it() {
    let world = World::new(
        "  steps: [1, \"50%\", \"100%\"]\n  canary: [{matchLabels: {tier: canary}}]\n  \
         windows: [{schedule: \"0 9 * * *\", duration: 1h, timeZone: Europe/Berlin}]\n",
    );
    // 07:30 UTC = 08:30 in Berlin: before the window.
    let clock = Arc::new(ManualClock::at(at("2026-12-02T07:30:00Z")));
    let recorder = Recorder {
        lines: Mutex::new(vec![]),
        clock: clock.clone(),
        // The first batch ends after the window closed (10:30 in Berlin).
        after_first: at("2026-12-02T09:30:00Z"),
    };
    let drive = async {
        let line = recorder.until("wait 0:").await;
        assert!(
            line.contains("outside its time windows (\"0 9 * * *\" for 1h (Europe/Berlin)); next opens 2026-12-02T08:00:00Z"),
            "{line}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            CLUSTERS.iter().all(|c| !written(world.dir.path(), c)),
            "nothing written before the window"
        );
        clock.set(at("2026-12-02T08:05:00Z"));
        let line = recorder.until("wait 1:").await;
        assert!(line.contains("next opens 2026-12-03T08:00:00Z"), "{line}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(written(world.dir.path(), "c4"), "the canary went first");
        assert!(
            !written(world.dir.path(), "c1"),
            "batch 2 waits for the next day's window"
        );
        clock.set(at("2026-12-03T08:59:00Z"));
    };
    let (report, ()) = tokio::join!(world.run(&clock, &recorder), drive);
    assert_eq!(
        report.outcome,
        RolloutOutcome::Succeeded,
        "{}",
        report.description
    );
    assert_eq!(
        report.batches,
        vec![
            vec!["c4".to_string()],
            vec!["c1".into()],
            vec!["c2".into(), "c3".into()]
        ]
    );
    let lines: Vec<String> = recorder
        .lines()
        .into_iter()
        .map(|l| l.split(':').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "wait 0",
            "start 0",
            "healthy 0",
            "wait 1",
            "start 1",
            "healthy 1",
            "start 2",
            "healthy 2",
            "finished succeeded"
        ],
        "{:?}",
        recorder.lines()
    );
    assert!(CLUSTERS.iter().all(|c| written(world.dir.path(), c)));
}

#[tokio::test]
async fn the_pause_between_batches_waits_for_the_clock() {
    let world = World::new("  steps: [1, 3]\n  pauseBetweenBatches: 10m\n");
    let start = at("2026-12-02T12:00:00Z");
    let clock = Arc::new(ManualClock::at(start));
    let recorder = Recorder {
        lines: Mutex::new(vec![]),
        clock: clock.clone(),
        after_first: start + 60,
    };
    let drive = async {
        let line = recorder.until("wait 1:").await;
        // The gate passed at 12:01; the pause runs to 12:11.
        assert!(line.contains("waits until 2026-12-02T12:11:00Z"), "{line}");
        clock.set(start + 600);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let written_now: BTreeMap<&str, bool> = CLUSTERS
            .iter()
            .map(|c| (*c, written(world.dir.path(), c)))
            .collect();
        assert_eq!(
            written_now.values().filter(|w| **w).count(),
            1,
            "{written_now:?}"
        );
        clock.set(start + 660);
    };
    let (report, ()) = tokio::join!(world.run(&clock, &recorder), drive);
    assert_eq!(
        report.outcome,
        RolloutOutcome::Succeeded,
        "{}",
        report.description
    );
    assert!(CLUSTERS.iter().all(|c| written(world.dir.path(), c)));
}
