//! Checks of a RolloutPolicy's `spec.analysis`: one probe per check
//! (prometheus, http or job), templates that parse, URLs and addresses
//! that are http(s), PromQL whose brackets and quotes balance, a
//! Prometheus address for every Prometheus check, conditions that parse,
//! and Jobs that are `batch/v1` Jobs with a name that leaves room for the
//! commit suffix.

use super::{Loc, Problems};
use crate::model::analysis::{
    Analysis, Check, Condition, Probe, Template, DEFAULT_INTERVAL, DEFAULT_JOB_TIMEOUT,
};
use crate::model::names;
use crate::model::raw::analysis as raw;
use std::collections::BTreeSet;
use std::time::Duration;

/// Longest Job name in a check: tranche appends `-<7-hex commit>` and the
/// result is a label value (63 characters at most).
const MAX_JOB_NAME: usize = 55;

/// Checks `spec.analysis`.
pub fn analysis(loc: Loc<'_>, raw: raw::AnalysisSpec, p: &mut Problems) -> Analysis {
    let interval = match raw.interval {
        Some(text) => duration(loc, "spec.analysis.interval", &text, p).unwrap_or(DEFAULT_INTERVAL),
        None => DEFAULT_INTERVAL,
    };
    let server = raw.prometheus.unwrap_or_default();
    let default_address = server
        .address
        .as_deref()
        .and_then(|a| address(loc, "spec.analysis.prometheus.address", a, p));
    let mut seen = BTreeSet::new();
    let mut checks = Vec::new();
    for (i, c) in raw.checks.into_iter().enumerate() {
        let field = format!("spec.analysis.checks[{i}]");
        let name = match c.name.as_deref() {
            None => {
                p.push(
                    loc,
                    &format!("{field}.name"),
                    "missing: name the check (e.g. error-ratio)",
                );
                format!("check-{}", i + 1)
            }
            Some(n) => {
                if let Err(why) = names::dns1123_label(n) {
                    p.push(
                        loc,
                        &format!("{field}.name"),
                        format!("invalid check name {n:?}: {why}"),
                    );
                }
                if !seen.insert(n.to_string()) {
                    p.push(
                        loc,
                        &format!("{field}.name"),
                        format!("duplicate check name {n:?}"),
                    );
                }
                n.to_string()
            }
        };
        let condition = c.success_condition.as_deref().and_then(|text| {
            Condition::parse(text)
                .map_err(|why| p.push(loc, &format!("{field}.successCondition"), why))
                .ok()
        });
        let failure_limit = match c.failure_limit {
            None => 1,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .unwrap_or_else(|| {
                    p.push(
                        loc,
                        &format!("{field}.failureLimit"),
                        format!("failureLimit {n} is invalid: must be at least 1"),
                    );
                    1
                }),
        };
        let check_interval = match c.interval.as_deref() {
            Some(text) => duration(loc, &format!("{field}.interval"), text, p).unwrap_or(interval),
            None => interval,
        };
        let given = [c.prometheus.is_some(), c.http.is_some(), c.job.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            p.push(loc, &field, "give exactly one of prometheus, http or job");
            continue;
        }
        let probe = if let Some(prom) = c.prometheus {
            let f = format!("{field}.prometheus");
            if condition.is_none() && c.success_condition.is_none() {
                p.push(
                    loc,
                    &format!("{field}.successCondition"),
                    "missing: a Prometheus check needs a condition, e.g. \"< 0.01\"",
                );
            }
            let query = match prom.query.as_deref() {
                None => {
                    p.push(loc, &format!("{f}.query"), "missing: give a PromQL query");
                    None
                }
                Some(q) => promql(loc, &format!("{f}.query"), q, p),
            };
            let own = prom
                .address
                .as_deref()
                .and_then(|a| address(loc, &format!("{f}.address"), a, p));
            let address = match (own, &default_address) {
                (Some(a), _) => Some(a),
                (None, Some(a)) => Some(a.clone()),
                (None, None) => {
                    if prom.address.is_none() {
                        p.push(
                            loc,
                            &format!("{f}.address"),
                            "missing Prometheus address: set spec.analysis.prometheus.address or this check's prometheus.address",
                        );
                    }
                    None
                }
            };
            let token_file = prom.bearer_token_file.or(server.bearer_token_file.clone());
            match (query, address) {
                (Some(query), Some(address)) => Probe::Prometheus {
                    query,
                    address,
                    token_file,
                },
                _ => continue,
            }
        } else if let Some(http) = c.http {
            let f = format!("{field}.http");
            let url = match http.url.as_deref() {
                None => {
                    p.push(loc, &format!("{f}.url"), "missing: give the URL to GET");
                    None
                }
                Some(u) => address(loc, &format!("{f}.url"), u, p),
            };
            let status = http.status.map(|s| match u16::try_from(s) {
                Ok(s) if (100..=599).contains(&s) => s,
                _ => {
                    p.push(
                        loc,
                        &format!("{f}.status"),
                        format!("status {s} is invalid: an HTTP status is 100 to 599"),
                    );
                    200
                }
            });
            if let Some(ptr) = &http.json_pointer {
                if let Err(why) = names::json_pointer(ptr) {
                    p.push(
                        loc,
                        &format!("{f}.jsonPointer"),
                        format!("invalid pointer {ptr:?}: {why}"),
                    );
                }
                if c.success_condition.is_none() {
                    p.push(
                        loc,
                        &format!("{field}.successCondition"),
                        "missing: jsonPointer needs a condition for the field, e.g. '== \"ok\"'",
                    );
                }
            } else if c.success_condition.is_some() {
                p.push(
                    loc,
                    &format!("{field}.successCondition"),
                    "an HTTP check judges a JSON field: set http.jsonPointer (or use http.status)",
                );
            }
            let Some(url) = url else { continue };
            Probe::Http {
                url,
                status,
                json_pointer: http.json_pointer,
                token_file: http.bearer_token_file,
            }
        } else {
            let Some(job) = c.job else { continue };
            let f = format!("{field}.job");
            for (set, what) in [
                (c.success_condition.is_some(), "successCondition"),
                (c.failure_limit.is_some(), "failureLimit"),
                (c.interval.is_some(), "interval"),
            ] {
                if set {
                    p.push(
                        loc,
                        &format!("{field}.{what}"),
                        "does not apply to a job check: the Job must complete",
                    );
                }
            }
            let timeout = match job.timeout.as_deref() {
                Some(t) => {
                    duration(loc, &format!("{f}.timeout"), t, p).unwrap_or(DEFAULT_JOB_TIMEOUT)
                }
                None => DEFAULT_JOB_TIMEOUT,
            };
            let Some(manifest) = job.manifest else {
                p.push(
                    loc,
                    &format!("{f}.manifest"),
                    "missing: write the Job to run",
                );
                continue;
            };
            Probe::Job {
                manifest: job_manifest(loc, &format!("{f}.manifest"), manifest, p),
                timeout,
            }
        };
        checks.push(Check {
            name,
            probe,
            condition,
            failure_limit,
            interval: check_interval,
        });
    }
    Analysis { checks }
}

