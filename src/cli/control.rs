//! `tranche rollout approve|pause|resume|abort`: one order to the daemon's
//! control API, with the bearer token read from a file (never printed).
//! Exit 0 when the rollout did it, 1 when it refused (the reason on
//! stderr), 2 when the daemon cannot be asked.

use crate::daemon::control::OrderAnswer;
use crate::report::Secret;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The order.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Action {
    /// Start the batch that waits for approval.
    Approve,
    /// Hold the rollout before its next step (no further writes).
    Pause,
    /// Lift a pause.
    Resume,
    /// Roll back every touched cluster now.
    Abort,
}

/// Arguments of `tranche rollout`.
#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: Action,
    /// Base URL of the daemon's HTTP server.
    #[arg(long, env = "TRANCHE_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// File holding the control API's bearer token.
    #[arg(long, env = "TRANCHE_CONTROL_TOKEN_FILE")]
    pub token_file: PathBuf,
    /// Who gives the order (kept in the record and shown in statuses).
    #[arg(long, env = "USER", default_value = "someone")]
    pub by: String,
}

/// Sends the order; returns the exit code.
pub async fn run(args: &RolloutArgs) -> anyhow::Result<u8> {
    let token = Secret::from_file(&args.token_file).context("control token")?;
    let action = match args.action {
        Action::Approve => "approve",
        Action::Pause => "pause",
        Action::Resume => "resume",
        Action::Abort => "abort",
    };
    let url = format!("{}/api/rollout/{action}", args.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.expose())
        .json(&serde_json::json!({ "by": args.by }))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {url}: {}", token.redact(&e.to_string())))?;
    let status = response.status();
    let answer: OrderAnswer = response
        .json()
        .await
        .with_context(|| format!("{url} answered {status} without a control answer"))?;
    if answer.done {
        println!("{}", answer.message);
        Ok(0)
    } else {
        eprintln!("refused ({status}): {}", answer.message);
        Ok(if status.as_u16() == 401 || status.as_u16() == 404 {
            2
        } else {
            1
        })
    }
}
