//! Table tests of the failover machine: thresholds, flapping, one change
//! at a time, minClusters, returns.

use super::*;
use std::time::Duration;

const UP: Observation = Observation {
    reachable: true,
    healthy: true,
};
const UNREACHABLE: Observation = Observation {
    reachable: false,
    healthy: true,
};
const UNHEALTHY: Observation = Observation {
    reachable: true,
    healthy: false,
};

fn policy(after: u64, min_clusters: usize) -> Failover {
    Failover {
        after: Duration::from_secs(after),
        min_clusters,
    }
}

fn placed(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// One step of a table: `(now, observations, busy)`.
type Step<'a> = (u64, &'a [(&'a str, Observation)], bool);

/// Runs `steps` of `(now, observations, busy)` from an empty state over
/// clusters a, b, c and returns every step's decisions and the last state.
fn run(policy: &Failover, steps: &[Step<'_>]) -> (Vec<Vec<Decision>>, FailoverState) {
    let clusters = placed(&["a", "b", "c"]);
    let mut state = FailoverState::default();
    let mut all = Vec::new();
    for (now, obs, busy) in steps {
        let observed = obs.iter().map(|(c, o)| (c.to_string(), *o)).collect();
        let (next, decisions) = step(&state, policy, &clusters, &observed, *now, *busy);
        state = next;
        all.push(decisions);
    }
    (all, state)
}

fn fail(cluster: &str, since: u64) -> Vec<Decision> {
    vec![Decision::FailOver {
        cluster: cluster.into(),
        since,
    }]
}

fn back(cluster: &str) -> Vec<Decision> {
    vec![Decision::Return {
        cluster: cluster.into(),
    }]
}

const ALL_UP: &[(&str, Observation)] = &[("a", UP), ("b", UP), ("c", UP)];
const A_DOWN: &[(&str, Observation)] = &[("a", UNREACHABLE), ("b", UP), ("c", UP)];
const A_SICK: &[(&str, Observation)] = &[("a", UNHEALTHY), ("b", UP), ("c", UP)];
const AB_DOWN: &[(&str, Observation)] = &[("a", UNREACHABLE), ("b", UNHEALTHY), ("c", UP)];

#[test]
fn down_for_after_fails_over_and_up_for_after_returns() {
    let (d, state) = run(
        &policy(60, 1),
        &[
            (0, ALL_UP, false),
            (10, A_DOWN, false),
            (69, A_DOWN, false),
            (70, A_DOWN, false),
            (100, ALL_UP, false),
            (159, ALL_UP, false),
            (160, ALL_UP, false),
        ],
    );
    let none: Vec<Decision> = vec![];
    assert_eq!(
        d,
        [
            none.clone(),
            none.clone(),
            none.clone(),
            fail("a", 10),
            none.clone(),
            none,
            back("a")
        ]
    );
    assert!(state.failed.is_empty());
    assert_eq!(state.describe(), None);
}

#[test]
fn unhealthy_counts_as_down_and_missing_observation_too() {
    let (d, state) = run(&policy(5, 1), &[(0, A_SICK, false), (5, A_SICK, false)]);
    assert_eq!(d[1], fail("a", 0));
    assert_eq!(
        state.describe().as_deref(),
        Some("failover active for a since 1970-01-01T00:00:00Z")
    );
    let (d, _) = run(
        &policy(5, 1),
        &[
            (0, &[("b", UP), ("c", UP)], false),
            (7, &[("b", UP), ("c", UP)], false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
}

#[test]
fn flapping_within_after_changes_nothing() {
    let (d, state) = run(
        &policy(60, 1),
        &[
            (0, A_DOWN, false),
            (50, ALL_UP, false),
            (60, A_DOWN, false),
            (100, ALL_UP, false),
            (130, A_DOWN, false),
            (189, A_DOWN, false),
        ],
    );
    assert!(d.iter().all(|d| d.is_empty()), "{d:?}");
    assert!(state.failed.is_empty());
    // And a failed-over cluster that flaps up stays failed over.
    let (d, state) = run(
        &policy(60, 1),
        &[
            (0, A_DOWN, false),
            (60, A_DOWN, false),
            (70, ALL_UP, false),
            (100, A_DOWN, false),
            (130, ALL_UP, false),
            (189, ALL_UP, false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
    assert!(d[2..].iter().all(|d| d.is_empty()), "{d:?}");
    assert_eq!(state.failed_set(), placed(&["a"]));
}

#[test]
fn one_change_at_a_time_and_none_while_busy() {
    let (d, state) = run(
        &policy(10, 1),
        &[
            (0, AB_DOWN, false),
            (20, AB_DOWN, false),
            (21, AB_DOWN, true),
            (22, AB_DOWN, false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
    assert!(d[2].is_empty());
    assert_eq!(d[3], fail("b", 0));
    assert_eq!(state.failed_set(), placed(&["a", "b"]));
}

#[test]
fn min_clusters_refuses_and_reports() {
    let (d, state) = run(
        &policy(10, 2),
        &[
            (0, AB_DOWN, false),
            (10, AB_DOWN, false),
            (11, AB_DOWN, false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
    let reason = "failover of b refused: it would leave 1 cluster(s), below minClusters 2";
    assert_eq!(
        d[2],
        [Decision::Refused {
            cluster: "b".into(),
            reason: reason.into()
        }]
    );
    assert_eq!(state.refused.as_deref(), Some(reason));
    assert_eq!(state.failed_set(), placed(&["a"]));
    // The last cluster is never failed over with the default minClusters 1.
    let down: &[(&str, Observation)] = &[];
    let (d, state) = run(
        &policy(1, 1),
        &[
            (0, down, false),
            (5, down, false),
            (6, down, false),
            (7, down, false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
    assert_eq!(d[2], fail("b", 0));
    assert!(matches!(&d[3][..], [Decision::Refused { cluster, .. }] if cluster == "c"));
    assert_eq!(state.failed_set(), placed(&["a", "b"]));
}

#[test]
fn return_goes_before_a_new_failover() {
    let (d, _) = run(
        &policy(10, 1),
        &[
            (0, A_DOWN, false),
            (10, A_DOWN, false),
            (15, &[("a", UP), ("b", UNREACHABLE), ("c", UP)], false),
            (25, &[("a", UP), ("b", UNREACHABLE), ("c", UP)], false),
            (26, &[("a", UP), ("b", UNREACHABLE), ("c", UP)], false),
        ],
    );
    assert_eq!(d[1], fail("a", 0));
    assert_eq!(d[3], back("a"));
    assert_eq!(d[4], fail("b", 15));
}

#[test]
fn state_survives_a_json_round_trip() {
    let (_, state) = run(&policy(5, 1), &[(0, A_DOWN, false), (5, A_DOWN, false)]);
    let json = serde_json::to_string(&state).unwrap();
    let back: FailoverState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn commit_status_description_names_the_failover() {
    let (_, state) = run(&policy(5, 1), &[(0, A_DOWN, false), (5, A_DOWN, false)]);
    assert_eq!(
        status_description("deployed to 2 cluster(s)", &state),
        "deployed to 2 cluster(s); failover active for a since 1970-01-01T00:00:00Z"
    );
    assert_eq!(
        status_description("deployed", &FailoverState::default()),
        "deployed"
    );
}

#[test]
fn a_rolled_back_failover_waits_another_after_and_is_reported_until_then() {
    let p = policy(10, 1);
    let clusters = placed(&["a", "b", "c"]);
    let obs = |o: &[(&str, Observation)]| -> BTreeMap<String, Observation> {
        o.iter().map(|(c, o)| (c.to_string(), *o)).collect()
    };
    let (before, _) = step(
        &FailoverState::default(),
        &p,
        &clusters,
        &obs(A_DOWN),
        0,
        false,
    );
    let (after, d) = step(&before, &p, &clusters, &obs(A_DOWN), 10, false);
    assert_eq!(d, fail("a", 0));
    // Its rollout failed at 12: a is not failed over, and reported.
    let back_state = roll_back(&before, &after, 12, "batch 1 unhealthy");
    assert!(back_state.failed.is_empty());
    assert_eq!(
        back_state.rolled_back.as_deref(),
        Some("failover of a rolled back: batch 1 unhealthy")
    );
    // Still down: nothing until `after` has passed again since 12.
    let (s, d) = step(&back_state, &p, &clusters, &obs(A_DOWN), 21, false);
    assert!(d.is_empty(), "{d:?}");
    assert!(s.rolled_back.is_some(), "reported until the next change");
    let (s, d) = step(&s, &p, &clusters, &obs(A_DOWN), 22, false);
    assert_eq!(d, fail("a", 12));
    assert_eq!(s.rolled_back, None);

    // A return rolled back keeps the cluster failed over.
    let returned = roll_back(&after, &back_state, 30, "gate");
    assert_eq!(returned.failed_set(), placed(&["a"]));
    assert_eq!(
        returned.rolled_back.as_deref(),
        Some("return of a rolled back: gate")
    );
    // Nothing changed: nothing reported.
    assert_eq!(roll_back(&after, &after, 30, "x").rolled_back, None);
}
