//! Tests of the image overrider.

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
    d["spec"]["template"]["spec"]["initContainers"] = json!([{"name": "init", "image": "busybox"}]);
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
