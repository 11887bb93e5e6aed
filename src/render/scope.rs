//! Which clusters a rendering holds: all of the registry (the CLI and the
//! unsharded daemon), or only those a shard replica owns, so that its
//! memory grows with its clusters rather than the fleet. Placement and
//! replica splits still see the whole registry (an app's replicas are
//! split over every cluster it is placed on); only apps placed on a
//! cluster in scope are rendered, and only on those clusters. A scoped
//! rendering equals the full rendering restricted to its clusters
//! (`tests/render_cache.rs`).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// Says whether a cluster is in scope.
type Wanted = dyn Fn(&str) -> bool + Send + Sync;

/// The clusters a rendering holds.
#[derive(Clone, Default)]
pub struct Scope(Option<Arc<Wanted>>);

impl Scope {
    /// Every cluster of the registry.
    pub fn all() -> Scope {
        Scope(None)
    }

    /// No cluster: the model is loaded and validated, nothing rendered
    /// (a shard coordinator needs only the registry and the policies).
    pub fn none() -> Scope {
        Scope::only(|_| false)
    }

    /// The clusters `wanted` says yes to (it is asked again on every
    /// render, so it can follow the registry, e.g. by hashing the name).
    pub fn only(wanted: impl Fn(&str) -> bool + Send + Sync + 'static) -> Scope {
        Scope(Some(Arc::new(wanted)))
    }

    /// The clusters named in `clusters`.
    pub fn clusters(clusters: BTreeSet<String>) -> Scope {
        Scope::only(move |c| clusters.contains(c))
    }

    /// Whether the scope holds every cluster.
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `cluster` is in scope.
    pub fn contains(&self, cluster: &str) -> bool {
        self.0.as_ref().is_none_or(|wanted| wanted(cluster))
    }

    /// Whether some cluster of `clusters` is in scope.
    pub fn touches(&self, clusters: &BTreeSet<String>) -> bool {
        self.is_all() || clusters.iter().any(|c| self.contains(c))
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("Scope(all)"),
            Some(_) => f.write_str("Scope(some clusters)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_hold_what_they_say() {
        let set: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        assert!(Scope::all().contains("x") && Scope::all().touches(&BTreeSet::new()));
        assert!(!Scope::none().contains("a") && !Scope::none().touches(&set));
        let only_b = Scope::clusters(["b".to_string()].into());
        assert!(only_b.contains("b") && !only_b.contains("a"));
        assert!(only_b.touches(&set));
        assert!(!only_b.touches(&["a".to_string()].into()));
    }
}
