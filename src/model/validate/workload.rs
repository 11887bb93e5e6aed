//! Checks a `WorkloadKind` policy into a row of the kind table
//! ([`crate::kinds::KindInfo`]): field paths turned into JSON pointers,
//! CEL health expressions compiled (a bad one is a problem naming the file
//! and field, never a surprise at gate time), built-in kinds refused (they
//! keep their own rules).

use super::{Loc, Problems};
use crate::kinds::{HealthExpressions, HealthRule, KindInfo, KindTable, Origin, Scope};
use crate::model::raw::WorkloadKindSpec;
use crate::rollout::health::expression;

/// One checked `WorkloadKind`: the (group, kind) it declares and its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadKind {
    /// API group, e.g. `apps.kruise.io`.
    pub group: String,
    /// Kind, e.g. `CloneSet`.
    pub kind: String,
    /// What the kind table learns.
    pub info: KindInfo,
}

/// Checks `raw` read from `loc`; `None` when it cannot make a row.
pub fn check(loc: Loc<'_>, raw: WorkloadKindSpec, p: &mut Problems) -> Option<WorkloadKind> {
    let before = p.len();
    let group = required(loc, "spec.group", raw.group, p);
    let kind = required(loc, "spec.kind", raw.kind, p);
    if let (Some(group), Some(kind)) = (&group, &kind) {
        if !group.contains('.') || group.chars().any(|c| c.is_whitespace() || c == '/') {
            p.push(
                loc,
                "spec.group",
                format!("{group:?} is not a custom API group (a DNS name such as apps.kruise.io)"),
            );
        }
        if !kind.starts_with(|c: char| c.is_ascii_uppercase())
            || !kind.chars().all(|c| c.is_ascii_alphanumeric())
        {
            p.push(
                loc,
                "spec.kind",
                format!("{kind:?} is not a kind name (letters and digits, starting upper-case)"),
            );
        }
        if KindTable::builtin().get(group, kind).is_some() {
            p.push(
                loc,
                "spec.kind",
                format!("{group}/{kind} is built in and keeps its own rules"),
            );
        }
    }
    let scope = match raw.scope.as_deref() {
        None | Some("Namespaced") => Scope::Namespaced,
        Some("Cluster") => Scope::Cluster,
        Some(other) => {
            p.push(
                loc,
                "spec.scope",
                format!("{other:?} is not a scope: Namespaced or Cluster"),
            );
            Scope::Namespaced
        }
    };
    let mut info = KindInfo::plain(scope, Origin::Policy(origin(loc)));
    info.workload = true;
    info.replicas = raw
        .replicas
        .and_then(|r| field_pointer(loc, "spec.replicas", &r, p));
    info.pod_spec = raw
        .pod_template
        .and_then(|t| field_pointer(loc, "spec.podTemplate", &t, p))
        .map(|t| format!("{t}/spec"));
    for (i, path) in raw.retain.iter().enumerate() {
        let field = format!("spec.retain[{i}]");
        info.retain.extend(field_pointer(loc, &field, path, p));
    }
    if let Some(health) = raw.health {
        let healthy = required(loc, "spec.health.healthy", health.healthy, p);
        let healthy = healthy.filter(|e| compiles(loc, "spec.health.healthy", e, p));
        let failed = health
            .failed
            .filter(|e| compiles(loc, "spec.health.failed", e, p));
        if let Some(healthy) = healthy {
            info.health = HealthRule::Expression;
            info.expressions = Some(HealthExpressions { healthy, failed });
        }
    }
    (p.len() == before).then_some(WorkloadKind {
        group: group?,
        kind: kind?,
        info,
    })
}

/// `file` or `file[doc N]`, for the kind table's origin.
fn origin(loc: Loc<'_>) -> String {
    match loc.doc {
        Some(doc) => format!("{}[doc {doc}]", loc.file),
        None => loc.file.to_string(),
    }
}

fn required(loc: Loc<'_>, field: &str, value: Option<String>, p: &mut Problems) -> Option<String> {
    match value.map(|v| v.trim().to_string()) {
        Some(v) if !v.is_empty() => Some(v),
        _ => {
            p.push(loc, field, "missing");
            None
        }
    }
}

