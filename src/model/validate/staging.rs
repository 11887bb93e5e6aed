//! Checks of the staging fields of a RolloutPolicy: `steps` (a ratio, or
//! cumulative counts and percentages ending in 100%), `maxFailures`,
//! `canary` cohorts and time `windows` (cron schedule, duration, zone).

use super::{selector, Loc, Problems};
use crate::model::raw::{self, StepValue};
use crate::model::staging::{Allowance, Steps, Target, TimeWindow, MAX_WINDOW};
use crate::model::LabelSelector;
use jiff::tz::TimeZone;

/// A count or percentage as written: `Ok(Count)` / `Ok(Percent)`, or why not.
fn amount(v: &StepValue) -> Result<Target, String> {
    match v {
        StepValue::Count(n) => u32::try_from(*n)
            .map(Target::Count)
            .map_err(|_| format!("{n} is invalid: must be a whole number ≥ 0")),
        StepValue::Text(t) => match t.trim().strip_suffix('%') {
            Some(num) => match num.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Target::Percent(p)),
                _ => Err(format!("{t:?} is invalid: a percentage is 0% to 100%")),
            },
            None => match t.trim().parse::<u32>() {
                Ok(n) => Ok(Target::Count(n)),
                Err(_) => Err(format!(
                    "{t:?} is invalid: write a count (3) or a percentage (\"10%\")"
                )),
            },
        },
    }
}

/// Checks `spec.steps`.
pub fn steps(loc: Loc<'_>, raw: Vec<StepValue>, p: &mut Problems) -> Steps {
    if raw.is_empty() {
        p.push(
            loc,
            "spec.steps",
            "empty: list at least one step, e.g. [1, 2, 7]",
        );
    }
    let mut targets = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let field = format!("spec.steps[{i}]");
        match amount(v) {
            Ok(Target::Count(0)) => p.push(
                loc,
                &field,
                "step 0 is invalid: every step must be at least 1",
            ),
            Ok(Target::Percent(0)) => p.push(loc, &field, "0% is invalid: a step is above 0%"),
            Ok(t) => targets.push((i, t)),
            Err(why) => p.push(loc, &field, format!("step {why}")),
        }
    }
    if !targets.iter().any(|(_, t)| matches!(t, Target::Percent(_))) {
        return Steps::Ratio(
            targets
                .into_iter()
                .filter_map(|(_, t)| match t {
                    Target::Count(c) => Some(c),
                    Target::Percent(_) => None,
                })
                .collect(),
        );
    }
    // Cumulative targets: counts rise, percentages rise, and all ends at 100%.
    let mut last_count = 0;
    let mut last_percent = 0;
    for &(i, t) in &targets {
        let field = format!("spec.steps[{i}]");
        match t {
            Target::Count(c) if c <= last_count => p.push(
                loc,
                &field,
                format!("{c} does not rise above the earlier count {last_count}: with percentages, steps are cumulative targets"),
            ),
            Target::Percent(q) if q <= last_percent => p.push(
                loc,
                &field,
                format!("{q}% does not rise above the earlier {last_percent}%: with percentages, steps are cumulative targets"),
            ),
            Target::Count(c) => last_count = c,
            Target::Percent(q) => last_percent = q,
        }
    }
    if let Some(&(i, last)) = targets.last() {
        if last != Target::Percent(100) {
            p.push(
                loc,
                &format!("spec.steps[{i}]"),
                format!("the last step is {last}: cumulative steps end with \"100%\" so that every cluster is reached"),
            );
        }
    }
    Steps::Targets(targets.into_iter().map(|(_, t)| t).collect())
}

/// Checks `spec.maxFailures`.
pub fn max_failures(loc: Loc<'_>, raw: &StepValue, p: &mut Problems) -> Allowance {
    match amount(raw) {
        Ok(Target::Count(c)) => Allowance::Count(c),
        Ok(Target::Percent(q)) => Allowance::Percent(q),
        Err(why) => {
            p.push(loc, "spec.maxFailures", format!("maxFailures {why}"));
            Allowance::Count(0)
        }
    }
}

/// Checks `spec.canary`.
pub fn cohorts(loc: Loc<'_>, raw: Vec<raw::LabelSelector>, p: &mut Problems) -> Vec<LabelSelector> {
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let field = format!("spec.canary[{i}]");
            if s.match_labels.is_empty() && s.match_expressions.is_empty() {
                p.push(
                    loc,
                    &field,
                    "empty selector: it would match every cluster; give matchLabels or matchExpressions",
                );
            }
            selector::label_selector(loc, &field, s, p)
        })
        .collect()
}

/// Checks `spec.approval`: 1-based batch numbers.
pub fn approval(
    loc: Loc<'_>,
    raw: raw::Approval,
    p: &mut Problems,
) -> std::collections::BTreeSet<usize> {
    let mut out = std::collections::BTreeSet::new();
    for (i, n) in raw.before.into_iter().enumerate() {
        match usize::try_from(n) {
            Ok(n) if n >= 1 => {
                out.insert(n);
            }
            _ => p.push(
                loc,
                &format!("spec.approval.before[{i}]"),
                format!("batch {n} is invalid: batches are numbered from 1"),
            ),
        }
    }
    out
}

