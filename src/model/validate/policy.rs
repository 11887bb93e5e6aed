//! Policy documents as checked patches: each holds only the fields its
//! file sets, so a repository's policy can be laid over the built-in one
//! field by field ([`RolloutPatch::apply_to`] …). The built-in files must
//! set every field ([`RolloutPatch::complete`] …). AccessPolicy patches
//! live in [`super::access`].

use super::{Loc, Problems};
use crate::model::raw;
use crate::model::{
    names, Allowance, DiffPolicy, DriftMode, IgnoreRule, LabelSelector, OnFailure, RolloutPolicy,
    Steps, TimeWindow,
};
use std::time::Duration;

/// The checked fields of one `RolloutPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutPatch {
    steps: Option<Steps>,
    cohorts: Option<Vec<LabelSelector>>,
    max_failures: Option<Allowance>,
    min_success_time: Option<Duration>,
    pause_between_batches: Option<Duration>,
    windows: Option<Vec<TimeWindow>>,
    approval_before: Option<std::collections::BTreeSet<usize>>,
    health_timeout: Option<Duration>,
    bake_time: Option<Duration>,
    on_failure: Option<OnFailure>,
    max_parallel: Option<usize>,
    force_conflicts: Option<bool>,
    analysis: Option<crate::model::analysis::Analysis>,
}

impl RolloutPatch {
    /// Checks a raw spec read from `loc`.
    pub fn check(loc: Loc<'_>, raw: raw::RolloutSpec, p: &mut Problems) -> RolloutPatch {
        let steps = raw.steps.map(|steps| super::staging::steps(loc, steps, p));
        let cohorts = raw.canary.map(|c| super::staging::cohorts(loc, c, p));
        let max_failures = raw
            .max_failures
            .map(|m| super::staging::max_failures(loc, &m, p));
        let min_success_time = raw
            .min_success_time
            .and_then(|s| duration(loc, "spec.minSuccessTime", &s, p));
        let pause_between_batches = raw
            .pause_between_batches
            .and_then(|s| duration(loc, "spec.pauseBetweenBatches", &s, p));
        let windows = raw.windows.map(|w| super::staging::windows(loc, w, p));
        let approval_before = raw.approval.map(|a| super::staging::approval(loc, a, p));
        let health_timeout = raw.health_timeout.and_then(|s| {
            let d = duration(loc, "spec.healthTimeout", &s, p)?;
            if d.is_zero() {
                p.push(loc, "spec.healthTimeout", "must be longer than 0s");
            }
            Some(d)
        });
        let bake_time = raw
            .bake_time
            .and_then(|s| duration(loc, "spec.bakeTime", &s, p));
        let max_parallel = raw.max_parallel.map(|n| match usize::try_from(n) {
            Ok(n) if n >= 1 => n,
            _ => {
                p.push(
                    loc,
                    "spec.maxParallel",
                    format!("maxParallel {n} is invalid: must be at least 1"),
                );
                1
            }
        });
        let analysis = raw.analysis.map(|a| super::analysis::analysis(loc, a, p));
        RolloutPatch {
            analysis,
            steps,
            cohorts,
            max_failures,
            min_success_time,
            pause_between_batches,
            windows,
            approval_before,
            health_timeout,
            bake_time,
            max_parallel,
            on_failure: raw.on_failure.map(|f| match f {
                raw::OnFailureName::Rollback => OnFailure::Rollback,
                raw::OnFailureName::Pause => OnFailure::Pause,
            }),
            force_conflicts: raw.force_conflicts,
        }
    }

    /// Overwrites the fields this patch sets.
    pub fn apply_to(self, base: &mut RolloutPolicy) {
        set(&mut base.steps, self.steps);
        set(&mut base.cohorts, self.cohorts);
        set(&mut base.max_failures, self.max_failures);
        set(&mut base.min_success_time, self.min_success_time);
        set(&mut base.pause_between_batches, self.pause_between_batches);
        set(&mut base.windows, self.windows);
        set(&mut base.approval_before, self.approval_before);
        set(&mut base.health_timeout, self.health_timeout);
        set(&mut base.bake_time, self.bake_time);
        set(&mut base.on_failure, self.on_failure);
        set(&mut base.max_parallel, self.max_parallel);
        set(&mut base.force_conflicts, self.force_conflicts);
        set(&mut base.analysis, self.analysis);
    }

    /// The policy when every field is set; `None` otherwise.
    pub fn complete(self) -> Option<RolloutPolicy> {
        Some(RolloutPolicy {
            steps: self.steps?,
            cohorts: self.cohorts?,
            max_failures: self.max_failures?,
            min_success_time: self.min_success_time?,
            pause_between_batches: self.pause_between_batches?,
            windows: self.windows?,
            approval_before: self.approval_before?,
            health_timeout: self.health_timeout?,
            bake_time: self.bake_time?,
            on_failure: self.on_failure?,
            max_parallel: self.max_parallel?,
            force_conflicts: self.force_conflicts?,
            // Optional even in the built-in policy: none by default.
            analysis: self.analysis.unwrap_or_default(),
        })
    }
}

/// The checked fields of one `DiffPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffPatch {
    ignore: Option<Vec<IgnoreRule>>,
    drift: Option<DriftMode>,
}

