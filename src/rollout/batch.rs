//! Batch sizing and cluster ordering for staged rollouts: which clusters go
//! first and how many go in each batch. Pure functions over names and the
//! policy's steps (default ratio 1:2:7); no I/O, no clock.
//!
//! Sizing rule for a ratio (DESIGN.md "Apply and rollout"): over `n`
//! clusters and steps `s_1..s_k` with total `T`, batch `i` ends at the
//! cumulative target `ceil(n · (s_1 + … + s_i) / T)`, raised so that every
//! batch holds at least one cluster while clusters remain. The last target
//! is always `n`, so there are never more batches than steps and never an
//! empty batch. Cumulative targets (`[1, 10%, 100%]`) follow the same rule
//! with each entry's target given directly ([`target_sizes`]).

use crate::model::{Steps, Target};

/// Sizes of the batches for `n` clusters under `steps`.
pub fn sizes(n: usize, steps: &Steps) -> Vec<usize> {
    match steps {
        Steps::Ratio(r) => batch_sizes(n, r),
        Steps::Targets(t) => target_sizes(n, t),
    }
}

/// Sizes of the batches for `n` clusters under cumulative targets: batch
/// `i` ends at `max(target_i, end of batch i-1 + 1)`, capped at `n`; the
/// last batch always ends at `n` (validation makes the last target 100%).
///
/// ```
/// use tranche::model::Target::{Count, Percent};
/// use tranche::rollout::batch::target_sizes;
/// assert_eq!(target_sizes(50, &[Count(1), Percent(10), Percent(100)]), vec![1, 4, 45]);
/// ```
pub fn target_sizes(n: usize, targets: &[Target]) -> Vec<usize> {
    let mut sizes = Vec::with_capacity(targets.len());
    let mut done = 0;
    for (i, t) in targets.iter().enumerate() {
        if done == n {
            break;
        }
        let end = if i + 1 == targets.len() {
            n
        } else {
            t.of(n).max(done + 1).min(n)
        };
        sizes.push(end - done);
        done = end;
    }
    if done < n {
        sizes.push(n - done);
    }
    sizes
}

/// Sizes of the batches for `n` clusters under the step ratio `steps`.
///
/// Guarantees: the sizes sum to `n`, each is ≥ 1, there are at most
/// `steps.len()` of them, and the cumulative size after batch `i` is at
/// least `ceil(n · cum_i / total)` (the canary share is never undercut).
/// `n = 0` gives no batches. Steps that are all zero (or empty) cannot form a
/// ratio; they give one batch of everything rather than an error, since the
/// model already rejects such policies and a rollout must still make sense.
///
/// ```
/// use tranche::rollout::batch::batch_sizes;
/// assert_eq!(batch_sizes(4, &[1, 2, 7]), vec![1, 1, 2]);
/// assert_eq!(batch_sizes(20, &[1, 2, 7]), vec![2, 4, 14]);
/// ```
pub fn batch_sizes(n: usize, steps: &[u32]) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let total: u128 = steps.iter().map(|&s| u128::from(s)).sum();
    if total == 0 {
        return vec![n];
    }
    // u128 keeps n · cum exact for any usize n and any u32 steps.
    let n_wide = n as u128;
    let mut sizes = Vec::with_capacity(steps.len());
    let mut cumulative_steps: u128 = 0;
    let mut done: usize = 0;
    for &step in steps {
        if done == n {
            break;
        }
        cumulative_steps += u128::from(step);
        let share = (n_wide * cumulative_steps).div_ceil(total);
        // share ≤ n because cumulative_steps ≤ total, so it fits in usize.
        let target = usize::try_from(share).unwrap_or(n);
        let end = target.max(done + 1).min(n);
        sizes.push(end - done);
        done = end;
    }
    sizes
}

/// Where a cluster stands in the rollout order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rank {
    /// Index of the first canary cohort it matches (those matching none
    /// come after every cohort).
    pub cohort: usize,
    /// Its `spec.rolloutOrder`.
    pub order: Option<i64>,
}

