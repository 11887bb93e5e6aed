use super::*;
use crate::object::ObjectRef;
use std::time::Duration;

fn batches() -> Vec<Vec<String>> {
    vec![
        vec!["a".into()],
        vec!["b".into()],
        vec!["c".into(), "d".into()],
    ]
}

fn report(cluster: &str, outcomes: &[ObjectOutcome]) -> ClusterReport {
    let mut r = ClusterReport::new(cluster, "new");
    for (i, o) in outcomes.iter().enumerate() {
        r.results.push(ObjectResult {
            app: "shop".into(),
            id: ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("shop".into()),
                name: format!("cm{i}"),
            },
            outcome: *o,
            message: (*o == ObjectOutcome::Failed).then(|| "refused".to_string()),
        });
    }
    r
}

fn states(v: &RolloutView) -> Vec<(String, ClusterState)> {
    v.clusters
        .iter()
        .map(|(n, c)| (n.clone(), c.state))
        .collect()
}

fn prev(c: &str) -> Option<String> {
    (c != "d").then(|| format!("old-{c}"))
}

fn replay(events: &[RolloutEvent]) -> RolloutView {
    let mut v = RolloutView::new(100);
    for (t, e) in events.iter().enumerate() {
        v.apply(e, 100 + t as u64, &prev);
    }
    v
}

#[test]
fn a_successful_rollout_moves_each_batch_from_pending_to_healthy() {
    let planned = RolloutEvent::Planned {
        commit: "new".into(),
        batches: batches(),
    };
    let mut events = vec![planned];
    let v = replay(&events);
    assert!(v
        .clusters
        .values()
        .all(|c| c.state == ClusterState::Pending));
    assert_eq!(v.clusters["a"].previous.as_deref(), Some("old-a"));
    assert_eq!(v.clusters["d"].previous, None);
    assert_eq!(v.clusters["c"].batch, 2);

    events.push(RolloutEvent::BatchStarted {
        index: 0,
        clusters: vec!["a".into()],
    });
    assert_eq!(replay(&events).clusters["a"].state, ClusterState::Applying);
    events.push(RolloutEvent::ClusterApplied {
        index: 0,
        report: report(
            "a",
            &[
                ObjectOutcome::Created,
                ObjectOutcome::Unchanged,
                ObjectOutcome::Configured,
            ],
        ),
    });
    events.push(RolloutEvent::GateWaiting {
        index: 0,
        pending: vec!["a Deployment shop/web: 0/1 updated".into()],
    });
    let v = replay(&events);
    assert_eq!(v.phase, ViewPhase::Gating);
    assert_eq!(v.clusters["a"].state, ClusterState::Gating);
    assert_eq!(
        v.clusters["a"].gate,
        vec!["Deployment shop/web: 0/1 updated"]
    );
    assert!(v.clusters["b"].gate.is_empty());
    assert_eq!(v.clusters["a"].counts[&ObjectOutcome::Created], 1);
    assert_eq!(v.clusters["a"].counts[&ObjectOutcome::Unchanged], 1);
    assert_eq!(
        v.clusters["a"].changes.len(),
        2,
        "unchanged objects are not listed"
    );

    events.push(RolloutEvent::Baking {
        index: 0,
        bake: Duration::from_secs(30),
    });
    let v = replay(&events);
    assert_eq!((v.phase, v.bake_seconds), (ViewPhase::Baking, Some(30)));
    assert!(v.gate.is_empty() && v.clusters["a"].gate.is_empty());

    events.push(RolloutEvent::BatchHealthy {
        index: 0,
        done: 1,
        total: 4,
    });
    let v = replay(&events);
    assert_eq!(
        states(&v),
        vec![
            ("a".into(), ClusterState::Healthy),
            ("b".into(), ClusterState::Pending),
            ("c".into(), ClusterState::Pending),
            ("d".into(), ClusterState::Pending),
        ]
    );
    for (i, b) in batches().into_iter().enumerate().skip(1) {
        events.push(RolloutEvent::BatchStarted {
            index: i,
            clusters: b.clone(),
        });
        for c in &b {
            events.push(RolloutEvent::ClusterApplied {
                index: i,
                report: report(c, &[ObjectOutcome::Configured]),
            });
        }
        events.push(RolloutEvent::BatchHealthy {
            index: i,
            done: 0,
            total: 4,
        });
    }
    events.push(RolloutEvent::Finished {
        outcome: RolloutOutcome::Succeeded,
        description: "deployed to 4 cluster(s) in 3 batch(es)".into(),
    });
    let v = replay(&events);
    assert!(v
        .clusters
        .values()
        .all(|c| c.state == ClusterState::Healthy));
    assert_eq!(v.phase, ViewPhase::Finished);
    assert_eq!(v.outcome, Some(RolloutOutcome::Succeeded));
    assert_eq!(v.finished_at, Some(100 + events.len() as u64 - 1));
    assert_eq!(v.batch, 2);
}