impl DiffPatch {
    /// Checks a raw spec read from `loc`.
    pub fn check(loc: Loc<'_>, raw: raw::DiffSpec, p: &mut Problems) -> DiffPatch {
        let ignore = raw.ignore.map(|rules| {
            rules
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let field = format!("spec.ignore[{i}].jsonPointers");
                    if r.json_pointers.is_empty() {
                        p.push(
                            loc,
                            &field,
                            "empty: list the fields to ignore, e.g. [/spec/replicas]",
                        );
                    }
                    for (j, ptr) in r.json_pointers.iter().enumerate() {
                        if let Err(why) = names::json_pointer(ptr) {
                            p.push(
                                loc,
                                &format!("{field}[{j}]"),
                                format!("invalid pointer {ptr:?}: {why}"),
                            );
                        }
                    }
                    IgnoreRule {
                        group: r.group,
                        kind: r.kind,
                        namespace: r.namespace,
                        name: r.name,
                        json_pointers: r.json_pointers,
                    }
                })
                .collect()
        });
        let drift = raw.drift.map(|d| match d {
            raw::DriftName::Correct => DriftMode::Correct,
            raw::DriftName::Report => DriftMode::Report,
        });
        DiffPatch { ignore, drift }
    }

    /// Overwrites the fields this patch sets.
    pub fn apply_to(self, base: &mut DiffPolicy) {
        set(&mut base.ignore, self.ignore);
        set(&mut base.drift, self.drift);
    }

    /// The policy when every field is set; `None` otherwise.
    pub fn complete(self) -> Option<DiffPolicy> {
        Some(DiffPolicy {
            ignore: self.ignore?,
            drift: self.drift?,
        })
    }
}

/// Parses a humantime duration (`30s`, `5m`, `1h 30m`).
fn duration(loc: Loc<'_>, field: &str, text: &str, p: &mut Problems) -> Option<Duration> {
    match humantime::parse_duration(text) {
        Ok(d) => Some(d),
        Err(e) => {
            p.push(
                loc,
                field,
                format!("invalid duration {text:?}: {e} (write e.g. 30s, 5m or 1h30m)"),
            );
            None
        }
    }
}

/// Overwrites `slot` when `value` is set.
pub(super) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    const FILE: &str = "policies/rollout.yaml";

    fn rollout(yaml: &str) -> (RolloutPatch, Vec<ModelError>) {
        let spec: raw::RolloutSpec = crate::yaml::from_str(yaml).unwrap();
        let mut p = Problems::default();
        let patch = RolloutPatch::check(Loc::file(FILE), spec, &mut p);
        (patch, p.finish(()).err().map(|e| e.0).unwrap_or_default())
    }

    #[test]
    fn rollout_patch_overrides_only_what_it_sets() {
        let (patch, errors) = rollout("steps: [1, 9]\nbakeTime: 1m 30s");
        assert!(errors.is_empty(), "{errors:?}");
        let mut base = RolloutPatch::check(
            Loc::file("builtin"),
            crate::yaml::from_str(
                "{steps: [1], canary: [], maxFailures: 0, minSuccessTime: 0s, pauseBetweenBatches: 0s, windows: [], approval: {before: []}, healthTimeout: 5m, bakeTime: 0s, onFailure: Pause, maxParallel: 2, forceConflicts: true}",
            )
            .unwrap(),
            &mut Problems::default(),
        )
        .complete()
        .unwrap();
        patch.apply_to(&mut base);
        assert_eq!(base.steps, Steps::Ratio(vec![1, 9]));
        assert_eq!(base.bake_time, Duration::from_secs(90));
        assert_eq!(base.health_timeout, Duration::from_secs(300));
        assert_eq!(base.on_failure, OnFailure::Pause);
    }

    #[test]
    fn steps_must_be_positive_and_present() {
        let (_, errors) = rollout("steps: [1, 0, 7]");
        assert_eq!(
            errors,
            [ModelError::field(
                FILE,
                "spec.steps[1]",
                "step 0 is invalid: every step must be at least 1"
            )]
        );
        let (_, errors) = rollout("steps: []");
        assert_eq!(
            errors,
            [ModelError::field(
                FILE,
                "spec.steps",
                "empty: list at least one step, e.g. [1, 2, 7]"
            )]
        );
    }

    #[test]
    fn durations_are_parsed_with_humantime() {
        let (_, errors) = rollout("healthTimeout: 5 minutez\nmaxParallel: 0");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            errors[0].location(),
            "policies/rollout.yaml: spec.healthTimeout"
        );
        assert!(
            errors[0]
                .message
                .starts_with("invalid duration \"5 minutez\": "),
            "{}",
            errors[0].message
        );
        assert!(errors[0].message.ends_with("(write e.g. 30s, 5m or 1h30m)"));
        assert_eq!(
            errors[1].message,
            "maxParallel 0 is invalid: must be at least 1"
        );
    }

    #[test]
    fn ignore_rules_need_valid_pointers() {
        let raw: raw::DiffSpec =
            crate::yaml::from_str("ignore: [{kind: Service, jsonPointers: [spec/clusterIP]}]")
                .unwrap();
        let mut p = Problems::default();
        DiffPatch::check(Loc::file("policies/diff.yaml"), raw, &mut p);
        let errors = p.finish(()).unwrap_err().0;
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].location(),
            "policies/diff.yaml: spec.ignore[0].jsonPointers[0]"
        );
    }
}
