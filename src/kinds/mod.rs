//! The one table of what tranche knows about Kubernetes kinds, keyed by
//! (API group, kind) — never by kind alone, so `example.com/Deployment` is
//! a custom resource everywhere, not a Deployment.
//!
//! Per kind it says: the scope (namespaced or cluster-scoped), whether it
//! is a workload (policy name `<app>-<kind>-<name>`), where its replica
//! count and pod spec live (JSON pointers, for the replica split and the
//! image, command and args overriders), whether it is a
//! HorizontalPodAutoscaler, which health rule judges it, its rank in apply
//! order, and how its names are checked.
//!
//! The built-in rows ([`builtin`]) are Kubernetes' own kinds and a few very
//! common add-ons. A [`KindTable`] starts from them and takes more entries
//! at runtime: the repository's `spec.clusterScopedKinds` (by kind name, for
//! custom kinds of any group), the CustomResourceDefinitions the fleet ships
//! (exact group and kind, with their declared scope), and any later policy
//! that declares custom workload kinds (`kind: WorkloadKind`,
//! [`KindTable::insert`]). A kind the
//! table does not know has no scope here: the model then treats it as
//! namespaced and the cluster driver decides from discovery.

mod builtin;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// Whether objects of a kind live in a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Objects live in a namespace.
    Namespaced,
    /// Objects are cluster-wide.
    Cluster,
}

/// Which health rule judges live objects of a kind (see
/// `crate::rollout::health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthRule {
    /// Rollout complete: observed generation, updated = available = desired.
    Deployment,
    /// Rolling update done: current revision, ready replicas.
    StatefulSet,
    /// Every scheduled node runs an updated, available pod.
    DaemonSet,
    /// Complete, or failed.
    Job,
    /// Able to scale, not limited in a failing way.
    HorizontalPodAutoscaler,
    /// Not Terminating.
    Namespace,
    /// Established, names accepted.
    CustomResourceDefinition,
    /// Bound.
    PersistentVolumeClaim,
    /// Existing is healthy.
    Exists,
    /// CEL expressions a `WorkloadKind` policy declares
    /// ([`KindInfo::expressions`]).
    Expression,
}

/// Health of a custom workload kind as CEL expressions over the live object
/// (its top-level fields are the variables: `metadata`, `spec`, `status`),
/// from a `WorkloadKind` policy. Checked to compile when the policy loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthExpressions {
    /// True once the object has reached the state it was given, e.g.
    /// `status.observedGeneration >= metadata.generation`.
    pub healthy: String,
    /// True when the object will not get there by itself (the gate fails
    /// at once); optional.
    pub failed: Option<String>,
}

/// How `metadata.name` of a kind is checked (as the apiserver does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// DNS-1123 subdomain: most kinds.
    Dns1123Subdomain,
    /// DNS-1123 label: Namespaces.
    Dns1123Label,
    /// DNS-1035 label: Services.
    Dns1035Label,
    /// A path segment (no `/`, `%`, `.` or `..`): RBAC objects, so
    /// `system:…` names work.
    PathSegment,
}

/// Where a kind's entry came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// tranche's built-in table.
    Builtin,
    /// `spec.clusterScopedKinds` of the repository settings.
    Repository,
    /// A CustomResourceDefinition shipped by the fleet, at this source
    /// (`file[doc N]`).
    Crd(String),
    /// A policy that declared the kind (its file).
    Policy(String),
}

/// What tranche knows about one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInfo {
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// Runs pods and gets the workload policy name `<app>-<kind>-<name>`.
    pub workload: bool,
    /// JSON pointer of the replica count tranche splits (Divided) and an
    /// HPA may own, e.g. `/spec/replicas`.
    pub replicas: Option<String>,
    /// JSON pointer of the pod spec, e.g. `/spec/template/spec`.
    pub pod_spec: Option<String>,
    /// A HorizontalPodAutoscaler (scaleTargetRef, min/max replicas).
    pub hpa: bool,
    /// The health rule for live objects.
    pub health: HealthRule,
    /// Position in apply order; `None` goes after every ranked kind.
    pub apply_rank: Option<usize>,
    /// How names are checked.
    pub names: NameRule,
    /// The CEL health of a custom workload kind (with
    /// [`HealthRule::Expression`]).
    pub expressions: Option<HealthExpressions>,
    /// JSON pointers whose live values the plan keeps instead of the
    /// rendered ones (fields a controller owns), e.g.
    /// `/spec/updateStrategy/partition`.
    pub retain: Vec<String>,
    /// Where this entry came from.
    pub origin: Origin,
}

impl KindInfo {
    /// A plain kind of `scope`: no pods, health by existence, unranked,
    /// DNS-1123 subdomain names.
    pub fn plain(scope: Scope, origin: Origin) -> KindInfo {
        KindInfo {
            scope,
            workload: false,
            replicas: None,
            pod_spec: None,
            hpa: false,
            health: HealthRule::Exists,
            apply_rank: None,
            names: NameRule::Dns1123Subdomain,
            expressions: None,
            retain: Vec::new(),
            origin,
        }
    }
}

/// The kinds tranche knows, by (group, kind); see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTable {
    /// group → kind → entry (nested so lookups by `&str` allocate nothing).
    entries: BTreeMap<String, BTreeMap<String, KindInfo>>,
    /// Kind names the repository declares cluster-scoped for any group the
    /// table has no entry for.
    cluster_scoped_names: BTreeSet<String>,
}

