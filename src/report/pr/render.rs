//! The pull-request comment as markdown (GitHub, Gitea and GitLab render
//! the same subset: headings, tables, fenced code, `<details>`). It starts
//! with a hidden [`MARKER`], by which tranche finds its own comment to edit
//! it in place. Diffs longer than [`FOLD_LINES`] are folded; the whole
//! comment stays under [`MAX_CHARS`] (forges refuse longer bodies: GitHub
//! at 65,536), leaving out the clusters that do not fit and saying so.
//! Pure.

use super::problems::ProblemView;
use super::progress::{BatchState, RolloutProgress};
use super::view::{ChangeView, PlanView, Preview, PullComment};
use crate::plan::Action;
use crate::revision::short;
use std::fmt::Write;

/// The hidden line that marks tranche's own comment.
pub const MARKER: &str = "<!-- tranche:pull-request-comment -->";
/// Diffs with more lines than this are folded in `<details>`.
pub const FOLD_LINES: usize = 15;
/// Lines of one diff shown at most.
pub const MAX_DIFF_LINES: usize = 200;
/// The comment's size limit, in characters.
pub const MAX_CHARS: usize = 60_000;

/// The comment's markdown.
pub fn render(c: &PullComment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### tranche: plan for `{}`\n", short(&c.head));
    match &c.preview {
        Preview::Invalid(problems) => invalid(&mut out, problems),
        Preview::Planned(plan) => planned(&mut out, plan),
    }
    if let Some(p) = &c.progress {
        progress(&mut out, p);
    }
    let _ = writeln!(
        out,
        "\n<sub>A person with write access controls the rollout after the merge by commenting \
         `/tranche approve`, `/tranche pause`, `/tranche resume` or `/tranche abort` \
         (abort rolls back), or with the label `tranche/<command>`. \
         tranche edits this comment in place.</sub>"
    );
    out
}

fn invalid(out: &mut String, problems: &[ProblemView]) {
    let _ = writeln!(
        out,
        "**This commit is invalid**: merging it deploys nothing. Problems:\n"
    );
    for p in problems {
        let _ = match &p.at {
            Some(at) => writeln!(out, "- `{}` {}", inline(at), inline(&p.text)),
            None => writeln!(out, "- `{}`", inline(&p.text)),
        };
    }
}

fn planned(out: &mut String, plan: &PlanView) {
    let objects = plan.objects();
    if plan.batches.is_empty() && plan.unplanned.is_empty() {
        let _ = writeln!(
            out,
            "Merging this pull request changes nothing: every cluster already runs it."
        );
        return;
    }
    let _ = writeln!(
        out,
        "Merging this pull request would change **{objects}** object(s) in **{}** cluster(s), \
         in {} batch(es).\n",
        plan.clusters.len(),
        plan.batches.len()
    );
    let _ = writeln!(
        out,
        "| Batch | Clusters | Before it starts |\n|---|---|---|"
    );
    for (i, b) in plan.batches.iter().enumerate() {
        let before = if plan.approvals.contains(&(i + 1)) {
            "a person's approval"
        } else {
            "—"
        };
        let _ = writeln!(out, "| {} | {} | {before} |", i + 1, names(b));
    }
    let _ = writeln!(out, "\n**Gates**\n");
    for g in &plan.gates {
        let _ = writeln!(out, "- {g}");
    }
    if !plan.weights.is_empty() {
        let _ = writeln!(out, "\n**Why each cluster gets its replicas**\n\n```");
        for line in &plan.weights {
            let _ = writeln!(out, "{}", line.replace("```", "'''"));
        }
        let _ = writeln!(out, "```");
    }
    if !plan.unplanned.is_empty() {
        let _ = writeln!(out, "\n**Clusters that could not be planned**\n");
        for (name, why) in &plan.unplanned {
            let _ = writeln!(out, "- `{name}`: {}", inline(why));
        }
    }
    let _ = writeln!(out, "\n#### Changes per cluster");
    for (shown, c) in plan.clusters.iter().enumerate() {
        let mut section = format!("**`{}`**\n\n", c.name);
        for ch in &c.changes {
            change(&mut section, ch);
        }
        if out.len() + section.len() > MAX_CHARS {
            let _ = writeln!(
                out,
                "\n… and {} more cluster(s), left out to keep this comment short \
                 (`tranche plan` shows every change).",
                plan.clusters.len() - shown
            );
            break;
        }
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(&section);
    }
}

fn change(out: &mut String, ch: &ChangeView) {
    let verb = match ch.action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Prune => "delete",
        Action::Forbidden => "refused",
        Action::Skip => "skip",
        Action::Unchanged => "unchanged",
    };
    let _ = write!(out, "- {verb} `{}` (app `{}`)", ch.object, ch.app);
    if let Some(r) = &ch.reason {
        let _ = write!(out, ": {}", inline(r));
    }
    let _ = writeln!(out);
    let Some(diff) = ch.diff.as_deref().filter(|d| !d.trim().is_empty()) else {
        return;
    };
    let lines: Vec<&str> = diff.lines().collect();
    let mut text = lines
        .iter()
        .take(MAX_DIFF_LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > MAX_DIFF_LINES {
        let _ = write!(text, "\n… {} more line(s)", lines.len() - MAX_DIFF_LINES);
    }
    let block = fenced(&text);
    if lines.len() > FOLD_LINES {
        let _ = writeln!(
            out,
            "\n  <details><summary>diff ({} lines)</summary>\n\n{}\n  </details>\n",
            lines.len(),
            indent(&block)
        );
    } else {
        let _ = writeln!(out, "\n{}\n", indent(&block));
    }
}

fn progress(out: &mut String, p: &RolloutProgress) {
    let _ = writeln!(out, "\n#### Rollout of `{}`\n", short(&p.commit));
    if p.batches.is_empty() && p.outcome.is_none() {
        let _ = writeln!(out, "Planning…");
    }
    if !p.batches.is_empty() {
        let _ = writeln!(out, "| Batch | Clusters | State |\n|---|---|---|");
        for (i, (clusters, state)) in p.batches.iter().enumerate() {
            let state = match state {
                BatchState::Pending => "not started".to_string(),
                BatchState::Waiting(why) => format!("⏸ {}", inline(why)),
                BatchState::Applying => "⏳ applying".to_string(),
                BatchState::Healthy => "✅ healthy".to_string(),
                BatchState::Failed(why) => format!("❌ {}", inline(why)),
            };
            let _ = writeln!(out, "| {} | {} | {state} |", i + 1, names(clusters));
        }
    }
    if !p.rolled_back.is_empty() {
        let _ = writeln!(out, "\nRolled back: {}.", names(&p.rolled_back));
    }
    if let Some((outcome, description)) = &p.outcome {
        let mark = if outcome.is_success() { "✅" } else { "❌" };
        let _ = writeln!(out, "\n**Outcome**: {mark} {}", inline(description));
    }
}

fn names(clusters: &[String]) -> String {
    clusters
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line, safe inside a table cell or a list item.
fn inline(text: &str) -> String {
    let one: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    one.replace('|', "\\|").replace('`', "'")
}

/// A `diff` code block whose fence is longer than any backtick run inside.
fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}diff\n{text}\n{fence}")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests;
