use super::*;
use crate::model::raw::{ClusterSpec, Document, PlacementSpec};
use crate::model::ModelError;

fn problems(p: Problems) -> Vec<ModelError> {
    p.finish(()).err().map(|e| e.0).unwrap_or_default()
}

#[test]
fn malformed_yaml_names_document_and_line() {
    let mut p = Problems::default();
    let docs = documents("m.yaml", "a: 1\n---\nb: [1\nc: 2\n", &mut p);
    assert!(docs.is_empty());
    let errors = problems(p);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].location(), "m.yaml[doc 1]");
    assert!(
        errors[0].message.starts_with("invalid YAML: "),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.contains("line 4"),
        "{}",
        errors[0].message
    );
}

#[test]
fn single_document_files_hold_one() {
    let snapshot = Snapshot::from_files(
        "c0ffee",
        [("c.yaml", "a: 1\n---\nb: 2\n"), ("d.yaml", "# nothing\n")],
    );
    let files = Files::new(&snapshot);
    let mut p = Problems::default();
    assert!(files.single_document("c.yaml", "Cluster", &mut p).is_none());
    assert!(files.single_document("d.yaml", "Cluster", &mut p).is_none());
    assert_eq!(
        problems(p),
        [
            ModelError::file(
                "c.yaml",
                "holds 2 documents: expected exactly one Cluster document"
            ),
            ModelError::file("d.yaml", "empty: expected one Cluster document"),
        ]
    );
}

#[test]
fn header_checks_api_version_and_kind() {
    let mut p = Problems::default();
    let v: Value = crate::yaml::from_str("{apiVersion: v1, kind: Placement}").unwrap();
    assert!(header(Loc::file("c.yaml"), &v, &["Cluster"], "clusters/", &mut p).is_none());
    let v: Value = crate::yaml::from_str("{spec: {}}").unwrap();
    assert!(header(Loc::file("d.yaml"), &v, &["Cluster"], "clusters/", &mut p).is_none());
    assert_eq!(
        problems(p),
        [
            ModelError::field(
                "c.yaml",
                "apiVersion",
                "\"v1\" is not supported: use tranche.dev/v1alpha1"
            ),
            ModelError::field(
                "c.yaml",
                "kind",
                "\"Placement\" does not belong in clusters/: expected Cluster"
            ),
            ModelError::field(
                "d.yaml",
                "apiVersion",
                "missing: set apiVersion: tranche.dev/v1alpha1"
            ),
            ModelError::field("d.yaml", "kind", "missing: expected kind: Cluster"),
        ]
    );
}

#[test]
fn typos_name_the_field_path() {
    let mut p = Problems::default();
    let v: Value = crate::yaml::from_str(
        "{apiVersion: x, kind: Placement, spec: {clusterAffinity: {clusterName: [a]}}}",
    )
    .unwrap();
    assert!(typed::<Document<PlacementSpec>>(Loc::file("p.yaml"), v, &mut p).is_none());
    let v: Value =
        crate::yaml::from_str("{apiVersion: x, kind: Cluster, spec: {rolloutOrder: first}}")
            .unwrap();
    assert!(typed::<Document<ClusterSpec>>(Loc::doc("c.yaml", 1), v, &mut p).is_none());
    assert_eq!(
        problems(p),
        [
            ModelError::doc(
                "c.yaml",
                1,
                Some("spec.rolloutOrder"),
                "invalid type: string \"first\", expected i64"
            ),
            ModelError::field(
                "p.yaml",
                "spec.clusterAffinity.clusterName",
                "unknown field `clusterName`, expected one of `clusterNames`, `labelSelector`, \
                 `exclude`, `followApps`"
            ),
        ]
    );
}

#[test]
fn utf16_files_are_named_as_such() {
    let snapshot = Snapshot::from_files(
        "c0ffee",
        [
            ("a.yaml", vec![0xFF, 0xFE, b'a', 0]),
            ("b.yaml", vec![b'a', 0xC3]),
        ],
    );
    let files = Files::new(&snapshot);
    let mut p = Problems::default();
    assert!(files.documents("a.yaml", &mut p).is_empty());
    assert!(files.documents("b.yaml", &mut p).is_empty());
    let errors = problems(p);
    assert_eq!(
        errors[0],
        ModelError::file("a.yaml", "UTF-16 text: save the file as UTF-8")
    );
    assert!(
        errors[1].message.starts_with("not UTF-8 text ("),
        "{}",
        errors[1]
    );
}

#[test]
fn the_commit_is_bounded_across_its_files() {
    // Each document expands to 4 MB (one 400 kB anchor used ten
    // times), each file of four to 16 MB: nine such files are over
    // the commit's 128 MiB.
    let uses = ["*s"; 9].join(", ");
    let doc = format!("a: &s {}\nb: [{uses}]\n", "z".repeat(400_000));
    let file = vec![doc; 4].join("---\n");
    let names: Vec<String> = (0..12).map(|i| format!("f{i:02}.yaml")).collect();
    let snapshot =
        Snapshot::from_files("c0ffee", names.iter().map(|n| (n.as_str(), file.as_str())));
    let files = Files::new(&snapshot);
    let mut p = Problems::default();
    let read: Vec<usize> = names
        .iter()
        .map(|n| files.documents(n, &mut p).len())
        .collect();
    assert_eq!(read, [4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0]);
    assert_eq!(
        problems(p),
        [ModelError::file(
            "f08.yaml",
            "the commit's YAML, up to this file, expands to more than 128 MiB of text once \
             aliases are expanded (the limit per commit): tranche reads no further file"
        )]
    );
}
