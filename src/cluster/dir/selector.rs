//! Parsing label selector strings (`app=shop,tier!=db,env in (a,b),!beta`)
//! into [`LabelSelector`]s, as the apiserver accepts them in `?labelSelector=`.
//! The directory driver needs it to filter lists the way a cluster would.

use crate::model::{LabelSelector, SelectorOp, SelectorRequirement};
use serde_json::Value;
use std::collections::BTreeMap;

/// Parses a selector string; the error says which term is wrong.
pub fn parse_selector(text: &str) -> Result<LabelSelector, String> {
    let mut selector = LabelSelector::default();
    for term in split_terms(text)? {
        let term = term.trim();
        if term.is_empty() {
            continue;
        }
        parse_term(term, &mut selector)
            .map_err(|why| format!("label selector term {term:?}: {why}"))?;
    }
    Ok(selector)
}

/// Splits on commas that are not inside `( … )`.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' in label selector {text:?}"))?;
            }
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in label selector {text:?}"));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

fn parse_term(term: &str, selector: &mut LabelSelector) -> Result<(), String> {
    let requirement =
        |key: &str, operator, values: Vec<String>| -> Result<SelectorRequirement, String> {
            Ok(SelectorRequirement {
                key: checked_key(key)?,
                operator,
                values,
            })
        };
    if let Some(key) = term.strip_prefix('!') {
        let r = requirement(key.trim(), SelectorOp::DoesNotExist, vec![])?;
        selector.match_expressions.push(r);
    } else if let Some((key, value)) = term.split_once("!=") {
        let r = requirement(
            key.trim(),
            SelectorOp::NotIn,
            vec![value.trim().to_string()],
        )?;
        selector.match_expressions.push(r);
    } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        let key = checked_key(key.trim())?;
        let value = value.trim().to_string();
        match selector.match_labels.get(&key) {
            // Two different required values: keep both so nothing matches.
            Some(existing) if *existing != value => {
                selector.match_expressions.push(SelectorRequirement {
                    key,
                    operator: SelectorOp::In,
                    values: vec![value],
                });
            }
            _ => {
                selector.match_labels.insert(key, value);
            }
        }
    } else if let Some((key, op, rest)) = set_term(term) {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or("expected a parenthesised value list")?;
        let values: Vec<String> = inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            return Err("the value list is empty".to_string());
        }
        let r = requirement(key, op, values)?;
        selector.match_expressions.push(r);
    } else {
        let r = requirement(term, SelectorOp::Exists, vec![])?;
        selector.match_expressions.push(r);
    }
    Ok(())
}

/// `key in (…)` / `key notin (…)` → (key, operator, rest).
fn set_term(term: &str) -> Option<(&str, SelectorOp, &str)> {
    let mut words = term.splitn(2, char::is_whitespace);
    let key = words.next()?;
    let rest = words.next()?.trim_start();
    if let Some(r) = rest.strip_prefix("notin") {
        Some((key, SelectorOp::NotIn, r))
    } else {
        rest.strip_prefix("in").map(|r| (key, SelectorOp::In, r))
    }
}

fn checked_key(key: &str) -> Result<String, String> {
    if key.is_empty() || key.contains(char::is_whitespace) || key.contains(['(', ')', '!', '=']) {
        return Err(format!("invalid label key {key:?}"));
    }
    Ok(key.to_string())
}

/// `metadata.labels` of an object (non-string values ignored).
pub fn object_labels(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::selector::labels;

    #[test]
    fn equality_inequality_sets_and_existence() {
        let s = parse_selector("app=shop, tier!=db,env in (prod, stage),!beta,team").unwrap();
        assert!(s.matches(&labels(&[
            ("app", "shop"),
            ("tier", "web"),
            ("env", "prod"),
            ("team", "a")
        ])));
        assert!(!s.matches(&labels(&[
            ("app", "shop"),
            ("tier", "db"),
            ("env", "prod"),
            ("team", "a")
        ])));
        assert!(!s.matches(&labels(&[("app", "shop"), ("env", "dev"), ("team", "a")])));
        assert!(!s.matches(&labels(&[
            ("app", "shop"),
            ("env", "prod"),
            ("team", "a"),
            ("beta", "1")
        ])));
        assert!(!s.matches(&labels(&[("app", "shop"), ("env", "prod")])));
        let notin = parse_selector("env notin (prod)").unwrap();
        assert!(notin.matches(&labels(&[])));
        assert!(!notin.matches(&labels(&[("env", "prod")])));
    }

    #[test]
    fn empty_selector_matches_all_and_double_equals_works() {
        assert!(parse_selector("").unwrap().matches(&labels(&[])));
        assert!(parse_selector("a==b")
            .unwrap()
            .matches(&labels(&[("a", "b")])));
        assert!(!parse_selector("a=b,a=c")
            .unwrap()
            .matches(&labels(&[("a", "b")])));
    }

    #[test]
    fn malformed_selectors_are_rejected_with_the_term() {
        assert!(parse_selector("env in (a,b")
            .unwrap_err()
            .contains("unbalanced"));
        assert!(parse_selector("env in ()")
            .unwrap_err()
            .contains("\"env in ()\""));
        assert!(parse_selector("=x").is_err());
        assert!(parse_selector("a b").is_err());
    }

    #[test]
    fn labels_are_read_from_metadata() {
        let obj = serde_json::json!({"metadata": {"labels": {"a": "1", "n": 2}}});
        assert_eq!(object_labels(&obj), labels(&[("a", "1")]));
        assert!(object_labels(&serde_json::json!({})).is_empty());
    }
}
