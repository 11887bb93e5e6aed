//! `tranche apply`: a one-shot staged rollout of a revision, with progress
//! bars on a terminal. Exit 0 rolled out (or nothing to do), 1 failed
//! (rolled back or paused), 2 error before any change.

use super::progress::Progress;
use super::{OutputFormat, RepoArgs, TargetArgs};
use crate::revision::{RepoRevisions, Revisions};
use crate::rollout::engine::Rollout;
use crate::rollout::store::StateStore;
use std::path::PathBuf;
use std::time::Duration;

/// Runs `apply`.
pub async fn run(
    args: &RepoArgs,
    targets: &TargetArgs,
    state_dir: &PathBuf,
    output: OutputFormat,
) -> anyhow::Result<u8> {
    let revisions = RepoRevisions::at(&args.repo);
    let rev = match revisions.read(&args.rev) {
        Ok(rev) => rev,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let store = StateStore::open(state_dir)?;
    let _lock = store.lock()?;
    let clusters = targets.connect(&rev.fleet).await?;
    let progress = Progress::new();
    let rollout = Rollout {
        revisions: &revisions,
        clusters: &clusters,
        store: &store,
        observer: &progress,
        parallel: targets.parallel,
        poll: Duration::from_millis(500),
        halt: None,
        force_conflicts: false,
    };
    let report = match rollout.run(&rev.commit).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(if report.outcome.is_success() { 0 } else { 1 })
}