impl Rank {
    /// Where `cluster` stands among `cohorts` (a cluster missing from the
    /// registry, or matching none, comes after every cohort).
    pub fn of(
        cluster: Option<&crate::model::Cluster>,
        cohorts: &[crate::model::LabelSelector],
    ) -> Rank {
        Rank {
            cohort: cluster
                .and_then(|c| cohorts.iter().position(|s| s.matches(&c.labels)))
                .unwrap_or(cohorts.len()),
            order: cluster.and_then(|c| c.rollout_order),
        }
    }
}

/// Rollout order of clusters: by canary cohort, then those with an
/// explicit `rolloutOrder` first, ascending, then those without; ties (and
/// the unordered rest) by name ascending. Returns the names only.
pub fn order_clusters(clusters: Vec<(String, Rank)>) -> Vec<String> {
    let mut clusters = clusters;
    clusters.sort_by(|(name_a, a), (name_b, b)| {
        a.cohort
            .cmp(&b.cohort)
            .then(a.order.is_none().cmp(&b.order.is_none()))
            .then(a.order.cmp(&b.order))
            .then_with(|| name_a.cmp(name_b))
    });
    clusters.into_iter().map(|(name, _)| name).collect()
}

/// Splits clusters, already in rollout order, into batches sized by
/// [`sizes`]. The concatenation of the batches is `ordered`.
pub fn plan_batches(ordered: &[String], steps: &Steps) -> Vec<Vec<String>> {
    let mut rest = ordered;
    sizes(ordered.len(), steps)
        .into_iter()
        .map(|size| {
            let (batch, tail) = rest.split_at(size.min(rest.len()));
            rest = tail;
            batch.to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEFAULT_STEPS: [u32; 3] = [1, 2, 7];

    #[test]
    fn design_table_for_default_ratio() {
        let table: &[(usize, &[usize])] = &[
            (0, &[]),
            (1, &[1]),
            (2, &[1, 1]),
            (3, &[1, 1, 1]),
            (4, &[1, 1, 2]),
            (10, &[1, 2, 7]),
            (20, &[2, 4, 14]),
            (1000, &[100, 200, 700]),
        ];
        for (n, want) in table {
            assert_eq!(batch_sizes(*n, &DEFAULT_STEPS), want.to_vec(), "n={n}");
        }
    }

    #[test]
    fn degenerate_ratios_give_one_batch() {
        assert_eq!(batch_sizes(5, &[]), vec![5]);
        assert_eq!(batch_sizes(5, &[0, 0]), vec![5]);
        assert_eq!(batch_sizes(0, &[]), Vec::<usize>::new());
    }

    #[test]
    fn single_step_is_all_at_once() {
        assert_eq!(batch_sizes(7, &[1]), vec![7]);
    }

    fn rank(cohort: usize, order: Option<i64>) -> Rank {
        Rank { cohort, order }
    }

    #[test]
    fn order_puts_explicit_order_first_then_names() {
        let clusters = vec![
            ("zeta".to_string(), rank(0, None)),
            ("beta".to_string(), rank(0, Some(2))),
            ("alpha".to_string(), rank(0, None)),
            ("gamma".to_string(), rank(0, Some(-1))),
            ("delta".to_string(), rank(0, Some(2))),
        ];
        assert_eq!(
            order_clusters(clusters),
            vec!["gamma", "beta", "delta", "alpha", "zeta"]
        );
    }

    #[test]
    fn canary_cohorts_come_before_the_order() {
        let clusters = vec![
            ("a".to_string(), rank(2, Some(1))),
            ("b".to_string(), rank(1, None)),
            ("c".to_string(), rank(0, Some(9))),
            ("d".to_string(), rank(1, Some(5))),
            ("e".to_string(), rank(0, None)),
        ];
        assert_eq!(order_clusters(clusters), vec!["c", "e", "d", "b", "a"]);
    }

    #[test]
    fn percent_and_count_steps_table() {
        use crate::model::Target::{Count, Percent};
        let steps = [Count(1), Percent(10), Percent(100)];
        let table: &[(usize, &[usize])] = &[
            (0, &[]),
            (1, &[1]),
            (2, &[1, 1]),
            (5, &[1, 1, 3]),
            (10, &[1, 1, 8]),
            (11, &[1, 1, 9]),
            (50, &[1, 4, 45]),
            (1000, &[1, 99, 900]),
        ];
        for (n, want) in table {
            assert_eq!(target_sizes(*n, &steps), want.to_vec(), "n={n}");
        }
        let counts = [Count(2), Count(5), Percent(50), Percent(100)];
        let table: &[(usize, &[usize])] = &[
            (3, &[2, 1]),
            (6, &[2, 3, 1]),
            (10, &[2, 3, 1, 4]),
            (20, &[2, 3, 5, 10]),
        ];
        for (n, want) in table {
            assert_eq!(target_sizes(*n, &counts), want.to_vec(), "n={n}");
        }
        assert_eq!(target_sizes(4, &[Percent(100)]), vec![4]);
        assert_eq!(
            sizes(10, &Steps::Ratio(vec![1, 2, 7])),
            batch_sizes(10, &DEFAULT_STEPS)
        );
    }

    #[test]
    fn plan_batches_follows_order() {
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            plan_batches(&names, &Steps::Ratio(DEFAULT_STEPS.to_vec())),
            vec![
                vec!["a".to_string()],
                vec!["b".to_string()],
                vec!["c".to_string(), "d".to_string()]
            ]
        );
        assert!(plan_batches(&[], &Steps::Ratio(DEFAULT_STEPS.to_vec())).is_empty());
    }

    fn cumulative(sizes: &[usize]) -> Vec<usize> {
        sizes
            .iter()
            .scan(0, |acc, s| {
                *acc += s;
                Some(*acc)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn sizes_keep_their_guarantees(n in 0usize..3000, steps in prop::collection::vec(1u32..20, 1..6)) {
            let sizes = batch_sizes(n, &steps);
            prop_assert_eq!(sizes.iter().sum::<usize>(), n);
            prop_assert!(sizes.iter().all(|&s| s >= 1));
            prop_assert!(sizes.len() <= steps.len());
            let total: u64 = steps.iter().map(|&s| u64::from(s)).sum();
            let mut cum_steps = 0u64;
            for (i, done) in cumulative(&sizes).into_iter().enumerate() {
                cum_steps += u64::from(steps[i]);
                let share = (n as u64 * cum_steps).div_ceil(total);
                prop_assert!(done as u64 >= share, "batch {} ends at {} < share {}", i, done, share);
            }
        }

        #[test]
        fn cumulative_targets_are_monotone_in_n(n in 0usize..3000, steps in prop::collection::vec(0u32..20, 1..6)) {
            // A batch that does not exist has already covered every cluster.
            let at = |sizes: &[usize], count: usize, i: usize| {
                cumulative(sizes).get(i).copied().unwrap_or(count)
            };
            let small = batch_sizes(n, &steps);
            let large = batch_sizes(n + 1, &steps);
            for i in 0..steps.len() {
                prop_assert!(at(&large, n + 1, i) >= at(&small, n, i), "batch {}", i);
            }
        }

        #[test]
        fn plan_batches_partitions_in_order(n in 0usize..200, steps in prop::collection::vec(1u32..10, 1..5)) {
            let names: Vec<String> = (0..n).map(|i| format!("c{i:03}")).collect();
            let batches = plan_batches(&names, &Steps::Ratio(steps));
            prop_assert_eq!(batches.concat(), names);
            prop_assert!(batches.iter().all(|b| !b.is_empty()));
        }
    }
}
