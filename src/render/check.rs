//! Rendered objects pass the same checks as hand-written ones, after their
//! overrides and per cluster: what a manifest could not say, an override
//! cannot produce.
//!
//! For each object an override rule touched ([`Checker::problems`]):
//! * its identity (`apiVersion`, `kind`, `metadata.name`,
//!   `metadata.namespace`) is unchanged, unless the app's AccessPolicy lists
//!   that part in `identityOverrides`;
//! * the manifest checks ([`check_object`]): a name valid for its kind, a
//!   namespace that matches the kind's scope in the fleet's kind table,
//!   valid labels, sane HPA bounds;
//! * the AccessPolicy, with the scope from the kind table (never from
//!   whether the object carries `metadata.namespace`).
//!
//! A refused object names the first override rule after which it was
//! refused ([`overridden`]); it is not rendered. Within one cluster no two
//! objects may end up with the same identity ([`duplicates`]). [`verify`]
//! runs every check on a whole rendering, for tests and fuzzers: an
//! accepted repository renders only objects that pass it.

use crate::kinds::KindTable;
use crate::model::validate::object::check_object;
use crate::model::validate::{Loc, Problems};
use crate::model::{AccessRequest, AppAccess, Fleet, IdentityField, Manifest};
use crate::object::ObjectRef;
use crate::render::overrides::OrderedRule;
use crate::render::{ClusterRendering, RenderError, Rendering};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// `op` of errors about the result of an override rule.
const RESULT: &str = "overriders";
/// `op` of errors about a rendered object that no one rule caused.
const RENDERED: &str = "rendered object";

/// One problem of a rendered object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field concerned (`kind`, `metadata.labels.x`), empty for the whole object.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field.is_empty() {
            true => f.write_str(&self.message),
            false => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Checks the rendered objects of one app.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'a> {
    app: &'a str,
    kinds: &'a KindTable,
    access: &'a AppAccess,
}

impl<'a> Checker<'a> {
    /// The checker for `app` of `fleet` (its kind table and AccessPolicy).
    pub fn new(fleet: &'a Fleet, app: &'a str) -> Checker<'a> {
        Checker {
            app,
            kinds: &fleet.kinds,
            access: fleet.policies.access.for_app(app),
        }
    }

    /// Every problem of `object`, rendered from `manifest` (whose identity
    /// is `original`); empty when it may be applied.
    pub fn problems(
        &self,
        manifest: &Manifest,
        original: &ObjectRef,
        object: &Value,
    ) -> Vec<Problem> {
        let mut out = Vec::new();
        let Some(id) = ObjectRef::from_object(object) else {
            out.push(Problem {
                field: "metadata.name".into(),
                message: "overrides removed apiVersion, kind or metadata.name".into(),
            });
            return out;
        };
        for field in IdentityField::ALL {
            let (was, now) = (part(original, field), part(&id, field));
            if was != now && !self.access.allows_identity_override(field) {
                out.push(Problem {
                    field: field.path().into(),
                    message: format!(
                        "changed from {} to {}: overrides may not change an object's {} unless \
                         the AccessPolicy allows it for app {} (identityOverrides: [{}])",
                        shown(was),
                        shown(now),
                        field.as_str(),
                        self.app,
                        field.as_str()
                    ),
                });
            }
        }
        let mut p = Problems::default();
        check_object(
            Loc::doc(&manifest.file, manifest.doc),
            object,
            self.kinds,
            &mut p,
        );
        for e in p.into_errors().0 {
            out.push(Problem {
                field: e.field.unwrap_or_default(),
                message: e.message,
            });
        }
        if let Some(why) = self.access.denial(&AccessRequest::judged(self.kinds, &id)) {
            out.push(Problem {
                field: String::new(),
                message: format!(
                    "{id} is not allowed for app {} by the AccessPolicy: {why}",
                    self.app
                ),
            });
        }
        out
    }
}

fn part(id: &ObjectRef, field: IdentityField) -> Option<&str> {
    match field {
        IdentityField::ApiVersion => Some(&id.api_version),
        IdentityField::Kind => Some(&id.kind),
        IdentityField::Name => Some(&id.name),
        IdentityField::Namespace => id.namespace.as_deref(),
    }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_string(), |v| format!("{v:?}"))
}

/// One object that override rules touched, ready to be checked.
pub struct Overridden<'r, 'a> {
    /// The manifest it was rendered from.
    pub manifest: &'a Manifest,
    /// Its identity as written.
    pub original: &'a ObjectRef,
    /// `Kind ns/name` as written, for errors.
    pub label: &'a str,
    /// The rules that touched it, in application order.
    pub rules: &'r [&'r OrderedRule<'a>],
    /// Its pod spec pointer (for replaying the rules).
    pub pod_spec: Option<&'a str>,
}

