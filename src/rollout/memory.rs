//! What the fleet remembers across rollouts: the last good commit, the
//! failed commits (not retried until a newer commit arrives), the commit
//! each cluster runs, the last outcome per app, and the recent history.
//! A failed *input-change* rollout (the last good commit with new render
//! inputs) fails the change, not the commit: the commit is not failed and
//! stays the last good one; the history says `input change failed: …`.
//! Pure rules for how a finished rollout changes it; the state layer
//! ([`super::state`]) is the only writer.

use super::record::{Previous, RestoreResult, RolloutRecord};
use crate::outcome::{CommitOutcome, RolloutOutcome};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Rollouts kept in the history.
pub const HISTORY_LEN: usize = 50;

/// One finished rollout, as remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Commit.
    pub commit: String,
    /// Outcome.
    pub outcome: RolloutOutcome,
    /// One-line description (as in the commit status).
    pub description: String,
    /// Batches it used.
    pub batches: Vec<Vec<String>>,
    /// Unix seconds when it started.
    pub started_at: u64,
    /// Unix seconds when it finished.
    pub finished_at: u64,
}

/// What the fleet remembers across rollouts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetMemory {
    /// Last commit rolled out successfully everywhere it went.
    pub last_good: Option<String>,
    /// Commits that failed: not retried until a newer commit arrives.
    pub failed: BTreeSet<String>,
    /// Last commit each cluster ran after a rollout (for status pages).
    pub cluster_commits: BTreeMap<String, String>,
    /// Recent rollouts, newest last.
    pub history: Vec<HistoryEntry>,
    /// Last rollout that changed each app (what per-app badges show).
    #[serde(default)]
    pub apps: BTreeMap<String, CommitOutcome>,
}

impl FleetMemory {
    /// Appends to the history, keeping the last [`HISTORY_LEN`]. The same
    /// rollout finished twice (a crash between saving the memory and
    /// clearing the record) replaces its entry instead of adding one.
    pub fn remember(&mut self, entry: HistoryEntry) {
        if let Some(last) = self.history.last_mut() {
            if last.commit == entry.commit
                && last.started_at == entry.started_at
                && last.outcome == entry.outcome
            {
                *last = entry;
                return;
            }
        }
        self.history.push(entry);
        let excess = self.history.len().saturating_sub(HISTORY_LEN);
        self.history.drain(..excess);
    }

    /// Records a finished rollout: `apps` are the apps it changed.
    pub fn record_rollout(
        &mut self,
        record: &RolloutRecord,
        apps: &BTreeSet<String>,
        finished_at: u64,
    ) {
        let Some(outcome) = record.outcome() else {
            return;
        };
        let description = if record.inputs_change && !outcome.is_success() {
            format!("input change failed: {}", record.describe())
        } else {
            record.describe()
        };
        if outcome.is_success() {
            self.last_good = Some(record.commit.clone());
            self.failed.remove(&record.commit);
            for c in record.batches.iter().flatten() {
                self.cluster_commits
                    .insert(c.clone(), record.commit.clone());
            }
        } else {
            if !record.inputs_change {
                self.failed.insert(record.commit.clone());
            }
            for c in &record.done {
                self.cluster_commits
                    .insert(c.clone(), record.commit.clone());
            }
            for (c, result) in &record.rollback {
                match (result, record.previous.get(c)) {
                    (RestoreResult::Restored, Some(Previous::Commit(p))) => {
                        self.cluster_commits.insert(c.clone(), p.clone());
                    }
                    (RestoreResult::Restored, Some(Previous::Nothing)) => {
                        self.cluster_commits.remove(c);
                    }
                    _ => {}
                }
            }
        }
        let app_outcome = CommitOutcome {
            commit: record.commit.clone(),
            outcome,
            description: description.clone(),
        };
        for app in apps {
            self.apps.insert(app.clone(), app_outcome.clone());
        }
        self.remember(HistoryEntry {
            commit: record.commit.clone(),
            outcome,
            description,
            batches: record.batches.clone(),
            started_at: record.started_at,
            finished_at,
        });
    }

