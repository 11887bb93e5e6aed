//! `tranche migrate <app>`: writes the next step of the app's
//! `spec.migration` into its placement.yaml and commits it on the current
//! branch (git2), so the step rolls out like any other commit. Refuses on
//! a dirty work tree, an app without a migration, an invalid fleet and at
//! the last step. Exit 0 committed, 1 refused.

use crate::git::RepoSource;
use crate::model::Migration;
use anyhow::{anyhow, bail, Context};
use std::path::Path;

/// Runs `migrate`: returns the exit code, errors are refusals.
pub fn run(repo: &Path, app: &str) -> anyhow::Result<u8> {
    let source = RepoSource::open(repo)?;
    let git = source.repository();
    let workdir = git
        .workdir()
        .ok_or_else(|| {
            anyhow!(
                "{}: a bare repository has no work tree to commit from",
                repo.display()
            )
        })?
        .to_path_buf();
    refuse_dirty(git)?;
    let snapshot = source.snapshot("HEAD")?;
    let fleet = crate::model::load::load(&snapshot)
        .map_err(|e| anyhow!("HEAD is not a valid fleet, fix it first:\n{e}"))?;
    if let Err(errors) = crate::render::placement::placed_clusters(&fleet) {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        bail!(
            "HEAD is not a valid fleet, fix it first:\n{}",
            lines.join("\n")
        );
    }
    let placement = &fleet
        .apps
        .get(app)
        .ok_or_else(|| anyhow!("unknown app {app:?}: there is no apps/{app}/ directory"))?
        .placement;
    let migration = placement.migration.as_ref().ok_or_else(|| {
        anyhow!(
            "{}: spec.migration: missing: app {app} has no migration to advance",
            placement.file
        )
    })?;
    if migration.done() {
        bail!(
            "{}: spec.migration.step: already at the last step ({}/{}, 100 % on {}): nothing to advance; remove spec.migration and the from clusters when you are done",
            placement.file,
            migration.step,
            migration.steps.len(),
            migration.to.join(", ")
        );
    }
    let rel = match source.subdir() {
        "" => placement.file.clone(),
        dir => format!("{dir}/{}", placement.file),
    };
    let path = workdir.join(&rel);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {rel}"))?;
    let next = Migration {
        step: migration.step + 1,
        ..migration.clone()
    };
    let edited = with_step(&text, migration.step, next.step).map_err(|e| anyhow!("{rel}: {e}"))?;
    std::fs::write(&path, &edited).with_context(|| format!("writing {rel}"))?;
    let message = format!("migrate {app}: {}", next.describe());
    let oid = commit(git, &rel, &message)?;
    super::write_out(&format!(
        "{} {message}\n",
        crate::revision::short(&oid.to_string())
    ))?;
    Ok(0)
}

/// Refuses when tracked files differ from HEAD (staged or not).
fn refuse_dirty(git: &git2::Repository) -> anyhow::Result<()> {
    let mut options = git2::StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let statuses = git.statuses(Some(&mut options))?;
    let dirty: Vec<String> = statuses
        .iter()
        .filter(|s| s.status() != git2::Status::CURRENT)
        .filter_map(|s| s.path().ok().map(str::to_string))
        .collect();
    if !dirty.is_empty() {
        bail!(
            "the work tree has uncommitted changes ({}): commit or stash them first, so the migration commit holds only the step",
            dirty.join(", ")
        );
    }
    Ok(())
}

/// Stages `rel` and commits it on HEAD's branch.
fn commit(git: &git2::Repository, rel: &str, message: &str) -> anyhow::Result<git2::Oid> {
    let mut index = git.index()?;
    index.add_path(Path::new(rel))?;
    index.write()?;
    let tree = git.find_tree(index.write_tree()?)?;
    let parent = git.head()?.peel_to_commit()?;
    let signature = git
        .signature()
        .or_else(|_| git2::Signature::now("tranche", "tranche@localhost"))?;
    Ok(git.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &[&parent],
    )?)
}

/// `text` with its one `step: <from>` changed to `step: <to>`, the rest
/// byte for byte (comments and layout kept). Errors when there is not
/// exactly one such field, or the result does not read back as step `to`.
pub fn with_step(text: &str, from: usize, to: usize) -> Result<String, String> {
    let found: Vec<(usize, usize)> = text
        .match_indices("step:")
        .filter(|(at, _)| {
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
        .filter_map(|(at, key)| {
            let after = at + key.len();
            let rest = &text[after..];
            let start = after + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
            let digits = text[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .count();
            (text[start..start + digits].parse::<usize>().ok() == Some(from))
                .then_some((start, start + digits))
        })
        .collect();
    let [(start, end)] = found[..] else {
        return Err(format!(
            "spec.migration.step: expected one `step: {from}` to change, found {}: edit the step by hand",
            found.len()
        ));
    };
    let edited = format!("{}{to}{}", &text[..start], &text[end..]);
    let value: serde_json::Value = crate::yaml::from_str(&edited).map_err(|e| e.to_string())?;
    if value
        .pointer("/spec/migration/step")
        .and_then(|v| v.as_u64())
        != Some(to as u64)
    {
        return Err("spec.migration.step: the edit did not land on spec.migration.step: edit the step by hand".into());
    }
    Ok(edited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_and_flow_steps_are_changed_in_place() {
        let block = "kind: Placement\nspec:\n  migration:\n    from: [a]  # old\n    to: [b]\n    steps: [10%, 50%, 100%]\n    step: 1\n";
        assert_eq!(
            with_step(block, 1, 2).unwrap(),
            block.replace("step: 1", "step: 2")
        );
        let flow = "spec:\n  migration: {from: [a], to: [b], steps: [10, 100], step: 0}\n";
        assert_eq!(
            with_step(flow, 0, 1).unwrap(),
            flow.replace("step: 0", "step: 1")
        );
    }

    #[test]
    fn ambiguous_or_missing_steps_are_refused() {
        let two = "spec:\n  # step: 1 was yesterday\n  migration: {from: [a], to: [b], steps: [10, 100], step: 1}\n";
        assert!(with_step(two, 1, 2).unwrap_err().contains("found 2"));
        let elsewhere =
            "spec:\n  other: {step: 1}\n  migration: {from: [a], to: [b], steps: [10, 100]}\n";
        assert!(with_step(elsewhere, 1, 2)
            .unwrap_err()
            .contains("did not land"));
    }
}
