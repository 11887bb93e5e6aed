//! A second home for durable state: every committed change of a
//! [`super::StateStore`] is handed to a mirror (after the local write is
//! durable), so another process — a standby replica that takes over, a pod
//! restarted on an empty volume — can restore it and resume.

/// Receives every committed change of a state store. Implementations must
/// not fail the caller: a mirror that cannot write logs and moves on (the
/// local store stays the durable copy).
pub trait Mirror: Send + Sync {
    /// `key` now holds `json`.
    fn put(&self, key: &str, json: &str);
    /// `key` was removed.
    fn delete(&self, key: &str);
}

#[cfg(test)]
mod tests {
    use super::super::StateStore;
    use super::Mirror;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Mirror for Recorder {
        fn put(&self, key: &str, json: &str) {
            self.0.lock().unwrap().push(format!("put {key} {json}"));
        }
        fn delete(&self, key: &str) {
            self.0.lock().unwrap().push(format!("delete {key}"));
        }
    }

    #[test]
    fn saves_and_removes_are_mirrored_but_restores_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Arc::new(Recorder::default());
        let store = StateStore::open(dir.path())
            .unwrap()
            .with_mirror(rec.clone());
        store
            .save("rollout", &serde_json::json!({"batch": 1}))
            .unwrap();
        store.remove("rollout").unwrap();
        store.restore("fleet", "{\"lastGood\": \"abc\"}").unwrap();
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec![
                "put rollout {\"batch\":1}".to_string(),
                "delete rollout".to_string()
            ]
        );
        let restored: serde_json::Value = store.load("fleet").unwrap().unwrap();
        assert_eq!(restored["lastGood"], "abc");
        assert!(
            store.restore("fleet", "{not json").is_err(),
            "bad JSON is refused"
        );
    }
}
