//! Analysis gates after a batch's health gate: the pure judging of what a
//! probe read ([`judge`]) and the count of bad results per check and
//! cluster against the check's failure limit ([`Tally`]). The I/O is in
//! [`probe`] (Prometheus and HTTP), [`job`] (smoke-test Jobs) and the loop
//! over the bake time in [`run`].

pub mod job;
pub mod probe;
pub mod run;

use crate::model::analysis::{Check, Value};
use crate::rollout::record::Failure;
use std::collections::BTreeMap;

/// What one evaluation of a check on one cluster read.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Measured values (a Prometheus vector's series, by their labels; a
    /// JSON field), judged by the check's condition.
    Values(Vec<(String, Value)>),
    /// Good by itself (an expected HTTP status, a completed Job).
    Good(String),
    /// Bad by itself (another HTTP status, a failed Job).
    Bad(String),
    /// Not finished yet (a Job still running).
    Pending(String),
    /// The probe could not be asked or gave nothing (network error, no
    /// data): a bad result.
    Error(String),
    /// Cannot work on this cluster at all (a label the template needs is
    /// missing, the token file is unreadable): fails the batch at once.
    Fatal(String),
}

/// How a result is marked in progress lines: `ok`, `BAD` or `running`.
pub fn mark(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "ok",
        Some(false) => "BAD",
        None => "running",
    }
}

/// A reading judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Good, with the value shown.
    Good(String),
    /// Bad, with the value shown.
    Bad(String),
    /// Not yet known.
    Pending(String),
    /// Fails at once.
    Fatal(String),
}

impl Verdict {
    /// The value as shown in progress lines.
    pub fn shown(&self) -> &str {
        match self {
            Verdict::Good(s) | Verdict::Bad(s) | Verdict::Pending(s) | Verdict::Fatal(s) => s,
        }
    }
}

/// Judges `reading` by `check`'s condition. Every series must meet it; the
/// first that does not is the one shown. No value at all is bad.
pub fn judge(check: &Check, reading: Reading) -> Verdict {
    match reading {
        Reading::Values(values) => {
            let show = |(labels, v): &(String, Value)| match labels.is_empty() {
                true => v.to_string(),
                false => format!("{v} for {labels}"),
            };
            let Some(first) = values.first() else {
                return Verdict::Bad("no data".into());
            };
            let Some(cond) = &check.condition else {
                return Verdict::Good(show(first));
            };
            match values.iter().find(|s| !cond.holds(&s.1)) {
                Some(bad) => Verdict::Bad(show(bad)),
                None => Verdict::Good(show(first)),
            }
        }
        Reading::Good(s) => Verdict::Good(s),
        Reading::Bad(s) | Reading::Error(s) => Verdict::Bad(s),
        Reading::Pending(s) => Verdict::Pending(s),
        Reading::Fatal(s) => Verdict::Fatal(s),
    }
}

/// Bad results so far, per check and cluster.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    bad: BTreeMap<(String, String), u32>,
}

impl Tally {
    /// Counts `verdict` of `check` on `cluster`; the batch's failure once
    /// the check's failure limit is reached (or at once for a fatal one).
    /// `what` says what was asked (`query …`, `GET …`, `Job ns/name`).
    pub fn record(
        &mut self,
        check: &Check,
        cluster: &str,
        what: &str,
        verdict: &Verdict,
    ) -> Option<Failure> {
        let failure = |reason: String| Failure {
            cluster: cluster.to_string(),
            object: Some(format!("analysis {}", check.name)),
            reason,
        };
        match verdict {
            Verdict::Good(_) | Verdict::Pending(_) => None,
            Verdict::Fatal(why) => Some(failure(format!("{what}: {why}"))),
            Verdict::Bad(shown) => {
                let n = self
                    .bad
                    .entry((check.name.clone(), cluster.to_string()))
                    .or_default();
                *n += 1;
                (*n >= check.failure_limit).then(|| {
                    let wanted = check
                        .condition
                        .as_ref()
                        .map(|c| format!(", wanted {c}"))
                        .unwrap_or_default();
                    failure(format!(
                        "{what} gave {shown}{wanted} ({n} bad result(s), failureLimit {})",
                        check.failure_limit
                    ))
                })
            }
        }
    }

    /// Bad results of `check` on `cluster` so far.
    pub fn bad(&self, check: &str, cluster: &str) -> u32 {
        self.bad
            .get(&(check.to_string(), cluster.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
