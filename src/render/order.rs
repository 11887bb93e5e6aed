//! Apply order. The ranks are data in the kind table ([`crate::kinds`], as
//! Helm and Flux keep them): namespaces and CRDs first so that what lives in
//! them can be created, then what pods need (accounts, secrets, config,
//! storage, RBAC), services, workloads, and last what points at workloads
//! (ingresses, API services, webhooks). Kinds without a rank (custom
//! resources, including a custom kind named like a built-in one) go after
//! all ranked kinds. Within a kind objects go by namespace (cluster-scoped
//! first), then name. Pruning runs in the reverse order.

use crate::kinds::KindTable;
use crate::render::RenderedObject;

/// Sorts objects into apply order: the rank the kind table gives (by group
/// and kind), then kind (orders unranked kinds among themselves),
/// namespace (cluster-scoped first), name, apiVersion.
pub fn sort_objects(objects: &mut [RenderedObject], kinds: &KindTable) {
    objects.sort_by(|a, b| sort_key(a, kinds).cmp(&sort_key(b, kinds)));
}

fn sort_key<'o>(
    o: &'o RenderedObject,
    kinds: &KindTable,
) -> (usize, &'o str, Option<&'o str>, &'o str, &'o str) {
    let id = &o.id;
    (
        kinds.apply_rank(id.group(), &id.kind),
        &id.kind,
        id.namespace.as_deref(),
        &id.name,
        &id.api_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::render::PolicyName;
    use serde_json::Value;

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> RenderedObject {
        let api_version = match kind {
            "Deployment" => "apps/v1",
            "CustomResourceDefinition" => "apiextensions.k8s.io/v1",
            "Widget" | "Gadget" => "example.com/v1",
            _ => "v1",
        };
        RenderedObject {
            id: ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace: ns.map(str::to_string),
                name: name.into(),
            },
            policy: PolicyName::for_object("app", name),
            object: Value::Null,
            source: String::new(),
        }
    }

    #[test]
    fn sorts_by_rank_kind_namespace_name() {
        let mut objects = vec![
            obj("Widget", Some("a"), "w"),
            obj("Deployment", Some("b"), "web"),
            obj("Deployment", Some("a"), "web"),
            obj("Gadget", Some("a"), "g"),
            obj("ConfigMap", Some("a"), "z"),
            obj("ConfigMap", Some("a"), "b"),
            obj("Namespace", None, "a"),
            obj("CustomResourceDefinition", None, "widgets.example.com"),
        ];
        let mut custom = obj("Deployment", Some("a"), "custom");
        custom.id.api_version = "example.com/v1".into();
        objects.push(custom);
        sort_objects(&mut objects, KindTable::builtin());
        let got: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(
            got,
            [
                "Namespace a",
                "CustomResourceDefinition widgets.example.com",
                "ConfigMap a/b",
                "ConfigMap a/z",
                "Deployment a/web",
                "Deployment b/web",
                "Deployment a/custom",
                "Gadget a/g",
                "Widget a/w",
            ]
        );
    }
}
