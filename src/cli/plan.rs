//! `tranche plan`: per-cluster summary with unified diffs (colored on a
//! terminal) or JSON. Exit 0 nothing to change, 3 changes, 1 error.

use super::style::Painter;
use super::{OutputFormat, RepoArgs, TargetArgs};
use crate::git::RepoSource;
use crate::plan::compute::{change_diff, plan_fleet};
use crate::plan::{Action, Plan};
use crate::revision::{short, Revision};

/// Runs `plan`.
pub async fn run(
    args: &RepoArgs,
    targets: &TargetArgs,
    output: OutputFormat,
) -> anyhow::Result<u8> {
    let source = RepoSource::open(&args.repo)?;
    let mut rev = match Revision::read(&source, &args.rev) {
        Ok(rev) => rev,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let connections = targets.connect(&rev.fleet).await?;
    let inputs = super::weights::inputs_for(&rev, &connections).await;
    let why = match super::weights::rerender_explained(&mut rev, &inputs) {
        Ok(why) => why,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    // Warnings also on stderr, so JSON output stays one document.
    for line in why
        .lines()
        .filter(|l| l.trim_start().starts_with("warning:"))
    {
        eprintln!("{}", line.trim_start());
    }
    let plan = plan_fleet(
        &connections,
        &rev.rendering,
        &rev.fleet.policies,
        targets.parallel,
    )
    .await;
    match output {
        OutputFormat::Json => {
            super::write_out(&format!("{}\n", serde_json::to_string_pretty(&plan)?))?
        }
        OutputFormat::Text => {
            super::write_out(&why)?;
            super::write_out(&plan_text(&plan, &Painter::stdout()))?
        }
    }
    let failed = plan
        .clusters
        .iter()
        .any(|c| !c.reachable || c.error.is_some());
    Ok(if failed {
        1
    } else if plan.has_changes() {
        3
    } else {
        0
    })
}

/// The readable plan: one block per cluster, then a summary line.
pub fn plan_text(plan: &Plan, p: &Painter) -> String {
    let mut out = format!(
        "Plan for commit {} ({} clusters)\n",
        short(&plan.commit),
        plan.clusters.len()
    );
    for c in &plan.clusters {
        out.push('\n');
        if !c.reachable {
            let why = c.error.as_deref().unwrap_or("unreachable");
            out.push_str(&format!(
                "{} {}\n",
                p.bold(&format!("cluster {}", c.name)),
                p.red(&format!("unreachable: {why}"))
            ));
            continue;
        }
        if let Some(e) = &c.error {
            out.push_str(&format!(
                "{} {}\n",
                p.bold(&format!("cluster {}", c.name)),
                p.red(&format!("error: {e}"))
            ));
            continue;
        }
        let n = c.mutating_changes();
        let head = if n == 0 {
            p.green("no changes")
        } else {
            p.yellow(&format!("{n} to change"))
        };
        out.push_str(&format!(
            "{} {head}\n",
            p.bold(&format!("cluster {}", c.name))
        ));
        let mut unchanged = 0;
        for ch in &c.changes {
            let (sign, word) = match ch.action {
                Action::Create => (p.green("+"), p.green("create   ")),
                Action::Update => (p.yellow("~"), p.yellow("update   ")),
                Action::Prune => (p.red("-"), p.red("prune    ")),
                Action::Skip => (" ".to_string(), "skip     ".to_string()),
                Action::Forbidden => (p.red("!"), p.red("forbidden")),
                Action::Unchanged => {
                    unchanged += 1;
                    continue;
                }
            };
            out.push_str(&format!("  {sign} {word} {} [{}]", ch.id(), ch.app));
            if let Some(r) = &ch.reason {
                out.push_str(&format!(" — {r}"));
            }
            out.push('\n');
            if matches!(ch.action, Action::Create | Action::Update | Action::Prune) {
                let diff = change_diff(ch);
                for line in p.diff(&diff).lines() {
                    out.push_str(&format!("      {line}\n"));
                }
            }
        }
        if unchanged > 0 {
            out.push_str(&format!("    {unchanged} unchanged\n"));
        }
    }
    let s = plan.summary();
    out.push_str(&format!(
        "\nSummary: {} to create, {} to update, {} to prune, {} forbidden, {} skipped in {} of {} clusters",
        s.create,
        s.update,
        s.prune,
        s.forbidden,
        s.skip,
        s.clusters_changed,
        plan.clusters.len()
    ));
    if s.clusters_failed > 0 {
        out.push_str(&format!(
            "; {} cluster(s) unreachable or failed",
            s.clusters_failed
        ));
    }
    out.push('\n');
    out
}
