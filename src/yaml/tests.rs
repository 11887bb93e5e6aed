use super::*;
use serde::Deserialize;
use serde_json::json;

fn first_error(text: &str) -> (usize, String) {
    match parse_documents(text) {
        Ok(docs) => panic!("accepted: {docs:?}"),
        Err((i, e)) => (i, e.message),
    }
}

#[test]
fn duplicate_keys_are_errors_naming_key_and_line() {
    let (doc, message) = first_error("a: 1\n---\nnamespaces: [team-a]\nnamespaces: ['*']\n");
    assert_eq!(doc, 1);
    assert_eq!(
        message,
        "duplicate key \"namespaces\" at line 4, column 1: a key may appear only once in a mapping"
    );
    let (_, nested) = first_error("spec:\n  apps:\n    a: {}\n    a: {}\n");
    assert!(
        nested.starts_with("duplicate key \"a\" at line 4"),
        "{nested}"
    );
}

#[test]
fn a_leading_byte_order_mark_is_skipped() {
    let docs = parse_documents("\u{feff}apiVersion: v1\nkind: ConfigMap\n").unwrap();
    assert_eq!(
        docs,
        [(0, json!({"apiVersion": "v1", "kind": "ConfigMap"}))]
    );
}

#[test]
fn binary_tags_keep_their_text() {
    let docs = parse_documents("data: {a: !!binary aGVsbG8=, b: !!binary ////}\n").unwrap();
    assert_eq!(docs[0].1, json!({"data": {"a": "aGVsbG8=", "b": "////"}}));
}

#[test]
fn scalars_resolve_as_yaml_1_2() {
    let docs = parse_documents(
        "a: yes\nb: on\nc: 0755\nd: 1_000\ne: true\nf: 0x1F\ng: 2.0\nh: ~\ni: '3'\nj: 12:30\n",
    )
    .unwrap();
    assert_eq!(
        docs[0].1,
        json!({"a": "yes", "b": "on", "c": "0755", "d": "1_000", "e": true, "f": 31,
               "g": 2.0, "h": null, "i": "3", "j": "12:30"})
    );
}

#[test]
fn infinity_and_nan_are_errors_at_their_line() {
    let (_, message) = first_error("spec:\n  replicas: .inf\n");
    assert!(
        message.starts_with(".inf at line 2, column 13 is not a number"),
        "{message}"
    );
    assert!(first_error("x: -.Inf\n")
        .1
        .contains("JSON has no infinity or NaN"));
    assert!(first_error("x: .nan\n").1.starts_with(".nan at line 1"));
}

#[test]
fn empty_documents_are_not_counted() {
    let docs = parse_documents("---\na: 1\n---\n---\n# only a comment\n---\nb: 2\n---\n").unwrap();
    assert_eq!(docs, [(0, json!({"a": 1})), (1, json!({"b": 2}))]);
    let (doc, message) = first_error("a: 1\n---\n---\nb: [1\n");
    assert_eq!(doc, 1);
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn one_anchor_used_thousands_of_times_is_refused() {
    // The alias bomb, scaled down: one large anchored string used
    // through 2,000 aliases.
    let mut text = format!("data:\n  a: &big {}\n  list:\n", "x".repeat(100_000));
    text.push_str(&"  - *big\n".repeat(2_000));
    let (_, message) = first_error(&text);
    assert_eq!(
        message,
        "the file expands to more than 16 MiB of text once aliases are expanded at line 170, \
         column 5 (the limit per file)"
    );
}

#[test]
fn nested_aliases_are_bounded_by_the_expanded_text() {
    // Ten uses per anchor (under the ratio heuristic), five levels deep:
    // 100 kB × 10^5 once expanded.
    let mut text = format!("a0: &a0 {}\n", "x".repeat(100_000));
    for level in 1..6 {
        let uses = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{uses}]\n"));
    }
    let (_, message) = first_error(&text);
    assert!(
        message.starts_with("the file expands to more than 16 MiB of text"),
        "{message}"
    );
    let mut small = String::from("l0: &l0 [0]\n");
    for level in 1..9 {
        let uses = vec![format!("*l{}", level - 1); 10].join(", ");
        small.push_str(&format!("l{level}: &l{level} [{uses}]\n"));
    }
    let (_, message) = first_error(&small);
    assert_eq!(
        message,
        "aliases at line 6, column 35 replay more than 200000 values (the limit per file)"
    );
    let (_, message) = first_error("a: &x [1, *x]\n");
    assert_eq!(
        message,
        "an alias at line 1, column 11 refers to a mapping or list it is part of (a recursive \
         alias)"
    );
}

