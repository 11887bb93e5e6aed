//! Where a field is in a YAML text: the line of a key or list item, for
//! error messages (`spec.weight: must be ≥ 0 (line 14)`).
//!
//! Pure: it walks the parser's events (each carries its span), builds a
//! light outline of one document without recursion, and follows the field
//! path through it. It runs on text that may have failed validation, so
//! it never panics: a parse error ends the outline where it stopped, and a
//! path that does not exist gives the line of its deepest existing part.

use granit_parser::{Event, Parser, ScalarStyle};

/// The outlines of every non-empty document of one text, to look up
/// the lines of many fields with one parse.
#[derive(Debug, Default)]
pub struct Lines {
    docs: Vec<Vec<Node>>,
}

impl Lines {
    /// Reads `text` up to its end or its first parse error.
    pub fn of(text: &str) -> Lines {
        Lines {
            docs: outlines(text),
        }
    }

    /// The 1-based line of `field` (like `spec.clusterAffinity.clusterNames[1]`
    /// or `metadata.labels.app`) in document `doc` (0-based, counting only
    /// non-empty documents, as [`super::parse_stream`] does). A missing
    /// part gives the line of the deepest existing one; `None` when the
    /// document does not exist or nothing of the path does.
    pub fn line_of(&self, doc: usize, field: &str) -> Option<usize> {
        let nodes = self.docs.get(doc)?;
        let mut at = 0;
        let mut line = None;
        let mut rest = field;
        while !rest.is_empty() {
            let Some((next, key_line, after)) = step(nodes, at, rest) else {
                break;
            };
            line = Some(key_line);
            at = next;
            rest = after;
        }
        line
    }
}

/// [`Lines::line_of`] for one field of `text`.
pub fn line_of(text: &str, doc: usize, field: &str) -> Option<usize> {
    Lines::of(text).line_of(doc, field)
}

/// One node of the outline; children point into the same list.
#[derive(Debug)]
struct Node {
    /// 1-based line where the node starts.
    line: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// Nothing written.
    Absent,
    Leaf(String),
    /// (key text, line of the key, index of the value node).
    Map(Vec<(String, usize, usize)>),
    /// Index of each item node.
    Seq(Vec<usize>),
}

/// Follows one path segment from node `at`: a `[N]` index into a list, or
/// the longest mapping key that `rest` starts with (keys may hold dots).
/// Returns the child, its line and what is left of the path.
fn step<'p>(nodes: &[Node], at: usize, rest: &'p str) -> Option<(usize, usize, &'p str)> {
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    match &nodes.get(at)?.kind {
        Kind::Seq(items) => {
            let inner = rest.strip_prefix('[')?;
            let close = inner.find(']')?;
            let index: usize = inner[..close].parse().ok()?;
            let item = *items.get(index)?;
            Some((item, nodes.get(item)?.line, &inner[close + 1..]))
        }
        Kind::Map(entries) => entries
            .iter()
            .filter(|(key, _, _)| {
                rest.strip_prefix(key.as_str())
                    .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
            })
            .max_by_key(|(key, _, _)| key.len())
            .map(|(key, line, value)| (*value, *line, &rest[key.len()..])),
        Kind::Leaf(_) | Kind::Absent => None,
    }
}

/// The outline of each non-empty document, root first; a parse error
/// ends the list (the document it is in keeps what was read of it).
fn outlines(text: &str) -> Vec<Vec<Node>> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    while let Some(Ok((event, _))) = parser.next_event() {
        match event {
            Event::DocumentStart(..) => {
                let nodes = document(&mut parser);
                if !is_empty(&nodes) {
                    docs.push(nodes);
                }
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    docs
}

/// An empty document (`---` alone, or only comments) is not counted.
fn is_empty(nodes: &[Node]) -> bool {
    match nodes {
        [] => true,
        [only] => matches!(only.kind, Kind::Absent),
        _ => false,
    }
}

/// Reads one document's events up to its end into an outline.
fn document<'a>(parser: &mut Parser<'a, granit_parser::StrInput<'a>>) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    // Open collections: node index, and for a mapping the pending key.
    let mut open: Vec<(usize, Option<(String, usize)>)> = Vec::new();
    while let Some(Ok((event, span))) = parser.next_event() {
        let line = span.start.line();
        let (kind, opens) = match event {
            // Nothing written (an empty document or value) reads as a
            // plain `~` of no width.
            Event::Scalar(_, ScalarStyle::Plain, ..) if span.start.index() == span.end.index() => {
                (Kind::Absent, false)
            }
            Event::Scalar(value, ..) => (Kind::Leaf(value.into_owned()), false),
            Event::Alias(_) | Event::UnresolvedAlias(_) => (Kind::Leaf(String::new()), false),
            Event::MappingStart(..) => (Kind::Map(Vec::new()), true),
            Event::SequenceStart(..) => (Kind::Seq(Vec::new()), true),
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                continue;
            }
            Event::DocumentEnd | Event::StreamEnd => break,
            _ => continue,
        };
        let index = nodes.len();
        // A scalar in key position of an open mapping is the key itself.
        if let Some((parent, pending @ None)) = open.last_mut() {
            if matches!(nodes.get(*parent).map(|n| &n.kind), Some(Kind::Map(_))) {
                match &kind {
                    Kind::Leaf(key) => {
                        *pending = Some((key.clone(), line));
                        continue;
                    }
                    Kind::Absent => {
                        *pending = Some((String::new(), line));
                        continue;
                    }
                    _ => {}
                }
            }
        }
        nodes.push(Node { line, kind });
        if let Some((parent, pending)) = open.last_mut() {
            match nodes.get_mut(*parent).map(|n| &mut n.kind) {
                Some(Kind::Map(entries)) => {
                    // A collection as a key has no text to match: it is
                    // recorded under an empty key.
                    let (key, key_line) = pending.take().unwrap_or((String::new(), line));
                    entries.push((key, key_line, index));
                }
                Some(Kind::Seq(items)) => items.push(index),
                _ => {}
            }
        }
        if opens {
            open.push((index, None));
        }
    }
    nodes
}

#[cfg(test)]
#[path = "locate_tests.rs"]
mod tests;
