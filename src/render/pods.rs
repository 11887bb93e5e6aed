//! The containers of an object's pod spec, found at the pod-spec pointer
//! the kind table gives for its group and kind ([`crate::kinds`]): where the
//! image, command and args overriders look.

use serde_json::Value;

/// Mutable access to every container (init containers first) of the pod
/// spec at `pod_spec` (a JSON pointer); empty when the kind has no pod spec
/// (`None`) or the object has none there.
pub fn containers_mut<'a>(obj: &'a mut Value, pod_spec: Option<&str>) -> Vec<&'a mut Value> {
    let Some(pointer) = pod_spec else {
        return Vec::new();
    };
    let Some(spec) = obj.pointer_mut(pointer).and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut init = Vec::new();
    let mut main = Vec::new();
    for (key, list) in spec.iter_mut() {
        let bucket = match key.as_str() {
            "initContainers" => &mut init,
            "containers" => &mut main,
            _ => continue,
        };
        if let Some(items) = list.as_array_mut() {
            bucket.extend(items.iter_mut());
        }
    }
    init.extend(main);
    init
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::KindTable;
    use serde_json::json;

    #[test]
    fn containers_include_init_containers_and_cronjob_templates() {
        let mut cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "a"}], "initContainers": [{"name": "i"}]
        }}}}}});
        let pods = KindTable::builtin().pod_spec_pointer("batch", "CronJob");
        let names: Vec<String> = containers_mut(&mut cron, pods)
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(names, ["i", "a"]);
        let mut cm = json!({"data": {"containers": []}});
        let pods = KindTable::builtin().pod_spec_pointer("", "ConfigMap");
        assert!(containers_mut(&mut cm, pods).is_empty());
    }
}
