//! Performing [`Step::Wait`](crate::rollout::machine::Step::Wait) with a
//! fixed earliest start: poll the injected clock until that time has come
//! and a time window of the policy is open, telling observers why the
//! batch waits (once per reason).

use super::Rollout;
use crate::model::staging::{instant, next_open, windows_open};
use crate::revision::Revision;
use crate::rollout::event::RolloutEvent;
use crate::rollout::machine::StepResult;
use std::time::Duration;

impl Rollout<'_> {
    /// Waits until `until` (unix seconds) and an open window; `None` when
    /// halted meanwhile.
    pub(super) async fn wait(
        &self,
        index: usize,
        until: u64,
        rev: &Revision,
    ) -> Option<StepResult> {
        let windows = &rev.fleet.policies.rollout.windows;
        let mut told = String::new();
        loop {
            let now = self.clock.now();
            let reason = if now < until {
                format!(
                    "waits until {} (pause between batches / minSuccessTime)",
                    instant(until)
                )
            } else if !windows_open(windows, now) {
                let list: Vec<String> = windows.iter().map(|w| w.to_string()).collect();
                match next_open(windows, now) {
                    Some(at) => format!(
                        "outside its time windows ({}); next opens {}",
                        list.join(", "),
                        instant(at)
                    ),
                    None => format!("outside its time windows ({})", list.join(", ")),
                }
            } else {
                return Some(StepResult::Waited { at: now });
            };
            if reason != told {
                tracing::info!(batch = index + 1, %reason, "batch waits to start");
                self.observer.on_event(&RolloutEvent::Waiting {
                    index,
                    reason: reason.clone(),
                });
                told = reason;
            }
            if self.halted() {
                return None;
            }
            tokio::time::sleep(self.poll.min(Duration::from_secs(5))).await;
        }
    }
}
