//! The analysis loop of one batch, after its health gate passed: every
//! check is evaluated on every cluster at once and then every `interval`
//! through the bake time (each at least once), smoke-test Jobs are created
//! and watched until they complete, and the batch's objects are still
//! checked for regressions. The first check to reach its failure limit
//! fails the batch, naming the check, the cluster and the value.

use super::probe::Prober;
use super::{job, judge, Reading, Tally, Verdict};
use crate::cluster::ClusterApi;
use crate::model::analysis::{promql_escape, verbatim, Analysis, Check, ClusterVars, Probe};
use crate::object::ObjectRef;
use crate::rollout::event::{Observer, RolloutEvent};
use crate::rollout::gate::{self, GateEnd, GateTarget, GateTiming};
use crate::rollout::record::Failure;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::time::Instant;

/// One cluster of the batch as analysis sees it.
pub struct Subject<'a> {
    /// Cluster access (for Jobs).
    pub api: &'a dyn ClusterApi,
    /// Name and labels for templates.
    pub vars: ClusterVars<'a>,
}

/// What the loop is about.
pub struct Context<'a> {
    /// The policy's checks.
    pub analysis: &'a Analysis,
    /// Commit rolled out (names the Jobs).
    pub commit: &'a str,
    /// Batch index.
    pub index: usize,
    /// Who hears the results.
    pub observer: &'a dyn Observer,
    /// Stops the loop from outside.
    pub halt: Option<&'a AtomicBool>,
}

/// A Job being watched.
struct Watched<'a> {
    check: &'a Check,
    subject: usize,
    id: ObjectRef,
    timeout: std::time::Duration,
    deadline: Instant,
}

