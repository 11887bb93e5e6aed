//! `tranche validate`: exit 0 when the revision is valid, 1 with one
//! `path: message` line per problem on stderr (or, with `-o json`, the
//! verdict and the problems as one JSON object on stdout).

use super::{OutputFormat, RepoArgs};
use crate::git::RepoSource;
use crate::revision::{Revision, RevisionError};
use serde_json::json;

/// One problem as listed: location, line (when known), message, full text.
type Listed = (String, Option<usize>, String, String);

/// Runs `validate`.
pub fn run(args: &RepoArgs, output: OutputFormat) -> anyhow::Result<u8> {
    let source = RepoSource::open(&args.repo)?;
    let (commit, problems) = match Revision::read(&source, &args.rev) {
        Ok(rev) => {
            if output == OutputFormat::Json {
                let v = json!({
                    "commit": rev.commit,
                    "valid": true,
                    "clusters": rev.fleet.clusters.len(),
                    "apps": rev.fleet.apps.len(),
                    "problems": [],
                    "rendered": rev.renders.iter().map(|r| json!({
                        "app": r.app, "tool": r.tool, "cached": r.cached,
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{} is valid: {} clusters, {} apps",
                    rev.short(),
                    rev.fleet.clusters.len(),
                    rev.fleet.apps.len()
                );
                for r in &rev.renders {
                    println!("  {}: rendered with {}", r.app, r.tool);
                }
            }
            return Ok(0);
        }
        Err(RevisionError::Invalid { commit, errors }) => {
            let list: Vec<Listed> = errors
                .0
                .iter()
                .map(|e| (e.location(), e.line, e.message.clone(), e.to_string()))
                .collect();
            (commit, list)
        }
        Err(RevisionError::Render { commit, errors }) => {
            let list = errors
                .iter()
                .map(|e| (e.file.clone(), None, e.to_string(), e.to_string()))
                .collect();
            (commit, list)
        }
        Err(e) => return Err(e.into()),
    };
    if output == OutputFormat::Json {
        let list: Vec<_> = problems
            .iter()
            .map(|(location, line, message, _)| {
                json!({"location": location, "line": line, "message": message})
            })
            .collect();
        let v = json!({"commit": commit, "valid": false, "problems": list});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (_, _, _, line) in &problems {
            eprintln!("{line}");
        }
        eprintln!("{} problem(s) found", problems.len());
    }
    Ok(1)
}