fn compiles(loc: Loc<'_>, field: &str, source: &str, p: &mut Problems) -> bool {
    match expression::compile(source) {
        Ok(_) => true,
        Err(why) => {
            p.push(
                loc,
                field,
                format!("CEL expression {source:?} does not compile: {why}"),
            );
            false
        }
    }
}

/// A field path as a JSON pointer: dotted (`spec.template`) or already a
/// pointer (`/spec/template`).
fn field_pointer(loc: Loc<'_>, field: &str, path: &str, p: &mut Problems) -> Option<String> {
    match pointer_of(path) {
        Ok(pointer) => Some(pointer),
        Err(why) => {
            p.push(loc, field, format!("field path {path:?} is invalid: {why}"));
            None
        }
    }
}

/// `spec.template` → `/spec/template`; `/a/b` stays as it is.
pub fn pointer_of(path: &str) -> Result<String, &'static str> {
    let segments: Vec<&str> = match path.strip_prefix('/') {
        Some(pointer) => pointer.split('/').collect(),
        None => path.split('.').collect(),
    };
    if segments.iter().any(|s| s.is_empty()) {
        return Err("a segment is empty (write spec.replicas or /spec/replicas)");
    }
    if segments.iter().any(|s| s.chars().any(char::is_whitespace)) {
        return Err("a segment holds whitespace");
    }
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    Ok(segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::raw::WorkloadHealthSpec;

    fn spec(healthy: &str) -> WorkloadKindSpec {
        WorkloadKindSpec {
            group: Some("apps.kruise.io".into()),
            kind: Some("CloneSet".into()),
            replicas: Some("spec.replicas".into()),
            pod_template: Some("spec.template".into()),
            health: Some(WorkloadHealthSpec {
                healthy: Some(healthy.into()),
                failed: None,
            }),
            retain: vec!["spec.updateStrategy.partition".into()],
            ..WorkloadKindSpec::default()
        }
    }

    #[test]
    fn field_paths_become_pointers() {
        let table = [
            ("spec.replicas", Ok("/spec/replicas")),
            ("/spec/template", Ok("/spec/template")),
            ("spec.a~b", Ok("/spec/a~0b")),
            ("spec..replicas", Err(())),
            ("", Err(())),
            ("spec.my field", Err(())),
        ];
        for (path, want) in table {
            let got = pointer_of(path).map_err(|_| ());
            assert_eq!(got.as_deref(), want.as_ref().map(|s| *s), "{path}");
        }
    }

    #[test]
    fn a_good_spec_makes_a_workload_row() {
        let mut p = Problems::default();
        let loc = Loc::file("policies/cloneset.yaml");
        let w = check(loc, spec("status.readyReplicas == spec.replicas"), &mut p).unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            (w.group.as_str(), w.kind.as_str()),
            ("apps.kruise.io", "CloneSet")
        );
        assert!(w.info.workload);
        assert_eq!(w.info.replicas.as_deref(), Some("/spec/replicas"));
        assert_eq!(w.info.pod_spec.as_deref(), Some("/spec/template/spec"));
        assert_eq!(w.info.retain, ["/spec/updateStrategy/partition"]);
        assert_eq!(w.info.health, HealthRule::Expression);
    }

    #[test]
    fn a_bad_expression_names_the_file_and_field() {
        let mut p = Problems::default();
        let loc = Loc::file("policies/cloneset.yaml");
        assert!(check(loc, spec("status.readyReplicas =="), &mut p).is_none());
        let text = p.into_errors().to_string();
        assert!(text.contains("policies/cloneset.yaml"), "{text}");
        assert!(text.contains("spec.health.healthy"), "{text}");
        assert!(text.contains("does not compile"), "{text}");
    }

    #[test]
    fn built_in_kinds_are_refused() {
        let mut raw = spec("true");
        raw.group = Some("apps".into());
        raw.kind = Some("Deployment".into());
        let mut p = Problems::default();
        assert!(check(Loc::file("policies/d.yaml"), raw, &mut p).is_none());
        let text = p.into_errors().to_string();
        assert!(text.contains("built in"), "{text}");
    }
}
