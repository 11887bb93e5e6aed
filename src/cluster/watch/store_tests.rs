use super::*;

fn cm(name: &str, rv: &str, data: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "n", "resourceVersion": rv,
                        "labels": {"app.kubernetes.io/managed-by": "tranche"},
                        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{…}",
                                        "tranche.dev/commit": "c1"},
                        "managedFields": [{"manager": "tranche"}]},
           "data": {"k": data}})
}

fn deploy(rv: &str, generation: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "n", "resourceVersion": rv,
                        "generation": generation}})
}

fn put(store: &mut WatchStore, object: &Value, full: bool) -> bool {
    let (place, entry) = Entry::of(object, full).unwrap();
    store.apply(place, entry)
}

fn place(name: &str) -> Place {
    (Some("n".into()), name.into())
}

#[test]
fn metadata_entries_keep_what_fingerprints_read_and_drop_the_rest() {
    let (p, e) = Entry::of(&cm("a", "5", "x"), false).unwrap();
    assert_eq!(p, place("a"));
    let v = e.to_value(&p, "v1", "ConfigMap");
    assert_eq!(v["metadata"]["resourceVersion"], "5");
    assert_eq!(
        v["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "tranche"
    );
    assert_eq!(
        v["metadata"]["annotations"],
        json!({"tranche.dev/commit": "c1"})
    );
    assert!(v.get("data").is_none(), "no body in a metadata-only entry");
    assert!(e.size() < 1024, "{} bytes", e.size());
    let (_, full) = Entry::of(&cm("a", "5", "x"), true).unwrap();
    let body = full.to_value(&p, "v1", "ConfigMap");
    assert_eq!(body["data"]["k"], "x");
    assert!(body["metadata"].get("managedFields").is_none());
}

#[test]
fn status_writes_are_not_drift_but_spec_and_label_edits_are() {
    let mut s = WatchStore::default();
    assert!(put(&mut s, &deploy("10", 1), false), "new object");
    assert!(!put(&mut s, &deploy("11", 1), false), "status write");
    assert!(put(&mut s, &deploy("12", 2), false), "spec edit");
    let mut relabelled = deploy("13", 2);
    relabelled["metadata"]["labels"] = json!({"tranche.dev/policy": "by-hand"});
    assert!(put(&mut s, &relabelled, false), "label edit");
    // Kinds without a generation drift on any write.
    assert!(put(&mut s, &cm("a", "1", "x"), false));
    assert!(put(&mut s, &cm("a", "2", "y"), false));
}

#[test]
fn an_older_event_never_replaces_a_newer_write() {
    let mut s = WatchStore::default();
    let (p, e) = Entry::of(&cm("a", "20", "mine"), true).unwrap();
    s.record(p.clone(), e);
    assert!(!put(&mut s, &cm("a", "19", "before"), true));
    assert_eq!(s.get(&p).unwrap().meta.resource_version.as_ref(), "20");
    // Its own event (same version) changes nothing.
    assert!(!put(&mut s, &cm("a", "20", "mine"), true));
}

#[test]
fn a_relist_replaces_the_store_whole_and_reports_what_moved_meanwhile() {
    let mut s = WatchStore::default();
    s.init();
    s.init_apply(place("a"), Entry::of(&cm("a", "1", "x"), false).unwrap().1);
    s.init_apply(place("b"), Entry::of(&cm("b", "2", "x"), false).unwrap().1);
    assert!(!s.is_synced());
    assert!(!s.init_done(), "the first list is not drift");
    assert!(s.is_synced());
    assert_eq!(s.len(), 2);
    // After a 410 Gone: b was deleted while the watch was away.
    s.init();
    s.init_apply(place("a"), Entry::of(&cm("a", "1", "x"), false).unwrap().1);
    assert_eq!(
        s.len(),
        2,
        "the old contents serve until the relist is done"
    );
    assert!(s.init_done());
    assert_eq!(s.len(), 1);
    assert!(s.get(&place("b")).is_none());
    // The same contents again: nothing moved.
    s.init();
    s.init_apply(place("a"), Entry::of(&cm("a", "1", "x"), false).unwrap().1);
    assert!(!s.init_done());
}

#[test]
fn deletes_are_dropped() {
    let mut s = WatchStore::default();
    put(&mut s, &cm("a", "1", "x"), false);
    assert!(s.delete(&place("a")));
    assert!(!s.delete(&place("a")));
    assert!(s.is_empty());
}

#[test]
fn a_listed_body_gets_the_api_version_and_kind_its_list_item_lacks() {
    // List items come without apiVersion and kind; the health rules
    // choose by them, so a body must carry them.
    let item = json!({"metadata": {"name": "web", "namespace": "ns", "resourceVersion": "5"},
                      "status": {"replicas": 2}});
    let (p, e) = Entry::of(&item, true).unwrap();
    let body = e.to_value(&p, "apps/v1", "Deployment");
    assert_eq!(body["apiVersion"], "apps/v1");
    assert_eq!(body["kind"], "Deployment");
    assert_eq!(body["status"]["replicas"], 2);
}
