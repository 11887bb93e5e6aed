//! The YAML layer, in one place so it can be swapped (serde_yaml 0.9 is
//! unmaintained upstream). Objects are handled as `serde_json::Value`.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// A YAML syntax or shape error, with the line when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// Human message including line/column when serde_yaml knows them.
    pub message: String,
}

impl From<serde_yaml::Error> for YamlError {
    fn from(e: serde_yaml::Error) -> Self {
        YamlError {
            message: e.to_string(),
        }
    }
}

/// Parses a multi-document YAML text into JSON values. Empty documents
/// (e.g. a trailing `---`) are dropped but keep their index, so messages
/// can name the document: the result pairs each value with its 0-based index.
pub fn parse_documents(text: &str) -> Result<Vec<(usize, Value)>, (usize, YamlError)> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| (i, YamlError::from(e)))?;
        if !value.is_null() {
            out.push((i, value));
        }
    }
    Ok(out)
}

/// Parses one YAML document into a typed value.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    Ok(serde_yaml::from_str(text)?)
}

/// Converts a JSON value into a typed value (errors name the field path).
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, YamlError> {
    serde_json::from_value(value).map_err(|e| YamlError {
        message: e.to_string(),
    })
}

/// Serializes objects as a multi-document YAML stream (`---` between).
pub fn to_documents(values: &[Value]) -> String {
    let mut out = String::new();
    for v in values {
        out.push_str("---\n");
        out.push_str(&to_string(v));
    }
    out
}

/// Serializes one value as YAML.
pub fn to_string<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|e| format!("# unserializable: {e}\n"))
}
