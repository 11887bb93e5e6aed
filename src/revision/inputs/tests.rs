use super::explain::replicas_on;
use super::*;
use crate::model::{ClusterTarget, ReplicaScheduling, WeightRule};
use crate::render::testkit::{app, deployment, fleet, names};
use crate::rollout::batch::{order_clusters, Rank};

/// Serves one commit from memory: `shop` Divided 1:1:1 with 6 replicas.
struct One(Revision);

impl Revisions for One {
    fn read(&self, _rev: &str) -> Result<Revision, RevisionError> {
        Ok(self.0.clone())
    }
}

fn shop() -> One {
    let mut a = app("shop", vec![deployment("web", Some(6))]);
    a.placement.replicas = ReplicaScheduling::Divided {
        weights: ["eu-1", "eu-2", "us-1"]
            .iter()
            .map(|c| WeightRule {
                target: ClusterTarget {
                    cluster_names: names(&[c]),
                    ..Default::default()
                },
                weight: 1,
            })
            .collect(),
    };
    let fleet = fleet(vec![a]);
    let rendering = crate::render::render(&fleet).unwrap();
    One(Revision {
        commit: fleet.commit.clone(),
        fleet,
        rendering,
        renders: vec![],
    })
}

fn split(rev: &Revision) -> [u64; 3] {
    ["eu-1", "eu-2", "us-1"].map(|c| replicas_on(rev, "shop", c))
}

fn order(rev: &Revision) -> Vec<String> {
    let cohorts = &rev.fleet.policies.rollout.cohorts;
    order_clusters(
        rev.fleet
            .clusters
            .values()
            .map(|c| (c.name.clone(), Rank::of(Some(c), cohorts)))
            .collect(),
    )
}

#[test]
fn no_inputs_read_git_as_it_is() {
    let git = shop();
    let revisions = InputRevisions::new(&git, RenderInputs::default());
    let (rev, notes) = revisions.read_explained("c0ffee").unwrap();
    assert!(!revisions.changes(&rev));
    assert!(notes.is_empty());
    assert_eq!(split(&rev), [2, 2, 2]);
    assert_eq!(order(&rev), ["eu-1", "eu-2", "us-1"]);
}

#[test]
fn a_failed_cluster_gives_its_replicas_away_and_a_returning_one_goes_first() {
    let git = shop();
    let mut inputs = RenderInputs::default();
    inputs
        .failed
        .insert("shop".into(), names(&["eu-1"]).into_iter().collect());
    let revisions = InputRevisions::new(&git, inputs);
    let rev = revisions.read("c0ffee").unwrap();
    assert_eq!(split(&rev), [0, 3, 3], "total kept on the others");

    // Returning: git's split again, us-1 first, the rest in their order.
    let back = InputRevisions {
        inner: &git,
        inputs: RenderInputs::default(),
        first: Some("us-1".into()),
    };
    let rev = back.read("c0ffee").unwrap();
    assert_eq!(split(&rev), [2, 2, 2]);
    assert_eq!(order(&rev), ["us-1", "eu-1", "eu-2"]);
    // A failed set naming an app the commit does not have changes nothing.
    let mut other = RenderInputs::default();
    other
        .failed
        .insert("gone".into(), names(&["eu-1"]).into_iter().collect());
    assert!(!InputRevisions::new(&git, other).changes(&rev));
}

#[test]
fn the_explanation_names_the_failed_over_cluster_and_the_split_around_it() {
    let git = shop();
    let mut inputs = RenderInputs::default();
    inputs
        .failed
        .insert("shop".into(), names(&["eu-1"]).into_iter().collect());
    let revisions = InputRevisions::new(&git, inputs);
    let (rev, notes) = revisions.read_explained("c0ffee").unwrap();
    assert_eq!(
        explain(&rev, &notes, &revisions.inputs.failed),
        "app shop: failover active for eu-1: its replicas are split over the others\n  \
         eu-1: 0 replicas (failed over)\n  eu-2: 3 replicas\n  us-1: 3 replicas\n"
    );
    // Without inputs nothing needs explaining.
    let plain = git.read("c0ffee").unwrap();
    assert_eq!(explain(&plain, &BTreeMap::new(), &Default::default()), "");
}

#[test]
fn the_explanation_shows_the_migration_step_and_the_replicas_on_both_sides() {
    let One(mut rev) = shop();
    let shop = rev.fleet.apps.get_mut("shop").unwrap();
    shop.placement.migration = Some(crate::model::Migration {
        from: vec!["eu-1".into()],
        to: vec!["us-1".into()],
        steps: vec![50, 100],
        step: 1,
    });
    rev.rendering = crate::render::render(&rev.fleet).unwrap();
    let text = explain(&rev, &BTreeMap::new(), &Default::default());
    let (eu, us) = (
        replicas_on(&rev, "shop", "eu-1"),
        replicas_on(&rev, "shop", "us-1"),
    );
    assert_eq!(
        text,
        format!(
            "app shop: migration step 1/2: 50 % to us-1\n  eu-1: {eu} replicas\n  \
             us-1: {us} replicas\n"
        )
    );
    assert_eq!(eu + us + replicas_on(&rev, "shop", "eu-2"), 6, "total kept");
    assert!(us > 0 && eu > 0, "half of eu-1's share moved: {eu}/{us}");
}
