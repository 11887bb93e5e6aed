use super::line_of;

const PLACEMENT: &str = "\
apiVersion: tranche.dev/v1
kind: Placement
metadata:
  name: web
  labels:
    app: web
    app.kubernetes.io/name: web
spec:
  clusterAffinity:
    clusterNames:
      - eu-1
      - eu-2
  weight: -1
";

#[test]
fn nested_maps_and_list_items() {
    let cases = [
        ("kind", Some(2)),
        ("metadata.labels.app", Some(6)),
        ("metadata.labels.app.kubernetes.io/name", Some(7)),
        ("spec.clusterAffinity", Some(9)),
        ("spec.clusterAffinity.clusterNames", Some(10)),
        ("spec.clusterAffinity.clusterNames[0]", Some(11)),
        ("spec.clusterAffinity.clusterNames[1]", Some(12)),
        ("spec.weight", Some(13)),
        // Missing parts: the deepest existing ancestor.
        ("spec.clusterAffinity.clusterNames[7]", Some(10)),
        ("spec.missing.deeper", Some(8)),
        ("metadata.name.x", Some(4)),
        ("nothing", None),
        ("", None),
    ];
    for (field, line) in cases {
        assert_eq!(line_of(PLACEMENT, 0, field), line, "{field}");
    }
}

#[test]
fn documents_are_counted_as_the_loader_counts_them() {
    let text = "---\na: 1\n---\n---\n# only a comment\n---\nkind: X\nspec:\n  b: 2\n";
    assert_eq!(line_of(text, 0, "a"), Some(2));
    assert_eq!(line_of(text, 1, "spec.b"), Some(9));
    assert_eq!(line_of(text, 2, "a"), None);
    let three = "kind: A\n---\nkind: B\n---\nkind: C\nspec:\n  replicas: x\n";
    assert_eq!(line_of(three, 2, "spec.replicas"), Some(7));
}

#[test]
fn flow_style_and_quoted_keys() {
    let text = "spec: {names: [a, b,\n  c], 'odd key': 1}\n\"q.k\":\n  - {x: 1}\n  - {y: 2}\n";
    assert_eq!(line_of(text, 0, "spec.names[2]"), Some(2));
    assert_eq!(line_of(text, 0, "spec.names[0]"), Some(1));
    assert_eq!(line_of(text, 0, "spec.odd key"), Some(2));
    assert_eq!(line_of(text, 0, "q.k[1].y"), Some(5));
    assert_eq!(line_of(text, 0, "q.k[1]"), Some(5));
}

#[test]
fn malformed_text_gives_what_was_read_or_none() {
    assert_eq!(line_of("a:\n  b: 1\nc: [1\n", 0, "a.b"), Some(2));
    assert_eq!(line_of("a: 1\n  b: 2\n", 0, "b"), None);
    for text in [
        "",
        "---",
        "[",
        "{a: ",
        "- - - -",
        "*x",
        "&a [*a]",
        "a: !!str\n",
        "?\n: b",
    ] {
        for field in [
            "",
            "a",
            "a[0]",
            "[0]",
            "a[",
            "a[x]",
            "[99999999999999999999]",
            "..",
            "a.b.c",
        ] {
            let _ = line_of(text, 0, field);
            let _ = line_of(text, 3, field);
        }
    }
}

#[test]
fn never_panics_on_generated_text() {
    // A deterministic sweep over texts built from YAML's punctuation.
    let pieces = [
        "a:", " ", "\n", "- ", "[", "]", "{", "}", ",", "'", "\"", "#", "&a", "*a", "!!", "|", ">",
        "?", "0", "b",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2_000 {
        let mut text = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        for field in ["a", "a[0]", "b.a", "[1]"] {
            let _ = line_of(&text, (seed % 3) as usize, field);
        }
    }
}
