//! Replica split by weight: Webster / Sainte-Laguë, as Karmada ≥ 1.16 does.
//!
//! Replicas are handed out one at a time to the cluster with the highest
//! `w / (2·s + 1)` (`s`: replicas it has so far); ties go to the cluster
//! with fewer replicas so far, then to the cluster name that sorts first.
//! Priorities are compared exactly, `w_a·(2s_b+1)` against `w_b·(2s_a+1)` in
//! `u128`, never with floats.
//!
//! Every (cluster, seat) pair has a fixed priority, and each cluster's
//! priorities fall as it gets seats, so N replicas go to the N highest pairs
//! of one total order: the result for N is a prefix of the result for N+1
//! (no cluster ever loses a replica when the total grows). That is also what
//! makes the fast start exact: every pair whose priority beats a threshold
//! `t` is among the N highest as long as there are at most N of them, so
//! [`webster`] counts those in closed form and hands out the rest (at most
//! one per cluster) one at a time.

use crate::model::{Cluster, WeightRule};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

/// Largest total [`webster`] hands out; larger totals are capped. Kubernetes
/// replica counts are int32, far below; the cap keeps every product exact
/// in `u128` (weight < 2^64 times `2·s + 1` < 2^63).
pub const MAX_TOTAL: u64 = 1 << 62;

/// Splits `total` replicas over the clusters of `weights` (every cluster is
/// in the result, possibly with 0). Clusters with weight 0 get nothing while
/// any cluster has a positive weight; when all weights are 0 every cluster
/// counts as weight 1. No clusters: empty result.
pub fn webster(total: u64, weights: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let total = total.min(MAX_TOTAL);
    let all_zero = weights.values().all(|w| *w == 0);
    let parties: Vec<(&str, u64)> = weights
        .iter()
        .map(|(name, w)| (name.as_str(), if all_zero { 1 } else { *w }))
        .collect();
    let mut seats = closed_form_start(total, &parties);
    let mut left = total.saturating_sub(seats.iter().sum::<u64>());
    let mut heap: BinaryHeap<Next> = parties
        .iter()
        .enumerate()
        .map(|(index, (_, weight))| Next {
            weight: *weight,
            seats: seats[index],
            index,
        })
        .collect();
    while left > 0 {
        let Some(mut best) = heap.pop() else { break };
        best.seats += 1;
        seats[best.index] = best.seats;
        heap.push(best);
        left -= 1;
    }
    parties
        .iter()
        .zip(seats)
        .map(|((name, _), s)| (name.to_string(), s))
        .collect()
}

/// Seats every cluster is sure to hold after `total` rounds: the number of
/// its seats whose priority `w / (2j+1)` is strictly above `t = W / (2N − n)`
/// (`W`: sum of weights, `n`: clusters). Each cluster has at most
/// `(w/t + 1)/2` such seats, so together at most N (all are among the N
/// highest) and at least `N − n`: the heap finishes in ≤ n steps.
fn closed_form_start(total: u64, parties: &[(&str, u64)]) -> Vec<u64> {
    let n = parties.len() as u128;
    let sum: u128 = parties.iter().map(|(_, w)| *w as u128).sum();
    let q = 2 * total as u128;
    if q <= n || sum == 0 {
        return vec![0; parties.len()];
    }
    let q = q - n;
    parties
        .iter()
        .map(|(_, w)| {
            // Odd m with m·W < w·q: m ≤ (w·q − 1) / W.
            let a = *w as u128 * q;
            if a == 0 {
                return 0;
            }
            let m_max = (a - 1) / sum;
            m_max.div_ceil(2) as u64
        })
        .collect()
}

/// A cluster's next seat in the heap: the greatest is the next to hand out.
#[derive(Debug, PartialEq, Eq)]
struct Next {
    weight: u64,
    seats: u64,
    /// Position in name order: lower wins ties.
    index: usize,
}

impl Ord for Next {
    fn cmp(&self, other: &Self) -> Ordering {
        // self.w / (2·self.s + 1)  vs  other.w / (2·other.s + 1)
        let lhs = self.weight as u128 * (2 * other.seats as u128 + 1);
        let rhs = other.weight as u128 * (2 * self.seats as u128 + 1);
        lhs.cmp(&rhs)
            .then_with(|| other.seats.cmp(&self.seats))
            .then_with(|| other.index.cmp(&self.index))
    }
}

