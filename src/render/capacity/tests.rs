//! Table and property tests of dynamic weights against a reference
//! computation (counting pods one at a time).

use super::*;
use proptest::prelude::*;

fn res(cpu_millis: u128, memory_bytes: u128) -> Resources {
    Resources {
        cpu_millis,
        memory_bytes,
    }
}

/// Reference: place pods one by one while every requested resource still
/// has room.
fn reference(free: Resources, pod: Resources) -> u64 {
    let mut left = free;
    let mut n = 0;
    while left.cpu_millis >= pod.cpu_millis && left.memory_bytes >= pod.memory_bytes {
        left = left.minus(pod);
        n += 1;
    }
    n
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn map(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
    list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn table_of_available_replicas() {
    // (free cpu m, free memory bytes, pod cpu m, pod memory bytes, expected)
    let cases: &[(u128, u128, u128, u128, Option<u64>)] = &[
        (4000, 8 << 30, 500, 1 << 30, Some(8)),
        (4000, 2 << 30, 500, 1 << 30, Some(2)),
        (1000, 8 << 30, 500, 1 << 30, Some(2)),
        (499, 8 << 30, 500, 1 << 30, Some(0)),
        (4000, 0, 500, 0, Some(8)),
        (0, 8 << 30, 0, 1 << 30, Some(8)),
        (0, 0, 500, 1 << 30, Some(0)),
        (4000, 8 << 30, 0, 0, None),
    ];
    for &(fc, fm, pc, pm, want) in cases {
        assert_eq!(
            available_replicas(res(fc, fm), res(pc, pm)),
            want,
            "{fc} {fm} {pc} {pm}"
        );
    }
}

#[test]
fn broken_zero_and_missing_clusters_are_excluded_with_warnings() {
    let caps: Capacities = [
        (
            "c1".to_string(),
            ClusterCapacity::Known(res(6000, 12 << 30)),
        ),
        ("c2".to_string(), ClusterCapacity::Known(res(3000, 1 << 40))),
        ("zero".to_string(), ClusterCapacity::Known(res(0, 0))),
        (
            "broken".to_string(),
            ClusterCapacity::Broken("node n reports nothing".into()),
        ),
    ]
    .into();
    let got = dynamic_weights(
        &names(&["c1", "c2", "zero", "broken", "unknown"]),
        &caps,
        res(500, 1 << 30),
        None,
    )
    .unwrap();
    assert_eq!(got.weights, map(&[("c1", 12), ("c2", 6)]));
    assert_eq!(got.available, got.weights);
    assert!(!got.kept_previous);
    let warned: Vec<String> = got.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warned.len(), 3, "{warned:?}");
    assert!(
        warned[0].starts_with("cluster broken excluded"),
        "{warned:?}"
    );
    assert!(warned[1].contains("unknown excluded from dynamic weights: no capacity data"));
    assert!(warned[2].contains("zero excluded from dynamic weights: 0 available replicas"));
}

#[test]
fn a_pod_without_requests_is_an_error() {
    let err = dynamic_weights(&names(&["c1"]), &Capacities::new(), res(0, 0), None);
    assert_eq!(err, Err(NoRequests));
}

#[test]
fn hysteresis_keeps_weights_within_ten_percent() {
    let caps = |a: u128, b: u128| -> Capacities {
        [
            (
                "a".to_string(),
                ClusterCapacity::Known(res(a * 100, 1 << 40)),
            ),
            (
                "b".to_string(),
                ClusterCapacity::Known(res(b * 100, 1 << 40)),
            ),
        ]
        .into()
    };
    let clusters = names(&["a", "b"]);
    let pod = res(100, 0);
    let prev = map(&[("a", 20), ("b", 10)]);
    // a: 20 → 22 (10 %), b: 10 → 9 (10 %): kept.
    let kept = dynamic_weights(&clusters, &caps(22, 9), pod, Some(&prev)).unwrap();
    assert!(kept.kept_previous);
    assert_eq!(kept.weights, prev);
    assert_eq!(kept.available, map(&[("a", 22), ("b", 9)]));
    // b: 10 → 8 (20 %): replaced.
    let moved = dynamic_weights(&clusters, &caps(20, 8), pod, Some(&prev)).unwrap();
    assert!(!moved.kept_previous);
    assert_eq!(moved.weights, map(&[("a", 20), ("b", 8)]));
    // A cluster dropping out always replaces.
    let gone = dynamic_weights(&clusters, &caps(20, 0), pod, Some(&prev)).unwrap();
    assert_eq!(gone.weights, map(&[("a", 20)]));
}

proptest! {
    #[test]
    fn available_replicas_match_the_reference(
        fc in 0u128..20_000, fm in 0u128..20_000, pc in 0u128..2_000, pm in 0u128..2_000,
    ) {
        prop_assume!(pc > 0 || pm > 0);
        prop_assume!(pc == 0 || fc / pc < 5_000);
        prop_assume!(pm == 0 || fm / pm < 5_000);
        prop_assert_eq!(available_replicas(res(fc, fm), res(pc, pm)), Some(reference(res(fc, fm), res(pc, pm))));
    }

    #[test]
    fn weights_are_the_positive_available_replicas(
        frees in proptest::collection::vec((0u128..10_000, 0u128..10_000), 1..6),
        pc in 1u128..1_000, pm in 1u128..1_000,
    ) {
        let pod = res(pc, pm);
        let caps: Capacities = frees.iter().enumerate()
            .map(|(i, (c, m))| (format!("c{i}"), ClusterCapacity::Known(res(*c, *m))))
            .collect();
        let clusters: BTreeSet<String> = caps.keys().cloned().collect();
        let got = dynamic_weights(&clusters, &caps, pod, None).unwrap();
        for (name, cap) in &caps {
            let ClusterCapacity::Known(free) = cap else { unreachable!() };
            let want = reference(*free, pod);
            prop_assert_eq!(got.weights.get(name).copied(), (want > 0).then_some(want));
        }
        prop_assert_eq!(got.weights.len() + got.warnings.len(), caps.len());
    }

    #[test]
    fn hysteresis_is_reflexive_and_bounded(
        old in proptest::collection::btree_map("[a-c]", 1u64..1_000, 1..4),
        bump in 0u64..200,
    ) {
        prop_assert!(within_hysteresis(&old, &old));
        let new: BTreeMap<String, u64> = old.iter().map(|(k, v)| (k.clone(), v + bump)).collect();
        let all_within = old.values().all(|v| bump * 100 <= HYSTERESIS_PERCENT * v);
        prop_assert_eq!(within_hysteresis(&old, &new), all_within);
    }
}
