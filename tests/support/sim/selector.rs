//! Label and field selectors as the API server reads them: `k=v`,
//! `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, joined by
//! commas; field selectors on `metadata.name` and `metadata.namespace`.
//! Pure.

use serde_json::Value;

/// One term of a selector.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

/// A parsed label selector (every term must hold).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Labels(Vec<Term>);

/// Splits on commas outside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn set_of(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected (values) in {text:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl Labels {
    /// Parses a label selector; an error names the bad term.
    pub fn parse(text: &str) -> Result<Labels, String> {
        let mut terms = Vec::new();
        for t in split_terms(text) {
            let term = if let Some((k, v)) = t.split_once(" notin ") {
                Term::NotIn(k.trim().into(), set_of(v)?)
            } else if let Some((k, v)) = t.split_once(" in ") {
                Term::In(k.trim().into(), set_of(v)?)
            } else if let Some((k, v)) = t.split_once("!=") {
                Term::NotIn(k.trim().into(), vec![v.trim().into()])
            } else if let Some((k, v)) = t.split_once("==").or_else(|| t.split_once('=')) {
                Term::In(k.trim().into(), vec![v.trim().into()])
            } else if let Some(k) = t.strip_prefix('!') {
                Term::Absent(k.trim().into())
            } else {
                Term::Exists(t.into())
            };
            terms.push(term);
        }
        Ok(Labels(terms))
    }

    /// Whether an object's labels satisfy every term.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|t| match t {
            Term::In(k, vs) => label(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Term::NotIn(k, vs) => label(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
            Term::Exists(k) => label(k).is_some(),
            Term::Absent(k) => label(k).is_none(),
        })
    }
}

/// A field selector on `metadata.name` / `metadata.namespace` (`=`, `==`,
/// `!=`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields(Vec<(String, bool, String)>);

impl Fields {
    /// Parses a field selector; other fields are refused.
    pub fn parse(text: &str) -> Result<Fields, String> {
        let mut terms = Vec::new();
        for t in split_terms(text) {
            let (field, equal, value) = match t.split_once("!=") {
                Some((f, v)) => (f, false, v),
                None => match t.split_once("==").or_else(|| t.split_once('=')) {
                    Some((f, v)) => (f, true, v),
                    None => return Err(format!("invalid field selector {t:?}")),
                },
            };
            let field = field.trim();
            if field != "metadata.name" && field != "metadata.namespace" {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(Fields(terms))
    }

    /// Whether the object's fields satisfy every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = obj.pointer(&pointer).and_then(Value::as_str).unwrap_or("");
            (actual == value) == *equal
        })
    }
}
