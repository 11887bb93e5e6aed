//! Analysis gates of a RolloutPolicy as validated data: checks run after a
//! batch's health gate and through its bake time, each with a success
//! [`Condition`] and a failure limit. Per-cluster text (PromQL, URLs,
//! Prometheus addresses) is a [`Template`] over the cluster's name and
//! labels. Pure: parsing, rendering and judging; no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Default time between two evaluations of a check.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Default time a smoke-test Job may take.
pub const DEFAULT_JOB_TIMEOUT: Duration = Duration::from_secs(300);

/// `spec.analysis`: no checks means no analysis.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analysis {
    /// The checks, in the policy's order.
    pub checks: Vec<Check>,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Name (unique within the policy).
    pub name: String,
    /// What it asks.
    pub probe: Probe,
    /// What a good result is (`None`: any answer of the probe is good).
    pub condition: Option<Condition>,
    /// Bad results of one cluster at which the batch fails (≥ 1).
    pub failure_limit: u32,
    /// Time between evaluations.
    pub interval: Duration,
}

/// What a check asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A PromQL instant query.
    Prometheus {
        /// The query.
        query: Template,
        /// Base URL of the Prometheus.
        address: Template,
        /// Bearer token file.
        token_file: Option<String>,
    },
    /// An HTTP GET.
    Http {
        /// The URL.
        url: Template,
        /// Expected status (`None`: any 2xx).
        status: Option<u16>,
        /// Field of the JSON body the condition judges.
        json_pointer: Option<String>,
        /// Bearer token file.
        token_file: Option<String>,
    },
    /// A Job created in each cluster, which must complete.
    Job {
        /// The Job object (`batch/v1`), with its namespace set.
        manifest: serde_json::Value,
        /// How long it may take.
        timeout: Duration,
    },
}

impl Probe {
    /// `prometheus`, `http` or `job`.
    pub fn kind(&self) -> &'static str {
        match self {
            Probe::Prometheus { .. } => "prometheus",
            Probe::Http { .. } => "http",
            Probe::Job { .. } => "job",
        }
    }
}

/// What a template knows of one cluster.
#[derive(Debug, Clone, Copy)]
pub struct ClusterVars<'a> {
    /// Cluster name.
    pub name: &'a str,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
}

/// Text with `{{cluster.name}}` and `{{cluster.labels.KEY}}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Name,
    Label(String),
}

impl Template {
    /// Parses `source`; the error says what is wrong with which placeholder.
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(format!(
                    "unclosed placeholder at {:?}: write {{{{cluster.name}}}}",
                    clip(&rest[start..])
                ));
            };
            let var = after[..end].trim();
            parts.push(match var {
                "cluster.name" => Part::Name,
                _ => match var.strip_prefix("cluster.labels.") {
                    Some(key) if !key.is_empty() => Part::Label(key.to_string()),
                    _ => {
                        return Err(format!(
                            "unknown placeholder {{{{{var}}}}}: use {{{{cluster.name}}}} or {{{{cluster.labels.KEY}}}}"
                        ))
                    }
                },
            });
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text for one cluster, each inserted value passed through
    /// `escape`; fails naming a label the cluster lacks.
    pub fn render(
        &self,
        vars: ClusterVars<'_>,
        escape: &dyn Fn(&str) -> String,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Name => out.push_str(&escape(vars.name)),
                Part::Label(key) => match vars.labels.get(key) {
                    Some(v) => out.push_str(&escape(v)),
                    None => return Err(format!("cluster {} has no label {key:?}", vars.name)),
                },
            }
        }
        Ok(out)
    }

    /// The text with every placeholder filled by a sample value (for
    /// checks at load time).
    pub fn sample(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Name | Part::Label(_) => out.push_str("sample"),
            }
        }
        out
    }
}

/// Escapes a value for a PromQL double-quoted string.
pub fn promql_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Inserts a value as it is.
pub fn verbatim(value: &str) -> String {
    value.to_string()
}

fn clip(text: &str) -> String {
    text.chars().take(24).collect()
}

/// Comparison of a [`Condition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// The value a condition compares with, or a measured value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number (never NaN in a condition).
    Number(f64),
    /// A string.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// `successCondition`: an operator and a value, e.g. `< 0.01`, `== "ok"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Comparison.
    pub op: Op,
    /// Right-hand side.
    pub value: Value,
}

