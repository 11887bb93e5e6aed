//! Health rules that compose, in the manner of kube-runtime's
//! `wait::Condition`: a rule is any `Fn(&Value) -> Health`, and rules chain
//! with [`Rule::and`] into the check for one kind.

use super::Health;
use serde_json::Value;

/// A pure check of one live object.
///
/// Implemented for every `Fn(&Value) -> Health`, so small named functions
/// are rules and per-kind checks are built by chaining them.
pub trait Rule {
    /// Judges `obj` as the apiserver returned it.
    fn check(&self, obj: &Value) -> Health;

    /// Both rules must hold: a failure from either wins, then the first
    /// rule still progressing, else healthy. See [`Health::and`].
    fn and<R: Rule>(self, other: R) -> And<Self, R>
    where
        Self: Sized,
    {
        And(self, other)
    }
}

impl<F: Fn(&Value) -> Health> Rule for F {
    fn check(&self, obj: &Value) -> Health {
        self(obj)
    }
}

/// Two rules that must both hold; built by [`Rule::and`].
#[derive(Debug, Clone, Copy)]
pub struct And<A, B>(A, B);

impl<A: Rule, B: Rule> Rule for And<A, B> {
    fn check(&self, obj: &Value) -> Health {
        self.0.check(obj).and(|| self.1.check(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn progressing(_: &Value) -> Health {
        Health::Progressing {
            reason: "first".into(),
        }
    }
    fn failed(_: &Value) -> Health {
        Health::Failed {
            reason: "second".into(),
        }
    }
    fn healthy(_: &Value) -> Health {
        Health::Healthy
    }

    #[test]
    fn failure_beats_progress_whatever_the_order() {
        let obj = json!({});
        assert_eq!(
            progressing.and(failed).check(&obj),
            Health::Failed {
                reason: "second".into()
            }
        );
        assert_eq!(
            failed.and(progressing).check(&obj),
            Health::Failed {
                reason: "second".into()
            }
        );
    }

    #[test]
    fn first_progress_reason_is_kept() {
        let obj = json!({});
        let later = |_: &Value| Health::Progressing {
            reason: "later".into(),
        };
        assert_eq!(
            healthy.and(progressing).and(later).check(&obj),
            progressing(&obj)
        );
        assert_eq!(healthy.and(healthy).check(&obj), Health::Healthy);
    }
}