/// Runs the analysis of a batch whose health gate passed; `targets` are
/// watched for regressions until the bake time is over.
pub async fn run(
    ctx: &Context<'_>,
    subjects: &[Subject<'_>],
    targets: &[GateTarget<'_>],
    timing: GateTiming,
) -> GateEnd {
    match run_inner(ctx, subjects, targets, timing).await {
        Ok(true) => GateEnd::Passed,
        Ok(false) => GateEnd::Halted,
        Err(f) => GateEnd::Failed(f),
    }
}

async fn run_inner(
    ctx: &Context<'_>,
    subjects: &[Subject<'_>],
    targets: &[GateTarget<'_>],
    timing: GateTiming,
) -> Result<bool, Failure> {
    let prober = Prober::new().map_err(|why| Failure {
        cluster: subjects
            .first()
            .map(|s| s.vars.name.to_string())
            .unwrap_or_default(),
        object: Some("analysis".into()),
        reason: why,
    })?;
    let halted = || ctx.halt.is_some_and(|h| h.load(Ordering::Acquire));
    let start = Instant::now();
    let bake_end = start + timing.bake;
    if !timing.bake.is_zero() {
        ctx.observer.on_event(&RolloutEvent::Baking {
            index: ctx.index,
            bake: timing.bake,
        });
    }
    let mut tally = Tally::default();
    let mut watched = start_jobs(ctx, subjects, &mut tally).await?;
    let measured: Vec<&Check> = ctx
        .analysis
        .checks
        .iter()
        .filter(|c| !matches!(c.probe, Probe::Job { .. }))
        .collect();
    let mut due: Vec<Instant> = vec![start; measured.len()];
    loop {
        if halted() {
            return Ok(false);
        }
        let now = Instant::now();
        for (check, next) in measured.iter().zip(due.iter_mut()) {
            if *next > now {
                continue;
            }
            for s in subjects {
                let (what, reading) = evaluate(&prober, check, s.vars).await;
                let verdict = judge(check, reading);
                tell(ctx, s.vars.name, check, &verdict);
                if let Some(f) = tally.record(check, s.vars.name, &what, &verdict) {
                    return Err(f);
                }
            }
            *next = now + check.interval;
        }
        let mut still = Vec::new();
        for w in watched {
            let s = &subjects[w.subject];
            let verdict = judge(w.check, job::read(s.api, &w.id).await);
            tell(ctx, s.vars.name, w.check, &verdict);
            let what = w.id.to_string();
            let verdict = match verdict {
                Verdict::Pending(state) if Instant::now() > w.deadline => Verdict::Fatal(format!(
                    "did not complete within {}: {state}",
                    humantime::format_duration(w.timeout)
                )),
                // A Job's failure is final: one bad result fails the batch.
                Verdict::Bad(why) => Verdict::Fatal(why),
                v => v,
            };
            if let Some(f) = tally.record(w.check, s.vars.name, &what, &verdict) {
                return Err(f);
            }
            if matches!(verdict, Verdict::Pending(_)) {
                still.push(w);
            }
        }
        watched = still;
        if Instant::now() < bake_end {
            if let Some(f) = gate::regression(targets).await {
                return Err(f);
            }
        }
        let now = Instant::now();
        if now >= bake_end && watched.is_empty() {
            return Ok(true);
        }
        let mut wake = now + timing.poll;
        if now < bake_end {
            wake = wake.min(bake_end);
        }
        if let Some(first) = due.iter().min() {
            wake = wake.min((*first).max(now));
        }
        tokio::time::sleep_until(wake).await;
    }
}

/// Creates every check's Job in every cluster that runs controllers.
async fn start_jobs<'a>(
    ctx: &Context<'a>,
    subjects: &[Subject<'_>],
    tally: &mut Tally,
) -> Result<Vec<Watched<'a>>, Failure> {
    let mut out = Vec::new();
    for check in &ctx.analysis.checks {
        let Probe::Job { manifest, timeout } = &check.probe else {
            continue;
        };
        let object = job::job_object(manifest, &check.name, ctx.commit);
        for (i, s) in subjects.iter().enumerate() {
            if !s.api.has_controllers() {
                // Nothing would run the Job (a directory cluster).
                continue;
            }
            match job::start(s.api, &object).await {
                Ok(id) => out.push(Watched {
                    check,
                    subject: i,
                    id,
                    timeout: *timeout,
                    deadline: Instant::now() + *timeout,
                }),
                Err(why) => {
                    let verdict = Verdict::Fatal(format!("cannot create it: {why}"));
                    let name = object["metadata"]["name"].as_str().unwrap_or_default();
                    if let Some(f) =
                        tally.record(check, s.vars.name, &format!("Job {name}"), &verdict)
                    {
                        return Err(f);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Evaluates one Prometheus or HTTP check on one cluster: what was asked
/// (`query …`, `GET …`) and what it read.
async fn evaluate(prober: &Prober, check: &Check, vars: ClusterVars<'_>) -> (String, Reading) {
    match &check.probe {
        Probe::Prometheus {
            query,
            address,
            token_file,
        } => {
            let q = match query.render(vars, &promql_escape) {
                Ok(q) => q,
                Err(why) => return (format!("query {}", query.source()), Reading::Fatal(why)),
            };
            let what = format!("query {q}");
            match address.render(vars, &verbatim) {
                Ok(a) => {
                    let reading = prober.prometheus(&a, &q, token_file.as_deref()).await;
                    (what, reading)
                }
                Err(why) => (what, Reading::Fatal(why)),
            }
        }
        Probe::Http {
            url,
            status,
            json_pointer,
            token_file,
        } => match url.render(vars, &verbatim) {
            Ok(u) => {
                let reading = prober
                    .http(&u, *status, json_pointer.as_deref(), token_file.as_deref())
                    .await;
                let what = match json_pointer {
                    Some(p) => format!("GET {u} field {p}"),
                    None => format!("GET {u}"),
                };
                (what, reading)
            }
            Err(why) => (format!("GET {}", url.source()), Reading::Fatal(why)),
        },
        Probe::Job { .. } => (String::new(), Reading::Pending(String::new())),
    }
}

fn tell(ctx: &Context<'_>, cluster: &str, check: &Check, verdict: &Verdict) {
    let passed = match verdict {
        Verdict::Good(_) => Some(true),
        Verdict::Pending(_) => None,
        Verdict::Bad(_) | Verdict::Fatal(_) => Some(false),
    };
    ctx.observer.on_event(&RolloutEvent::Analysis {
        index: ctx.index,
        cluster: cluster.to_string(),
        check: check.name.clone(),
        passed,
        value: verdict.shown().to_string(),
    });
}
