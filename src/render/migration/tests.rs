//! The migration split: a 3-step table through the real render path, and
//! a property test that `to` never shrinks, `from` never grows and the
//! total stays across steps.

use super::*;
use crate::model::{ClusterTarget, Migration, ReplicaScheduling, WeightRule};
use crate::render::fleet::render;
use crate::render::testkit::{app, config_map, deployment, fleet, names};
use proptest::prelude::*;

fn migration(from: &[&str], to: &[&str], steps: &[u64], step: usize) -> Migration {
    Migration {
        from: names(from),
        to: names(to),
        steps: steps.to_vec(),
        step,
    }
}

/// `shop`: a Deployment of 9 and a ConfigMap; weights eu-1 2, eu-2 1,
/// us-1 1; eu-1 migrating to us-1 at `step` of 10 %, 50 %, 100 %.
fn replicas_at(step: usize) -> BTreeMap<String, Option<u64>> {
    let mut shop = app("shop", vec![deployment("web", Some(9)), config_map("cfg")]);
    let rule = |cluster: &str, weight| WeightRule {
        target: ClusterTarget {
            cluster_names: names(&[cluster]),
            ..Default::default()
        },
        weight,
    };
    shop.placement.replicas = ReplicaScheduling::Divided {
        weights: vec![rule("eu-1", 2), rule("eu-2", 1), rule("us-1", 1)],
    };
    shop.placement.migration = Some(migration(&["eu-1"], &["us-1"], &[10, 50, 100], step));
    let rendering = render(&fleet(vec![shop])).expect("renders");
    rendering
        .clusters
        .iter()
        .filter_map(|(name, c)| {
            let app = c.apps.get("shop")?;
            let web = app
                .objects
                .iter()
                .find(|o| o.id.kind == "Deployment")
                .and_then(|o| o.object["spec"]["replicas"].as_u64());
            assert!(app.objects.iter().any(|o| o.id.kind == "ConfigMap"));
            Some((name.clone(), web))
        })
        .collect()
}

#[test]
fn three_step_migration_table_through_render() {
    // (step, eu-1 (from), us-1 (to), eu-2 (not migrating)); None in the
    // outer map: the cluster gets none of the app's objects.
    type Row = (usize, Option<Option<u64>>, Option<Option<u64>>, u64);
    let table: [Row; 4] = [
        (0, Some(Some(6)), None, 3),
        (1, Some(Some(5)), Some(Some(1)), 3),
        (2, Some(Some(3)), Some(Some(3)), 3),
        (3, None, Some(Some(6)), 3),
    ];
    for (step, from, to, other) in table {
        let got = replicas_at(step);
        assert_eq!(got.get("eu-1").copied(), from, "step {step}: eu-1");
        assert_eq!(got.get("us-1").copied(), to, "step {step}: us-1");
        assert_eq!(got.get("eu-2").copied(), Some(Some(other)), "step {step}");
        let total: u64 = got.values().flatten().sum();
        assert_eq!(total, 9, "step {step}: total kept");
    }
}

#[test]
fn a_cluster_outside_the_placement_is_an_error() {
    let mut shop = app("shop", vec![deployment("web", Some(2))]);
    shop.placement.affinity.cluster_names = names(&["eu-1", "eu-2"]);
    shop.placement.replicas = ReplicaScheduling::Divided {
        weights: vec![WeightRule {
            target: ClusterTarget::default(),
            weight: 1,
        }],
    };
    shop.placement.migration = Some(migration(&["eu-1"], &["us-1"], &[50, 100], 1));
    let errors = render(&fleet(vec![shop])).expect_err("us-1 is not placed");
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(
        text.contains("apps/shop/placement.yaml")
            && text.contains("spec.migration.to[0]")
            && text.contains("cluster \"us-1\" is not placed"),
        "{text}"
    );
}

proptest! {
    #[test]
    fn to_never_shrinks_from_never_grows_total_constant(
        total in 0u64..500,
        weights in proptest::collection::vec(0u64..6, 5),
        cut in 1usize..4,
        raw_steps in proptest::collection::btree_set(1u64..100, 0..5),
    ) {
        let clusters = ["c0", "c1", "c2", "c3", "c4"];
        let weights: BTreeMap<String, u64> =
            clusters.iter().zip(&weights).map(|(c, w)| (c.to_string(), *w)).collect();
        // c0..cut migrate to cut..4; c4 stays out of it.
        let from: Vec<&str> = clusters[..cut].to_vec();
        let to: Vec<&str> = clusters[cut..4].to_vec();
        let mut steps: Vec<u64> = raw_steps.into_iter().collect();
        steps.push(100);
        let mut before: Option<BTreeMap<String, u64>> = None;
        for step in 0..=steps.len() {
            let split = Split {
                weights: weights.clone(),
                migration: Some(migration(&from, &to, &steps, step)),
            };
            let now = split.of(total);
            prop_assert_eq!(now.values().sum::<u64>(), total);
            if let Some(prev) = &before {
                for c in &from {
                    prop_assert!(now[*c] <= prev[*c], "{} grew at step {}", c, step);
                }
                for c in &to {
                    prop_assert!(now[*c] >= prev[*c], "{} shrank at step {}", c, step);
                }
                prop_assert_eq!(now["c4"], prev["c4"]);
            }
            if step == steps.len() {
                for c in &from {
                    prop_assert_eq!(now[*c], 0);
                }
            }
            before = Some(now);
        }
    }
}
