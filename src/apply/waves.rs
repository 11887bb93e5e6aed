//! Waves: the apply order of one cluster cut into groups that may go to
//! the apiserver at once. Objects of one apply rank (the kind table's
//! order: Namespaces, then CRDs, then what pods need, …) have no ordering
//! among themselves, so each rank is one wave, sent concurrently; a wave
//! starts only when the one before it has been answered in full. Prunes
//! run in the reverse order, a wave per rank likewise. Pure: the driver's
//! in-flight bound caps how much of a wave is on the wire.

use crate::kinds::KindTable;
use crate::plan::{Action, Change};

/// Creates and updates (every change but prunes) in waves of one rank
/// each, lowest rank first. Within a wave, changes keep plan order.
pub fn write_waves<'p>(changes: &'p [Change], kinds: &KindTable) -> Vec<Vec<&'p Change>> {
    let mut writes: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action != Action::Prune)
        .collect();
    // Stable: plan order within a rank.
    writes.sort_by_key(|c| rank(c, kinds));
    group_by_rank(writes, kinds)
}

/// Prunes in waves of one rank each, highest rank first (what points at
/// workloads, then workloads, …, Namespaces last).
pub fn prune_waves<'p>(changes: &'p [Change], kinds: &KindTable) -> Vec<Vec<&'p Change>> {
    let mut prunes: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action == Action::Prune)
        .collect();
    prunes.sort_by_key(|c| std::cmp::Reverse(rank(c, kinds)));
    group_by_rank(prunes, kinds)
}

fn rank(c: &Change, kinds: &KindTable) -> usize {
    kinds.apply_rank(crate::kinds::group_of(&c.api_version), &c.kind)
}

/// Cuts an already ordered list where the rank changes.
fn group_by_rank<'p>(ordered: Vec<&'p Change>, kinds: &KindTable) -> Vec<Vec<&'p Change>> {
    let mut waves: Vec<Vec<&Change>> = Vec::new();
    let mut last = None;
    for c in ordered {
        let r = rank(c, kinds);
        match waves.last_mut() {
            Some(wave) if last == Some(r) => wave.push(c),
            _ => waves.push(vec![c]),
        }
        last = Some(r);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(api_version: &str, kind: &str, name: &str, action: Action) -> Change {
        Change {
            action,
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: (kind != "Namespace").then(|| "ns".to_string()),
            name: name.into(),
            app: "app".into(),
            patch: None,
            reason: None,
            live: None,
            desired: None,
            object: None,
        }
    }

    fn names(waves: &[Vec<&Change>]) -> Vec<Vec<String>> {
        waves
            .iter()
            .map(|w| w.iter().map(|c| format!("{}/{}", c.kind, c.name)).collect())
            .collect()
    }

    #[test]
    fn apps_interleaved_in_the_plan_are_written_rank_by_rank() {
        // Two apps, each in its own apply order, one after the other.
        let plan = vec![
            change("v1", "Namespace", "a", Action::Create),
            change("v1", "ConfigMap", "a", Action::Create),
            change("apps/v1", "Deployment", "a", Action::Update),
            change("v1", "Namespace", "b", Action::Unchanged),
            change("v1", "ConfigMap", "b", Action::Create),
            change("apps/v1", "Deployment", "b", Action::Create),
            change("example.com/v1", "Widget", "w", Action::Create),
            change("v1", "Secret", "gone", Action::Prune),
        ];
        let kinds = KindTable::builtin();
        assert_eq!(
            names(&write_waves(&plan, kinds)),
            vec![
                vec!["Namespace/a", "Namespace/b"],
                vec!["ConfigMap/a", "ConfigMap/b"],
                vec!["Deployment/a", "Deployment/b"],
                vec!["Widget/w"],
            ]
        );
    }

    #[test]
    fn crds_get_a_wave_of_their_own_before_custom_resources() {
        let plan = vec![
            change("example.com/v1", "Widget", "w", Action::Create),
            change(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "widgets.example.com",
                Action::Create,
            ),
            change("v1", "Namespace", "n", Action::Create),
        ];
        let kinds = KindTable::builtin();
        let waves = names(&write_waves(&plan, kinds));
        assert_eq!(
            waves,
            vec![
                vec!["Namespace/n"],
                vec!["CustomResourceDefinition/widgets.example.com"],
                vec!["Widget/w"],
            ]
        );
    }

    #[test]
    fn prunes_go_in_reverse_rank_waves() {
        let plan = vec![
            change("v1", "Namespace", "a", Action::Prune),
            change("apps/v1", "Deployment", "a", Action::Prune),
            change("v1", "ConfigMap", "a", Action::Prune),
            change("apps/v1", "Deployment", "b", Action::Prune),
            change("v1", "ConfigMap", "kept", Action::Unchanged),
        ];
        let kinds = KindTable::builtin();
        assert_eq!(
            names(&prune_waves(&plan, kinds)),
            vec![
                vec!["Deployment/a", "Deployment/b"],
                vec!["ConfigMap/a"],
                vec!["Namespace/a"],
            ]
        );
    }
}
