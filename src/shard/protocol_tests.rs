use super::*;
use crate::shard::shard_of;

/// Cluster names `c1` … `cn`.
pub(crate) fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("c{i}")).collect()
}

/// A plan of `v2` over 10 clusters in 1:2:7 batches.
pub(crate) fn plan10() -> BatchPlan {
    let c = names(10);
    BatchPlan::new(
        "v2",
        2,
        vec![c[..1].to_vec(), c[1..3].to_vec(), c[3..].to_vec()],
    )
}

fn entry(state: ClusterState, changed: bool) -> ClusterEntry {
    ClusterEntry {
        state,
        before: Before::Commit("v1".into()),
        changed,
        reason: (state == ClusterState::Failed).then(|| "deploy/web not healthy".into()),
    }
}

/// Statuses where each cluster of `clusters` has `state`, seen `seen`.
fn statuses(clusters: &[String], state: ClusterState, seen: u64) -> Vec<Option<ShardStatus>> {
    let mut out = vec![
        Some(ShardStatus {
            commit: "v2".into(),
            seen,
            ..ShardStatus::default()
        });
        2
    ];
    for c in clusters {
        if let Some(s) = out[shard_of(c, 2)].as_mut() {
            s.clusters.insert(c.clone(), entry(state, true));
        }
    }
    out
}

fn tasks_of_all(plan: &BatchPlan, statuses: &[Option<ShardStatus>]) -> Vec<Task> {
    (0..2)
        .flat_map(|i| {
            shard_tasks(
                plan,
                i,
                statuses[i].as_ref().unwrap_or(&ShardStatus::default()),
            )
        })
        .collect()
}

#[test]
fn each_batch_goes_out_only_after_the_previous_is_healthy() {
    let mut plan = plan10();
    let none = vec![None, None];
    let first: Vec<Task> = tasks_of_all(&plan, &none);
    assert_eq!(
        first,
        vec![Task::Apply {
            cluster: "c1".into(),
            before: None
        }]
    );
    assert_eq!(coordinate(&plan, &none), None, "nothing reported yet");
    let mut done = vec![];
    for (i, size) in [1usize, 2, 7].into_iter().enumerate() {
        assert_eq!(plan.batch, i);
        assert_eq!(
            tasks_of_all(&plan, &statuses(&done, ClusterState::Healthy, 0)).len(),
            size
        );
        let half: Vec<String> = done
            .iter()
            .chain(plan.batches[i].iter().take(size - 1))
            .cloned()
            .collect();
        if size > 1 {
            assert_eq!(
                coordinate(&plan, &statuses(&half, ClusterState::Healthy, 0)),
                None
            );
        }
        done.extend(plan.batches[i].iter().cloned());
        plan = coordinate(&plan, &statuses(&done, ClusterState::Healthy, 0)).expect("advance");
    }
    assert_eq!(plan.phase, PlanPhase::Deployed);
    assert_eq!(plan.generation, 4);
    assert!(tasks_of_all(&plan, &statuses(&done, ClusterState::Healthy, 0)).is_empty());
}

#[test]
fn a_takeover_applies_again_what_the_dead_holder_left_applying() {
    let mut plan = plan10();
    plan.batch = 2;
    let mut s = statuses(&names(3), ClusterState::Healthy, 3);
    let c4 = "c4".to_string();
    let shard = shard_of(&c4, 2);
    if let Some(st) = s[shard].as_mut() {
        st.clusters
            .insert(c4.clone(), entry(ClusterState::Applying, false));
    }
    let tasks = shard_tasks(&plan, shard, s[shard].as_ref().unwrap());
    assert!(tasks.contains(&Task::Apply {
        cluster: c4,
        before: Some(Before::Commit("v1".into()))
    }));
}

#[test]
fn a_failure_orders_a_rollback_of_what_was_written() {
    let mut plan = plan10();
    plan.batch = 1;
    let mut s = statuses(&names(1), ClusterState::Healthy, 2);
    let (c2, c3) = ("c2".to_string(), "c3".to_string());
    s[shard_of(&c2, 2)]
        .as_mut()
        .unwrap()
        .clusters
        .insert(c2.clone(), entry(ClusterState::Failed, true));
    // c3 had nothing to change: nothing to restore.
    s[shard_of(&c3, 2)]
        .as_mut()
        .unwrap()
        .clusters
        .insert(c3.clone(), entry(ClusterState::Healthy, false));
    let back = coordinate(&plan, &s).expect("rollback ordered");
    assert_eq!(back.phase, PlanPhase::RollingBack);
    assert_eq!(back.failure.as_deref(), Some("c2: deploy/web not healthy"));
    let mut restores: Vec<String> = tasks_of_all(&back, &s)
        .into_iter()
        .map(|t| match t {
            Task::Restore { cluster, .. } => cluster,
            other => panic!("{other:?}"),
        })
        .collect();
    restores.sort();
    assert_eq!(restores, vec!["c1".to_string(), c2]);
    assert_eq!(coordinate(&back, &s), None, "not restored yet");
}

