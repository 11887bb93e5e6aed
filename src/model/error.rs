//! Errors found while loading a fleet: each names the file, and where it
//! helps the document index and field path. Loading collects all of them.

use std::fmt;

/// One problem in the repository, located precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ModelError {
    /// `file`, `file[doc 2]`, or `file: spec.clusterAffinity.clusterNames[1]`.
    pub location: String,
    /// What is wrong, and what to do where it is not obvious.
    pub message: String,
}

impl ModelError {
    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        ModelError {
            location: file.to_string(),
            message: message.into(),
        }
    }

    /// An error about a field of a file (`field` like `spec.weight`).
    pub fn field(file: &str, field: &str, message: impl Into<String>) -> Self {
        ModelError {
            location: format!("{file}: {field}"),
            message: message.into(),
        }
    }

    /// An error about one YAML document of a multi-document file.
    pub fn doc(file: &str, doc: usize, field: Option<&str>, message: impl Into<String>) -> Self {
        let location = match field {
            Some(f) => format!("{file}[doc {doc}]: {f}"),
            None => format!("{file}[doc {doc}]"),
        };
        ModelError {
            location,
            message: message.into(),
        }
    }
}

/// Every problem found in one load, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ModelErrors(pub Vec<ModelError>);

impl fmt::Display for ModelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
