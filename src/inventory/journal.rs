//! The apply journal: one write, before any object, that tracks everything
//! an apply may create on a cluster.
//!
//! Instead of one pending inventory per app (a write each, before the
//! first object), an apply records in the cluster record `tranche.cluster`
//! the commit it applies (`pending`) and, per app it writes, every object
//! the app may hold afterwards (old ∪ new: key `journal`). Reading the
//! state merges the journal into the inventories: an app named there is
//! pending and tracks those objects too, so a crash at any point after the
//! journal never leaves an object untracked. The record's `commit` keeps
//! the commit the cluster completed until the apply settles.
//!
//! Settling writes each app's inventory and then the record with the new
//! commit and no journal (one atomic write), so a failed settle leaves the
//! journal in place and the apps pending, as a pending inventory would.
//! A journal over [`JOURNAL_LIMIT`] (a ConfigMap holds 1 MiB) is not
//! written: the apply falls back to pending inventories per app.

use super::{cluster_record, Inventory};
use crate::object::ObjectRef;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Largest journal written into the record, in bytes of JSON.
pub const JOURNAL_LIMIT: usize = 512 * 1024;

/// What an unfinished apply tracks: its commit, and every object each app
/// it writes may hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Journal {
    /// Commit being applied.
    pub pending: String,
    /// Objects per app (old ∪ new).
    pub objects: BTreeMap<String, BTreeSet<ObjectRef>>,
}

impl Journal {
    /// The journal of pending inventories (their commit and objects).
    pub fn of(pending: &[Inventory], commit: &str) -> Journal {
        Journal {
            pending: commit.to_string(),
            objects: pending
                .iter()
                .map(|i| (i.app.clone(), i.objects.clone()))
                .collect(),
        }
    }

    /// The cluster record holding this journal, keeping `completed` (the
    /// commit the cluster runs now) as its commit; `None` when the journal
    /// is over [`JOURNAL_LIMIT`].
    pub fn to_record(&self, completed: Option<&str>) -> Option<Value> {
        let text = serde_json::to_string(&self.objects).ok()?;
        if text.len() > JOURNAL_LIMIT {
            return None;
        }
        let mut record = cluster_record(completed);
        let data = record.get_mut("data")?.as_object_mut()?;
        data.insert("pending".into(), Value::String(self.pending.clone()));
        data.insert("journal".into(), Value::String(text));
        Some(record)
    }

    /// The journal in a cluster record, if it holds one. An unreadable
    /// journal is read as pending with no objects: its apps cannot be
    /// known, but the state still says an apply did not finish.
    pub fn from_record(record: &Value) -> Option<Journal> {
        let pending = record.pointer("/data/pending")?.as_str()?.to_string();
        let objects = record
            .pointer("/data/journal")
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Some(Journal { pending, objects })
    }

    /// Marks the journal's apps pending in `inventories`, adding the
    /// objects they may hold (an app with no inventory gets a pending one).
    pub fn merge_into(self, inventories: &mut BTreeMap<String, Inventory>) {
        for (app, objects) in self.objects {
            let inv = inventories.entry(app.clone()).or_insert_with(|| Inventory {
                app,
                ..Inventory::default()
            });
            inv.pending = Some(self.pending.clone());
            inv.objects.extend(objects);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    fn settled(app: &str, names: &[&str]) -> Inventory {
        Inventory {
            app: app.into(),
            commit: Some("old".into()),
            objects: names.iter().map(|n| id(n)).collect(),
            ..Inventory::default()
        }
    }

    #[test]
    fn record_round_trip_keeps_the_completed_commit() {
        let mut pending = settled("web", &["a", "b"]);
        pending.pending = Some("new".into());
        let journal = Journal::of(&[pending], "new");
        let record = journal.to_record(Some("old")).expect("small journal");
        assert_eq!(record.pointer("/data/commit"), Some(&json!("old")));
        assert_eq!(record.pointer("/data/pending"), Some(&json!("new")));
        assert_eq!(Journal::from_record(&record), Some(journal));
        assert_eq!(Journal::from_record(&cluster_record(Some("old"))), None);
    }

    #[test]
    fn merging_marks_apps_pending_and_tracks_new_objects() {
        let mut inventories: BTreeMap<String, Inventory> =
            [("web".to_string(), settled("web", &["a"]))].into();
        let journal = Journal {
            pending: "new".into(),
            objects: [
                ("web".to_string(), [id("a"), id("b")].into()),
                ("db".to_string(), [id("c")].into()),
            ]
            .into(),
        };
        journal.merge_into(&mut inventories);
        let web = &inventories["web"];
        assert_eq!(web.pending.as_deref(), Some("new"));
        assert_eq!(web.commit.as_deref(), Some("old"), "completed commit kept");
        assert_eq!(web.objects, [id("a"), id("b")].into());
        let db = &inventories["db"];
        assert_eq!(
            (db.pending.as_deref(), db.commit.as_deref()),
            (Some("new"), None)
        );
        assert_eq!(db.objects, [id("c")].into());
    }

    #[test]
    fn an_unreadable_journal_still_says_an_apply_did_not_finish() {
        let mut record = cluster_record(Some("old"));
        record["data"]["pending"] = json!("new");
        record["data"]["journal"] = json!("{not json");
        let journal = Journal::from_record(&record).expect("pending is there");
        assert_eq!(journal.pending, "new");
        assert!(journal.objects.is_empty());
    }

    #[test]
    fn a_journal_over_the_limit_is_not_written() {
        let objects: BTreeSet<ObjectRef> = (0..8000)
            .map(|i| id(&format!("an-object-with-a-long-name-{i:05}")))
            .collect();
        let journal = Journal {
            pending: "new".into(),
            objects: [("web".to_string(), objects)].into(),
        };
        assert!(journal.to_record(None).is_none());
    }
}
