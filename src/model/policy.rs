//! Validated policies: how rollouts are staged, what diffs ignore, and what
//! each app may touch. Loaded from the repo's `policies/*.yaml` over the
//! project's built-in `policies/` defaults.

use super::selector::LabelSelector;
use super::staging::{Allowance, Steps, TimeWindow};
use crate::kinds::Scope;
use std::collections::BTreeMap;
use std::time::Duration;

/// All policies in force for one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies {
    /// How a commit is staged over clusters.
    pub rollout: RolloutPolicy,
    /// What plan/diff ignores and how drift is handled.
    pub diff: DiffPolicy,
    /// What each app may create.
    pub access: AccessPolicy,
    /// Custom workload kinds (`kind: WorkloadKind`), added to the fleet's
    /// kind table when it loads.
    pub workload_kinds: Vec<crate::model::validate::workload::WorkloadKind>,
}

/// `kind: RolloutPolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutPolicy {
    /// Batch sizes: a ratio (`[1, 2, 7]`) or cumulative targets
    /// (`[1, 10%, 100%]`).
    pub steps: Steps,
    /// Canary cohorts: clusters matching the first selector go first,
    /// then those matching the second, …, then the rest.
    pub cohorts: Vec<LabelSelector>,
    /// Clusters of one batch allowed to fail before the batch fails.
    pub max_failures: Allowance,
    /// Least time from a batch's start until the next batch may start.
    pub min_success_time: Duration,
    /// Time between a batch passing its gate and the next one starting.
    pub pause_between_batches: Duration,
    /// Windows in which a new batch may start (none: any time).
    pub windows: Vec<TimeWindow>,
    /// Batches (1-based) that wait for a person's approval.
    pub approval_before: std::collections::BTreeSet<usize>,
    /// How long a batch may take to become healthy.
    pub health_timeout: Duration,
    /// How long a healthy batch must stay healthy before the next starts.
    pub bake_time: Duration,
    /// What a failed batch does.
    pub on_failure: OnFailure,
    /// Clusters applied at once within a batch.
    pub max_parallel: usize,
    /// Force server-side apply conflicts (take fields from other managers).
    pub force_conflicts: bool,
    /// Analysis gates after each batch's health gate (none: health only).
    pub analysis: super::analysis::Analysis,
}

/// `onFailure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Re-apply each touched cluster's previous commit.
    Rollback,
    /// Stop and leave clusters as they are.
    Pause,
}

/// `kind: DiffPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiffPolicy {
    /// Fields that never count as a difference.
    pub ignore: Vec<IgnoreRule>,
    /// What a periodic resync does with drift.
    pub drift: DriftMode,
}

/// Ignore JSON pointers on objects matched by group/kind/namespace/name
/// (each optional; unset matches all).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IgnoreRule {
    /// API group ("" = core) to match.
    pub group: Option<String>,
    /// Kind to match.
    pub kind: Option<String>,
    /// Namespace to match.
    pub namespace: Option<String>,
    /// Name to match.
    pub name: Option<String>,
    /// RFC 6901 pointers removed before diffing, e.g. `/spec/replicas`.
    pub json_pointers: Vec<String>,
}

/// `drift` in DiffPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriftMode {
    /// Re-apply the desired state when drift is found.
    #[default]
    Correct,
    /// Only report drift.
    Report,
}

/// `kind: AccessPolicy`: per app, what it may create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Rule for apps without their own entry.
    pub default: AppAccess,
    /// Rules by app name.
    pub apps: BTreeMap<String, AppAccess>,
}

/// What one app may create. Patterns are exact names or `*` (any), or a
/// prefix ending in `*` (e.g. `team-a-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAccess {
    /// Namespaces the app may write to (and Namespace objects it may create).
    pub namespaces: Vec<String>,
    /// Namespaces never allowed, even if matched above.
    pub denied_namespaces: Vec<String>,
    /// Kinds of namespaced objects allowed.
    pub kinds: Vec<String>,
    /// Kinds of cluster-scoped objects allowed (e.g. `Namespace`); empty = none.
    pub cluster_scoped_kinds: Vec<String>,
    /// Parts of an object's identity that overrides may change; empty =
    /// none (an override that renames, re-kinds or moves an object is
    /// refused).
    pub identity_overrides: Vec<IdentityField>,
}

/// One part of an object's identity (`identityOverrides` entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdentityField {
    /// `apiVersion` (e.g. `autoscaling/v2beta2` → `autoscaling/v2`).
    ApiVersion,
    /// `kind`.
    Kind,
    /// `metadata.name`.
    Name,
    /// `metadata.namespace`.
    Namespace,
}

