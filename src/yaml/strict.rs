//! [`Strict`]: a `serde_json::Value` read into a typed shape the way a
//! YAML mapping should be, which `serde_json`'s own deserializer does not:
//! a struct must come from a mapping, never from a list (serde_json fills
//! a struct from a list by position, so `metadata: [name, {labels}]`
//! would be accepted). Everything else behaves as `serde_json` does, with
//! its error type and messages.

use serde::de::{
    self, DeserializeSeed, EnumAccess, Error as _, Expected, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Value};

/// A value to deserialize strictly (see the module doc).
pub struct Strict(pub Value);

/// What a struct, or an enum with data, is written as.
struct AMapping;

impl Expected for AMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping")
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (_, Some(i), _) => Unexpected::Signed(i),
            (_, _, Some(f)) => Unexpected::Float(f),
            _ => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Strict {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => n.deserialize_any(visitor),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visit_seq(items, visitor),
            Value::Object(map) => visit_map(map, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visit_map(map, visitor),
            other => Err(Error::invalid_type(unexpected(&other), &AMapping)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(variant) => visitor.visit_enum(variant.into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let Some((variant, value)) = map.into_iter().next() else {
                    return Err(Error::invalid_length(0, &"a mapping with one key"));
                };
                visitor.visit_enum(Variant { variant, value })
            }
            other => Err(Error::invalid_type(
                unexpected(&other),
                &"a variant name, or a mapping with one key",
            )),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

fn visit_seq<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Error> {
    let len = items.len();
    let mut seq = Items(items.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    match seq.0.len() {
        0 => Ok(value),
        _ => Err(Error::invalid_length(len, &"fewer elements in the list")),
    }
}

fn visit_map<'de, V: Visitor<'de>>(map: Map<String, Value>, visitor: V) -> Result<V::Value, Error> {
    let len = map.len();
    let mut entries = Entries {
        iter: map.into_iter(),
        value: None,
    };
    let value = visitor.visit_map(&mut entries)?;
    match entries.iter.len() {
        0 => Ok(value),
        _ => Err(Error::invalid_length(len, &"fewer entries in the mapping")),
    }
}

struct Items(std::vec::IntoIter<Value>);

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(Strict(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Strict(value)),
            None => Err(Error::custom("a mapping value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// `{variant: value}`: an enum variant with data.
struct Variant {
    variant: String,
    value: Value,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Strict;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Strict), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, Strict(self.value)))
    }
}

impl<'de> VariantAccess<'de> for Strict {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            Value::Null => Ok(()),
            other => Err(Error::invalid_type(unexpected(&other), &"no value")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visit_seq(items, visitor),
            other => Err(Error::invalid_type(unexpected(&other), &"a list")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Meta {
        name: Option<String>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Shape {
        Circle,
        Square { side: u32 },
        Pair(u8, u8),
    }

    fn read<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, String> {
        T::deserialize(Strict(v)).map_err(|e| e.to_string())
    }

    #[test]
    fn structs_come_from_mappings_only() {
        assert_eq!(
            read::<Meta>(json!({"name": "a", "labels": {"x": "y"}})),
            Ok(Meta {
                name: Some("a".into()),
                labels: [("x".to_string(), "y".to_string())].into(),
            })
        );
        assert_eq!(
            read::<Meta>(json!(["a", {"x": "y"}])),
            Err("invalid type: sequence, expected a mapping".into())
        );
        assert_eq!(
            read::<Meta>(json!("a")),
            Err("invalid type: string \"a\", expected a mapping".into())
        );
        // serde_json itself fills the struct by position.
        assert!(serde_json::from_value::<Meta>(json!(["a", {"x": "y"}])).is_ok());
    }

    #[test]
    fn everything_else_reads_as_serde_json_does() {
        assert_eq!(read::<Option<u8>>(json!(null)), Ok(None));
        assert_eq!(read::<Vec<i64>>(json!([1, -2])), Ok(vec![1, -2]));
        assert_eq!(read::<(u8, String)>(json!([1, "x"])), Ok((1, "x".into())));
        assert!(read::<(u8,)>(json!([1, 2])).is_err());
        assert_eq!(
            read::<u8>(json!(2.5)),
            Err("invalid type: floating point `2.5`, expected u8".into())
        );
        assert_eq!(
            read::<Value>(json!({"a": [1, {"b": null}]})),
            Ok(json!({"a": [1, {"b": null}]}))
        );
        assert_eq!(
            read::<Meta>(json!({"nme": "a"})),
            Err("unknown field `nme`, expected `name` or `labels`".into())
        );
    }

    #[test]
    fn enums_read_from_names_or_one_key_mappings() {
        assert_eq!(read::<Shape>(json!("Circle")), Ok(Shape::Circle));
        assert_eq!(
            read::<Shape>(json!({"Square": {"side": 2}})),
            Ok(Shape::Square { side: 2 })
        );
        assert_eq!(
            read::<Shape>(json!({"Pair": [1, 2]})),
            Ok(Shape::Pair(1, 2))
        );
        assert!(read::<Shape>(json!({"Square": [2]})).is_err());
        assert!(read::<Shape>(json!(["Circle"])).is_err());
        assert!(read::<Shape>(json!("Triangle")).is_err());
    }
}
