//! Tests of the state store.

use super::*;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Progress {
    commit: String,
    batch: usize,
    done: Vec<String>,
    last_good: Option<String>,
    per_cluster: BTreeMap<String, Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Step {
    Applied { objects: u32 },
    Healthy,
}

fn progress(commit: &str) -> Progress {
    Progress {
        commit: commit.into(),
        batch: 1,
        done: vec!["canary".into()],
        last_good: Some("0123abc".into()),
        per_cluster: BTreeMap::from([
            ("canary".to_string(), Step::Healthy),
            ("prod-a".to_string(), Step::Applied { objects: 3 }),
        ]),
    }
}

fn store() -> (tempfile::TempDir, StateStore) {
    let tmp = tempfile::tempdir().unwrap();
    let store = StateStore::open(tmp.path().join("state")).unwrap();
    (tmp, store)
}

#[test]
fn round_trip_of_nested_state() {
    let (_tmp, store) = store();
    assert_eq!(store.load::<Progress>("rollout").unwrap(), None);
    store.save("rollout", &progress("feed")).unwrap();
    assert_eq!(
        store.load::<Progress>("rollout").unwrap(),
        Some(progress("feed"))
    );
    store.save("rollout", &progress("beef")).unwrap();
    assert_eq!(
        store.load::<Progress>("rollout").unwrap(),
        Some(progress("beef"))
    );
    assert_eq!(store.keys().unwrap(), vec!["rollout".to_string()]);
    store.remove("rollout").unwrap();
    store.remove("rollout").unwrap();
    assert_eq!(store.load::<Progress>("rollout").unwrap(), None);
}

#[test]
fn crash_before_rename_keeps_old_value_and_temp_is_cleaned() {
    let (_tmp, store) = store();
    store.save("rollout", &progress("old")).unwrap();
    // A writer died after writing half of its temp file.
    let leftover = store.dir().join(".rollout.json.tmp-4242-0");
    fs::write(&leftover, b"{\"commit\": \"new\", \"bat").unwrap();
    assert_eq!(
        store.load::<Progress>("rollout").unwrap(),
        Some(progress("old"))
    );
    assert_eq!(store.keys().unwrap(), vec!["rollout".to_string()]);
    let _lock = store.lock().unwrap();
    assert!(!leftover.exists());
    assert!(store.dir().join("rollout.json").exists());
}

#[test]
fn truncated_file_is_a_clear_error() {
    let (_tmp, store) = store();
    store.save("rollout", &progress("old")).unwrap();
    let path = store.dir().join("rollout.json");
    let text = fs::read(&path).unwrap();
    fs::write(&path, &text[..text.len() / 2]).unwrap();
    let err = store.load::<Progress>("rollout").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("Move it aside"), "{msg}");
    // The damaged file is left for inspection, and a new save repairs it.
    assert!(path.exists());
    store.save("rollout", &progress("new")).unwrap();
    assert_eq!(
        store.load::<Progress>("rollout").unwrap(),
        Some(progress("new"))
    );
}

#[test]
fn wrong_shape_is_corrupt_too() {
    let (_tmp, store) = store();
    store.save("rollout", &vec![1, 2, 3]).unwrap();
    assert!(matches!(
        store.load::<Progress>("rollout"),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn keys_are_validated() {
    let (_tmp, store) = store();
    for bad in [
        "",
        "../escape",
        "a/b",
        ".hidden",
        "Upper",
        "sp ace",
        "a\\b",
        &"x".repeat(129),
    ] {
        let err = store.save(bad, &1).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(store.load::<u32>(bad).is_err());
        assert!(store.remove(bad).is_err());
    }
    store.save("rollout-shop_v1.2", &1).unwrap();
    assert_eq!(store.load::<u32>("rollout-shop_v1.2").unwrap(), Some(1));
}

#[test]
fn second_lock_is_refused_until_released() {
    let (_tmp, store) = store();
    let other = StateStore::open(store.dir()).unwrap();
    let held = store.lock().unwrap();
    let err = other.lock().unwrap_err();
    match &err {
        StoreError::Locked { dir, holder } => {
            assert_eq!(dir, store.dir());
            assert_eq!(*holder, Some(std::process::id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(err
        .to_string()
        .contains(&format!("pid {}", std::process::id())));
    drop(held);
    let _again = other.lock().unwrap();
}

#[test]
fn open_creates_nested_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/c");
    let store = StateStore::open(&dir).unwrap();
    assert!(dir.is_dir());
    assert_eq!(store.keys().unwrap(), Vec::<String>::new());
}