#[test]
fn a_failed_batch_rolls_back_what_it_touched_and_never_starts_the_rest() {
    let failure = Failure {
        cluster: "b".into(),
        object: Some("Deployment shop/web".into()),
        reason: "ProgressDeadlineExceeded".into(),
    };
    let events = vec![
        RolloutEvent::Planned {
            commit: "new".into(),
            batches: batches(),
        },
        RolloutEvent::BatchStarted {
            index: 0,
            clusters: vec!["a".into()],
        },
        RolloutEvent::ClusterApplied {
            index: 0,
            report: report("a", &[ObjectOutcome::Configured]),
        },
        RolloutEvent::BatchHealthy {
            index: 0,
            done: 1,
            total: 4,
        },
        RolloutEvent::BatchStarted {
            index: 1,
            clusters: vec!["b".into()],
        },
        RolloutEvent::ClusterApplied {
            index: 1,
            report: report("b", &[ObjectOutcome::Configured]),
        },
        RolloutEvent::Failed {
            failure: failure.clone(),
            rolling_back: true,
        },
    ];
    let v = replay(&events);
    assert_eq!(v.phase, ViewPhase::RollingBack);
    assert_eq!(v.failure.as_ref(), Some(&failure));
    assert_eq!(v.clusters["a"].state, ClusterState::RollingBack);
    assert_eq!(v.clusters["b"].state, ClusterState::RollingBack);
    assert_eq!(
        v.clusters["b"].error.as_deref(),
        Some("b Deployment shop/web ProgressDeadlineExceeded")
    );
    assert_eq!(v.clusters["c"].state, ClusterState::Pending);

    let mut events = events;
    events.push(RolloutEvent::ClusterRolledBack {
        report: report("a", &[ObjectOutcome::Configured]),
    });
    let mut broken = report("b", &[]);
    broken.error = Some("apiserver down".into());
    events.push(RolloutEvent::ClusterRolledBack { report: broken });
    let untouched = replay(&events);
    assert_eq!(untouched.clusters["a"].state, ClusterState::RolledBack);
    events.push(RolloutEvent::Finished {
        outcome: RolloutOutcome::RollbackFailed,
        description: "rollback incomplete on b".into(),
    });
    let v = replay(&events);
    assert_eq!(
        states(&v),
        vec![
            ("a".into(), ClusterState::RolledBack),
            ("b".into(), ClusterState::RollbackFailed),
            ("c".into(), ClusterState::NotStarted),
            ("d".into(), ClusterState::NotStarted),
        ]
    );
    assert_eq!(v.clusters["b"].error.as_deref(), Some("b: apiserver down"));
    assert!(v.gate.is_empty() && v.clusters.values().all(|c| c.gate.is_empty()));
}

