//! Reading one file into YAML documents and tranche envelopes: UTF-8,
//! YAML syntax (with the line), `apiVersion`/`kind`, and the typed shape
//! (with the field path of a typo or a wrong type).
//!
//! [`Files`] is how the loader reads a snapshot: it charges what each
//! file's YAML expands to against the commit's limits
//! ([`crate::limits::MAX_COMMIT_TEXT`], [`crate::limits::MAX_COMMIT_NODES`])
//! and stays silent about entries the snapshot refused (they are reported
//! once, by path, by [`super::load`]).

use crate::git::Snapshot;
use crate::limits::{MAX_COMMIT_NODES, MAX_COMMIT_TEXT};
use crate::model::raw::API_VERSION;
use crate::model::validate::{Loc, Problems};
use crate::yaml::{Size, Stream, YamlError};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::cell::Cell;

/// The files of one snapshot, as the loader reads them.
pub struct Files<'s> {
    snapshot: &'s Snapshot,
    /// What the YAML parsed so far expands to.
    used: Cell<Size>,
    /// Set once the commit's limit is reported: no further file is parsed.
    exhausted: Cell<bool>,
}

impl<'s> Files<'s> {
    /// Reads `snapshot`, with the whole commit's limits unused.
    pub fn new(snapshot: &'s Snapshot) -> Files<'s> {
        Files {
            snapshot,
            used: Cell::new(Size::default()),
            exhausted: Cell::new(false),
        }
    }

    /// What the YAML parsed so far expands to.
    pub fn used(&self) -> Size {
        self.used.get()
    }

    /// Whether the commit's limit was reached: no further file is parsed.
    pub fn exhausted(&self) -> bool {
        self.exhausted.get()
    }

    /// Charges `size`, what files read for an earlier commit expanded to,
    /// when that stays within the commit's limits: then their reading
    /// holds for this commit too, and it is not read again. Otherwise
    /// nothing is charged and `false` says to read them here.
    pub fn charge(&self, size: Size) -> bool {
        let mut used = self.used.get();
        used += size;
        if self.exhausted.get()
            || used
                .over(MAX_COMMIT_TEXT, MAX_COMMIT_NODES, "per commit")
                .is_some()
        {
            return false;
        }
        self.used.set(used);
        true
    }

    /// The bytes of `path` in the snapshot (`None`: not read, or refused).
    pub fn bytes(&self, path: &str) -> Option<&'s [u8]> {
        self.snapshot.files.get(path).map(Vec::as_slice)
    }

