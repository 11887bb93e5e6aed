//! Control of an in-flight rollout by a person: approve the batch that
//! waits for approval, pause, resume, abort. Each [`Order`] either changes
//! the record (saved before anything else happens, so a pause survives a
//! restart or a change of leader) and says what it did, or is refused with
//! why. Pure: the executor takes orders between steps.
//!
//! * **Pause** holds the rollout before its next step (no further write);
//!   a rollback in progress is not paused.
//! * **Resume** lifts the pause.
//! * **Approve** starts the batch waiting in `AwaitingApproval`.
//! * **Abort** fails the rollout at once and rolls back every touched
//!   cluster, whatever `onFailure` says.

use super::{fail, Terms};
use crate::model::OnFailure;
use crate::rollout::record::{Failure, Phase, RolloutRecord};
use std::fmt;

/// What a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Start the batch that waits for approval.
    Approve,
    /// Hold before the next step.
    Pause,
    /// Lift a pause.
    Resume,
    /// Roll back now.
    Abort,
}

impl Command {
    /// Every command, as spelled in the API and on the command line.
    pub const ALL: [Command; 4] = [
        Command::Approve,
        Command::Pause,
        Command::Resume,
        Command::Abort,
    ];

    /// `approve`, `pause`, `resume`, `abort`.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Approve => "approve",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Abort => "abort",
        }
    }

    /// Parses the spelling of [`Command::as_str`].
    pub fn parse(text: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command and who gave it (`alice via the control API`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// What.
    pub command: Command,
    /// Who, for the record and the messages.
    pub by: String,
}

/// Whether the record is in a phase that moves forward (not planning, not
/// rolling back, not done).
pub(super) fn forward(phase: &Phase) -> Option<usize> {
    match phase {
        Phase::Waiting { batch, .. }
        | Phase::AwaitingApproval { batch }
        | Phase::Preparing { batch }
        | Phase::Applying { batch }
        | Phase::Gating { batch } => Some(*batch),
        Phase::Planning | Phase::RollingBack { .. } | Phase::Done { .. } => None,
    }
}

/// Applies `order` to the record; `Ok` says what it did, `Err` why not
/// (the record is then unchanged).
pub fn command(record: &mut RolloutRecord, order: &Order, terms: &Terms) -> Result<String, String> {
    let Some(batch) = forward(&record.phase) else {
        return Err(format!(
            "the rollout is {}: nothing to {}",
            record.progress(),
            order.command
        ));
    };
    let n = batch + 1;
    match order.command {
        Command::Pause if record.paused.is_some() => Err(format!("already paused at batch {n}")),
        Command::Pause => {
            record.paused = Some(order.by.clone());
            Ok(format!("paused at batch {n} by {}", order.by))
        }
        Command::Resume => match record.paused.take() {
            Some(_) => Ok(format!("resumed at batch {n} by {}", order.by)),
            None => Err(format!("not paused (batch {n} goes on)")),
        },
        Command::Approve => match record.phase {
            Phase::AwaitingApproval { batch } => {
                record.approvals.insert(batch, order.by.clone());
                record.phase = super::wait::enter_approved(batch, terms);
                Ok(format!("batch {n} approved by {}", order.by))
            }
            _ => Err(format!("batch {n} does not wait for approval")),
        },
        Command::Abort => {
            record.paused = None;
            let failure = Failure {
                cluster: format!("batch {n}"),
                object: None,
                reason: format!("aborted by {}", order.by),
            };
            let rollback = Terms {
                on_failure: OnFailure::Rollback,
                ..terms.clone()
            };
            fail(record, failure, &rollback);
            super::settle(record);
            Ok(format!(
                "aborted at batch {n} by {}: rolling back",
                order.by
            ))
        }
    }
}
