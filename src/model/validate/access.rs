//! AccessPolicy documents as checked patches: the default rule's fields,
//! and per-app entries whose omitted fields come from the default.

use super::policy::set;
use super::{Known, Loc, Problems};
use crate::model::raw;
use crate::model::{AccessPolicy, AppAccess, IdentityField};
use std::collections::BTreeMap;

/// The checked fields of one `AccessPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPatch {
    default: AccessFields,
    apps: BTreeMap<String, AccessFields>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AccessFields {
    namespaces: Option<Vec<String>>,
    denied_namespaces: Option<Vec<String>>,
    kinds: Option<Vec<String>>,
    cluster_scoped_kinds: Option<Vec<String>>,
    identity_overrides: Option<Vec<IdentityField>>,
}

impl AccessPatch {
    /// Checks a raw spec read from `loc`; app entries must name apps.
    pub fn check(
        loc: Loc<'_>,
        raw: raw::AccessSpec,
        known: &Known,
        p: &mut Problems,
    ) -> AccessPatch {
        let default = raw
            .default
            .map(|a| AccessFields::check(loc, "spec.default", a, p))
            .unwrap_or_default();
        let mut apps = BTreeMap::new();
        for (app, access) in raw.apps {
            let field = format!("spec.apps.{app}");
            if !known.apps.contains(&app) {
                p.push(
                    loc,
                    &field,
                    format!("unknown app {app:?}: there is no apps/{app}/ directory"),
                );
            }
            let fields = AccessFields::check(loc, &field, access, p);
            apps.insert(app, fields);
        }
        AccessPatch { default, apps }
    }

    /// Overwrites the default's fields this patch sets; each app entry
    /// starts from the resulting default and overwrites what it sets.
    pub fn apply_to(self, base: &mut AccessPolicy) {
        self.default.apply_to(&mut base.default);
        for (app, fields) in self.apps {
            let mut access = base
                .apps
                .get(&app)
                .cloned()
                .unwrap_or_else(|| base.default.clone());
            fields.apply_to(&mut access);
            base.apps.insert(app, access);
        }
    }

    /// The policy when the default sets every field; `None` otherwise.
    pub fn complete(self) -> Option<AccessPolicy> {
        let default = self.default.clone().complete()?;
        let mut policy = AccessPolicy {
            default,
            apps: BTreeMap::new(),
        };
        AccessPatch {
            default: AccessFields::default(),
            apps: self.apps,
        }
        .apply_to(&mut policy);
        Some(policy)
    }
}

impl AccessFields {
    fn check(loc: Loc<'_>, field: &str, raw: raw::AppAccess, p: &mut Problems) -> AccessFields {
        let mut patterns = |name: &str, list: Option<Vec<String>>| {
            if let Some(list) = &list {
                for (i, pat) in list.iter().enumerate() {
                    if let Err(why) = check_pattern(pat) {
                        p.push(
                            loc,
                            &format!("{field}.{name}[{i}]"),
                            format!("pattern {pat:?} {why}"),
                        );
                    }
                }
            }
            list
        };
        let namespaces = patterns("namespaces", raw.namespaces);
        let denied_namespaces = patterns("deniedNamespaces", raw.denied_namespaces);
        let kinds = patterns("kinds", raw.kinds);
        let cluster_scoped_kinds = patterns("clusterScopedKinds", raw.cluster_scoped_kinds);
        let identity_overrides = raw.identity_overrides.map(|list| {
            let mut fields = Vec::new();
            for (i, text) in list.iter().enumerate() {
                match IdentityField::parse(text) {
                    Some(f) if !fields.contains(&f) => fields.push(f),
                    Some(_) => {}
                    None => p.push(
                        loc,
                        &format!("{field}.identityOverrides[{i}]"),
                        format!(
                            "{text:?} is not an identity field: use apiVersion, kind, name or namespace"
                        ),
                    ),
                }
            }
            fields.sort();
            fields
        });
        AccessFields {
            namespaces,
            denied_namespaces,
            kinds,
            cluster_scoped_kinds,
            identity_overrides,
        }
    }

    fn apply_to(self, base: &mut AppAccess) {
        set(&mut base.namespaces, self.namespaces);
        set(&mut base.denied_namespaces, self.denied_namespaces);
        set(&mut base.kinds, self.kinds);
        set(&mut base.cluster_scoped_kinds, self.cluster_scoped_kinds);
        set(&mut base.identity_overrides, self.identity_overrides);
    }

    fn complete(self) -> Option<AppAccess> {
        Some(AppAccess {
            namespaces: self.namespaces?,
            denied_namespaces: self.denied_namespaces?,
            kinds: self.kinds?,
            cluster_scoped_kinds: self.cluster_scoped_kinds?,
            identity_overrides: self.identity_overrides?,
        })
    }
}

/// Patterns are exact names, `*`, or a prefix ending in `*`.
fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("is empty: use a name, `*`, or a prefix ending in `*`".to_string());
    }
    if pattern.trim_end_matches('*').contains('*') {
        return Err("is invalid: `*` may only end a pattern (e.g. team-a-*)".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelError;

    #[test]
    fn access_entries_inherit_the_default_and_need_known_apps() {
        let known = Known {
            apps: ["shop".to_string()].into(),
            ..Known::default()
        };
        let raw: raw::AccessSpec = crate::yaml::from_str(
            "default: {namespaces: [\"*\"], deniedNamespaces: [], kinds: [\"*\"], clusterScopedKinds: [], \
             identityOverrides: []}\n\
             apps: {shop: {clusterScopedKinds: [Namespace], identityOverrides: [name, apiVersion, name]}, \
             ghost: {kinds: [\"a*b\"], identityOverrides: [metadata.name]}}",
        )
        .unwrap();
        let mut p = Problems::default();
        let policy = AccessPatch::check(Loc::file("policies/access.yaml"), raw, &known, &mut p)
            .complete()
            .unwrap();
        assert_eq!(policy.for_app("shop").cluster_scoped_kinds, ["Namespace"]);
        assert_eq!(policy.for_app("shop").namespaces, ["*"]);
        assert_eq!(
            policy.for_app("shop").identity_overrides,
            [IdentityField::ApiVersion, IdentityField::Name]
        );
        assert!(policy.for_app("other").identity_overrides.is_empty());
        let errors = p.finish(()).unwrap_err().0;
        assert_eq!(
            errors,
            [
                ModelError::field(
                    "policies/access.yaml",
                    "spec.apps.ghost",
                    "unknown app \"ghost\": there is no apps/ghost/ directory"
                ),
                ModelError::field(
                    "policies/access.yaml",
                    "spec.apps.ghost.kinds[0]",
                    "pattern \"a*b\" is invalid: `*` may only end a pattern (e.g. team-a-*)"
                ),
                ModelError::field(
                    "policies/access.yaml",
                    "spec.apps.ghost.identityOverrides[0]",
                    "\"metadata.name\" is not an identity field: use apiVersion, kind, name or namespace"
                ),
            ]
        );
    }
}