impl PartialOrd for Next {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Weights of an app's clusters from its `staticWeightList`: a cluster
/// matched by several rules takes the largest weight, a cluster matched by
/// none gets 0 (no replicas), and when every cluster has 0 each gets 1.
/// Names not in `registry` are left out.
pub fn app_weights(
    placed: &BTreeSet<String>,
    rules: &[WeightRule],
    registry: &BTreeMap<String, Cluster>,
) -> BTreeMap<String, u64> {
    let mut weights: BTreeMap<String, u64> = placed
        .iter()
        .filter_map(|name| registry.get(name))
        .map(|cluster| {
            let weight = rules
                .iter()
                .filter(|r| r.target.matches(cluster))
                .map(|r| r.weight)
                .max()
                .unwrap_or(0);
            (cluster.name.clone(), weight)
        })
        .collect();
    if weights.values().all(|w| *w == 0) {
        weights.values_mut().for_each(|w| *w = 1);
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClusterTarget;
    use crate::render::testkit::{cluster, eu, names, set, weights as w};

    /// The definition, one replica at a time, for comparison.
    fn naive(total: u64, weights: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut s: BTreeMap<String, u64> = weights.keys().map(|k| (k.clone(), 0)).collect();
        let all_zero = weights.values().all(|w| *w == 0);
        let weight = |k: &str| if all_zero { 1 } else { weights[k] };
        for _ in 0..total {
            let mut best: Option<&str> = None;
            for k in weights.keys() {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let lhs = weight(k) as u128 * (2 * s[b] as u128 + 1);
                        let rhs = weight(b) as u128 * (2 * s[k] as u128 + 1);
                        lhs > rhs || (lhs == rhs && s[k] < s[b])
                    }
                };
                if better {
                    best = Some(k);
                }
            }
            if let Some(b) = best {
                *s.get_mut(b).unwrap() += 1;
            }
        }
        s
    }

    #[test]
    fn ties_go_to_fewer_replicas_then_name_ascending() {
        assert_eq!(
            webster(1, &w(&[("b", 1), ("a", 1)])),
            w(&[("a", 1), ("b", 0)])
        );
        assert_eq!(
            webster(3, &w(&[("a", 1), ("b", 1)])),
            w(&[("a", 2), ("b", 1)])
        );
        // 3/(2·1+1) = 1 ties 1/1 for b, which has fewer replicas: b first.
        assert_eq!(
            webster(2, &w(&[("a", 3), ("b", 1)])),
            w(&[("a", 1), ("b", 1)])
        );
    }

    #[test]
    fn zero_weights_get_nothing_unless_all_are_zero() {
        assert_eq!(
            webster(5, &w(&[("a", 0), ("b", 2)])),
            w(&[("a", 0), ("b", 5)])
        );
        assert_eq!(
            webster(5, &w(&[("a", 0), ("b", 0)])),
            w(&[("a", 3), ("b", 2)])
        );
        assert_eq!(webster(5, &w(&[])), w(&[]));
        assert_eq!(webster(0, &w(&[("a", 1)])), w(&[("a", 0)]));
    }

    #[test]
    fn closed_form_start_matches_one_at_a_time() {
        let cases = [
            w(&[("a", 170), ("b", 110), ("c", 60)]),
            w(&[("a", 1), ("b", 1), ("c", 1), ("d", 1)]),
            w(&[("a", 7), ("b", 0), ("c", 3), ("d", 1), ("e", 1000)]),
            w(&[("a", u64::MAX), ("b", u64::MAX - 1), ("c", 1)]),
        ];
        for weights in &cases {
            for total in 0..300 {
                assert_eq!(
                    webster(total, weights),
                    naive(total, weights),
                    "{weights:?} × {total}"
                );
            }
        }
    }

    #[test]
    fn large_totals_are_fast_and_exact() {
        let weights = w(&[("a", 3), ("b", 2), ("c", 1)]);
        let split = webster(6_000_000_001, &weights);
        // After the exact quotas, 3/(6e9+1) beats 2/(4e9+1) and 1/(2e9+1).
        assert_eq!(
            split,
            w(&[
                ("a", 3_000_000_001),
                ("b", 2_000_000_000),
                ("c", 1_000_000_000)
            ])
        );
        let capped = webster(u64::MAX, &weights);
        assert_eq!(capped.values().sum::<u64>(), MAX_TOTAL);
    }

    #[test]
    fn app_weights_take_the_largest_rule_and_default_to_zero() {
        let registry: BTreeMap<String, Cluster> = [
            cluster("eu-1", &[("region", "eu")]),
            cluster("eu-2", &[("region", "eu")]),
            cluster("us-1", &[("region", "us")]),
        ]
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect();
        let rule = |names_: &[&str], selector, weight| WeightRule {
            target: ClusterTarget {
                cluster_names: names(names_),
                label_selector: selector,
                exclude: vec![],
            },
            weight,
        };
        let rules = [
            rule(&[], eu(), 2),
            rule(&["eu-1"], None, 5),
            rule(&["eu-1"], None, 1),
        ];
        let placed = set(&["eu-1", "eu-2", "us-1"]);
        assert_eq!(
            app_weights(&placed, &rules, &registry),
            w(&[("eu-1", 5), ("eu-2", 2), ("us-1", 0)])
        );
        let only_us = [rule(&["nowhere"], None, 3)];
        assert_eq!(
            app_weights(&placed, &only_us, &registry),
            w(&[("eu-1", 1), ("eu-2", 1), ("us-1", 1)])
        );
    }
}