#[test]
fn the_rollback_ends_only_when_every_shard_has_seen_it() {
    let mut plan = plan10();
    plan.phase = PlanPhase::RollingBack;
    plan.rollback_at = Some(5);
    plan.generation = 5;
    let restored = statuses(&names(3), ClusterState::RolledBack, 4);
    assert_eq!(
        coordinate(&plan, &restored),
        None,
        "a shard may still be applying"
    );
    let mut seen = statuses(&names(3), ClusterState::RolledBack, 5);
    assert_eq!(
        coordinate(&plan, &seen).map(|p| p.phase),
        Some(PlanPhase::Failed)
    );
    seen[1] = None;
    assert_eq!(coordinate(&plan, &seen), None, "a shard without a holder");
}

#[test]
fn statuses_of_another_commit_count_for_nothing() {
    let plan = plan10();
    let mut s = statuses(&names(10), ClusterState::Healthy, 9);
    for st in s.iter_mut().flatten() {
        st.commit = "v1".into();
    }
    assert_eq!(coordinate(&plan, &s), None);
    assert_eq!(tasks_of_all(&plan, &s).len(), 1);
}

#[test]
fn an_empty_rollout_is_deployed_at_once() {
    let plan = BatchPlan::new("v2", 3, vec![]);
    assert_eq!(plan.phase, PlanPhase::Deployed);
    assert_eq!(coordinate(&plan, &[]), None);
}

#[test]
fn shards_plan_once_per_commit_and_only_in_planning() {
    let plan = BatchPlan::planning("v2", 2);
    let fresh = ShardStatus::default();
    assert!(must_plan(&plan, &fresh));
    let planned = ShardStatus {
        commit: "v2".into(),
        changed: Some(BTreeSet::new()),
        ..ShardStatus::default()
    };
    assert!(!must_plan(&plan, &planned));
    // Planned for an older commit: plan again.
    let mut newer = plan.clone();
    newer.commit = "v3".into();
    assert!(must_plan(&newer, &planned));
    assert!(!must_plan(&plan10(), &fresh));
    assert!(shard_tasks(&plan, 0, &fresh).is_empty());
    assert_eq!(coordinate(&plan, &[None, None]), None);
}

#[test]
fn only_the_clusters_with_changes_are_batched_once_every_shard_planned() {
    let plan = BatchPlan::planning("v2", 2);
    let all = names(10);
    let reported = |changed: &[&String]| ShardStatus {
        commit: "v2".into(),
        seen: plan.generation,
        changed: Some(changed.iter().map(|c| c.to_string()).collect()),
        ..ShardStatus::default()
    };
    let of = |shard: usize| -> Vec<&String> {
        all.iter()
            .filter(|c| shard_of(c, 2) == shard)
            .take(2)
            .collect()
    };
    let first = Some(reported(&of(0)));
    assert_eq!(changed_clusters(&plan, &[first.clone(), None]), None);
    let stale = Some(ShardStatus {
        commit: "v1".into(),
        ..reported(&of(1))
    });
    assert_eq!(changed_clusters(&plan, &[first.clone(), stale]), None);
    // A shard naming a cluster it does not own counts for nothing.
    let mut second = of(1);
    second.push(of(0)[0]);
    let changed = changed_clusters(&plan, &[first, Some(reported(&second))]).unwrap();
    let want: BTreeSet<String> = of(0).into_iter().chain(of(1)).cloned().collect();
    assert_eq!(changed, want);
    let next = plan.batched(vec![vec!["c1".into()], vec!["c2".into()]]);
    assert_eq!(
        (next.phase, next.batch, next.generation),
        (PlanPhase::Rolling, 0, plan.generation + 1)
    );
    let none = plan.batched(vec![]);
    assert_eq!(none.phase, PlanPhase::Deployed);
}
