//! The YAML layer, in one place so the parser can be swapped. Everything
//! tranche reads as YAML (repository files, manifests, the daemon's config,
//! git notes, directory clusters) goes through here; objects are handled
//! as `serde_json::Value`.
//!
//! Reading uses `serde-saphyr`, which never panics and is configured so that:
//!
//! - a key that appears twice in a mapping is an error naming the key and
//!   its line (as Kubernetes' strict decoding does);
//! - what aliases expand to is bounded per document and per file (the
//!   figures are in [`crate::limits`]), so an alias bomb is an error, not
//!   an out-of-memory abort;
//! - scalars resolve as in YAML 1.2, as `serde_yaml` did: only
//!   `true`/`false` are booleans, `0755` and `1_000` stay strings, `.inf`
//!   and `.nan` are errors (Kubernetes objects are JSON, which has neither),
//!   `!!binary` text is kept as written (base64, as Secret data is);
//! - a leading UTF-8 byte order mark is skipped.
//!
//! Typed shapes are read from the parsed value by [`strict::Strict`], which
//! refuses a list where a mapping (a struct) is expected.
//!
//! Writing still uses `serde_yaml`'s emitter: `serde-saphyr`'s quotes
//! strings differently (`"100"` for `'100'`), and rendered output must stay
//! byte-stable across versions (the golden files pin it).

pub mod locate;
pub mod strict;

use crate::limits::{
    human_bytes, MAX_ALIAS_REPLAYED_EVENTS, MAX_DOCUMENT_NODES, MAX_DOCUMENT_TEXT,
    MAX_FILE_DOCUMENTS, MAX_FILE_NODES, MAX_FILE_TEXT, MAX_NESTING,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_saphyr::budget::BudgetBreach;
use std::cell::Cell;
use strict::Strict;

/// A YAML syntax or shape error, with the line when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Human message including line/column when the parser knows them.
    pub message: String,
}

impl YamlError {
    fn new(message: impl Into<String>) -> YamlError {
        YamlError {
            message: message.into(),
        }
    }
}

/// How much parsed YAML holds after aliases are expanded: the bytes of
/// every key and string, and the number of nodes (scalars, keys, lists,
/// mappings). What [`crate::limits`] bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Bytes of keys and strings.
    pub text: usize,
    /// Scalars, keys, lists and mappings.
    pub nodes: usize,
}

impl Size {
    /// The size of one parsed value.
    pub fn of(value: &Value) -> Size {
        let mut size = Size { text: 0, nodes: 1 };
        match value {
            Value::String(s) => size.text = s.len(),
            Value::Array(items) => items.iter().for_each(|v| size += Size::of(v)),
            Value::Object(map) => {
                for (key, v) in map {
                    size += Size {
                        text: key.len(),
                        nodes: 1,
                    };
                    size += Size::of(v);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
        size
    }

    /// Why `self` is over `text` bytes or `nodes` nodes (`what` names the
    /// limit: "per document"), or `None`.
    pub fn over(&self, text: usize, nodes: usize, what: &str) -> Option<String> {
        if self.text > text {
            Some(format!(
                "expands to more than {} of text once aliases are expanded (the limit {what})",
                human_bytes(text as u64)
            ))
        } else if self.nodes > nodes {
            Some(format!(
                "expands to more than {nodes} values, keys, lists and mappings once aliases are \
                 expanded (the limit {what})"
            ))
        } else {
            None
        }
    }
}

impl std::ops::AddAssign for Size {
    fn add_assign(&mut self, other: Size) {
        self.text = self.text.saturating_add(other.text);
        self.nodes = self.nodes.saturating_add(other.nodes);
    }
}

/// The non-empty documents of a YAML stream and their total size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// Each document with its 0-based index among the non-empty ones.
    pub documents: Vec<(usize, Value)>,
    /// Every document's size, added up.
    pub size: Size,
}

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        // The parser's budgets hold for the whole text (a file): they bound
        // memory while it is parsed; the per-document limits are checked on
        // each parsed document.
        budget: serde_saphyr::budget! {
            max_total_scalar_bytes: MAX_FILE_TEXT,
            max_nodes: MAX_FILE_NODES,
            max_documents: MAX_FILE_DOCUMENTS,
            max_depth: MAX_NESTING,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_REPLAYED_EVENTS,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        strict_booleans: true,
        // `!!binary` text stays as written (base64, as Secret data is).
        ignore_binary_tag_for_string: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::Reject,
        // Snippets quote the input, which may be Secret data.
        with_snippet: false,
    }
}

/// Parses a multi-document YAML text. Empty documents (e.g. a trailing
/// `---`) are skipped and not counted, so index N is the N-th non-empty
/// document, from 0. The first error ends the stream and comes with the
/// index of the document it is in; going over a limit of [`crate::limits`]
/// (per document or per file) is such an error.
pub fn parse_stream(text: &str) -> Result<Stream, (usize, YamlError)> {
    // The parser recurses once per nesting level, with large frames in
    // debug builds (about 40 KiB): when less than that is left of this
    // thread's stack (tokio's and the test harness's threads have 2 MiB),
    // it runs on a stack of its own.
    stacker::maybe_grow(PARSER_RED_ZONE, PARSER_STACK, || parse_here(text))
}

/// Stack the parser needs at most: MAX_NESTING levels at the debug-build
/// frame size, with room to spare.
const PARSER_RED_ZONE: usize = 6 * 1024 * 1024;

/// The stack it gets when this thread has less (only the pages used are
/// ever mapped).
const PARSER_STACK: usize = 16 * 1024 * 1024;

thread_local! {
    /// Documents parsed so far by the current [`parse_here`] call.
    static PARSED: Cell<usize> = const { Cell::new(0) };
}

/// The documents of one text, counting them in [`PARSED`] as the parser
/// hands them over, so that an error can say which document it is in.
#[derive(Default)]
struct Counted(Vec<Value>);

impl Extend<Value> for Counted {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, documents: I) {
        for document in documents {
            PARSED.with(|n| n.set(n.get() + 1));
            self.0.push(document);
        }
    }
}

