//! `tranche status`: what the state store says — the rollout in flight,
//! the last good commit, what each cluster runs, recent history.

use crate::revision::short;
use crate::rollout::state::RolloutState;
use crate::rollout::store::StateStore;
use std::path::Path;

/// Prints the state; `json` prints it as one JSON object.
pub fn run(state_dir: &Path, json: bool) -> anyhow::Result<u8> {
    let state = RolloutState::new(StateStore::open(state_dir)?);
    let memory = state.memory()?;
    let current = state.record()?;
    if json {
        let value = serde_json::json!({ "current": current, "fleet": memory });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    match &current {
        Some(r) => {
            println!("in flight: {} ({})", short(&r.commit), r.progress());
            for l in r.left_behind() {
                println!("  left half-way: {} ({})", l.cluster, l.reason);
            }
        }
        None => println!("in flight: none"),
    }
    println!(
        "last good: {}",
        memory.last_good.as_deref().map(short).unwrap_or("none")
    );
    if !memory.cluster_commits.is_empty() {
        println!("clusters:");
        for (c, commit) in &memory.cluster_commits {
            println!("  {c:<24} {}", short(commit));
        }
    }
    if !memory.history.is_empty() {
        println!("history (newest last):");
        for h in memory.history.iter().rev().take(10).rev() {
            println!(
                "  {} {:<16} {}",
                short(&h.commit),
                h.outcome.as_str(),
                h.description
            );
        }
    }
    Ok(0)
}
