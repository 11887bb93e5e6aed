//! Fields kept from the live object (a `WorkloadKind`'s `spec.retain`):
//! before the dry-run and the apply, the rendered object takes the live
//! value at each retained pointer, so tranche neither reverts what a
//! controller set (a Kruise Rollout's partition) nor shows it as drift. A
//! field the live object does not have keeps its rendered value (or stays
//! absent), so a new object is created as committed.

use serde_json::{Map, Value};

/// `desired` with the live values at `pointers` (see the module docs).
pub fn retain(desired: &Value, live: &Value, pointers: &[String]) -> Value {
    let mut out = desired.clone();
    for pointer in pointers {
        if let Some(value) = live.pointer(pointer) {
            set(&mut out, pointer, value.clone());
        }
    }
    out
}

/// Sets `value` at `pointer`, creating the objects on the way.
fn set(target: &mut Value, pointer: &str, value: Value) {
    let mut here = target;
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    for segment in parents {
        if !here.get(segment).is_some_and(Value::is_object) {
            let Some(map) = here.as_object_mut() else {
                return;
            };
            map.insert(segment.clone(), Value::Object(Map::new()));
        }
        let Some(next) = here.get_mut(segment) else {
            return;
        };
        here = next;
    }
    if let Some(map) = here.as_object_mut() {
        map.insert(last.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn live_values_win_where_present() {
        let desired =
            json!({"spec": {"replicas": 3, "updateStrategy": {"type": "InPlaceIfPossible"}}});
        let live =
            json!({"spec": {"replicas": 5, "updateStrategy": {"partition": 2, "type": "X"}}});
        let pointers = [
            "/spec/updateStrategy/partition".to_string(),
            "/spec/updateStrategy/paused".to_string(),
        ];
        let got = retain(&desired, &live, &pointers);
        assert_eq!(
            got,
            json!({"spec": {"replicas": 3, "updateStrategy": {"type": "InPlaceIfPossible", "partition": 2}}})
        );
    }

    #[test]
    fn missing_parents_are_created_and_escapes_read() {
        let live = json!({"metadata": {"annotations": {"a/b": "x"}}});
        let got = retain(
            &json!({}),
            &live,
            &["/metadata/annotations/a~1b".to_string()],
        );
        assert_eq!(got, live);
        assert_eq!(
            retain(&json!({"a": 1}), &json!({}), &["/b".to_string()]),
            json!({"a": 1})
        );
    }
}
