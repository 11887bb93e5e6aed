//! The image overrider: container image references taken apart into
//! registry, repository, tag and digest, and put back together.
//!
//! A reference is `[registry[:port]/]repository[:tag][@digest]`. As Docker
//! decides: the first path part is a registry only when there is another
//! part after it and it contains `.` or `:` or is `localhost`; otherwise the
//! image is on Docker Hub and has no registry component (`nginx`,
//! `library/nginx`). Nothing is normalized: what is not changed is written
//! back as it was.
//!
//! Operators, per component:
//! * Registry: add/replace set it, remove drops it (the image then resolves
//!   on Docker Hub).
//! * Repository: add/replace set it; remove is an error (an image needs one).
//! * Tag: a digest counts as the tag. add sets the tag (a value like
//!   `sha256:…` sets the digest) and keeps the rest; replace drops tag and
//!   digest, then sets the value as tag or digest; remove drops both (the
//!   image then means `:latest`).
//!
//! Without a predicate path the overrider changes every container and
//! initContainer image of the object's pod spec (workload templates,
//! CronJob job templates, Pods; other kinds are left alone); with one, only
//! the string at that JSON pointer, which must exist.

use crate::model::{ImageComponent, ImageOverrider, OverrideOp};
use crate::render::pods::containers_mut;
use serde_json::Value;
use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `registry.example.com[:port]`, `None` for Docker Hub short forms.
    pub registry: Option<String>,
    /// Path after the registry, e.g. `org/app` or `nginx`.
    pub repository: String,
    /// Tag after `:`.
    pub tag: Option<String>,
    /// Digest after `@`, e.g. `sha256:…`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; `None` when it has no repository.
    pub fn parse(image: &str) -> Option<ImageRef> {
        let (rest, digest) = match image.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_string())),
            None => (image, None),
        };
        let (registry, path) = match rest.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_string()), path)
            }
            _ => (None, rest),
        };
        let last_slash = path.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match path[last_slash..].rfind(':') {
            Some(i) => (
                &path[..last_slash + i],
                Some(path[last_slash + i + 1..].to_string()),
            ),
            None => (path, None),
        };
        if repository.split('/').any(str::is_empty) || tag.as_deref() == Some("") {
            return None;
        }
        if digest.as_deref() == Some("") || registry.as_deref() == Some("") {
            return None;
        }
        Some(ImageRef {
            registry,
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// Applies one overrider; the error says why it cannot.
    pub fn apply(
        &mut self,
        component: ImageComponent,
        op: OverrideOp,
        value: &str,
    ) -> Result<(), String> {
        let needs_value = op != OverrideOp::Remove;
        if needs_value && value.is_empty() {
            return Err(format!("{op:?} needs a non-empty value"));
        }
        match (component, op) {
            (ImageComponent::Registry, OverrideOp::Remove) => self.registry = None,
            (ImageComponent::Registry, _) => self.registry = Some(value.to_string()),
            (ImageComponent::Repository, OverrideOp::Remove) => {
                return Err("the repository cannot be removed: an image needs one".into())
            }
            (ImageComponent::Repository, _) => self.repository = value.to_string(),
            (ImageComponent::Tag, OverrideOp::Remove) => {
                self.tag = None;
                self.digest = None;
            }
            (ImageComponent::Tag, op) => {
                if op == OverrideOp::Replace {
                    self.tag = None;
                    self.digest = None;
                }
                if value.contains(':') {
                    self.digest = Some(value.to_string());
                } else {
                    self.tag = Some(value.to_string());
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.registry {
            write!(f, "{r}/")?;
        }
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Applies an image overrider to an object whose pod spec (if any) is at
/// `pod_spec`.
pub fn apply_image(
    obj: &mut Value,
    pod_spec: Option<&str>,
    ov: &ImageOverrider,
) -> Result<(), String> {
    if let Some(path) = &ov.path {
        // A predicate may point anywhere, even into a Secret's data: what it
        // finds there is never quoted.
        let Some(slot) = obj.pointer_mut(path) else {
            return Err(format!("no image at {path}"));
        };
        return rewrite(slot, ov, false).map_err(|e| format!("{path}: {e}"));
    }
    for container in containers_mut(obj, pod_spec) {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if let Some(slot) = container.get_mut("image") {
            rewrite(slot, ov, true).map_err(|e| format!("container {name}: {e}"))?;
        }
    }
    Ok(())
}

/// Rewrites the image string at `slot`; `quote` says whether a string that
/// is not an image may be shown in the error (container images may; what a
/// predicate path found may not).
fn rewrite(slot: &mut Value, ov: &ImageOverrider, quote: bool) -> Result<(), String> {
    let Some(text) = slot.as_str() else {
        return Err(format!(
            "{} is not an image reference (point predicate.path at an image string)",
            json_type(slot)
        ));
    };
    let mut image = ImageRef::parse(text).ok_or_else(|| match quote {
        true => format!("{text:?} is not an image reference"),
        false => "the string there is not an image reference".to_string(),
    })?;
    image.apply(ov.component, ov.operator, &ov.value)?;
    *slot = Value::String(image.to_string());
    Ok(())
}

/// What kind of JSON value `v` is, for messages that must not show it.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests;
