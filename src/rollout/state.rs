//! The one typed state layer: the in-flight [`RolloutRecord`] and the
//! [`FleetMemory`], kept in a [`StateStore`] (atomic writes, one lock per
//! directory, optional mirror). Nothing else reads or writes these two
//! keys: the executor saves the record before every step and records
//! outcomes here, the daemon and `tranche status` read them here.

use super::memory::FleetMemory;
use super::record::{now, RolloutRecord};
use super::store::{StateStore, StoreError};
use crate::outcome::RolloutOutcome;
use std::collections::BTreeSet;

/// State-store key of the in-flight rollout.
pub const ROLLOUT_KEY: &str = "rollout";
/// State-store key of the fleet memory.
pub const FLEET_KEY: &str = "fleet";
/// State-store key of the failover state of every app with `spec.failover`.
pub const FAILOVER_KEY: &str = "failover";

/// State-store key of the weights last used per app (`dynamicWeight`).
pub const WEIGHTS_KEY: &str = "weights";

/// State-store key of the failover state before the input-change rollout
/// in flight (what its failure restores, also after a restart).
pub const FAILOVER_BEFORE_KEY: &str = "failover-before";

/// State-store key of the weights of the last weights change that failed
/// to roll out (not tried again while capacity stays near them).
pub const WEIGHTS_FAILED_KEY: &str = "weights-failed";

/// Failover state per app, as persisted under [`FAILOVER_KEY`].
pub type FailoverStates = std::collections::BTreeMap<String, super::failover::FailoverState>;

/// The rollout record and the fleet memory, typed.
#[derive(Debug, Clone)]
pub struct RolloutState {
    store: StateStore,
}

impl RolloutState {
    /// The state kept in `store`.
    pub fn new(store: StateStore) -> RolloutState {
        RolloutState { store }
    }

    /// The store underneath (locking, mirroring, restoring replicas).
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// The rollout in flight, if any.
    pub fn record(&self) -> Result<Option<RolloutRecord>, StoreError> {
        self.store.load(ROLLOUT_KEY)
    }

    /// Saves the record (atomically: a crash leaves the old one or this one).
    pub fn save_record(&self, record: &RolloutRecord) -> Result<(), StoreError> {
        self.store.save(ROLLOUT_KEY, record)
    }

    /// The failover state of every app (empty when none ever failed over);
    /// kept across restarts so that a failed-over cluster stays failed over.
    pub fn failover(&self) -> Result<FailoverStates, StoreError> {
        Ok(self.store.load(FAILOVER_KEY)?.unwrap_or_default())
    }

    /// Saves the failover state of every app (atomically).
    pub fn save_failover(&self, states: &FailoverStates) -> Result<(), StoreError> {
        self.store.save(FAILOVER_KEY, states)
    }

    /// The failover state before the input-change rollout in flight, if
    /// one is.
    pub fn failover_before(&self) -> Result<Option<FailoverStates>, StoreError> {
        self.store.load(FAILOVER_BEFORE_KEY)
    }

    /// Saves the failover state before an input-change rollout (`None`:
    /// it finished; forget it).
    pub fn save_failover_before(&self, states: Option<&FailoverStates>) -> Result<(), StoreError> {
        match states {
            Some(s) => self.store.save(FAILOVER_BEFORE_KEY, s),
            None => self.store.remove(FAILOVER_BEFORE_KEY),
        }
    }

    /// The weights by free capacity last rolled out, per app and cluster
    /// (empty before the first): the hysteresis compares new ones with
    /// them, across commits and restarts.
    pub fn weights(&self) -> Result<crate::revision::inputs::Weights, StoreError> {
        Ok(self.store.load(WEIGHTS_KEY)?.unwrap_or_default())
    }

    /// Saves the weights last rolled out (atomically).
    pub fn save_weights(
        &self,
        weights: &crate::revision::inputs::Weights,
    ) -> Result<(), StoreError> {
        self.store.save(WEIGHTS_KEY, weights)
    }

    /// The weights of the last input-change rollout that failed (empty
    /// when the last one succeeded).
    pub fn failed_weights(&self) -> Result<crate::revision::inputs::Weights, StoreError> {
        Ok(self.store.load(WEIGHTS_FAILED_KEY)?.unwrap_or_default())
    }

