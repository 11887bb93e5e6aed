use super::*;
use crate::daemon::rollout_view::{ClusterState as ViewState, RolloutView, ViewPhase};
use crate::shard::protocol::tests::{names, plan10};
use crate::shard::protocol::{coordinate, ClusterEntry};
use crate::shard::shard_of;

fn empty_statuses() -> Vec<Option<ShardStatus>> {
    vec![
        Some(ShardStatus {
            commit: "v2".into(),
            ..ShardStatus::default()
        });
        2
    ]
}

fn set(statuses: &mut [Option<ShardStatus>], cluster: &str, state: ClusterState) {
    let s = statuses[shard_of(cluster, 2)].as_mut().unwrap();
    s.clusters.insert(
        cluster.to_string(),
        ClusterEntry {
            state,
            before: Before::Commit("v1".into()),
            changed: true,
            reason: matches!(state, ClusterState::Failed | ClusterState::RollbackFailed)
                .then(|| "Deployment shop/web not healthy".into()),
        },
    );
}

/// A short name per event, to compare sequences.
fn kind(e: &RolloutEvent) -> String {
    match e {
        RolloutEvent::Planned { .. } => "planned".into(),
        RolloutEvent::BatchStarted { index, .. } => format!("started {index}"),
        RolloutEvent::ClusterApplied { report, .. } => match &report.error {
            None => format!("applied {}", report.cluster),
            Some(_) => format!("failed {}", report.cluster),
        },
        RolloutEvent::BatchHealthy { index, .. } => format!("healthy {index}"),
        RolloutEvent::Failed { failure, .. } => format!("rollout failed at {}", failure.cluster),
        RolloutEvent::ClusterRolledBack { report } => format!("restored {}", report.cluster),
        RolloutEvent::Finished { outcome, .. } => format!("finished {}", outcome.as_str()),
        other => format!("{other:?}"),
    }
}

fn replay(view: &mut RolloutView, events: &[RolloutEvent]) {
    for e in events {
        view.apply(e, 0, &|_| None);
    }
}

#[test]
fn a_whole_rollout_is_told_once_in_order_and_ends_deployed() {
    let mut n = Narrator::default();
    let mut plan = plan10();
    let mut statuses = empty_statuses();
    let mut told = Vec::new();
    let mut view = RolloutView::new(0);
    loop {
        let events = n.tell(&plan, &statuses);
        replay(&mut view, &events);
        told.extend(events);
        // Asked again with nothing new: nothing more is told.
        assert!(n.tell(&plan, &statuses).is_empty());
        if plan.phase.is_finished() {
            break;
        }
        for c in plan.batches[plan.batch].clone() {
            set(&mut statuses, &c, ClusterState::Healthy);
        }
        // The shards report before the coordinator moves on.
        let events = n.tell(&plan, &statuses);
        replay(&mut view, &events);
        told.extend(events);
        plan = coordinate(&plan, &statuses).expect("batch healthy: next");
    }
    let kinds: Vec<String> = told.iter().map(kind).collect();
    let mut expected = vec![
        "planned".to_string(),
        "started 0".into(),
        "applied c1".into(),
    ];
    expected.push("healthy 0".into());
    expected.push("started 1".into());
    expected.extend(["applied c2".into(), "applied c3".into(), "healthy 1".into()]);
    expected.push("started 2".into());
    expected.extend((4..=10).map(|i| format!("applied c{i}")));
    expected.extend(["healthy 2".into(), "finished succeeded".into()]);
    assert_eq!(kinds, expected);
    let Some(RolloutEvent::Finished { description, .. }) = told.last() else {
        panic!("{told:?}")
    };
    assert_eq!(description, "deployed to 10 cluster(s) in 3 batch(es)");
    assert_eq!(view.phase, ViewPhase::Finished);
    assert!(view
        .clusters
        .values()
        .all(|c| c.state == ViewState::Healthy));
    assert_eq!(view.clusters.len(), 10);
}

#[test]
fn a_failed_batch_is_told_as_a_failure_then_each_restore_then_rolled_back() {
    let mut n = Narrator::default();
    let mut plan = plan10();
    let mut statuses = empty_statuses();
    n.tell(&plan, &statuses);
    set(&mut statuses, "c1", ClusterState::Healthy);
    plan = coordinate(&plan, &statuses).unwrap();
    set(&mut statuses, "c2", ClusterState::Failed);
    set(&mut statuses, "c3", ClusterState::Healthy);
    plan = coordinate(&plan, &statuses).unwrap();
    assert_eq!(plan.phase, PlanPhase::RollingBack);
    let kinds: Vec<String> = n.tell(&plan, &statuses).iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "applied c1",
            "healthy 0",
            "started 1",
            "failed c2",
            "applied c3",
            "rollout failed at c2"
        ]
    );
    for c in ["c1", "c2", "c3"] {
        set(&mut statuses, c, ClusterState::RolledBack);
    }
    for s in statuses.iter_mut().flatten() {
        s.seen = plan.generation;
    }
    plan = coordinate(&plan, &statuses).unwrap();
    assert_eq!(plan.phase, PlanPhase::Failed);
    let events = n.tell(&plan, &statuses);
    let kinds: Vec<String> = events.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "restored c1",
            "restored c2",
            "restored c3",
            "finished rolled_back"
        ]
    );
    let Some(RolloutEvent::Finished { description, .. }) = events.last() else {
        panic!()
    };
    assert_eq!(
        description,
        "rolled back: c2 Deployment shop/web not healthy"
    );
}

