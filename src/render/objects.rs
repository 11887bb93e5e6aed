//! [`AppObjects`]: one app's rendered objects on one cluster, shared by
//! every cluster that gets the very same ones.
//!
//! Most clusters of a fleet receive identical copies of an app (same
//! replica share, same override rules), so rendering builds each distinct
//! list once ([`crate::render::fleet`] keys them by what makes copies
//! differ) and the clusters hold the same list. Cloning a rendering then
//! copies pointers, and a fleet of 1,000 clusters holds a few variants of
//! each app instead of 1,000 copies. Writing through an [`AppObjects`]
//! (`DerefMut`) copies the list first if it is shared, so no cluster's
//! objects ever change behind another's back.

use super::RenderedObject;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Objects in apply order, shared copy-on-write (see the module doc).
#[derive(Clone, Default)]
pub struct AppObjects(Arc<Vec<RenderedObject>>);

impl AppObjects {
    /// Whether `self` and `other` are the same shared list (not merely
    /// equal ones).
    pub fn same_list(&self, other: &AppObjects) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Address of the shared list: equal for [`AppObjects::same_list`]
    /// lists, for deduplicating work over many clusters.
    pub fn list_id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

impl Deref for AppObjects {
    type Target = Vec<RenderedObject>;

    fn deref(&self) -> &Vec<RenderedObject> {
        &self.0
    }
}

impl DerefMut for AppObjects {
    /// The list to change, copied first when another cluster shares it.
    fn deref_mut(&mut self) -> &mut Vec<RenderedObject> {
        Arc::make_mut(&mut self.0)
    }
}

impl PartialEq for AppObjects {
    fn eq(&self, other: &AppObjects) -> bool {
        self.same_list(other) || *self.0 == *other.0
    }
}

impl fmt::Debug for AppObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<Vec<RenderedObject>> for AppObjects {
    fn from(objects: Vec<RenderedObject>) -> AppObjects {
        AppObjects(Arc::new(objects))
    }
}

impl FromIterator<RenderedObject> for AppObjects {
    fn from_iter<I: IntoIterator<Item = RenderedObject>>(iter: I) -> AppObjects {
        AppObjects(Arc::new(iter.into_iter().collect()))
    }
}

impl<'a> IntoIterator for &'a AppObjects {
    type Item = &'a RenderedObject;
    type IntoIter = std::slice::Iter<'a, RenderedObject>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::render::PolicyName;
    use serde_json::json;

    fn list() -> AppObjects {
        vec![RenderedObject {
            id: ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("default".into()),
                name: "a".into(),
            },
            policy: PolicyName::for_object("app", "a"),
            object: json!({"data": {"k": "v"}}),
            source: "apps/app/manifests/a.yaml[doc 0]".into(),
        }]
        .into()
    }

    #[test]
    fn clones_share_until_one_is_written() {
        let a = list();
        let mut b = a.clone();
        assert!(a.same_list(&b));
        assert_eq!(a.list_id(), b.list_id());
        b[0].object["data"]["k"] = json!("w");
        assert!(!a.same_list(&b), "the write copied the list");
        assert_eq!(
            a[0].object["data"]["k"], "v",
            "the other clone is unchanged"
        );
        assert_ne!(a, b);
        assert_eq!(a, list(), "equal lists compare equal without being shared");
    }
}