impl IdentityField {
    /// Every field, in the order messages list them.
    pub const ALL: [IdentityField; 4] = [
        IdentityField::ApiVersion,
        IdentityField::Kind,
        IdentityField::Name,
        IdentityField::Namespace,
    ];

    /// The spelling in `identityOverrides` (`apiVersion`, `kind`, `name`,
    /// `namespace`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityField::ApiVersion => "apiVersion",
            IdentityField::Kind => "kind",
            IdentityField::Name => "name",
            IdentityField::Namespace => "namespace",
        }
    }

    /// The field path in an object (`apiVersion`, `kind`, `metadata.name`,
    /// `metadata.namespace`).
    pub fn path(self) -> &'static str {
        match self {
            IdentityField::ApiVersion => "apiVersion",
            IdentityField::Kind => "kind",
            IdentityField::Name => "metadata.name",
            IdentityField::Namespace => "metadata.namespace",
        }
    }

    /// Parses an `identityOverrides` entry.
    pub fn parse(text: &str) -> Option<IdentityField> {
        IdentityField::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// One object as the AccessPolicy judges it: its scope comes from the kind
/// table or from cluster discovery, never from whether the object happens
/// to carry `metadata.namespace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRequest<'a> {
    /// API group (empty for core).
    pub group: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Scope of the kind.
    pub scope: Scope,
    /// `metadata.namespace`, if the object sets one.
    pub namespace: Option<&'a str>,
    /// `metadata.name`.
    pub name: &'a str,
}

impl<'a> AccessRequest<'a> {
    /// The request to create object `id`, of a kind whose scope is `scope`.
    pub fn of(id: &'a crate::object::ObjectRef, scope: Scope) -> AccessRequest<'a> {
        AccessRequest {
            group: id.group(),
            kind: &id.kind,
            scope,
            namespace: id.namespace.as_deref(),
            name: &id.name,
        }
    }

    /// The request for `id` with its scope from `kinds`; a kind the table
    /// does not know is judged by what the object says (namespaced with a
    /// namespace, cluster-scoped without), and the cluster driver refuses
    /// it when discovery disagrees.
    pub fn judged(
        kinds: &crate::kinds::KindTable,
        id: &'a crate::object::ObjectRef,
    ) -> AccessRequest<'a> {
        let scope = kinds
            .scope(id.group(), &id.kind)
            .unwrap_or(match id.namespace {
                Some(_) => Scope::Namespaced,
                None => Scope::Cluster,
            });
        AccessRequest::of(id, scope)
    }
}

impl AccessPolicy {
    /// The rule in force for `app`.
    pub fn for_app(&self, app: &str) -> &AppAccess {
        self.apps.get(app).unwrap_or(&self.default)
    }
}

/// Whether `value` matches `pattern` (`*`, `prefix*`, or exact).
pub fn pattern_matches(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

impl AppAccess {
    /// Why the object `r` is not allowed, or `None` when it is. A
    /// cluster-scoped object needs its kind in `clusterScopedKinds` (and a
    /// Namespace object an allowed name) and must not carry a namespace; a
    /// namespaced one needs an allowed namespace and kind.
    pub fn denial(&self, r: &AccessRequest<'_>) -> Option<String> {
        let ns_ok = |ns: &str| {
            self.namespaces.iter().any(|p| pattern_matches(p, ns))
                && !self
                    .denied_namespaces
                    .iter()
                    .any(|p| pattern_matches(p, ns))
        };
        let kind = r.kind;
        match r.scope {
            Scope::Cluster => {
                if !self
                    .cluster_scoped_kinds
                    .iter()
                    .any(|p| pattern_matches(p, kind))
                {
                    return Some(format!("cluster-scoped kind {kind} is not allowed"));
                }
                if let Some(ns) = r.namespace {
                    return Some(format!(
                        "{kind} is cluster-scoped but the object sets namespace {ns:?}"
                    ));
                }
                if r.group.is_empty() && kind == "Namespace" && !ns_ok(r.name) {
                    return Some(format!("namespace {:?} is not allowed", r.name));
                }
                None
            }
            Scope::Namespaced => {
                let Some(ns) = r.namespace else {
                    return Some(format!(
                        "{kind} is namespaced but the object sets no namespace"
                    ));
                };
                if !ns_ok(ns) {
                    return Some(format!("namespace {ns:?} is not allowed"));
                }
                if !self.kinds.iter().any(|p| pattern_matches(p, kind)) {
                    return Some(format!("kind {kind} is not allowed"));
                }
                None
            }
        }
    }

    /// Whether overrides may change `field` of an object's identity.
    pub fn allows_identity_override(&self, field: IdentityField) -> bool {
        self.identity_overrides.contains(&field)
    }
}
