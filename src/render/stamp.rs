//! Tracking labels and the commit annotation every rendered object carries.
//!
//! Labels: `app.kubernetes.io/managed-by: tranche`, `tranche.dev/app: <app>`,
//! `tranche.dev/policy: <policy name>`; annotation `tranche.dev/commit`.
//! They go on the object's own metadata only, never on pod templates (pod
//! labels feed selectors, and changing them would restart pods on every
//! commit). They are stamped after overrides, so an override cannot remove
//! or fake them.

use crate::kinds::KindTable;
use crate::object::{
    set_metadata_entry, ObjectRef, ANNOTATION_COMMIT, LABEL_APP, LABEL_MANAGED_BY, LABEL_POLICY,
    MANAGED_BY_VALUE,
};
use crate::render::hpa::ScaleTarget;
use crate::render::PolicyName;
use serde_json::Value;

/// The policy name of an object of `app`, from its identity in the
/// manifest: workloads `<app>-<kind>-<name>`, an HPA the name of the
/// workload it scales, everything else `<app>-<name>` (workloads and HPAs
/// as the kind table says, by group and kind).
pub fn policy_name(app: &str, id: &ObjectRef, obj: &Value, kinds: &KindTable) -> PolicyName {
    if kinds.is_workload(id.group(), &id.kind) {
        return PolicyName::for_workload(app, &id.kind, &id.name);
    }
    if kinds.is_hpa(id.group(), &id.kind) {
        if let Some(target) = ScaleTarget::of(obj) {
            return PolicyName::for_workload(app, &target.kind, &target.name);
        }
    }
    PolicyName::for_object(app, &id.name)
}

/// Stamps the tracking labels and the commit annotation on `obj`.
pub fn stamp(obj: &mut Value, app: &str, policy: &PolicyName, commit: &str) {
    set_metadata_entry(obj, "labels", LABEL_MANAGED_BY, MANAGED_BY_VALUE);
    set_metadata_entry(obj, "labels", LABEL_APP, app);
    set_metadata_entry(obj, "labels", LABEL_POLICY, policy.as_str());
    set_metadata_entry(obj, "annotations", ANNOTATION_COMMIT, commit);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testkit::{config_map, deployment, hpa};
    use serde_json::json;

    fn id(obj: &Value) -> ObjectRef {
        ObjectRef::from_object(obj).unwrap()
    }

    #[test]
    fn workloads_objects_and_hpas_get_their_policy_names() {
        let d = deployment("web", Some(2));
        assert_eq!(
            policy_name("shop", &id(&d), &d, KindTable::builtin()).as_str(),
            "shop-deployment-web"
        );
        let c = config_map("cfg");
        assert_eq!(
            policy_name("shop", &id(&c), &c, KindTable::builtin()).as_str(),
            "shop-cfg"
        );
        let h = hpa("v2", "web", None, 3);
        assert_eq!(
            policy_name("shop", &id(&h), &h, KindTable::builtin()),
            policy_name("shop", &id(&d), &d, KindTable::builtin())
        );
    }

    #[test]
    fn stamps_labels_and_commit_but_not_the_pod_template() {
        let mut d = deployment("web", Some(2));
        d["metadata"]["labels"] = json!({"team": "a"});
        stamp(
            &mut d,
            "shop",
            &PolicyName::for_workload("shop", "Deployment", "web"),
            "abc123",
        );
        assert_eq!(
            d["metadata"]["labels"],
            json!({
                "team": "a",
                "app.kubernetes.io/managed-by": "tranche",
                "tranche.dev/app": "shop",
                "tranche.dev/policy": "shop-deployment-web"
            })
        );
        assert_eq!(
            d["metadata"]["annotations"],
            json!({"tranche.dev/commit": "abc123"})
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
    }
}