// Condition values are never NaN (parse refuses it), so equality is total.
impl Eq for Condition {}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.as_str(), self.value)
    }
}

impl Condition {
    /// Parses `< 0.01`, `>= 1`, `== "ok"`, `!= 'down'`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let Some((op, rest)) = ops
            .iter()
            .find_map(|(s, op)| t.strip_prefix(s).map(|rest| (*op, rest.trim())))
        else {
            return Err(format!(
                "{text:?} is not a condition: write an operator (<, <=, >, >=, ==, !=) and a value, e.g. \"< 0.01\""
            ));
        };
        let quoted = ['"', '\'']
            .iter()
            .find_map(|q| rest.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)));
        let value = match quoted {
            Some(s) if rest.len() >= 2 => Value::Text(s.to_string()),
            _ => match rest.parse::<f64>() {
                Ok(n) if n.is_finite() => Value::Number(n),
                _ => {
                    return Err(format!(
                        "{text:?}: {rest:?} is neither a number nor a quoted string"
                    ))
                }
            },
        };
        if matches!(value, Value::Text(_)) && !matches!(op, Op::Eq | Op::Ne) {
            return Err(format!("{text:?}: strings compare only with == or !="));
        }
        Ok(Condition { op, value })
    }

    /// Whether `measured` meets the condition. A string that reads as a
    /// number is compared as one; NaN meets nothing but `!=`.
    pub fn holds(&self, measured: &Value) -> bool {
        let number = |v: &Value| match v {
            Value::Number(n) => Some(*n),
            Value::Text(t) => t.trim().parse::<f64>().ok(),
        };
        match &self.value {
            Value::Number(want) => {
                let Some(got) = number(measured) else {
                    return self.op == Op::Ne;
                };
                match self.op {
                    Op::Lt => got < *want,
                    Op::Le => got <= *want,
                    Op::Gt => got > *want,
                    Op::Ge => got >= *want,
                    Op::Eq => got == *want,
                    Op::Ne => got != *want,
                }
            }
            Value::Text(want) => {
                let got = match measured {
                    Value::Text(t) => t.clone(),
                    Value::Number(n) => n.to_string(),
                };
                (got == *want) == (self.op == Op::Eq)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(labels: &'a BTreeMap<String, String>) -> ClusterVars<'a> {
        ClusterVars {
            name: "eu-1",
            labels,
        }
    }

    #[test]
    fn templates_fill_name_and_labels_escaped() {
        let labels = BTreeMap::from([("region".to_string(), "eu\"x".to_string())]);
        let t = Template::parse(
            r#"up{cluster="{{cluster.name}}",region="{{ cluster.labels.region }}"}"#,
        )
        .unwrap();
        assert_eq!(
            t.render(vars(&labels), &promql_escape).unwrap(),
            r#"up{cluster="eu-1",region="eu\"x"}"#
        );
        let missing = Template::parse("{{cluster.labels.tier}}").unwrap();
        assert_eq!(
            missing.render(vars(&labels), &verbatim).unwrap_err(),
            "cluster eu-1 has no label \"tier\""
        );
    }

    #[test]
    fn bad_placeholders_are_named() {
        assert_eq!(
            Template::parse("a{{cluster.nme}}").unwrap_err(),
            "unknown placeholder {{cluster.nme}}: use {{cluster.name}} or {{cluster.labels.KEY}}"
        );
        assert!(Template::parse("x{{cluster.name")
            .unwrap_err()
            .starts_with("unclosed placeholder"));
    }

    #[test]
    fn conditions_parse_and_judge() {
        let c = Condition::parse("< 0.01").unwrap();
        assert!(c.holds(&Value::Number(0.002)));
        assert!(!c.holds(&Value::Number(0.05)));
        assert!(!c.holds(&Value::Number(f64::NAN)));
        assert!(c.holds(&Value::Text("0.001".into())));
        assert_eq!(c.to_string(), "< 0.01");
        let ok = Condition::parse("== \"ok\"").unwrap();
        assert!(ok.holds(&Value::Text("ok".into())));
        assert!(!ok.holds(&Value::Text("degraded".into())));
        assert!(Condition::parse(">= 1").unwrap().holds(&Value::Number(1.0)));
        assert!(Condition::parse("0.01").is_err());
        assert!(Condition::parse("< \"a\"").is_err());
        assert!(Condition::parse("< abc").is_err());
    }
}
