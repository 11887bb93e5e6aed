//! `tranche apply`: a one-shot staged rollout of a revision, with progress
//! bars on a terminal. Exit 0 rolled out (or nothing to do), 1 failed
//! (rolled back, paused, rollback incomplete, or stopped half-way), 2
//! error before any change. The last line on stderr always says the
//! outcome and which clusters are left half-way, if any.

use super::progress::Progress;
use super::{write_err, write_out, OutputFormat, RepoArgs, TargetArgs};
use crate::revision::{RepoRevisions, Revisions};
use crate::rollout::gate::DEFAULT_POLL;
use crate::rollout::record::LeftBehind;
use crate::rollout::store::StateStore;
use crate::rollout::{Rollout, RolloutError, RolloutState};
use std::path::PathBuf;

/// Runs `apply`.
pub async fn run(
    args: &RepoArgs,
    targets: &TargetArgs,
    state_dir: &PathBuf,
    output: OutputFormat,
) -> anyhow::Result<u8> {
    let revisions = RepoRevisions::at(&args.repo);
    let mut rev = match revisions.read(&args.rev) {
        Ok(rev) => rev,
        Err(e) => {
            write_err(&format!("error: {e}"));
            write_err(&format!(
                "not rolled out: {}; nothing was changed",
                e.first_problem()
            ));
            return Ok(2);
        }
    };
    let state = RolloutState::new(StateStore::open(state_dir)?);
    let _lock = state.store().lock()?;
    let clusters = targets.connect(&rev.fleet).await?;
    let inputs = super::weights::inputs_for(&rev, &clusters).await;
    // Only shown: the rollout reads the commit itself, with the inputs.
    match super::weights::rerender_explained(&mut rev, &inputs) {
        Ok(why) if why.is_empty() => {}
        Ok(why) => write_err(why.trim_end()),
        Err(e) => {
            write_err(&format!("error: {e}"));
            return Ok(2);
        }
    }
    // The rollout (and a rollback's previous commit) splits by the same
    // free capacity that was just shown.
    let revisions = crate::revision::inputs::InputRevisions::new(&revisions, inputs);
    let progress = Progress::new();
    let rollout = Rollout {
        revisions: &revisions,
        rollback_revisions: None,
        clusters: &clusters,
        state: &state,
        observer: &progress,
        parallel: targets.parallel,
        poll: DEFAULT_POLL,
        halt: None,
        force_conflicts: false,
        clock: &crate::rollout::clock::SystemClock,
        control: None,
    };
    match rollout.run(&rev.commit).await {
        Ok(report) => {
            if output == OutputFormat::Json {
                write_out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            }
            Ok(if report.outcome.is_success() { 0 } else { 1 })
        }
        Err(e) => {
            // A stop names what it left half-way; an error before any step
            // may still leave the record of an earlier rollout in flight.
            let (line, left, code) = match &e {
                RolloutError::Stopped { left_behind, .. } => {
                    (e.to_string(), left_behind.clone(), 1)
                }
                _ => {
                    let in_flight = state.record().ok().flatten();
                    let left = in_flight
                        .as_ref()
                        .map(|r| r.left_behind())
                        .unwrap_or_default();
                    let mut line = format!("error: {e}; nothing was changed by this run");
                    if let Some(r) = &in_flight {
                        line.push_str(&format!(
                            "; a rollout of {} is in flight ({}){}",
                            crate::revision::short(&r.commit),
                            r.progress(),
                            describe_left(&left)
                        ));
                    }
                    (line, left, 2)
                }
            };
            if output == OutputFormat::Json {
                let value = serde_json::json!({"error": line, "leftBehind": left});
                write_out(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
            }
            write_err(&line);
            Ok(code)
        }
    }
}

fn describe_left(left: &[LeftBehind]) -> String {
    if left.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = left.iter().map(|l| l.cluster.as_str()).collect();
    format!(", left half-way: {}", names.join(", "))
}