fn parse_here(text: &str) -> Result<Stream, (usize, YamlError)> {
    PARSED.with(|n| n.set(0));
    let documents = serde_saphyr::from_str_multiple_with_options::<Value, Counted>(text, options())
        .map_err(|e| (PARSED.with(Cell::get), describe(&e)))?;
    let mut stream = Stream::default();
    for (i, value) in documents.0.into_iter().enumerate() {
        let size = Size::of(&value);
        if let Some(why) = size.over(MAX_DOCUMENT_TEXT, MAX_DOCUMENT_NODES, "per document") {
            return Err((i, YamlError::new(format!("the document {why}"))));
        }
        stream.size += size;
        if let Some(why) = stream.size.over(MAX_FILE_TEXT, MAX_FILE_NODES, "per file") {
            return Err((
                i,
                YamlError::new(format!("the file, up to this document, {why}")),
            ));
        }
        stream.documents.push((i, value));
    }
    Ok(stream)
}

/// Parses a multi-document YAML text into JSON values, as
/// [`parse_stream`] does.
pub fn parse_documents(text: &str) -> Result<Vec<(usize, Value)>, (usize, YamlError)> {
    parse_stream(text).map(|s| s.documents)
}

/// Parses one YAML document into a typed value (an empty text reads as
/// null). Errors name the field path.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let mut documents = parse_documents(text).map_err(|(_, e)| e)?;
    let value = match documents.len() {
        0 => Value::Null,
        1 => documents.pop().map(|(_, v)| v).unwrap_or_default(),
        n => return Err(YamlError::new(format!("holds {n} documents: expected one"))),
    };
    from_value(value)
}

/// Reads a typed value from a parsed one (see [`strict`]). Errors start
/// with the field path (`spec.rolloutOrder: invalid type: …`).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, YamlError> {
    typed(value).map_err(|(path, message)| match path.as_str() {
        "" => YamlError::new(message),
        path => YamlError::new(format!("{path}: {message}")),
    })
}

/// Reads a typed value from a parsed one; on error, the field path (""
/// for the value itself, else like `spec.clusterAffinity.clusterName`)
/// and the message.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        (path, e.inner().to_string())
    })
}

/// Serializes objects as a multi-document YAML stream (`---` between).
pub fn to_documents(values: &[Value]) -> String {
    let mut out = String::new();
    for v in values {
        out.push_str("---\n");
        out.push_str(&to_string(v));
    }
    out
}

/// Serializes one value as YAML.
pub fn to_string<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# unserializable: {e}\n"))
}

/// The parser's error in tranche's words: limits named with their figure,
/// duplicate keys with the key, never a quote of the input.
fn describe(error: &serde_saphyr::Error) -> YamlError {
    use serde_saphyr::Error as E;
    let mut root = error;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = root {
        root = error;
    }
    let at = error
        .location()
        .or_else(|| root.location())
        .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
        .unwrap_or_default();
    let message = match root {
        E::DuplicateMappingKey { key, .. } => match key {
            Some(key) => {
                format!("duplicate key {key:?}{at}: a key may appear only once in a mapping")
            }
            None => format!("duplicate key{at}: a key may appear only once in a mapping"),
        },
        E::NonFiniteFloat { value, .. } => format!(
            "{value}{at} is not a number a Kubernetes object can hold (JSON has no infinity or \
             NaN); quote it if it is text"
        ),
        E::Budget { breach, .. } => budget(breach, &at),
        E::AliasReplayLimitExceeded { .. } => format!(
            "aliases{at} replay more than {MAX_ALIAS_REPLAYED_EVENTS} values (the limit per file)"
        ),
        E::RecursiveReferencesRequireWeakTypes { .. } => {
            format!("an alias{at} refers to a mapping or list it is part of (a recursive alias)")
        }
        E::AliasExpansionLimitExceeded { .. } | E::AliasReplayStackDepthExceeded { .. } => {
            format!("aliases{at} nest or repeat too much (an alias bomb?)")
        }
        _ => return YamlError::new(error.to_string()),
    };
    YamlError::new(message)
}

fn budget(breach: &BudgetBreach, at: &str) -> String {
    let per_file = "the limit per file";
    match breach {
        BudgetBreach::ScalarBytes { .. } => format!(
            "the file expands to more than {} of text once aliases are expanded{at} ({per_file})",
            human_bytes(MAX_FILE_TEXT as u64)
        ),
        BudgetBreach::Nodes { .. } => format!(
            "the file expands to more than {MAX_FILE_NODES} values, keys, lists and mappings \
             once aliases are expanded{at} ({per_file})"
        ),
        BudgetBreach::Documents { .. } => {
            format!("the file holds more than {MAX_FILE_DOCUMENTS} documents ({per_file})")
        }
        BudgetBreach::Depth { .. } => {
            format!("lists and mappings nest more than {MAX_NESTING} deep{at}")
        }
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => format!(
            "{aliases} aliases of {anchors} anchor(s){at}: more than 10 uses per anchor are \
             refused as an alias bomb"
        ),
        other => format!("the file is too large{at} ({other:?})"),
    }
}

#[cfg(test)]
mod tests;
