//! Checks that turn the raw file shapes into model types, collecting every
//! problem instead of stopping at the first.
//!
//! Each submodule handles one file kind and reports through [`Problems`]
//! with a [`Loc`] (file, and document index for multi-document files) plus
//! a field path such as `spec.clusterAffinity.clusterNames[2]`. Checks that
//! need other files (unknown cluster or app names) read [`Known`], built
//! from the file layout alone so that one broken file does not cascade
//! into "unknown name" errors elsewhere. Cross-app checks (followApps
//! cycles, objects claimed by two apps, access) live in [`fleet`].

pub mod access;
pub mod analysis;
pub mod crds;
pub mod failover;
pub mod fleet;
pub mod manifest;
pub mod migration;
pub mod object;
pub mod overrides;
pub mod placement;
pub mod policy;
pub mod replicas;
pub mod selector;
pub mod staging;
pub mod workload;

use super::{ModelError, ModelErrors};
use std::collections::BTreeSet;

/// Where a problem is: a file, and the document index when the file holds
/// several documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc<'a> {
    /// Path relative to the fleet root.
    pub file: &'a str,
    /// 0-based document index, shown as `file[doc N]` when set.
    pub doc: Option<usize>,
}

impl<'a> Loc<'a> {
    /// A whole single-document file.
    pub fn file(file: &'a str) -> Self {
        Loc { file, doc: None }
    }

    /// One document of a multi-document file.
    pub fn doc(file: &'a str, doc: usize) -> Self {
        Loc {
            file,
            doc: Some(doc),
        }
    }

    /// The error for `field` (empty = the whole file or document).
    pub fn error(&self, field: &str, message: impl Into<String>) -> ModelError {
        let field = (!field.is_empty()).then_some(field);
        match (self.doc, field) {
            (Some(doc), field) => ModelError::doc(self.file, doc, field, message),
            (None, Some(field)) => ModelError::field(self.file, field, message),
            (None, None) => ModelError::file(self.file, message),
        }
    }
}

/// Every problem found so far, kept with its file so the final list can
/// be put in file order whatever order the checks ran in.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<(String, ModelError)>,
}

impl Problems {
    /// Records a problem at `loc`, `field` (empty = whole file/document).
    pub fn push(&mut self, loc: Loc<'_>, field: &str, message: impl Into<String>) {
        self.list
            .push((loc.file.to_string(), loc.error(field, message)));
    }

    /// Number of problems recorded.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems recorded after the first `start`, each with its file,
    /// to record again with [`Problems::replay`] (a load reusing what
    /// reported them).
    pub fn since(&self, start: usize) -> Vec<(String, ModelError)> {
        self.list.get(start..).unwrap_or_default().to_vec()
    }

    /// Records `problems` (from [`Problems::since`]) again, in their order.
    pub fn replay(&mut self, problems: &[(String, ModelError)]) {
        self.list.extend_from_slice(problems);
    }

    /// `Ok(value)` when nothing was recorded, else every problem in file
    /// order (problems of one file keep the order they were found in).
    pub fn finish<T>(self, value: T) -> Result<T, ModelErrors> {
        if self.list.is_empty() {
            return Ok(value);
        }
        Err(self.into_errors())
    }

    /// Every problem recorded, in file order.
    pub fn into_errors(self) -> ModelErrors {
        let mut list = self.list;
        list.sort_by(|a, b| a.0.cmp(&b.0));
        ModelErrors(list.into_iter().map(|(_, e)| e).collect())
    }
}

/// Names that exist in the repository, from its layout: a cluster exists
/// when `clusters/<name>.yaml` does, an app when `apps/<name>/` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Cluster names (file stems under `clusters/`).
    pub clusters: BTreeSet<String>,
    /// App names (directories under `apps/`).
    pub apps: BTreeSet<String>,
}

impl Known {
    /// Reports each entry of `names` (at `field[i]`) that is not a cluster.
    pub fn check_clusters(&self, loc: Loc<'_>, field: &str, names: &[String], p: &mut Problems) {
        for (i, name) in names.iter().enumerate() {
            if !self.clusters.contains(name) {
                p.push(
                    loc,
                    &format!("{field}[{i}]"),
                    format!("unknown cluster {name:?}: there is no clusters/{name}.yaml"),
                );
            }
        }
    }

    /// Reports each entry of `names` (at `field[i]`) that is not an app.
    pub fn check_apps(&self, loc: Loc<'_>, field: &str, names: &[String], p: &mut Problems) {
        for (i, name) in names.iter().enumerate() {
            if !self.apps.contains(name) {
                p.push(
                    loc,
                    &format!("{field}[{i}]"),
                    format!("unknown app {name:?}: there is no apps/{name}/ directory"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_render_as_the_error_type_documents() {
        assert_eq!(Loc::file("a.yaml").error("", "m").location(), "a.yaml");
        assert_eq!(
            Loc::file("a.yaml").error("spec.x", "m").location(),
            "a.yaml: spec.x"
        );
        assert_eq!(
            Loc::doc("a.yaml", 2).error("", "m").location(),
            "a.yaml[doc 2]"
        );
        assert_eq!(
            Loc::doc("a.yaml", 2).error("kind", "m").location(),
            "a.yaml[doc 2]: kind"
        );
    }

    #[test]
    fn problems_come_out_in_file_order() {
        let mut p = Problems::default();
        p.push(Loc::file("b.yaml"), "", "second file");
        p.push(Loc::file("a.yaml"), "y", "first file, found first");
        p.push(Loc::file("a.yaml"), "x", "first file, found second");
        let errors = p.finish(()).unwrap_err().0;
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "first file, found first",
                "first file, found second",
                "second file"
            ]
        );
    }
}
