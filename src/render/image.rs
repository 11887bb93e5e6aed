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
mod tests {
    use super::*;
    use crate::render::testkit::deployment;

    const DEPLOYMENT_PODS: Option<&str> = Some("/spec/template/spec");
    use serde_json::json;

    type Parts = (Option<String>, String, Option<String>, Option<String>);

    fn parts(image: &str) -> Parts {
        let r = ImageRef::parse(image).unwrap_or_else(|| panic!("{image} should parse"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn parses_registries_ports_tags_and_digests() {
        let d = "sha256:0123456789abcdef";
        let table: &[(&str, [Option<&str>; 4])] = &[
            ("nginx", [None, Some("nginx"), None, None]),
            ("nginx:1.27", [None, Some("nginx"), Some("1.27"), None]),
            (
                "library/nginx:1.27",
                [None, Some("library/nginx"), Some("1.27"), None],
            ),
            (
                "docker.io/library/nginx",
                [Some("docker.io"), Some("library/nginx"), None, None],
            ),
            (
                "localhost/app",
                [Some("localhost"), Some("app"), None, None],
            ),
            (
                "localhost:5000/app:v1",
                [Some("localhost:5000"), Some("app"), Some("v1"), None],
            ),
            (
                "registry.example.com:8443/team/app:v2",
                [
                    Some("registry.example.com:8443"),
                    Some("team/app"),
                    Some("v2"),
                    None,
                ],
            ),
            (
                "ghcr.io/org/app@sha256:0123456789abcdef",
                [Some("ghcr.io"), Some("org/app"), None, Some(d)],
            ),
            (
                "ghcr.io/org/app:v1@sha256:0123456789abcdef",
                [Some("ghcr.io"), Some("org/app"), Some("v1"), Some(d)],
            ),
            ("org/app", [None, Some("org/app"), None, None]),
        ];
        for (image, [registry, repository, tag, digest]) in table {
            let s = |v: &Option<&str>| v.map(str::to_string);
            let want: Parts = (
                s(registry),
                repository.unwrap_or_default().to_string(),
                s(tag),
                s(digest),
            );
            assert_eq!(parts(image), want, "{image}");
            assert_eq!(
                ImageRef::parse(image).unwrap().to_string(),
                *image,
                "round trip"
            );
        }
        for bad in [
            "", ":v1", "ghcr.io/", "nginx:", "nginx@", "/nginx", "org//app",
        ] {
            assert_eq!(ImageRef::parse(bad), None, "{bad:?}");
        }
    }

    fn ov(component: ImageComponent, operator: OverrideOp, value: &str) -> ImageOverrider {
        ImageOverrider {
            path: None,
            component,
            operator,
            value: value.into(),
        }
    }

    fn change(image: &str, o: &ImageOverrider) -> Result<String, String> {
        let mut r = ImageRef::parse(image).unwrap();
        r.apply(o.component, o.operator, &o.value)?;
        Ok(r.to_string())
    }

    #[test]
    fn each_component_and_operator() {
        use ImageComponent::*;
        use OverrideOp::*;
        let cases = [
            (
                "nginx:1.27",
                ov(Registry, Add, "mirror.local"),
                "mirror.local/nginx:1.27",
            ),
            (
                "docker.io/nginx",
                ov(Registry, Replace, "mirror.local:5000"),
                "mirror.local:5000/nginx",
            ),
            (
                "docker.io/library/nginx:1",
                ov(Registry, Remove, ""),
                "library/nginx:1",
            ),
            (
                "ghcr.io/org/app:v1",
                ov(Repository, Replace, "org/app-fips"),
                "ghcr.io/org/app-fips:v1",
            ),
            (
                "ghcr.io/org/app",
                ov(Repository, Add, "other"),
                "ghcr.io/other",
            ),
            ("app", ov(Tag, Add, "v2"), "app:v2"),
            ("app:v1@sha256:aa", ov(Tag, Add, "v2"), "app:v2@sha256:aa"),
            ("app@sha256:aa", ov(Tag, Replace, "v2"), "app:v2"),
            ("app:v1", ov(Tag, Replace, "sha256:bb"), "app@sha256:bb"),
            ("app:v1@sha256:aa", ov(Tag, Remove, ""), "app"),
        ];
        for (image, o, want) in cases {
            assert_eq!(change(image, &o).as_deref(), Ok(want), "{image} {o:?}");
        }
        assert!(change("app", &ov(Repository, Remove, ""))
            .unwrap_err()
            .contains("cannot be removed"));
        assert!(change("app", &ov(Tag, Replace, ""))
            .unwrap_err()
            .contains("non-empty value"));
    }

    #[test]
    fn changes_every_container_and_init_container_image() {
        let mut d = deployment("web", Some(1));
        d["spec"]["template"]["spec"]["initContainers"] =
            json!([{"name": "init", "image": "busybox"}]);
        apply_image(
            &mut d,
            DEPLOYMENT_PODS,
            &ov(ImageComponent::Registry, OverrideOp::Add, "mirror.local"),
        )
        .unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "mirror.local/nginx:1.27"
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["initContainers"][0]["image"],
            "mirror.local/busybox"
        );
        let mut cm = json!({"kind": "ConfigMap", "data": {"image": "nginx"}});
        apply_image(
            &mut cm,
            None,
            &ov(ImageComponent::Tag, OverrideOp::Add, "v1"),
        )
        .unwrap();
        assert_eq!(cm["data"]["image"], "nginx");
    }

    #[test]
    fn predicate_path_changes_only_that_image() {
        let mut d = deployment("web", Some(1));
        d["spec"]["template"]["spec"]["containers"] =
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]);
        let mut o = ov(ImageComponent::Tag, OverrideOp::Replace, "2");
        o.path = Some("/spec/template/spec/containers/1/image".into());
        apply_image(&mut d, DEPLOYMENT_PODS, &o).unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "a:1"
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][1]["image"],
            "b:2"
        );
        o.path = Some("/spec/template/spec/containers/5/image".into());
        assert_eq!(
            apply_image(&mut d, DEPLOYMENT_PODS, &o).unwrap_err(),
            "no image at /spec/template/spec/containers/5/image"
        );
        let mut bad = deployment("web", Some(1));
        bad["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:");
        let err = apply_image(
            &mut bad,
            DEPLOYMENT_PODS,
            &ov(ImageComponent::Tag, OverrideOp::Add, "1"),
        )
        .unwrap_err();
        assert_eq!(err, "container web: \"nginx:\" is not an image reference");
    }

    #[test]
    fn predicate_errors_never_quote_what_they_found() {
        let mut secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "shop"},
            "stringData": {"password": "hunter2-very-secret", "url": "sekrit-value:"}});
        let mut o = ov(ImageComponent::Tag, OverrideOp::Replace, "2");
        for (path, want) in [
            (
                "/stringData",
                "/stringData: a mapping is not an image reference",
            ),
            (
                "/stringData/url",
                "/stringData/url: the string there is not an image reference",
            ),
        ] {
            o.path = Some(path.into());
            let err = apply_image(&mut secret, None, &o).unwrap_err();
            assert!(err.starts_with(want), "{err}");
            assert!(!err.contains("hunter2") && !err.contains("sekrit"), "{err}");
        }
    }
}
