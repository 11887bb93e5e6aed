//! The label selectors tranche lists with, as data: `k=v` and
//! `k in (a,b)` terms joined by commas. Pure. A selector of any other form
//! is not watched (the list goes to the apiserver as before).

use serde_json::Value;

/// A conjunction of `key ∈ values` terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector {
    terms: Vec<(String, Vec<String>)>,
}

impl Selector {
    /// Parses `k=v,k2 in (a,b)`; `None` for any other form (`!=`,
    /// `notin`, bare keys) or an empty selector.
    pub fn parse(text: &str) -> Option<Selector> {
        let mut terms = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (term, tail) = match rest.find(" in (") {
                Some(i) if !rest[..i].contains(',') => {
                    let close = rest.find(')')?;
                    let key = rest[..i].trim();
                    let values = rest[i + 5..close]
                        .split(',')
                        .map(|v| v.trim().to_string())
                        .collect();
                    ((key.to_string(), values), rest[close + 1..].trim_start())
                }
                _ => {
                    let end = rest.find(',').unwrap_or(rest.len());
                    let (key, value) = rest[..end].split_once('=')?;
                    if key.ends_with('!') || value.starts_with('=') {
                        return None;
                    }
                    let term = (key.trim().to_string(), vec![value.trim().to_string()]);
                    (term, &rest[end..])
                }
            };
            if term.0.is_empty() || term.0.contains(char::is_whitespace) {
                return None;
            }
            terms.push(term);
            rest = tail.strip_prefix(',').unwrap_or(tail).trim_start();
            if !tail.is_empty() && !tail.starts_with(',') {
                return None;
            }
        }
        (!terms.is_empty()).then_some(Selector { terms })
    }

    /// Whether `object`'s labels match.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        self.terms.iter().all(|(key, values)| {
            labels
                .and_then(|l| l.get(key))
                .and_then(Value::as_str)
                .is_some_and(|v| values.iter().any(|want| want == v))
        })
    }

    /// The selector as the apiserver reads it.
    pub fn to_query(&self) -> String {
        self.terms
            .iter()
            .map(|(k, vs)| match vs.as_slice() {
                [v] => format!("{k}={v}"),
                _ => format!("{k} in ({})", vs.join(",")),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_selectors_tranche_uses_parse_and_match() {
        let managed = Selector::parse("app.kubernetes.io/managed-by=tranche").unwrap();
        let inv = Selector::parse("tranche.dev/inventory in (app,cluster)").unwrap();
        let obj = |labels: Value| json!({"metadata": {"labels": labels}});
        assert!(managed.matches(&obj(json!({"app.kubernetes.io/managed-by": "tranche"}))));
        assert!(!managed.matches(&obj(json!({"app.kubernetes.io/managed-by": "helm"}))));
        assert!(!managed.matches(&json!({"metadata": {}})));
        assert!(inv.matches(&obj(json!({"tranche.dev/inventory": "cluster"}))));
        assert!(!inv.matches(&obj(json!({"tranche.dev/inventory": "other"}))));
        assert_eq!(inv.to_query(), "tranche.dev/inventory in (app,cluster)");
        let both = Selector::parse("a=b, c in (d,e)").unwrap();
        assert_eq!(both.to_query(), "a=b,c in (d,e)");
        assert!(both.matches(&obj(json!({"a": "b", "c": "e"}))));
    }

    #[test]
    fn other_forms_are_not_watched() {
        for text in ["", "a!=b", "a notin (b)", "a", "a==b"] {
            assert_eq!(Selector::parse(text), None, "{text}");
        }
    }
}
