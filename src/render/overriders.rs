//! The field overriders: labels, annotations, command and args.
//!
//! * labels / annotations (the object's own metadata, not pod templates):
//!   add sets the keys; replace sets only keys that exist; remove deletes
//!   the keys that exist. Missing keys are skipped, as Karmada does.
//! * command / args, for the container named `containerName` (containers
//!   and initContainers of the pod spec): add appends the items, remove
//!   deletes every item equal to one of them, replace sets the list. An
//!   object without that container is left alone: a rule may select several
//!   workloads and only some of them run it.

use crate::model::{ListOverrider, MapOverrider, OverrideOp};
use crate::render::pods::containers_mut;
use serde_json::{Map, Value};

/// Applies a labels or annotations overrider (`field`: `labels` or
/// `annotations`).
pub fn apply_map(obj: &mut Value, field: &str, ov: &MapOverrider) -> Result<(), String> {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Err("the object has no metadata".into());
    };
    if ov.operator != OverrideOp::Add && !meta.contains_key(field) {
        return Ok(());
    }
    let map = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if map.is_null() {
        *map = Value::Object(Map::new());
    }
    let Some(map) = map.as_object_mut() else {
        return Err(format!("metadata.{field} is not a map"));
    };
    for (key, value) in &ov.value {
        match ov.operator {
            OverrideOp::Add => {
                map.insert(key.clone(), Value::String(value.clone()));
            }
            OverrideOp::Replace => {
                if let Some(slot) = map.get_mut(key) {
                    *slot = Value::String(value.clone());
                }
            }
            OverrideOp::Remove => {
                map.shift_remove(key);
            }
        }
    }
    Ok(())
}

/// Applies a command or args overrider (`field`: `command` or `args`) to an
/// object whose pod spec (if any) is at `pod_spec`.
pub fn apply_list(
    obj: &mut Value,
    pod_spec: Option<&str>,
    field: &str,
    ov: &ListOverrider,
) -> Result<(), String> {
    for container in containers_mut(obj, pod_spec) {
        if container.get("name").and_then(Value::as_str) != Some(ov.container_name.as_str()) {
            continue;
        }
        let Some(container) = container.as_object_mut() else {
            continue;
        };
        let items = container
            .entry(field)
            .or_insert_with(|| Value::Array(Vec::new()));
        if items.is_null() {
            *items = Value::Array(Vec::new());
        }
        let Some(items) = items.as_array_mut() else {
            return Err(format!(
                "container {}: {field} is not a list",
                ov.container_name
            ));
        };
        let values = ov.value.iter().map(|v| Value::String(v.clone()));
        match ov.operator {
            OverrideOp::Add => items.extend(values),
            OverrideOp::Replace => *items = values.collect(),
            OverrideOp::Remove => {
                items.retain(|item| !ov.value.iter().any(|v| item.as_str() == Some(v)))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testkit::deployment;
    use serde_json::json;

    const DEPLOYMENT_PODS: Option<&str> = Some("/spec/template/spec");

    fn map_ov(operator: OverrideOp, pairs: &[(&str, &str)]) -> MapOverrider {
        MapOverrider {
            operator,
            value: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn labels_add_replace_remove() {
        let mut d = deployment("web", Some(1));
        apply_map(
            &mut d,
            "labels",
            &map_ov(OverrideOp::Add, &[("tier", "gold"), ("zone", "a")]),
        )
        .unwrap();
        assert_eq!(
            d["metadata"]["labels"],
            json!({"tier": "gold", "zone": "a"})
        );
        apply_map(
            &mut d,
            "labels",
            &map_ov(OverrideOp::Replace, &[("tier", "silver"), ("absent", "x")]),
        )
        .unwrap();
        assert_eq!(
            d["metadata"]["labels"],
            json!({"tier": "silver", "zone": "a"})
        );
        apply_map(
            &mut d,
            "labels",
            &map_ov(OverrideOp::Remove, &[("zone", ""), ("absent", "")]),
        )
        .unwrap();
        assert_eq!(d["metadata"]["labels"], json!({"tier": "silver"}));
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
    }

    #[test]
    fn annotations_replace_and_remove_skip_a_missing_map() {
        let mut d = deployment("web", Some(1));
        apply_map(
            &mut d,
            "annotations",
            &map_ov(OverrideOp::Replace, &[("a", "b")]),
        )
        .unwrap();
        apply_map(
            &mut d,
            "annotations",
            &map_ov(OverrideOp::Remove, &[("a", "")]),
        )
        .unwrap();
        assert_eq!(d["metadata"].get("annotations"), None);
        d["metadata"]["annotations"] = json!("oops");
        let err = apply_map(
            &mut d,
            "annotations",
            &map_ov(OverrideOp::Add, &[("a", "b")]),
        )
        .unwrap_err();
        assert_eq!(err, "metadata.annotations is not a map");
    }

    fn list_ov(container: &str, operator: OverrideOp, items: &[&str]) -> ListOverrider {
        ListOverrider {
            container_name: container.into(),
            operator,
            value: items.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn command_and_args_per_container() {
        let mut d = deployment("web", Some(1));
        d["spec"]["template"]["spec"]["containers"] = json!([{"name": "web", "args": ["--a", "--b", "--a"]}, {"name": "side", "args": ["--a"]}]);
        apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "args",
            &list_ov("web", OverrideOp::Add, &["--c"]),
        )
        .unwrap();
        apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "args",
            &list_ov("web", OverrideOp::Remove, &["--a"]),
        )
        .unwrap();
        let containers = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["args"], json!(["--b", "--c"]));
        assert_eq!(containers[1]["args"], json!(["--a"]));
        apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "command",
            &list_ov("web", OverrideOp::Add, &["/bin/app"]),
        )
        .unwrap();
        apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "command",
            &list_ov("web", OverrideOp::Replace, &["/bin/other", "-v"]),
        )
        .unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["command"],
            json!(["/bin/other", "-v"])
        );
        let before = d.clone();
        apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "command",
            &list_ov("nope", OverrideOp::Add, &["x"]),
        )
        .unwrap();
        assert_eq!(d, before);
    }

    #[test]
    fn a_non_list_field_is_an_error() {
        let mut d = deployment("web", Some(1));
        d["spec"]["template"]["spec"]["containers"][0]["args"] = json!("--flag");
        let err = apply_list(
            &mut d,
            DEPLOYMENT_PODS,
            "args",
            &list_ov("web", OverrideOp::Add, &["x"]),
        )
        .unwrap_err();
        assert_eq!(err, "container web: args is not a list");
    }
}
