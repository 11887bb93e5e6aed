//! `tranche.yaml`: repository-wide settings (default namespace, which
//! policy of each kind applies, extra cluster-scoped kinds).

use super::document::{header, typed, Files};
use crate::model::names;
use crate::model::raw::{Document, PolicySelection, RepositorySpec};
use crate::model::validate::manifest::ObjectRules;
use crate::model::validate::{Loc, Problems};

/// Settings in force for one load.
#[derive(Debug, Clone, Default)]
pub struct RepoSettings {
    /// Path of `tranche.yaml`, when present.
    pub file: Option<String>,
    /// Which named policy applies per kind.
    pub selection: PolicySelection,
    /// How objects are namespaced.
    pub rules: ObjectRules,
}

/// Reads `tranche.yaml` when present; defaults otherwise (and for fields
/// that are invalid, which are reported).
pub fn settings(source: &Files<'_>, path: Option<&str>, p: &mut Problems) -> RepoSettings {
    let mut settings = RepoSettings {
        file: path.map(str::to_string),
        ..RepoSettings::default()
    };
    let Some(path) = path else { return settings };
    let Some(spec) = spec(source, path, p) else {
        return settings;
    };
    let loc = Loc::file(path);
    if let Some(ns) = spec.default_namespace {
        match names::dns1123_label(&ns) {
            Ok(()) => settings.rules.default_namespace = ns,
            Err(why) => p.push(
                loc,
                "spec.defaultNamespace",
                format!("invalid namespace {ns:?}: {why}"),
            ),
        }
    }
    for (i, kind) in spec.cluster_scoped_kinds.iter().enumerate() {
        if kind.is_empty() || kind.contains(|c: char| !c.is_ascii_alphanumeric()) {
            p.push(
                loc,
                &format!("spec.clusterScopedKinds[{i}]"),
                format!("{kind:?} is not a kind name (e.g. ClusterIssuer)"),
            );
        }
    }
    for kind in &spec.cluster_scoped_kinds {
        settings.rules.kinds.declare_cluster_scoped(kind);
    }
    settings.selection = spec.policies;
    settings
}

fn spec(source: &Files<'_>, path: &str, p: &mut Problems) -> Option<RepositorySpec> {
    let loc = Loc::file(path);
    let value = source.single_document(path, "Repository", p)?;
    header(loc, &value, &["Repository"], "tranche.yaml", p)?;
    let doc: Document<RepositorySpec> = typed(loc, value, p)?;
    Some(doc.spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Snapshot;
    use crate::model::ModelError;

    #[test]
    fn settings_are_read_and_checked() {
        let snapshot = Snapshot::from_files(
            "c0ffee",
            [(
                "tranche.yaml",
                "apiVersion: tranche.dev/v1alpha1\nkind: Repository\nspec:\n  defaultNamespace: apps\n  \
                 policies: {rollout: careful}\n  clusterScopedKinds: [ClusterIssuer, \"bad kind\"]\n",
            )],
        );
        let mut p = Problems::default();
        let s = settings(&Files::new(&snapshot), Some("tranche.yaml"), &mut p);
        assert_eq!(s.rules.default_namespace, "apps");
        assert_eq!(s.selection.rollout.as_deref(), Some("careful"));
        assert!(s.rules.is_cluster_scoped("ClusterIssuer"));
        assert_eq!(
            p.finish(()).unwrap_err().0,
            [ModelError::field(
                "tranche.yaml",
                "spec.clusterScopedKinds[1]",
                "\"bad kind\" is not a kind name (e.g. ClusterIssuer)"
            )]
        );
    }
}
