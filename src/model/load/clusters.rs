//! `clusters/<name>.yaml`: the cluster registry. The file name is the
//! cluster's identity, so `metadata.name` must repeat it.

use super::document::{header, typed, Files};
use crate::model::raw::{ClusterSpec, Document};
use crate::model::validate::selector::{check_key, check_value};
use crate::model::validate::{Loc, Problems};
use crate::model::{names, Cluster};

/// Reads one cluster file (`stem`: its name without the extension): the
/// cluster when the file is entirely valid.
pub fn read(source: &Files<'_>, stem: &str, path: &str, p: &mut Problems) -> Option<Cluster> {
    let loc = Loc::file(path);
    let value = source.single_document(path, "Cluster", p)?;
    header(loc, &value, &["Cluster"], "clusters/", p)?;
    let doc: Document<ClusterSpec> = typed(loc, value, p)?;
    let before = p.len();
    let Some(name) = doc.metadata.name else {
        p.push(
            loc,
            "metadata.name",
            format!("missing: set it to the file name ({stem})"),
        );
        return None;
    };
    if name != stem {
        p.push(
            loc,
            "metadata.name",
            format!(
                "{name:?} does not match the file name {path}: cluster {name} must be defined \
                 in clusters/{name}.yaml"
            ),
        );
    } else if let Err(why) = names::dns1123_label(&name) {
        p.push(
            loc,
            "metadata.name",
            format!("invalid cluster name {name:?}: {why}"),
        );
    }
    for (key, value) in &doc.metadata.labels {
        let field = format!("metadata.labels.{key}");
        check_key(loc, &field, key, p);
        check_value(loc, &field, value, p);
    }
    if doc.spec.context.as_deref() == Some("") {
        p.push(
            loc,
            "spec.context",
            "empty: name a kubeconfig context, or omit it to use the cluster name",
        );
    }
    (p.len() == before).then(|| Cluster {
        context: doc.spec.context.unwrap_or_else(|| name.clone()),
        name,
        labels: doc.metadata.labels,
        rollout_order: doc.spec.rollout_order,
        file: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::Snapshot;
    use crate::model::ModelError;
    use std::collections::BTreeMap;

    fn load_one(path: &str, yaml: &str) -> (BTreeMap<String, Cluster>, Vec<ModelError>) {
        let snapshot = Snapshot::from_files("c0ffee", [(path, yaml)]);
        let stem = path
            .trim_start_matches("clusters/")
            .trim_end_matches(".yaml");
        let mut p = Problems::default();
        let clusters = read(&Files::new(&snapshot), stem, path, &mut p)
            .map(|c| (c.name.clone(), c))
            .into_iter()
            .collect();
        (
            clusters,
            p.finish(()).err().map(|e| e.0).unwrap_or_default(),
        )
    }

    const HEAD: &str = "apiVersion: tranche.dev/v1alpha1\nkind: Cluster\n";

    #[test]
    fn cluster_context_defaults_to_its_name() {
        let (clusters, errors) = load_one(
            "clusters/eu-1.yaml",
            &format!("{HEAD}metadata: {{name: eu-1, labels: {{env: prod}}}}\n"),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(clusters["eu-1"].context, "eu-1");
        assert_eq!(clusters["eu-1"].labels["env"], "prod");
        assert_eq!(clusters["eu-1"].rollout_order, None);
    }

    #[test]
    fn file_name_must_match_metadata_name() {
        let (clusters, errors) = load_one(
            "clusters/eu-1.yaml",
            &format!("{HEAD}metadata: {{name: eu-2}}\n"),
        );
        assert!(clusters.is_empty());
        assert_eq!(
            errors,
            [ModelError::field(
                "clusters/eu-1.yaml",
                "metadata.name",
                "\"eu-2\" does not match the file name clusters/eu-1.yaml: cluster eu-2 must be \
                 defined in clusters/eu-2.yaml"
            )]
        );
    }

    #[test]
    fn cluster_names_are_dns_labels() {
        let (_, errors) = load_one(
            "clusters/EU_1.yaml",
            &format!("{HEAD}metadata: {{name: EU_1}}\n"),
        );
        assert_eq!(
            errors,
            [ModelError::field(
                "clusters/EU_1.yaml",
                "metadata.name",
                "invalid cluster name \"EU_1\": must consist of lowercase letters, digits and \
                 '-', and start and end with a letter or digit"
            )]
        );
    }

    #[test]
    fn typo_in_spec_names_the_field() {
        let (_, errors) = load_one(
            "clusters/eu-1.yaml",
            &format!("{HEAD}metadata: {{name: eu-1}}\nspec: {{contex: x}}\n"),
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].location(), "clusters/eu-1.yaml: spec.contex");
        assert!(
            errors[0].message.starts_with("unknown field `contex`"),
            "{}",
            errors[0].message
        );
    }
}