    /// Every non-empty document of a multi-document file with its index.
    /// A YAML error is reported at its document (the message has the
    /// line) and yields no documents.
    pub fn documents(&self, path: &str, p: &mut Problems) -> Vec<(usize, Value)> {
        match self.parse(path, p) {
            Some(Ok(stream)) => stream.documents,
            Some(Err((doc, e))) => {
                p.push(Loc::doc(path, doc), "", format!("invalid YAML: {e}"));
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// The one document of a file that must hold exactly one (`what`
    /// names the kind expected, for messages).
    pub fn single_document(&self, path: &str, what: &str, p: &mut Problems) -> Option<Value> {
        one_document(path, self.parse(path, p)?, what, p)
    }

    /// The file parsed, or `None` when it cannot be (reported unless the
    /// snapshot refused it).
    fn parse(&self, path: &str, p: &mut Problems) -> Option<Result<Stream, (usize, YamlError)>> {
        if self.exhausted.get() {
            return None;
        }
        let parsed = crate::yaml::parse_stream(self.text(path, p)?);
        if let Ok(stream) = &parsed {
            let mut used = self.used.get();
            used += stream.size;
            self.used.set(used);
            if let Some(why) = used.over(MAX_COMMIT_TEXT, MAX_COMMIT_NODES, "per commit") {
                p.push(
                    Loc::file(path),
                    "",
                    format!(
                        "the commit's YAML, up to this file, {why}: tranche reads no further file"
                    ),
                );
                self.exhausted.set(true);
                return None;
            }
        }
        Some(parsed)
    }

    /// The text of `path`, or `None`: missing, refused by the snapshot,
    /// or not UTF-8 (reported).
    fn text(&self, path: &str, p: &mut Problems) -> Option<&'s str> {
        let bytes = self.snapshot.files.get(path)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(e) => {
                let why = match bytes.get(..2) {
                    Some([0xFF, 0xFE] | [0xFE, 0xFF]) => "UTF-16 text".to_string(),
                    _ => format!("not UTF-8 text ({e})"),
                };
                p.push(
                    Loc::file(path),
                    "",
                    format!("{why}: save the file as UTF-8"),
                );
                None
            }
        }
    }
}

/// Every non-empty document of a text that is not one of the commit's
/// files (the built-in policies), as [`Files::documents`] reads them.
pub fn documents(file: &str, text: &str, p: &mut Problems) -> Vec<(usize, Value)> {
    match crate::yaml::parse_documents(text) {
        Ok(docs) => docs,
        Err((doc, e)) => {
            p.push(Loc::doc(file, doc), "", format!("invalid YAML: {e}"));
            Vec::new()
        }
    }
}

fn one_document(
    file: &str,
    parsed: Result<Stream, (usize, YamlError)>,
    what: &str,
    p: &mut Problems,
) -> Option<Value> {
    let mut docs = match parsed {
        Ok(stream) => stream.documents,
        Err((_, e)) => {
            p.push(Loc::file(file), "", format!("invalid YAML: {e}"));
            return None;
        }
    };
    match docs.len() {
        1 => docs.pop().map(|(_, v)| v),
        0 => {
            p.push(
                Loc::file(file),
                "",
                format!("empty: expected one {what} document"),
            );
            None
        }
        n => {
            p.push(
                Loc::file(file),
                "",
                format!("holds {n} documents: expected exactly one {what} document"),
            );
            None
        }
    }
}

/// Where document `doc` of a file with `count` documents is: the index is
/// shown only when there are several.
pub fn loc_in<'a>(file: &'a str, doc: usize, count: usize) -> Loc<'a> {
    if count > 1 {
        Loc::doc(file, doc)
    } else {
        Loc::file(file)
    }
}

/// Checks the envelope: a mapping with `apiVersion: tranche.dev/v1alpha1`
/// and a `kind` among `allowed` (`place` says where, for the message).
/// Returns the kind.
pub fn header(
    loc: Loc<'_>,
    value: &Value,
    allowed: &[&str],
    place: &str,
    p: &mut Problems,
) -> Option<String> {
    let expected = allowed.join(" or ");
    let Some(map) = value.as_object() else {
        p.push(
            loc,
            "",
            format!("expected a {expected} document (a mapping with apiVersion, kind and spec)"),
        );
        return None;
    };
    let mut ok = true;
    match map.get("apiVersion") {
        None => {
            p.push(
                loc,
                "apiVersion",
                format!("missing: set apiVersion: {API_VERSION}"),
            );
            ok = false;
        }
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(v) => {
            p.push(
                loc,
                "apiVersion",
                format!("{v} is not supported: use {API_VERSION}"),
            );
            ok = false;
        }
    }
    let kind = match map.get("kind") {
        None => {
            p.push(loc, "kind", format!("missing: expected kind: {expected}"));
            None
        }
        Some(Value::String(k)) if allowed.contains(&k.as_str()) => Some(k.clone()),
        Some(k) => {
            p.push(
                loc,
                "kind",
                format!("{k} does not belong in {place}: expected {expected}"),
            );
            None
        }
    };
    kind.filter(|_| ok)
}

/// Deserializes `value` as `T`, reporting a shape error (unknown field,
/// wrong type, missing field, unknown variant) at its field path.
pub fn typed<T: DeserializeOwned>(loc: Loc<'_>, value: Value, p: &mut Problems) -> Option<T> {
    match crate::yaml::typed(value) {
        Ok(v) => Some(v),
        Err((field, message)) => {
            p.push(loc, &field, message);
            None
        }
    }
}

#[cfg(test)]
mod tests;