/// Checks a smoke-test Job object; returns it with `metadata.namespace`
/// set (default `default`).
pub fn job_manifest(
    loc: Loc<'_>,
    field: &str,
    mut job: serde_json::Value,
    p: &mut Problems,
) -> serde_json::Value {
    let api = job.get("apiVersion").and_then(|v| v.as_str());
    let kind = job.get("kind").and_then(|v| v.as_str());
    if api != Some("batch/v1") || kind != Some("Job") {
        p.push(
            loc,
            field,
            "must be a Job (apiVersion: batch/v1, kind: Job)",
        );
        return serde_json::Value::Null;
    }
    match job.pointer("/metadata/name").and_then(|v| v.as_str()) {
        None => p.push(
            loc,
            &format!("{field}.metadata.name"),
            "missing: name the Job",
        ),
        Some(n) => {
            if let Err(why) = names::dns1123_label(n) {
                p.push(
                    loc,
                    &format!("{field}.metadata.name"),
                    format!("invalid Job name {n:?}: {why}"),
                );
            } else if n.len() > MAX_JOB_NAME {
                p.push(
                    loc,
                    &format!("{field}.metadata.name"),
                    format!("Job name {n:?} is too long: at most {MAX_JOB_NAME} characters (tranche adds the commit)"),
                );
            }
        }
    }
    if job.pointer("/spec/template/spec/containers").is_none() {
        p.push(
            loc,
            &format!("{field}.spec.template.spec.containers"),
            "missing: the Job needs a pod template with containers",
        );
    }
    if job.pointer("/metadata/namespace").is_none() {
        if let Some(meta) = job.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            meta.insert("namespace".into(), "default".into());
        }
    }
    job
}

/// Parses a URL template and checks a sample rendering is an http(s) URL.
fn address(loc: Loc<'_>, field: &str, text: &str, p: &mut Problems) -> Option<Template> {
    let t = template(loc, field, text, p)?;
    match reqwest::Url::parse(&t.sample()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(t),
        Ok(u) => {
            p.push(
                loc,
                field,
                format!("{text:?} is not an http(s) URL (scheme {:?})", u.scheme()),
            );
            None
        }
        Err(e) => {
            p.push(loc, field, format!("{text:?} is not a URL: {e}"));
            None
        }
    }
}

/// Parses a PromQL template and checks that its brackets and quotes balance.
fn promql(loc: Loc<'_>, field: &str, text: &str, p: &mut Problems) -> Option<Template> {
    let t = template(loc, field, text, p)?;
    if text.trim().is_empty() {
        p.push(loc, field, "empty: give a PromQL query");
        return None;
    }
    match balance(&t.sample()) {
        Ok(()) => Some(t),
        Err(why) => {
            p.push(loc, field, format!("bad PromQL {text:?}: {why}"));
            None
        }
    }
}

fn template(loc: Loc<'_>, field: &str, text: &str, p: &mut Problems) -> Option<Template> {
    Template::parse(text)
        .map_err(|why| p.push(loc, field, why))
        .ok()
}

/// Whether `()`, `{}`, `[]` pair up outside quoted strings and every
/// string is closed.
fn balance(text: &str) -> Result<(), String> {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '{' | '[' => stack.push(c),
            ')' | '}' | ']' => {
                let open = match c {
                    ')' => '(',
                    '}' => '{',
                    _ => '[',
                };
                if stack.pop() != Some(open) {
                    return Err(format!("unbalanced {c:?}"));
                }
            }
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed string ({q})"));
    }
    match stack.last() {
        Some(open) => Err(format!("unclosed {open:?}")),
        None => Ok(()),
    }
}

fn duration(loc: Loc<'_>, field: &str, text: &str, p: &mut Problems) -> Option<Duration> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            p.push(loc, field, "must be longer than 0s");
            None
        }
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

#[cfg(test)]
mod tests;