#[test]
fn a_document_is_bounded_within_its_file() {
    // 5 MB once expanded: under the file's limit, over the document's.
    let doc = format!("a: &s {}\nb: [*s, *s, *s, *s]\n", "y".repeat(1_000_000));
    let (doc, message) = first_error(&format!("x: 1\n---\n{doc}"));
    assert_eq!(doc, 1);
    assert_eq!(
        message,
        "the document expands to more than 4 MiB of text once aliases are expanded (the limit \
         per document)"
    );
}

#[test]
fn a_file_is_bounded_across_its_documents() {
    // Five documents of 3.6 MB each: every one is under the document limit,
    // together they are over the file's.
    let doc = format!("a: &s {}\nb: [*s, *s]\n", "y".repeat(1_200_000));
    let text = vec![doc; 5].join("---\n");
    let (doc, message) = first_error(&text);
    assert_eq!(doc, 4);
    assert_eq!(
        message,
        "the file expands to more than 16 MiB of text once aliases are expanded at line 14, \
         column 5 (the limit per file)"
    );
}

#[test]
fn a_file_holds_a_bounded_number_of_documents() {
    let (_, message) = first_error(&"a: 1\n---\n".repeat(10_001));
    assert_eq!(
        message,
        "the file holds more than 10000 documents (the limit per file)"
    );
}

#[test]
fn nesting_is_bounded() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let (_, message) = first_error(&deep);
    assert_eq!(
        message,
        "lists and mappings nest more than 100 deep at line 1, column 101"
    );
    let mut block = String::new();
    for depth in 0..150 {
        block.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
    }
    let (_, message) = first_error(&block);
    assert!(message.contains("nest more than 100 deep"), "{message}");
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Meta {
    name: Option<String>,
    labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Doc {
    metadata: Meta,
}

#[test]
fn typed_reads_refuse_lists_for_mappings_and_name_the_field() {
    let err = from_str::<Doc>("metadata: [web, {labels: {a: b}}]\n").unwrap_err();
    assert_eq!(
        err.message,
        "metadata: invalid type: sequence, expected a mapping"
    );
    let ok: Doc = from_str("metadata: {name: web}\n").unwrap();
    assert_eq!(ok.metadata.name.as_deref(), Some("web"));
    let err = from_str::<Doc>("a: 1\n---\nb: 2\n").unwrap_err();
    assert_eq!(err.message, "holds 2 documents: expected one");
}

#[test]
fn sizes_count_keys_scalars_and_nodes() {
    let size = Size::of(&json!({"ab": ["cde", 12, null], "f": {}}));
    // text: "ab", "cde", "f"; nodes: map, "ab", list, "cde", 12, null, "f", {}
    assert_eq!(
        size,
        Size {
            text: 2 + 3 + 1,
            nodes: 8
        }
    );
}

#[test]
fn what_the_emitter_writes_reads_back_the_same() {
    // Directory clusters and git notes are written by the emitter and read
    // by the parser: strings that look like other scalars must survive.
    let strings = [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "1",
        "-1",
        "1.5",
        "0755",
        "0o17",
        "0x1F",
        "1_000",
        "1e3",
        ".inf",
        "-.inf",
        ".nan",
        "null",
        "~",
        "true",
        "True",
        "",
        " lead",
        "trail ",
        "a: b",
        "- x",
        "#c",
        "multi\nline\n",
        "tab\there",
        "quote\"s",
        "'single'",
        "*star",
        "&amp",
        "!bang",
        "%pct",
        "@at",
        "`bt",
        "{x}",
        "[x]",
        "12:30",
        "2026-01-01",
        "?q",
        "x #y",
        "é",
        "\u{feff}bom",
        "<<",
    ];
    let value = json!({
        "strings": strings.as_slice(),
        "numbers": [0, -1, 1.5, 2.0, 18446744073709551615u64, -9223372036854775808i64],
        "empty": {"map": {}, "list": []},
        "null": null,
        "nested": [{"a": [1, [2, {}]]}],
        "keys": {"yes": 1, "1": 2, "": 3, "a b": 4, "'<<'": 5},
    });
    let text = to_documents(std::slice::from_ref(&value));
    assert_eq!(
        parse_documents(&text).unwrap(),
        [(0, value.clone())],
        "{text}"
    );
    assert_eq!(from_str::<Value>(&to_string(&value)).unwrap(), value);
}

#[test]
fn merge_keys_merge_unless_quoted() {
    let docs =
        parse_documents("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\ny: {'<<': 4}\n").unwrap();
    assert_eq!(
        docs[0].1,
        json!({"base": {"a": 1, "b": 2}, "x": {"b": 3, "a": 1}, "y": {"<<": 4}})
    );
}