#[test]
fn apply_failures_and_pauses_show_on_the_cluster() {
    let events = vec![
        RolloutEvent::Planned {
            commit: "new".into(),
            batches: batches(),
        },
        RolloutEvent::BatchStarted {
            index: 0,
            clusters: vec!["a".into()],
        },
        RolloutEvent::ClusterApplied {
            index: 0,
            report: report("a", &[ObjectOutcome::Created, ObjectOutcome::Failed]),
        },
        RolloutEvent::Failed {
            failure: Failure {
                cluster: "a".into(),
                object: None,
                reason: "refused".into(),
            },
            rolling_back: false,
        },
    ];
    let v = replay(&events);
    assert_eq!(v.phase, ViewPhase::Pausing);
    assert_eq!(v.clusters["a"].state, ClusterState::Failed);
    assert_eq!(
        v.clusters["a"].error.as_deref(),
        Some("a ConfigMap shop/cm1: refused")
    );
}

#[test]
fn a_resumed_rollout_without_a_plan_still_shows_its_batch() {
    let v = replay(&[RolloutEvent::BatchStarted {
        index: 1,
        clusters: vec!["b".into()],
    }]);
    assert_eq!(v.clusters["b"].batch, 1);
    assert_eq!(v.clusters["b"].state, ClusterState::Applying);
}

#[test]
fn listed_changes_are_bounded() {
    let many = vec![ObjectOutcome::Created; MAX_LISTED_CHANGES + 7];
    let v = replay(&[
        RolloutEvent::Planned {
            commit: "new".into(),
            batches: batches(),
        },
        RolloutEvent::ClusterApplied {
            index: 0,
            report: report("a", &many),
        },
    ]);
    assert_eq!(v.clusters["a"].changes.len(), MAX_LISTED_CHANGES);
    assert_eq!(v.clusters["a"].unlisted, 7);
    assert_eq!(
        v.clusters["a"].counts[&ObjectOutcome::Created],
        MAX_LISTED_CHANGES + 7
    );
}

#[test]
fn a_cluster_the_rollback_did_not_touch_keeps_its_state() {
    let events = [
        RolloutEvent::Planned {
            commit: "new".into(),
            batches: vec![vec!["a".into(), "b".into()]],
        },
        RolloutEvent::BatchStarted {
            index: 0,
            clusters: vec!["a".into(), "b".into()],
        },
        RolloutEvent::ClusterApplied {
            index: 0,
            report: report("a", &[ObjectOutcome::Unchanged]),
        },
        RolloutEvent::ClusterApplied {
            index: 0,
            report: report("b", &[ObjectOutcome::Failed]),
        },
        RolloutEvent::Failed {
            failure: Failure {
                cluster: "b".into(),
                object: None,
                reason: "refused".into(),
            },
            rolling_back: true,
        },
        RolloutEvent::ClusterRolledBack {
            report: report("b", &[ObjectOutcome::Configured]),
        },
        RolloutEvent::Finished {
            outcome: RolloutOutcome::RolledBack,
            description: "rolled back: b refused".into(),
        },
    ];
    let v = replay(&events);
    assert_eq!(
        v.clusters["a"].state,
        ClusterState::Gating,
        "a was never written"
    );
    assert_eq!(v.clusters["b"].state, ClusterState::RolledBack);
}

#[test]
fn analysis_results_show_as_one_gate_line_per_check_and_cluster() {
    let analysis = |check: &str, passed: Option<bool>, value: &str| RolloutEvent::Analysis {
        index: 0,
        cluster: "a".into(),
        check: check.into(),
        passed,
        value: value.into(),
    };
    let events = vec![
        RolloutEvent::Planned {
            commit: "new".into(),
            batches: batches(),
        },
        analysis("error-ratio", Some(true), "0.002"),
        analysis("smoke", None, "running (1 active, 0 succeeded, 0 failed)"),
        analysis("error-ratio", Some(false), "0.25"),
    ];
    let v = replay(&events);
    assert_eq!(
        v.clusters["a"].gate,
        vec![
            "analysis smoke: running (1 active, 0 succeeded, 0 failed) (running)".to_string(),
            "analysis error-ratio: 0.25 (BAD)".to_string(),
        ]
    );
}
