//! `spec.migration` of a placement: clusters known and disjoint, steps
//! strictly increasing percentages ending at 100, the step in range. That
//! `from` and `to` are placed is checked where placement is computed
//! ([`crate::render::placement`]).

use super::{Known, Loc, Problems};
use crate::model::{raw, Migration, ReplicaScheduling};

const FIELD: &str = "spec.migration";

/// Checks and converts `spec.migration`; `None` (with problems pushed)
/// when it cannot be used.
pub fn migration(
    loc: Loc<'_>,
    raw: raw::Migration,
    replicas: &ReplicaScheduling,
    known: &Known,
    p: &mut Problems,
) -> Option<Migration> {
    let before = p.len();
    if *replicas == ReplicaScheduling::Duplicated {
        p.push(
            loc,
            FIELD,
            "a migration splits replicas: it needs replicaSchedulingType: Divided",
        );
    }
    for (side, names) in [("from", &raw.from), ("to", &raw.to)] {
        if names.is_empty() {
            p.push(
                loc,
                &format!("{FIELD}.{side}"),
                "missing: name at least one cluster",
            );
        }
        known.check_clusters(loc, &format!("{FIELD}.{side}"), names, p);
    }
    for (i, name) in raw.to.iter().enumerate() {
        if raw.from.contains(name) {
            p.push(
                loc,
                &format!("{FIELD}.to[{i}]"),
                format!("cluster {name:?} is also in from: a cluster cannot migrate to itself"),
            );
        }
    }
    let steps: Vec<u64> = raw
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| percent(loc, i, s, p))
        .collect();
    if raw.steps.is_empty() {
        p.push(
            loc,
            &format!("{FIELD}.steps"),
            "missing: list the percentages on `to`, e.g. [10%, 50%, 100%]",
        );
    }
    for (i, pair) in steps.windows(2).enumerate() {
        if pair[1] <= pair[0] {
            p.push(
                loc,
                &format!("{FIELD}.steps[{}]", i + 1),
                format!(
                    "{} % does not increase on {} %: steps must be strictly increasing",
                    pair[1], pair[0]
                ),
            );
        }
    }
    if steps.len() == raw.steps.len() && steps.last().is_some_and(|l| *l != 100) {
        p.push(
            loc,
            &format!("{FIELD}.steps[{}]", steps.len() - 1),
            "the last step must be 100 % (the migration ends with every replica on `to`)",
        );
    }
    let step = match raw.step {
        None => {
            p.push(
                loc,
                &format!("{FIELD}.step"),
                "missing: the current step (1 for the first, 0 before it)",
            );
            0
        }
        Some(s) => match usize::try_from(s) {
            Ok(s) if s <= raw.steps.len() => s,
            _ => {
                p.push(
                    loc,
                    &format!("{FIELD}.step"),
                    format!(
                        "step {s} is out of range: 0 (not started) to {} (the last step)",
                        raw.steps.len()
                    ),
                );
                0
            }
        },
    };
    (p.len() == before).then_some(Migration {
        from: raw.from,
        to: raw.to,
        steps,
        step,
    })
}

fn percent(loc: Loc<'_>, i: usize, raw: &raw::Percent, p: &mut Problems) -> Option<u64> {
    let value = match raw {
        raw::Percent::Number(n) => u64::try_from(*n).ok(),
        raw::Percent::Text(t) => t.trim().trim_end_matches('%').trim().parse::<u64>().ok(),
    };
    match value.filter(|v| (1..=100).contains(v)) {
        Some(v) => Some(v),
        None => {
            let shown = match raw {
                raw::Percent::Number(n) => n.to_string(),
                raw::Percent::Text(t) => format!("{t:?}"),
            };
            p.push(
                loc,
                &format!("{FIELD}.steps[{i}]"),
                format!("{shown} is not a percentage from 1% to 100%"),
            );
            None
        }
    }
}
