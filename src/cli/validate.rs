//! `tranche validate`: exit 0 when the revision is valid, 1 with one
//! `path: message` line per problem on stderr.

use super::RepoArgs;
use crate::git::RepoSource;
use crate::revision::{Revision, RevisionError};

/// Runs `validate`.
pub fn run(args: &RepoArgs) -> anyhow::Result<u8> {
    let source = RepoSource::open(&args.repo)?;
    match Revision::read(&source, &args.rev) {
        Ok(rev) => {
            println!(
                "{} is valid: {} clusters, {} apps",
                rev.short(),
                rev.fleet.clusters.len(),
                rev.fleet.apps.len()
            );
            Ok(0)
        }
        Err(RevisionError::Invalid { errors, .. }) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            eprintln!("{} problem(s) found", errors.0.len());
            Ok(1)
        }
        Err(RevisionError::Render { errors, .. }) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("{} problem(s) found", errors.len());
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}
