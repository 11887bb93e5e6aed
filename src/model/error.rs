//! Errors found while loading a fleet: each names the file, and where it
//! helps the document index, field path and line. Loading collects all of
//! them.

use std::fmt;

/// One problem in the repository, located precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// Path relative to the fleet root.
    pub file: String,
    /// 0-based index of the (non-empty) YAML document, in multi-document files.
    pub doc: Option<usize>,
    /// Field path like `spec.clusterAffinity.clusterNames[1]`.
    pub field: Option<String>,
    /// 1-based line of the field in the file, when it could be found.
    pub line: Option<usize>,
    /// What is wrong, and what to do where it is not obvious.
    pub message: String,
}

impl ModelError {
    /// An error about a whole file.
    pub fn file(file: &str, message: impl Into<String>) -> Self {
        ModelError {
            file: file.to_string(),
            doc: None,
            field: None,
            line: None,
            message: message.into(),
        }
    }

    /// An error about a field of a file (`field` like `spec.weight`).
    pub fn field(file: &str, field: &str, message: impl Into<String>) -> Self {
        ModelError {
            field: Some(field.to_string()),
            ..ModelError::file(file, message)
        }
    }

    /// An error about one YAML document of a multi-document file.
    pub fn doc(file: &str, doc: usize, field: Option<&str>, message: impl Into<String>) -> Self {
        ModelError {
            doc: Some(doc),
            field: field.map(str::to_string),
            ..ModelError::file(file, message)
        }
    }

    /// The same error at a known line.
    pub fn with_line(self, line: usize) -> Self {
        ModelError {
            line: Some(line),
            ..self
        }
    }

    /// `file`, `file[doc 2]`, `file: spec.clusterAffinity.clusterNames[1]`
    /// or `file[doc 2]: kind`.
    pub fn location(&self) -> String {
        let mut out = self.file.clone();
        if let Some(doc) = self.doc {
            out.push_str(&format!("[doc {doc}]"));
        }
        if let Some(field) = &self.field {
            out.push_str(": ");
            out.push_str(field);
        }
        out
    }
}

impl fmt::Display for ModelError {
    /// `location: message`, then ` (line N)` when the line is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ModelError {}

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

#[cfg(test)]
mod tests {
    use super::ModelError;

    #[test]
    fn the_line_is_appended_after_the_message() {
        let mut e = ModelError::field("apps/web/placement.yaml", "spec.weight", "must be ≥ 0");
        assert_eq!(
            e.to_string(),
            "apps/web/placement.yaml: spec.weight: must be ≥ 0"
        );
        e.line = Some(14);
        assert_eq!(
            e.to_string(),
            "apps/web/placement.yaml: spec.weight: must be ≥ 0 (line 14)"
        );
        let d = ModelError::doc("m.yaml", 2, Some("kind"), "m");
        assert_eq!(d.location(), "m.yaml[doc 2]: kind");
        assert_eq!(
            ModelError::doc("m.yaml", 2, None, "m").location(),
            "m.yaml[doc 2]"
        );
    }
}