    /// Records a commit that could not be read, validated or rendered.
    pub fn record_invalid(&mut self, commit: &str, description: &str, now: u64) {
        self.failed.insert(commit.to_string());
        self.remember(HistoryEntry {
            commit: commit.to_string(),
            outcome: RolloutOutcome::Invalid,
            description: description.to_string(),
            batches: vec![],
            started_at: now,
            finished_at: now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::Phase;
    use super::*;

    fn finished(outcome: RolloutOutcome) -> RolloutRecord {
        let mut r = RolloutRecord::new("new", 5);
        r.batches = vec![vec!["a".into()], vec!["b".into(), "c".into()]];
        r.phase = Phase::Done { outcome };
        r
    }

    #[test]
    fn success_moves_every_participant_and_the_last_good_commit() {
        let mut m = FleetMemory::default();
        m.failed.insert("new".into());
        let apps = BTreeSet::from(["shop".to_string()]);
        m.record_rollout(&finished(RolloutOutcome::Succeeded), &apps, 9);
        assert_eq!(m.last_good.as_deref(), Some("new"));
        assert!(m.failed.is_empty(), "a commit that succeeded is not failed");
        assert_eq!(m.cluster_commits.len(), 3);
        assert_eq!(m.apps["shop"].outcome, RolloutOutcome::Succeeded);
        assert_eq!(m.history.len(), 1);
    }

    #[test]
    fn a_rollback_records_only_what_is_known() {
        let mut m = FleetMemory::default();
        m.cluster_commits.insert("a".into(), "old".into());
        m.cluster_commits.insert("b".into(), "old".into());
        m.cluster_commits.insert("c".into(), "older".into());
        let mut r = finished(RolloutOutcome::RollbackFailed);
        r.touched = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        r.previous
            .insert("a".into(), Previous::Commit("old".into()));
        r.previous.insert("b".into(), Previous::Nothing);
        r.previous
            .insert("c".into(), Previous::Unknown("500".into()));
        r.rollback.insert("a".into(), RestoreResult::Restored);
        r.rollback.insert("b".into(), RestoreResult::Restored);
        r.rollback
            .insert("c".into(), RestoreResult::Failed("unknown".into()));
        m.record_rollout(&r, &BTreeSet::new(), 9);
        assert_eq!(m.cluster_commits.get("a").map(String::as_str), Some("old"));
        assert_eq!(m.cluster_commits.get("b"), None, "b runs nothing again");
        assert_eq!(
            m.cluster_commits.get("c").map(String::as_str),
            Some("older")
        );
        assert!(m.failed.contains("new"));
        assert_eq!(m.last_good, None);
    }

    #[test]
    fn a_failed_input_change_fails_neither_the_commit_nor_last_good() {
        let mut m = FleetMemory {
            last_good: Some("new".into()),
            ..Default::default()
        };
        m.cluster_commits.insert("a".into(), "new".into());
        let mut r = finished(RolloutOutcome::RolledBack);
        r.inputs_change = true;
        r.touched.insert("a".into());
        r.previous
            .insert("a".into(), Previous::Commit("new".into()));
        r.rollback.insert("a".into(), RestoreResult::Restored);
        let apps = BTreeSet::from(["shop".to_string()]);
        m.record_rollout(&r, &apps, 9);
        assert_eq!(m.last_good.as_deref(), Some("new"), "last good unchanged");
        assert!(
            m.failed.is_empty(),
            "the commit is not failed: {:?}",
            m.failed
        );
        assert_eq!(m.cluster_commits.get("a").map(String::as_str), Some("new"));
        let entry = m.history.last().expect("in the history");
        assert_eq!(entry.outcome, RolloutOutcome::RolledBack);
        assert!(
            entry.description.starts_with("input change failed: "),
            "{}",
            entry.description
        );
        assert_eq!(m.apps["shop"].description, entry.description);

        // The same rollout as a commit's (not an input change) fails it.
        r.inputs_change = false;
        r.started_at = 6;
        m.record_rollout(&r, &apps, 10);
        assert!(m.failed.contains("new"));
        assert_eq!(m.history.len(), 2);
        assert!(!m.history[1].description.starts_with("input change"));
    }

    #[test]
    fn a_record_says_it_is_an_input_change_and_old_records_are_not() {
        let mut r = finished(RolloutOutcome::RolledBack);
        let plain = serde_json::to_value(&r).unwrap();
        assert!(plain.get("inputsChange").is_none(), "{plain}");
        let old: RolloutRecord = serde_json::from_value(plain).unwrap();
        assert!(!old.inputs_change);
        r.inputs_change = true;
        let json = serde_json::to_string(&r).unwrap();
        let back: RolloutRecord = serde_json::from_str(&json).unwrap();
        assert!(back.inputs_change, "{json}");
    }

    #[test]
    fn a_successful_input_change_keeps_the_commit_good() {
        let mut m = FleetMemory {
            last_good: Some("new".into()),
            ..Default::default()
        };
        let mut r = finished(RolloutOutcome::Succeeded);
        r.inputs_change = true;
        m.record_rollout(&r, &BTreeSet::new(), 9);
        assert_eq!(m.last_good.as_deref(), Some("new"));
        assert!(m.failed.is_empty());
        assert!(m.history[0].description.starts_with("deployed to 3"));
    }

    #[test]
    fn finishing_the_same_rollout_twice_keeps_one_history_entry() {
        let mut m = FleetMemory::default();
        let r = finished(RolloutOutcome::RolledBack);
        m.record_rollout(&r, &BTreeSet::new(), 9);
        m.record_rollout(&r, &BTreeSet::new(), 10);
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.history[0].finished_at, 10);
        for i in 0..(HISTORY_LEN + 5) {
            m.record_invalid(&format!("c{i}"), "invalid: x", i as u64);
        }
        assert_eq!(m.history.len(), HISTORY_LEN);
        assert_eq!(m.history.last().map(|h| h.commit.as_str()), Some("c54"));
    }
}