#[test]
fn a_restore_that_fails_makes_the_rollback_incomplete() {
    let mut plan = plan10();
    let mut statuses = empty_statuses();
    set(&mut statuses, "c1", ClusterState::Failed);
    plan = coordinate(&plan, &statuses).unwrap();
    set(&mut statuses, "c1", ClusterState::RollbackFailed);
    for s in statuses.iter_mut().flatten() {
        s.seen = plan.generation;
    }
    plan = coordinate(&plan, &statuses).unwrap();
    assert_eq!(
        outcome_of(&plan, &statuses),
        Some(RolloutOutcome::RollbackFailed)
    );
    let events = Narrator::default().tell(&plan, &statuses);
    let Some(RolloutEvent::Finished { description, .. }) = events.last() else {
        panic!()
    };
    assert!(
        description.starts_with("rollback incomplete on c1: "),
        "{description}"
    );
}

#[test]
fn a_coordinator_taking_over_mid_rollout_tells_the_earlier_batches_first() {
    let mut plan = plan10();
    let mut statuses = empty_statuses();
    for c in ["c1", "c2", "c3"] {
        set(&mut statuses, c, ClusterState::Healthy);
    }
    plan = coordinate(&plan, &statuses).unwrap();
    plan = coordinate(&plan, &statuses).unwrap();
    assert_eq!(plan.batch, 2);
    let events = Narrator::default().tell(&plan, &statuses);
    let kinds: Vec<String> = events.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "planned",
            "started 0",
            "applied c1",
            "healthy 0",
            "started 1",
            "applied c2",
            "applied c3",
            "healthy 1",
            "started 2"
        ]
    );
    let mut view = RolloutView::new(0);
    replay(&mut view, &events);
    assert_eq!(view.clusters["c3"].state, ViewState::Healthy);
    assert_eq!(view.clusters["c4"].state, ViewState::Applying);
}

#[test]
fn a_plan_found_finished_is_told_only_by_its_end() {
    let mut plan = plan10();
    let mut statuses = empty_statuses();
    for c in names(10) {
        set(&mut statuses, &c, ClusterState::Healthy);
    }
    while !plan.phase.is_finished() {
        plan = coordinate(&plan, &statuses).unwrap();
    }
    let mut n = Narrator::default();
    let kinds: Vec<String> = n.tell(&plan, &statuses).iter().map(kind).collect();
    assert_eq!(kinds, ["finished succeeded"]);
    assert!(n.tell(&plan, &statuses).is_empty());
    // After a lost lead, the next time it leads it tells the end again.
    n.reset();
    assert_eq!(n.tell(&plan, &statuses).len(), 1);
}

#[test]
fn a_commit_that_cannot_be_read_and_one_without_clusters_end_at_once() {
    let mut invalid = BatchPlan::new("v3", 2, vec![]);
    invalid.phase = PlanPhase::Failed;
    invalid.failure = Some("invalid: clusters/a.yaml: bad".into());
    let events = Narrator::default().tell(&invalid, &[None, None]);
    let [RolloutEvent::Finished {
        outcome,
        description,
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(*outcome, RolloutOutcome::Invalid);
    assert_eq!(description, "invalid: clusters/a.yaml: bad");
    let nothing = BatchPlan::new("v4", 2, vec![]);
    let events = Narrator::default().tell(&nothing, &[None, None]);
    assert!(matches!(
        events.as_slice(),
        [RolloutEvent::Finished {
            outcome: RolloutOutcome::NothingToDo,
            ..
        }]
    ));
}

#[test]
fn a_new_commit_starts_a_new_story() {
    let mut n = Narrator::default();
    let first = plan10();
    n.tell(&first, &empty_statuses());
    let mut second = plan10();
    second.commit = "v3".into();
    let kinds: Vec<String> = n.tell(&second, &[None, None]).iter().map(kind).collect();
    assert_eq!(kinds, ["planned", "started 0"]);
}

#[test]
fn nothing_is_told_while_the_shards_plan() {
    let mut n = Narrator::default();
    let planning = BatchPlan::planning("v2", 2);
    assert!(n.tell(&planning, &[None, None]).is_empty());
    let batched = planning.batched(plan10().batches);
    let kinds: Vec<String> = n.tell(&batched, &[None, None]).iter().map(kind).collect();
    assert_eq!(kinds, ["planned", "started 0"]);
    // No cluster has changes: no changes, deployed at once.
    let mut n = Narrator::default();
    n.tell(&planning, &[None, None]);
    let events = n.tell(&planning.batched(vec![]), &[None, None]);
    let kinds: Vec<String> = events.iter().map(kind).collect();
    assert_eq!(kinds, ["planned", "finished nothing_to_do"]);
}