/// Checks `spec.windows`.
pub fn windows(loc: Loc<'_>, raw: Vec<raw::Window>, p: &mut Problems) -> Vec<TimeWindow> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, w) in raw.into_iter().enumerate() {
        let field = |f: &str| format!("spec.windows[{i}].{f}");
        let schedule = match w.schedule.parse() {
            Ok(s) => Some(s),
            Err(e) => {
                p.push(loc, &field("schedule"), format!("invalid schedule: {e}"));
                None
            }
        };
        let duration = match humantime::parse_duration(&w.duration) {
            Ok(d) if d.as_secs() >= 60 && d <= MAX_WINDOW => Some(d),
            Ok(_) => {
                p.push(
                    loc,
                    &field("duration"),
                    format!(
                        "{:?} is invalid: a window lasts from 1m to 31 days",
                        w.duration
                    ),
                );
                None
            }
            Err(e) => {
                p.push(
                    loc,
                    &field("duration"),
                    format!("invalid duration {:?}: {e} (write e.g. 8h)", w.duration),
                );
                None
            }
        };
        let zone_name = w.time_zone.unwrap_or_else(|| "UTC".into());
        let zone = match TimeZone::get(&zone_name) {
            Ok(z) => Some(z),
            Err(_) => {
                p.push(
                    loc,
                    &field("timeZone"),
                    format!("unknown time zone {zone_name:?}: write an IANA name such as UTC or Europe/Berlin"),
                );
                None
            }
        };
        if let (Some(schedule), Some(duration), Some(zone)) = (schedule, duration, zone) {
            out.push(TimeWindow {
                schedule_text: w.schedule,
                schedule,
                duration,
                zone_name,
                zone,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    const FILE: &str = "policies/rollout.yaml";

    fn check_steps(yaml: &str) -> (Steps, Vec<String>) {
        let raw: Vec<StepValue> = crate::yaml::from_str(yaml).unwrap();
        let mut p = Problems::default();
        let s = steps(Loc::file(FILE), raw, &mut p);
        let errors: Vec<ModelError> = p.finish(()).err().map(|e| e.0).unwrap_or_default();
        (s, errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn steps_table() {
        use Target::*;
        let ok: &[(&str, Steps)] = &[
            ("[1, 2, 7]", Steps::Ratio(vec![1, 2, 7])),
            (
                "[1, 10%, 100%]",
                Steps::Targets(vec![Count(1), Percent(10), Percent(100)]),
            ),
            (
                "['2', '50%', '100%']",
                Steps::Targets(vec![Count(2), Percent(50), Percent(100)]),
            ),
            ("[100%]", Steps::Targets(vec![Percent(100)])),
        ];
        for (yaml, want) in ok {
            let (got, errors) = check_steps(yaml);
            assert!(errors.is_empty(), "{yaml}: {errors:?}");
            assert_eq!(&got, want, "{yaml}");
        }
        let bad: &[(&str, &str)] = &[
            ("[1, 50%]", "policies/rollout.yaml: spec.steps[1]: the last step is 50%: cumulative steps end with \"100%\""),
            ("[1, 10%, 5%, 100%]", "policies/rollout.yaml: spec.steps[2]: 5% does not rise above the earlier 10%"),
            ("[3, 2, 100%]", "policies/rollout.yaml: spec.steps[1]: 2 does not rise above the earlier count 3"),
            ("[1, 150%]", "policies/rollout.yaml: spec.steps[1]: step \"150%\" is invalid: a percentage is 0% to 100%"),
            ("[1, ten]", "policies/rollout.yaml: spec.steps[1]: step \"ten\" is invalid: write a count (3) or a percentage (\"10%\")"),
            ("[0%, 100%]", "policies/rollout.yaml: spec.steps[0]: 0% is invalid"),
            ("[-1, 2]", "policies/rollout.yaml: spec.steps[0]: step -1 is invalid"),
        ];
        for (yaml, want) in bad {
            let (_, errors) = check_steps(yaml);
            assert_eq!(errors.len(), 1, "{yaml}: {errors:?}");
            assert!(errors[0].starts_with(want), "{yaml}: {}", errors[0]);
        }
    }

    #[test]
    fn max_failures_and_windows_name_their_field() {
        let mut p = Problems::default();
        assert_eq!(
            max_failures(Loc::file(FILE), &StepValue::Text("10%".into()), &mut p),
            Allowance::Percent(10)
        );
        assert_eq!(
            max_failures(Loc::file(FILE), &StepValue::Count(2), &mut p),
            Allowance::Count(2)
        );
        max_failures(Loc::file(FILE), &StepValue::Text("lots".into()), &mut p);
        let raw: Vec<raw::Window> = crate::yaml::from_str(
            "[{schedule: '0 9 * * 1-5', duration: 8h, timeZone: Europe/Berlin},\
              {schedule: '0 25 * * *', duration: 1h},\
              {schedule: '0 9 * * *', duration: 40d, timeZone: Mars/Olympus}]",
        )
        .unwrap();
        let ws = windows(Loc::file(FILE), raw, &mut p);
        assert_eq!(ws.len(), 1);
        assert_eq!(ws[0].to_string(), "\"0 9 * * 1-5\" for 8h (Europe/Berlin)");
        let errors: Vec<String> = p
            .finish(())
            .unwrap_err()
            .0
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with(
            "policies/rollout.yaml: spec.maxFailures: maxFailures \"lots\" is invalid"
        ));
        assert!(errors[1].starts_with(
            "policies/rollout.yaml: spec.windows[1].schedule: invalid schedule: hour field \"25\""
        ));
        assert!(errors[2]
            .starts_with("policies/rollout.yaml: spec.windows[2].duration: \"40d\" is invalid"));
        assert!(errors[3].starts_with(
            "policies/rollout.yaml: spec.windows[2].timeZone: unknown time zone \"Mars/Olympus\""
        ));
    }
}
