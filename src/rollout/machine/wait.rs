//! Waiting before a batch starts: the pause between batches,
//! `minSuccessTime` and time windows. The machine has no clock, so a wait
//! takes two steps: the first asks the executor for the time
//! ([`StepResult::WaitStarted`]), from which the machine fixes the
//! earliest start and saves it in the phase (a restart keeps it); the
//! second waits until then and until a window is open
//! ([`StepResult::Waited`]), which starts the batch.

use super::{StepResult, Terms};
use crate::rollout::record::{Phase, RolloutRecord};

/// The phase that starts batch `batch`: approval first when the policy
/// asks a person for it, then a wait when it asks for one, else straight
/// to preparing it.
pub(super) fn enter(batch: usize, terms: &Terms) -> Phase {
    if terms.approval_before.contains(&batch) {
        Phase::AwaitingApproval { batch }
    } else {
        enter_approved(batch, terms)
    }
}

/// The phase after batch `batch`'s approval (or when it needs none).
pub(super) fn enter_approved(batch: usize, terms: &Terms) -> Phase {
    if terms.waits() {
        Phase::Waiting { batch, until: None }
    } else {
        Phase::Preparing { batch }
    }
}

/// Applies a wait result to a record in `Waiting { batch, until }`.
pub(super) fn on_result(
    record: &mut RolloutRecord,
    batch: usize,
    until: Option<u64>,
    result: StepResult,
    terms: &Terms,
) {
    match (until, result) {
        (None, StepResult::WaitStarted { at }) => {
            let mut earliest = at;
            if batch > 0 {
                earliest = earliest.max(at.saturating_add(terms.pause.as_secs()));
                if let Some(prev) = record.batch_started.get(&(batch - 1)) {
                    earliest = earliest.max(prev.saturating_add(terms.min_success.as_secs()));
                }
            }
            record.phase = Phase::Waiting {
                batch,
                until: Some(earliest),
            };
        }
        (Some(_), StepResult::Waited { at }) => {
            record.batch_started.insert(batch, at);
            record.phase = Phase::Preparing { batch };
        }
        _ => {}
    }
}
