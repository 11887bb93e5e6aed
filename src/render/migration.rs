//! Weighted migration (`spec.migration`): the replicas of the `from`
//! clusters move to the `to` clusters in steps, one commit per step.
//!
//! The split keeps the total and is monotone between steps:
//!
//! 1. the total is split by Webster over the other placed clusters and one
//!    *migrating group* weighing the sum of the `from` weights (the same at
//!    every step, so the other clusters never change);
//! 2. the group's share is split by Webster between `from` and `to` with
//!    weights `100 − p` and `p` (`p`: the step's percent on `to`) — a larger
//!    `p` never gives `to` less;
//! 3. each side's share is split among its clusters by their weights
//!    ([`webster`], whose result for N is a prefix of that for N+1: a side
//!    whose share grows never takes from one of its clusters).
//!
//! Before the first step (`step: 0`) the `to` clusters are not placed; at
//! the last (100 %) the `from` clusters are not placed, so they get none
//! of the app's objects and prune removes them.

use crate::model::Migration;
use crate::render::split::webster;
use std::collections::{BTreeMap, BTreeSet};

/// How an app's replica counts and HPA bounds are split over its clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Weights of the clusters the placement selects (before a migration
    /// removes any).
    pub weights: BTreeMap<String, u64>,
    /// The migration in progress, if any.
    pub migration: Option<Migration>,
}

/// Key of the migrating group in the first split: no cluster name is
/// empty (names are DNS labels).
const GROUP: &str = "";

impl Split {
    /// A plain Webster split by `weights`.
    pub fn plain(weights: BTreeMap<String, u64>) -> Self {
        Split {
            weights,
            migration: None,
        }
    }

    /// `total` split over the clusters of `weights` (every one is in the
    /// result, possibly with 0).
    pub fn of(&self, total: u64) -> BTreeMap<String, u64> {
        let Some(m) = &self.migration else {
            return webster(total, &self.weights);
        };
        let side = |names: &[String]| -> BTreeMap<String, u64> {
            names
                .iter()
                .filter_map(|n| self.weights.get(n).map(|w| (n.clone(), *w)))
                .collect()
        };
        let (from, to) = (side(&m.from), side(&m.to));
        let mut first: BTreeMap<String, u64> = self
            .weights
            .iter()
            .filter(|(n, _)| !from.contains_key(*n) && !to.contains_key(*n))
            .map(|(n, w)| (n.clone(), *w))
            .collect();
        first.insert(GROUP.to_string(), from.values().sum());
        let mut out = webster(total, &first);
        let group = out.remove(GROUP).unwrap_or(0);
        let p = m.percent().min(100);
        let sides = webster(
            group,
            &[("from".to_string(), 100 - p), ("to".to_string(), p)].into(),
        );
        out.extend(webster(sides["from"], &from));
        out.extend(webster(sides["to"], &to));
        out
    }
}

/// Removes from `placed` the side of `m` that runs nothing at its step;
/// `Err((field, message))` when `from` or `to` names a cluster the
/// placement does not select.
pub fn trim(placed: &mut BTreeSet<String>, m: &Migration) -> Result<(), (String, String)> {
    for (side, names) in [("from", &m.from), ("to", &m.to)] {
        if let Some((i, name)) = names.iter().enumerate().find(|(_, n)| !placed.contains(*n)) {
            return Err((
                format!("spec.migration.{side}[{i}]"),
                format!(
                    "cluster {name:?} is not placed: spec.clusterAffinity must select every \
                     cluster of a migration"
                ),
            ));
        }
    }
    if m.step == 0 {
        m.to.iter().for_each(|c| {
            placed.remove(c);
        });
    }
    if m.done() {
        m.from.iter().for_each(|c| {
            placed.remove(c);
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
