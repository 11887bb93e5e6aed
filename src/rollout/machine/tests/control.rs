//! Orders from people: approval of a batch that waits for one, pause and
//! resume (kept in the saved record), abort rolling back whatever
//! `onFailure` says, and refusals that change nothing.

use super::super::control::{command, Command, Order};
use super::super::*;
use super::fixtures::*;

fn order(command: Command) -> Order {
    Order {
        command,
        by: "alice".into(),
    }
}

fn approving() -> Terms {
    Terms {
        approval_before: [1].into_iter().collect(),
        ..rollback()
    }
}

#[test]
fn a_batch_that_needs_approval_holds_until_approved() {
    let terms = approving();
    let (r, step) = advance(
        at(Phase::Gating { batch: 0 }),
        StepResult::GatePassed,
        &terms,
    );
    assert_eq!(r.phase, Phase::AwaitingApproval { batch: 1 });
    assert_eq!(
        step,
        Step::Hold {
            index: 1,
            why: "waiting for approval".into()
        }
    );
    assert_eq!(
        r.progress(),
        "batch 2/3 · 1/4 clusters · waiting for approval"
    );
    // Results meant for other phases change nothing while it waits.
    let (same, _) = advance(r.clone(), StepResult::GatePassed, &terms);
    assert_eq!(same, r);
    let mut approved = r.clone();
    assert_eq!(
        command(&mut approved, &order(Command::Approve), &terms),
        Ok("batch 2 approved by alice".into())
    );
    assert_eq!(approved.approvals[&1], "alice");
    assert!(matches!(
        next(&approved),
        Step::PrepareBatch { index: 1, .. }
    ));
    let mut again = approved.clone();
    assert_eq!(
        command(&mut again, &order(Command::Approve), &terms),
        Err("batch 2 does not wait for approval".into())
    );
    assert_eq!(again, approved, "a refused order changes nothing");
    // Batch 3 needs no approval.
    let (r, _) = advance(
        at(Phase::Gating { batch: 1 }),
        StepResult::GatePassed,
        &terms,
    );
    assert_eq!(r.phase, Phase::Preparing { batch: 2 });
}

#[test]
fn pause_holds_across_a_restart_and_resume_goes_on() {
    let terms = rollback();
    let mut r = at(Phase::Preparing { batch: 1 });
    assert_eq!(
        command(&mut r, &order(Command::Pause), &terms),
        Ok("paused at batch 2 by alice".into())
    );
    let hold = Step::Hold {
        index: 1,
        why: "paused by alice".into(),
    };
    assert_eq!(next(&r), hold);
    assert_eq!(r.progress(), "batch 2/3 · 1/4 clusters · paused");
    let saved: RolloutRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(resume(saved.clone()).1, hold, "the pause is in the record");
    let mut twice = saved.clone();
    assert!(command(&mut twice, &order(Command::Pause), &terms).is_err());
    let mut resumed = saved;
    assert_eq!(
        command(&mut resumed, &order(Command::Resume), &terms),
        Ok("resumed at batch 2 by alice".into())
    );
    assert!(matches!(
        next(&resumed),
        Step::PrepareBatch { index: 1, .. }
    ));
    assert_eq!(
        command(&mut resumed, &order(Command::Resume), &terms),
        Err("not paused (batch 2 goes on)".into())
    );
}

#[test]
fn abort_rolls_back_even_under_pause_on_failure() {
    let mut r = at(Phase::Gating { batch: 1 });
    r.paused = Some("bob".into());
    assert_eq!(
        command(&mut r, &order(Command::Abort), &pause()),
        Ok("aborted at batch 2 by alice: rolling back".into())
    );
    assert_eq!(r.paused, None);
    assert_eq!(
        r.failure.as_ref().map(|f| f.to_string()).as_deref(),
        Some("batch 2 aborted by alice")
    );
    assert_eq!(
        next(&r),
        Step::Restore {
            cluster: "a".into(),
            to: Some("old".into())
        }
    );
}

#[test]
fn orders_outside_a_forward_phase_are_refused() {
    for phase in [
        Phase::Planning,
        Phase::RollingBack {
            cluster: "a".into(),
        },
        Phase::Done {
            outcome: crate::outcome::RolloutOutcome::Succeeded,
        },
    ] {
        for c in Command::ALL {
            let mut r = at(phase.clone());
            let before = r.clone();
            let got = command(&mut r, &order(c), &rollback());
            assert!(got.is_err(), "{phase:?} {c}: {got:?}");
            assert_eq!(r, before);
        }
    }
}