static BUILTIN: LazyLock<KindTable> = LazyLock::new(|| {
    let mut table = KindTable {
        entries: BTreeMap::new(),
        cluster_scoped_names: BTreeSet::new(),
    };
    for (group, kind, info) in builtin::rows() {
        table.insert(group, kind, info);
    }
    table
});

impl Default for KindTable {
    fn default() -> Self {
        KindTable::builtin().clone()
    }
}

impl KindTable {
    /// The built-in table alone.
    pub fn builtin() -> &'static KindTable {
        &BUILTIN
    }

    /// The entry for `group` (empty for core) and `kind`. A kind name the
    /// repository declares cluster-scoped matches in any group the table
    /// has no entry for.
    pub fn get(&self, group: &str, kind: &str) -> Option<&KindInfo> {
        static DECLARED: LazyLock<KindInfo> =
            LazyLock::new(|| KindInfo::plain(Scope::Cluster, Origin::Repository));
        match self.entries.get(group).and_then(|kinds| kinds.get(kind)) {
            Some(info) => Some(info),
            None if self.cluster_scoped_names.contains(kind) => Some(&DECLARED),
            None => None,
        }
    }

    /// Adds or replaces the entry for (`group`, `kind`): how CRDs of the
    /// fleet and policies that declare custom kinds extend the table.
    pub fn insert(&mut self, group: &str, kind: &str, info: KindInfo) {
        self.entries
            .entry(group.to_string())
            .or_default()
            .insert(kind.to_string(), info);
    }

    /// Declares custom kinds named `kind` cluster-scoped in every group the
    /// table has no entry for (the repository's `spec.clusterScopedKinds`).
    pub fn declare_cluster_scoped(&mut self, kind: &str) {
        self.cluster_scoped_names.insert(kind.to_string());
    }

    /// Whether the repository declared custom kinds named `kind`
    /// cluster-scoped ([`KindTable::declare_cluster_scoped`]).
    pub fn is_declared_cluster_scoped(&self, kind: &str) -> bool {
        self.cluster_scoped_names.contains(kind)
    }

    /// The scope of a kind, `None` when the table does not know it.
    pub fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        self.get(group, kind).map(|i| i.scope)
    }

    /// Whether the kind is a workload (workload policy name).
    pub fn is_workload(&self, group: &str, kind: &str) -> bool {
        self.get(group, kind).is_some_and(|i| i.workload)
    }

    /// JSON pointer of the kind's split replica count, if it has one.
    pub fn replicas_pointer(&self, group: &str, kind: &str) -> Option<&str> {
        self.get(group, kind).and_then(|i| i.replicas.as_deref())
    }

    /// JSON pointer of the kind's pod spec, if it has one.
    pub fn pod_spec_pointer(&self, group: &str, kind: &str) -> Option<&str> {
        self.get(group, kind).and_then(|i| i.pod_spec.as_deref())
    }

    /// Whether the kind is a HorizontalPodAutoscaler.
    pub fn is_hpa(&self, group: &str, kind: &str) -> bool {
        self.get(group, kind).is_some_and(|i| i.hpa)
    }

    /// The health rule of the kind ([`HealthRule::Exists`] when unknown).
    pub fn health_rule(&self, group: &str, kind: &str) -> HealthRule {
        self.get(group, kind)
            .map_or(HealthRule::Exists, |i| i.health)
    }

    /// Position of the kind in apply order; kinds without a rank share the
    /// last position, after every ranked kind.
    pub fn apply_rank(&self, group: &str, kind: &str) -> usize {
        self.get(group, kind)
            .and_then(|i| i.apply_rank)
            .unwrap_or(usize::MAX)
    }

    /// The CEL health of a custom workload kind, if it declares one.
    pub fn health_expressions(&self, group: &str, kind: &str) -> Option<&HealthExpressions> {
        self.get(group, kind).and_then(|i| i.expressions.as_ref())
    }

    /// JSON pointers whose live values are kept (empty for most kinds).
    pub fn retained(&self, group: &str, kind: &str) -> &[String] {
        self.get(group, kind).map_or(&[], |i| i.retain.as_slice())
    }

    /// How names of the kind are checked (DNS-1123 subdomain when unknown).
    pub fn name_rule(&self, group: &str, kind: &str) -> NameRule {
        self.get(group, kind)
            .map_or(NameRule::Dns1123Subdomain, |i| i.names)
    }
}

/// Whether (`group`, `kind`) is the CustomResourceDefinition kind.
pub fn is_crd(group: &str, kind: &str) -> bool {
    group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition"
}

/// The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → core `""`).
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// The (group, kind) of an object; empty strings when absent.
pub fn group_kind(obj: &serde_json::Value) -> (&str, &str) {
    let api_version = obj
        .get("apiVersion")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let kind = obj
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    (group_of(api_version), kind)
}

/// The (group, kind, scope) a CustomResourceDefinition object declares,
/// `None` when `obj` is not a CRD or misses `spec.group`,
/// `spec.names.kind` or a valid `spec.scope`.
pub fn crd_declares(obj: &serde_json::Value) -> Option<(String, String, Scope)> {
    let (group, kind) = group_kind(obj);
    if !is_crd(group, kind) {
        return None;
    }
    let field = |p: &str| obj.pointer(p).and_then(serde_json::Value::as_str);
    let scope = match field("/spec/scope")? {
        "Cluster" => Scope::Cluster,
        "Namespaced" => Scope::Namespaced,
        _ => return None,
    };
    Some((
        field("/spec/group")?.to_string(),
        field("/spec/names/kind")?.to_string(),
        scope,
    ))
}

#[cfg(test)]
mod tests;
