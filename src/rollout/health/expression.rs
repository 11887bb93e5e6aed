//! Health of custom workload kinds by CEL expressions (a `WorkloadKind`
//! policy's `spec.health`), e.g. for an OpenKruise CloneSet:
//! `status.observedGeneration >= metadata.generation &&
//! status.updatedReadyReplicas == spec.replicas`.
//!
//! The variables are the object's top-level fields: `apiVersion`, `kind`,
//! `metadata`, `spec` and `status` (the last three are `{}` when absent, so
//! a missing field reads as "no such key", not as an unknown variable),
//! and `object`, the whole object. Integers are CEL `int`s. Use `has()`
//! for fields the apiserver omits when zero
//! (`has(status.readyReplicas) && …`).
//!
//! * `failed` true → failed at once (the gate does not wait);
//! * `healthy` true → healthy; false → progressing, naming the expression;
//! * an expression that cannot be evaluated (a missing field, a type
//!   error) or does not give a bool → progressing with the reason: not
//!   healthy, so the gate waits and its timeout fails the batch, naming
//!   the expression, the object and the cluster.

use super::Health;
use crate::kinds::HealthExpressions;
use cel::{Context, Program, Value as Cel};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Compiles one expression; the error is the parser's message.
pub fn compile(source: &str) -> Result<Program, String> {
    Program::compile(source).map_err(|e| e.to_string().trim().to_string())
}

/// Health of `obj` by `exprs` (see the module docs).
pub fn health(exprs: &HealthExpressions, obj: &Value) -> Health {
    let context = context_of(obj);
    if let Some(failed) = &exprs.failed {
        match run(failed, &context) {
            Ok(true) => {
                return Health::failed(format!("failed expression `{failed}` is true"));
            }
            Ok(false) => {}
            Err(why) => return Health::progressing(why),
        }
    }
    let healthy = &exprs.healthy;
    match run(healthy, &context) {
        Ok(true) => Health::Healthy,
        Ok(false) => Health::progressing(format!("waiting for `{healthy}`")),
        Err(why) => Health::progressing(why),
    }
}

/// Evaluates `source` to a bool, or says why it could not.
fn run(source: &str, context: &Context<'_, '_>) -> Result<bool, String> {
    let program = compile(source).map_err(|e| format!("`{source}` does not compile: {e}"))?;
    match program.execute(context) {
        Ok(Cel::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("`{source}` gives {other:?}, not a bool")),
        Err(e) => Err(format!("`{source}` cannot be evaluated: {e}")),
    }
}

/// The variables of an object.
fn context_of(obj: &Value) -> Context<'static, 'static> {
    let mut context = Context::default();
    for field in ["metadata", "spec", "status"] {
        let value = obj.get(field).map_or_else(empty_map, to_cel);
        context.add_variable_from_value(field, value);
    }
    for field in ["apiVersion", "kind"] {
        let value = obj.get(field).map_or(Cel::Null, to_cel);
        context.add_variable_from_value(field, value);
    }
    context.add_variable_from_value("object", to_cel(obj));
    context
}

fn empty_map() -> Cel {
    Cel::from(HashMap::<String, Cel>::new())
}

/// JSON → CEL, integers as `int` (so `>= 1` compares with written numbers).
fn to_cel(value: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cel::Int(i),
            None => n
                .as_u64()
                .map_or_else(|| Cel::Float(n.as_f64().unwrap_or(f64::NAN)), Cel::UInt),
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => Cel::from(
            map.iter()
                .map(|(k, v)| (k.clone(), to_cel(v)))
                .collect::<HashMap<String, Cel>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CLONESET: &str =
        "status.observedGeneration >= metadata.generation && status.updatedReadyReplicas == spec.replicas";

    fn exprs(healthy: &str, failed: Option<&str>) -> HealthExpressions {
        HealthExpressions {
            healthy: healthy.into(),
            failed: failed.map(String::from),
        }
    }

    fn cloneset(status: Value) -> Value {
        json!({
            "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3},
            "status": status
        })
    }

    #[test]
    fn table_of_cloneset_states() {
        let e = exprs(CLONESET, Some("status.observedGeneration == -1"));
        let cases = [
            (
                json!({"observedGeneration": 2, "updatedReadyReplicas": 3}),
                Health::Healthy,
            ),
            (
                json!({"observedGeneration": 1, "updatedReadyReplicas": 3}),
                Health::progressing(format!("waiting for `{CLONESET}`")),
            ),
            (
                json!({"observedGeneration": 2, "updatedReadyReplicas": 2}),
                Health::progressing(format!("waiting for `{CLONESET}`")),
            ),
            (
                json!({"observedGeneration": -1}),
                Health::failed("failed expression `status.observedGeneration == -1` is true"),
            ),
        ];
        for (status, want) in cases {
            assert_eq!(health(&e, &cloneset(status.clone())), want, "{status}");
        }
    }

    #[test]
    fn a_missing_field_is_not_healthy_and_says_why() {
        let got = health(&exprs(CLONESET, None), &cloneset(json!({})));
        let Health::Progressing { reason } = got else {
            panic!("{got:?}")
        };
        assert!(reason.contains("cannot be evaluated"), "{reason}");
        assert!(reason.contains(CLONESET), "{reason}");
        // Without any status at all: the same, not an unknown variable.
        let mut obj = cloneset(json!({}));
        obj.as_object_mut().unwrap().remove("status");
        assert!(!health(&exprs(CLONESET, None), &obj).is_healthy());
    }

    #[test]
    fn has_guards_omitted_fields_and_conditions_are_lists() {
        let e = exprs(
            "has(status.readyReplicas) && status.readyReplicas == spec.replicas",
            Some("has(status.conditions) && status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')"),
        );
        assert!(!health(&e, &cloneset(json!({}))).is_healthy());
        assert!(health(&e, &cloneset(json!({"readyReplicas": 3}))).is_healthy());
        let failed = cloneset(json!({"conditions": [{"type": "Failed", "status": "True"}]}));
        assert!(health(&e, &failed).is_failed());
    }

    #[test]
    fn a_non_bool_result_is_not_healthy() {
        let got = health(&exprs("spec.replicas", None), &cloneset(json!({})));
        assert!(matches!(got, Health::Progressing { ref reason } if reason.contains("not a bool")));
    }

    #[test]
    fn bad_expressions_do_not_compile() {
        assert!(compile("status.ready ==").is_err());
        assert!(compile(CLONESET).is_ok());
    }
}
