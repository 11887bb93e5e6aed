//! The problems of an invalid commit as the pull-request comment lists
//! them: `file:line` first where the line is known, then the rest of the
//! validator's text. Pure.

use crate::model::ModelError;
use crate::revision::RevisionError;

/// One problem of an invalid commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemView {
    /// `apps/web/placement.yaml:14`, when the line is known.
    pub at: Option<String>,
    /// The rest (`spec.weight: must be ≥ 0`), or, without `at`, the whole
    /// problem as the validator reports it (`file[doc N]: field: …`).
    pub text: String,
}

impl ProblemView {
    /// A problem known only as text.
    pub fn text(text: impl Into<String>) -> Self {
        ProblemView {
            at: None,
            text: text.into(),
        }
    }

    /// One model error: with a line, `file:line` and `field: message`.
    pub fn of(e: &ModelError) -> Self {
        match (e.line, &e.field) {
            (Some(line), Some(field)) => ProblemView {
                at: Some(format!("{}:{line}", e.file)),
                text: format!("{field}: {}", e.message),
            },
            _ => ProblemView::text(e.to_string()),
        }
    }

    /// Every problem of a revision that could not be read.
    pub fn list(e: &RevisionError) -> Vec<ProblemView> {
        match e {
            RevisionError::Invalid { errors, .. } => errors.0.iter().map(ProblemView::of).collect(),
            other => other
                .problems()
                .into_iter()
                .map(ProblemView::text)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ProblemView;
    use crate::model::ModelError;

    #[test]
    fn a_known_line_goes_with_the_file() {
        let mut e = ModelError::doc("m.yaml", 1, Some("kind"), "unknown kind");
        assert_eq!(
            ProblemView::of(&e),
            ProblemView::text("m.yaml[doc 1]: kind: unknown kind")
        );
        e.line = Some(9);
        assert_eq!(
            ProblemView::of(&e),
            ProblemView {
                at: Some("m.yaml:9".into()),
                text: "kind: unknown kind".into()
            }
        );
    }
}
