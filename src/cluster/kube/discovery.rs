//! API discovery for one cluster, cached per group/version.
//!
//! tranche never hard-codes an API version: an object's own `apiVersion` is
//! resolved against what the apiserver serves (a v1.20 apiserver serves
//! `autoscaling/v1`, `v2beta1` and `v2beta2`, a newer one `autoscaling/v2`).
//! Each group/version is fetched once (one request) and kept; a miss (an
//! unknown group/version or kind) fetches again once, so a CRD applied a
//! moment ago is found. Misses are never cached. Concurrent misses of one
//! group/version share a fetch.

use ::kube::core::gvk::GroupVersion;
use ::kube::discovery::{self, ApiCapabilities, ApiResource, Scope};
use ::kube::Client;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A resolved kind: where it lives and whether it is namespaced.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// Group, version, kind and plural, for building URLs.
    pub resource: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The kind is served at this apiVersion.
    Found(Resolved),
    /// The apiVersion is malformed, not served, or does not hold the kind.
    Unknown,
}

/// The resources one group/version serves.
type Resources = Arc<Vec<(ApiResource, ApiCapabilities)>>;

/// Per-cluster cache: apiVersion → resources served there.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryCache {
    versions: Mutex<HashMap<String, Resources>>,
    /// One lock per apiVersion being fetched: requests that miss the same
    /// group/version at once (a plan lists its kinds concurrently) wait for
    /// one fetch instead of each sending their own.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl DiscoveryCache {
    /// The cached answer for `api_version`/`kind`, if the group/version is
    /// cached and holds the kind.
    fn cached(&self, api_version: &str, kind: &str) -> Option<Resolved> {
        let versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        let resources = versions.get(api_version)?;
        find(resources, kind)
    }

    /// Forgets a group/version, e.g. after the apiserver said a resource
    /// that discovery listed does not exist (a CRD was deleted).
    pub(crate) fn forget(&self, api_version: &str) {
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        versions.remove(api_version);
    }

    /// Resolves a kind, asking the apiserver (one request) on a cache miss.
    /// A 404 for the group/version means "not served" (`Unknown`); other
    /// errors are returned for the caller to classify and retry.
    pub(crate) async fn resolve(
        &self,
        client: &Client,
        api_version: &str,
        kind: &str,
    ) -> Result<Lookup, ::kube::Error> {
        if let Some(found) = self.cached(api_version, kind) {
            return Ok(Lookup::Found(found));
        }
        let Ok(gv) = api_version.parse::<GroupVersion>() else {
            return Ok(Lookup::Unknown);
        };
        if gv.version.is_empty() || gv.version.contains('/') {
            return Ok(Lookup::Unknown);
        }
        let gate = {
            let mut fetching = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
            fetching.entry(api_version.to_string()).or_default().clone()
        };
        let _fetch = gate.lock().await;
        // Another request may have fetched it while this one waited.
        if let Some(found) = self.cached(api_version, kind) {
            return Ok(Lookup::Found(found));
        }
        tracing::debug!(api_version, kind, "discovering group/version");
        let group = match discovery::pinned_group(client, &gv).await {
            Ok(group) => group,
            Err(::kube::Error::Api(status)) if status.code == 404 => return Ok(Lookup::Unknown),
            Err(e) => return Err(e),
        };
        let resources = Arc::new(group.versioned_resources(&gv.version));
        let found = find(&resources, kind);
        let mut versions = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        versions.insert(api_version.to_string(), resources);
        Ok(match found {
            Some(r) => Lookup::Found(r),
            None => Lookup::Unknown,
        })
    }
}

/// The top-level resource serving `kind` in one group/version's list.
fn find(resources: &[(ApiResource, ApiCapabilities)], kind: &str) -> Option<Resolved> {
    resources
        .iter()
        .find(|(ar, _)| ar.kind == kind)
        .map(|(ar, caps)| Resolved {
            resource: ar.clone(),
            namespaced: caps.scope == Scope::Namespaced,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(kind: &str, scope: Scope) -> (ApiResource, ApiCapabilities) {
        (
            ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: kind.into(),
                plural: format!("{}s", kind.to_lowercase()),
            },
            ApiCapabilities {
                scope,
                subresources: vec![],
                operations: vec![],
            },
        )
    }

    #[test]
    fn cache_hits_need_the_kind_in_the_cached_version() {
        let cache = DiscoveryCache::default();
        cache.versions.lock().unwrap().insert(
            "apps/v1".into(),
            Arc::new(vec![resource("Deployment", Scope::Namespaced)]),
        );
        let hit = cache
            .cached("apps/v1", "Deployment")
            .map(|r| (r.resource.plural, r.namespaced));
        assert_eq!(hit, Some(("deployments".to_string(), true)));
        assert!(cache.cached("apps/v1", "StatefulSet").is_none());
        assert!(cache.cached("apps/v2", "Deployment").is_none());
        cache.forget("apps/v1");
        assert!(cache.cached("apps/v1", "Deployment").is_none());
    }
}