/// Checks an object after its override rules. When it is refused, pushes
/// one error per problem, naming the first rule after which the object was
/// refused (found by replaying the rules on `start()`, the object before
/// any override), and returns `false`.
pub fn overridden(
    checker: &Checker<'_>,
    o: &Overridden<'_, '_>,
    start: impl FnOnce() -> Value,
    cluster: &str,
    result: &Value,
    errors: &mut Vec<RenderError>,
) -> bool {
    let problems = checker.problems(o.manifest, o.original, result);
    if problems.is_empty() {
        return true;
    }
    let mut replay = start();
    let mut scratch = Vec::new();
    let blamed = o
        .rules
        .iter()
        .find(|rule| {
            rule.apply(&mut replay, o.pod_spec, cluster, o.label, &mut scratch);
            !checker.problems(o.manifest, o.original, &replay).is_empty()
        })
        .or(o.rules.last());
    let Some(rule) = blamed else { return false };
    for problem in problems {
        errors.push(RenderError {
            file: rule.file.file.clone(),
            rule: rule.rule.index,
            op: RESULT.to_string(),
            cluster: cluster.to_string(),
            object: o.label.to_string(),
            message: format!("the result is refused: {problem}"),
        });
    }
    false
}

/// Reports objects of one cluster's rendering that end up with the same
/// identity (group, kind, namespace, name), naming both sources.
pub fn duplicates(rendering: &ClusterRendering) -> Vec<RenderError> {
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &str> =
        HashMap::with_capacity(rendering.apps.values().map(|a| a.objects.len()).sum());
    let mut errors = Vec::new();
    for app in rendering.apps.values() {
        for o in &app.objects {
            let id = &o.id;
            let key = (
                id.group(),
                id.kind.as_str(),
                id.namespace.as_deref(),
                id.name.as_str(),
            );
            match seen.get(&key) {
                None => {
                    seen.insert(key, &o.source);
                }
                Some(first) => errors.push(RenderError {
                    cluster: rendering.cluster.clone(),
                    ..RenderError::at(
                        &o.source,
                        RENDERED,
                        &id.to_string(),
                        format!(
                            "rendered twice on this cluster, also from {first}: overrides made two \
                             objects one"
                        ),
                    )
                }),
            }
        }
    }
    errors
}

/// [`duplicates`] over many clusters of one rendering, checking once the
/// clusters that hold the very same object lists
/// ([`crate::render::AppObjects`]) as one found clean. The lists checked
/// must stay alive while this lives (their ids identify them): it is for
/// one rendering being built.
#[derive(Debug, Default)]
pub struct Duplicates {
    clean: HashSet<Vec<usize>>,
}

impl Duplicates {
    /// The duplicates of `rendering` (none when the same lists were found
    /// clean before).
    pub fn check(&mut self, rendering: &ClusterRendering) -> Vec<RenderError> {
        let lists: Vec<usize> = (rendering.apps.values())
            .map(|a| a.objects.list_id())
            .collect();
        if self.clean.contains(&lists) {
            return Vec::new();
        }
        let errors = duplicates(rendering);
        if errors.is_empty() {
            self.clean.insert(lists);
        }
        errors
    }
}

/// Every check on a whole rendering of `fleet`: each object against its
/// manifest (identity, manifest checks, AccessPolicy) and no identity twice
/// per cluster. Empty for anything [`crate::render::render`] returned.
pub fn verify(fleet: &Fleet, rendering: &Rendering) -> Vec<RenderError> {
    let mut errors = Vec::new();
    for (cluster, cr) in &rendering.clusters {
        for (name, app) in &cr.apps {
            let checker = Checker::new(fleet, name);
            let manifests: BTreeMap<String, &Manifest> = fleet
                .apps
                .get(name)
                .into_iter()
                .flat_map(|a| &a.manifests)
                .map(|m| (m.source(), m))
                .collect();
            for o in &app.objects {
                let Some(m) = manifests.get(&o.source) else {
                    errors.push(RenderError {
                        cluster: cluster.clone(),
                        ..RenderError::at(
                            &o.source,
                            RENDERED,
                            &o.id.to_string(),
                            "not in any manifest",
                        )
                    });
                    continue;
                };
                let original = m.id();
                let original = original.as_ref().unwrap_or(&o.id);
                for problem in checker.problems(m, original, &o.object) {
                    errors.push(RenderError {
                        cluster: cluster.clone(),
                        ..RenderError::at(
                            &o.source,
                            RENDERED,
                            &o.id.to_string(),
                            problem.to_string(),
                        )
                    });
                }
            }
        }
        errors.extend(duplicates(cr));
    }
    errors
}

#[cfg(test)]
mod tests;
