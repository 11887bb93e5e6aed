//! Client-side defaults for servers whose server-side apply does not
//! default list-map keys (Kubernetes before 1.22, e.g. 1.20).
//!
//! Service ports and container ports are lists keyed by `(port, protocol)`
//! and `(containerPort, protocol)`. Those servers refuse an applied entry
//! that omits `protocol` ("associative list with keys has an element that
//! omits key field \"protocol\"", structured-merge-diff issue 130 and
//! kubernetes/kubernetes#98576), although `TCP` is what the server itself
//! would default. Flux's `ssa` package works around it the same way: before
//! applying, set `protocol: TCP` where it is missing, so the same manifests
//! apply on old and current servers. Newer servers get the object as
//! written.
//!
//! Pure: takes the object and the server's version.

use k8s_openapi::apimachinery::pkg::version::Info;
use serde_json::Value;

/// The first Kubernetes minor version whose server-side apply defaults
/// list-map keys itself.
const FIXED_MINOR: u32 = 22;

/// Whether a server needs [`default_port_protocols`], from what `/version`
/// reports: `major` and `minor` (e.g. `"1"`, `"20+"`), else the
/// `gitVersion` (`v1.20.7-eks-…`). A server whose version cannot be read
/// (custom builds report `v0.0.0-master`) gets the defaults too: `TCP` is
/// what every server defaults to, so they are harmless where not needed.
pub fn needs_port_protocols(major: &str, minor: &str, git_version: &str) -> bool {
    let number = |s: &str| -> Option<u32> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let from_git = || {
        let mut parts = git_version.trim_start_matches('v').split('.');
        Some((number(parts.next()?)?, number(parts.next()?)?))
    };
    let version = match (number(major), number(minor)) {
        (Some(major), Some(minor)) => Some((major, minor)),
        _ => from_git(),
    };
    match version {
        Some((1, minor)) => minor < FIXED_MINOR,
        Some((0, _)) | None => true,
        Some(_) => false,
    }
}

/// [`needs_port_protocols`] for what `/version` answered.
pub fn server_needs_port_protocols(info: &Info) -> bool {
    needs_port_protocols(&info.major, &info.minor, &info.git_version)
}

/// Sets `protocol: TCP` on every Service port and container port (init
/// containers included) of `object` that has none. Kinds without such
/// ports are left as they are.
pub fn default_port_protocols(object: &mut Value) {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match (group, kind.as_str()) {
        ("", "Service") => {
            if let Some(ports) = object.pointer_mut("/spec/ports") {
                default_protocols(ports);
            }
        }
        _ => {
            if let Some(spec) = pod_spec_path(group, &kind).and_then(|p| object.pointer_mut(p)) {
                for list in ["containers", "initContainers"] {
                    for container in spec
                        .get_mut(list)
                        .and_then(Value::as_array_mut)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(ports) = container.get_mut("ports") {
                            default_protocols(ports);
                        }
                    }
                }
            }
        }
    }
}

/// Where the pod spec of a built-in kind is.
fn pod_spec_path(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("/spec"),
        ("", "PodTemplate") => Some("/template/spec"),
        ("", "ReplicationController")
        | ("apps" | "extensions", "Deployment" | "ReplicaSet" | "DaemonSet")
        | ("apps", "StatefulSet")
        | ("batch", "Job") => Some("/spec/template/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

fn default_protocols(ports: &mut Value) {
    for port in ports.as_array_mut().into_iter().flatten() {
        if let Some(port) = port.as_object_mut() {
            port.entry("protocol")
                .or_insert_with(|| Value::String("TCP".to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_servers_before_1_22_need_the_defaults() {
        assert!(needs_port_protocols("1", "20", "v1.20.2"));
        assert!(needs_port_protocols("1", "21+", ""));
        assert!(!needs_port_protocols("1", "22", ""));
        assert!(!needs_port_protocols("1", "37", "v1.37.2"));
        assert!(needs_port_protocols("", "", "v1.20.7-eks-8be107"));
        assert!(!needs_port_protocols("", "", "v1.30.1"));
        assert!(!needs_port_protocols("2", "0", ""));
        // Unreadable: defaulted, which is harmless.
        assert!(needs_port_protocols("", "", ""));
        assert!(needs_port_protocols("", "", "v0.0.0-master+faecb196815e2"));
    }

    #[test]
    fn service_ports_without_protocol_get_tcp_and_others_keep_theirs() {
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}});
        default_port_protocols(&mut svc);
        assert_eq!(
            svc["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
        );
    }

    #[test]
    fn container_and_init_container_ports_of_workloads_get_tcp() {
        let template = json!({"spec": {
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1}]}],
            "containers": [{"name": "c", "ports": [{"containerPort": 8080}, {"containerPort": 9, "protocol": "SCTP"}]},
                           {"name": "no-ports"}]
        }});
        let expect = json!({"spec": {
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1, "protocol": "TCP"}]}],
            "containers": [{"name": "c", "ports": [{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9, "protocol": "SCTP"}]},
                           {"name": "no-ports"}]
        }});
        for (api_version, kind) in [
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "DaemonSet"),
            ("apps/v1", "ReplicaSet"),
            ("batch/v1", "Job"),
            ("v1", "ReplicationController"),
        ] {
            let mut obj =
                json!({"apiVersion": api_version, "kind": kind, "spec": {"template": template}});
            default_port_protocols(&mut obj);
            assert_eq!(obj["spec"]["template"], expect, "{kind}");
        }
        let mut cron = json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": template}}}});
        default_port_protocols(&mut cron);
        assert_eq!(cron["spec"]["jobTemplate"]["spec"]["template"], expect);
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": template["spec"]});
        default_port_protocols(&mut pod);
        assert_eq!(pod["spec"], expect["spec"]);
    }

    #[test]
    fn other_kinds_and_custom_resources_are_untouched() {
        for obj in [
            json!({"apiVersion": "example.com/v1", "kind": "Service", "spec": {"ports": [{"port": 1}]}}),
            json!({"apiVersion": "example.com/v1", "kind": "Deployment",
                   "spec": {"template": {"spec": {"containers": [{"ports": [{"containerPort": 1}]}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"ports": "80"}}),
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": "not a list"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": "x"}}}}),
        ] {
            let mut changed = obj.clone();
            default_port_protocols(&mut changed);
            assert_eq!(changed, obj);
        }
    }
}