    /// Saves the weights of an input-change rollout that failed (empty:
    /// forget them).
    pub fn save_failed_weights(
        &self,
        weights: &crate::revision::inputs::Weights,
    ) -> Result<(), StoreError> {
        if weights.is_empty() {
            self.store.remove(WEIGHTS_FAILED_KEY)
        } else {
            self.store.save(WEIGHTS_FAILED_KEY, weights)
        }
    }

    /// `app: failover active for c1 since …` lines of every app with a
    /// failed-over cluster or a refusal, for `/api/status`, metrics and
    /// commit statuses.
    pub fn failover_summary(states: &FailoverStates) -> Vec<String> {
        states
            .iter()
            .flat_map(|(app, s)| {
                s.describe()
                    .into_iter()
                    .chain(s.refused.clone())
                    .chain(s.rolled_back.clone())
                    .map(move |line| format!("{app}: {line}"))
            })
            .collect()
    }

    /// What the fleet remembers (empty before the first rollout).
    pub fn memory(&self) -> Result<FleetMemory, StoreError> {
        Ok(self.store.load(FLEET_KEY)?.unwrap_or_default())
    }

    /// Records a finished rollout (`apps`: the apps it changed) in the
    /// fleet memory, then clears the record, or keeps it when the rollback
    /// is incomplete so that the next start retries it. Finishing the same
    /// record twice (a crash in between) changes nothing more.
    pub fn finish(
        &self,
        record: &RolloutRecord,
        apps: &BTreeSet<String>,
    ) -> Result<FleetMemory, StoreError> {
        let mut memory = self.memory()?;
        memory.record_rollout(record, apps, now());
        self.store.save(FLEET_KEY, &memory)?;
        if record.outcome() == Some(RolloutOutcome::RollbackFailed) {
            self.save_record(record)?;
        } else {
            self.store.remove(ROLLOUT_KEY)?;
        }
        Ok(memory)
    }

    /// Records a commit that cannot be deployed (invalid): it is failed,
    /// and in the history.
    pub fn remember_invalid(
        &self,
        commit: &str,
        description: &str,
    ) -> Result<FleetMemory, StoreError> {
        let mut memory = self.memory()?;
        memory.record_invalid(commit, description, now());
        self.store.save(FLEET_KEY, &memory)?;
        Ok(memory)
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::{Phase, RestoreResult};
    use super::*;

    #[test]
    fn finishing_clears_the_record_unless_the_rollback_is_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let state = RolloutState::new(StateStore::open(dir.path()).unwrap());
        assert_eq!(state.record().unwrap(), None);
        let mut r = RolloutRecord::new("abc", 1);
        r.batches = vec![vec!["a".into()]];
        state.save_record(&r).unwrap();
        assert_eq!(state.record().unwrap(), Some(r.clone()));
        r.phase = Phase::Done {
            outcome: RolloutOutcome::Succeeded,
        };
        let m = state.finish(&r, &BTreeSet::new()).unwrap();
        assert_eq!(m.last_good.as_deref(), Some("abc"));
        assert_eq!(state.record().unwrap(), None);
        assert_eq!(state.memory().unwrap(), m);

        r.touched.insert("a".into());
        r.rollback
            .insert("a".into(), RestoreResult::Failed("unreachable".into()));
        r.phase = Phase::Done {
            outcome: RolloutOutcome::RollbackFailed,
        };
        state.finish(&r, &BTreeSet::new()).unwrap();
        assert_eq!(state.record().unwrap(), Some(r), "kept to be retried");
        let m = state.remember_invalid("bad", "invalid: x").unwrap();
        assert!(m.failed.contains("bad"));
        assert_eq!(m.history.len(), 3);
    }

    #[test]
    fn failover_state_survives_a_reopen_and_is_summarised() {
        let dir = tempfile::tempdir().unwrap();
        let state = RolloutState::new(StateStore::open(dir.path()).unwrap());
        assert!(state.failover().unwrap().is_empty());
        let mut shop = super::super::failover::FailoverState::default();
        shop.failed.insert("c1".into(), 1_780_000_000);
        let states: FailoverStates = [("shop".to_string(), shop)].into();
        state.save_failover(&states).unwrap();
        drop(state);
        let reopened = RolloutState::new(StateStore::open(dir.path()).unwrap());
        let back = reopened.failover().unwrap();
        assert_eq!(back, states);
        assert_eq!(
            RolloutState::failover_summary(&back),
            ["shop: failover active for c1 since 2026-05-28T20:26:40Z"]
        );
    }
}
