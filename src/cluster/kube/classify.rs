//! Turning kube-rs errors into [`ClusterError`]s, and deciding which failures
//! are worth another try. Pure: no I/O, so every rule is unit-tested.
//!
//! Only the apiserver's `Status.message` and the transport's error chain go
//! into messages: never request bodies, headers or tokens.

use crate::cluster::ClusterError;
use ::kube::Error;
use std::io::ErrorKind;

/// What was being done when an error happened, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// kubeconfig context (or `in-cluster`), named in unreachable errors.
    pub context: &'a str,
    /// The object (`Kind ns/name`) or action.
    pub object: &'a str,
}

/// Whether a failed request may succeed if sent again: server overload or
/// failure (429, 5xx) and connections refused or dropped. Timeouts are not
/// retried, so a dead apiserver fails fast; 4xx answers never are.
pub(crate) fn is_transient(err: &Error) -> bool {
    match err {
        Error::Api(status) => status.code == 429 || (500..600).contains(&status.code),
        Error::HyperError(_) | Error::Service(_) => {
            let kinds = io_kinds(err);
            if kinds.contains(&ErrorKind::TimedOut) {
                return false;
            }
            kinds.iter().any(|k| {
                matches!(
                    k,
                    ErrorKind::ConnectionRefused
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                        | ErrorKind::BrokenPipe
                        | ErrorKind::UnexpectedEof
                )
            }) || chain_text(err).contains("connection closed before message completed")
        }
        _ => false,
    }
}

/// Classifies an error of a request about one object (or a listing).
pub(crate) fn classify(target: Target<'_>, err: &Error) -> ClusterError {
    let Target {
        cluster,
        context,
        object,
    } = target;
    let api = |message: String| ClusterError::Api {
        cluster: cluster.to_string(),
        object: object.to_string(),
        message,
    };
    match err {
        Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match status.code {
                401 => ClusterError::Unreachable {
                    cluster: cluster.to_string(),
                    message: format!(
                        "context {context:?}: the apiserver rejected the credentials (HTTP 401); \
                         check the kubeconfig user"
                    ),
                },
                403 => ClusterError::Forbidden {
                    cluster: cluster.to_string(),
                    object: object.to_string(),
                    message,
                },
                409 => {
                    let mut managers = conflicting_managers(&message);
                    if let Some(details) = &status.details {
                        for cause in &details.causes {
                            for m in conflicting_managers(&cause.message) {
                                if !managers.contains(&m) {
                                    managers.push(m);
                                }
                            }
                        }
                    }
                    if managers.is_empty() {
                        api(format!("HTTP 409: {message}"))
                    } else {
                        ClusterError::Conflict {
                            cluster: cluster.to_string(),
                            object: object.to_string(),
                            managers: managers.join(", "),
                            message,
                        }
                    }
                }
                400 | 422 => ClusterError::Invalid {
                    cluster: cluster.to_string(),
                    object: object.to_string(),
                    message,
                },
                code => api(format!("HTTP {code}: {message}")),
            }
        }
        Error::HyperError(_)
        | Error::Service(_)
        | Error::RustlsTls(_)
        | Error::TlsRequired
        | Error::Auth(_)
        | Error::InferConfig(_)
        | Error::InferKubeconfig(_)
        | Error::ProxyProtocolUnsupported { .. }
        | Error::ProxyProtocolDisabled { .. } => ClusterError::Unreachable {
            cluster: cluster.to_string(),
            message: format!("context {context:?}: {}", chain_text(err)),
        },
        other => api(chain_text(other)),
    }
}

/// Field managers named in a server-side apply conflict message, in order
/// of appearance, e.g. `conflict with "kubectl-client-side-apply" using
/// apps/v1: .spec.replicas` or `conflicts with "a" ... conflicts with "b"`.
pub(crate) fn conflicting_managers(message: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find("with \"") {
        let before = &rest[..at];
        rest = &rest[at + "with \"".len()..];
        if !(before.ends_with("conflict ") || before.ends_with("conflicts ")) {
            continue;
        }
        let Some(end) = rest.find('"') else { break };
        let name = &rest[..end];
        if !name.is_empty() && !out.iter().any(|m| m == name) {
            out.push(name.to_string());
        }
        rest = &rest[end + 1..];
    }
    out
}

/// `a: b: c` from an error and its sources, skipping repeats (wrappers
/// often print their source too).
pub(crate) fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// The kinds of every `std::io::Error` in an error's source chain.
fn io_kinds(err: &(dyn std::error::Error + 'static)) -> Vec<ErrorKind> {
    let mut out = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            out.push(io.kind());
        }
        cur = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::kube::core::Status;

    fn target() -> Target<'static> {
        Target {
            cluster: "c1",
            context: "ctx-1",
            object: "Deployment web/shop",
        }
    }

    fn api_error(code: u16, message: &str) -> Error {
        Error::Api(Status::failure(message, "Reason").with_code(code).boxed())
    }

    #[test]
    fn conflict_managers_are_extracted_in_order_without_repeats() {
        let msg = "Apply failed with 2 conflicts: conflicts with \"other\" using apps/v1:\n- .spec.replicas\nconflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.template\nconflict with \"other\"";
        assert_eq!(
            conflicting_managers(msg),
            vec!["other", "kubectl-client-side-apply"]
        );
        assert_eq!(
            conflicting_managers(
                "Apply failed with 1 conflict: conflict with \"helm\" using v1: .data.a"
            ),
            vec!["helm"]
        );
        assert!(conflicting_managers(
            "Operation cannot be fulfilled: the object has been modified"
        )
        .is_empty());
        assert!(conflicting_managers("agree with \"x\"").is_empty());
    }

    #[test]
    fn status_codes_map_to_variants() {
        let t = target();
        assert!(matches!(
            classify(t, &api_error(403, "nope")),
            ClusterError::Forbidden { .. }
        ));
        assert!(matches!(
            classify(t, &api_error(422, "bad")),
            ClusterError::Invalid { .. }
        ));
        assert!(matches!(
            classify(t, &api_error(400, "bad")),
            ClusterError::Invalid { .. }
        ));
        assert!(classify(t, &api_error(401, "who")).is_unreachable());
        match classify(t, &api_error(409, "Apply failed with 1 conflict: conflict with \"other\" using apps/v1: .spec.replicas")) {
            ClusterError::Conflict { managers, object, .. } => {
                assert_eq!(managers, "other");
                assert_eq!(object, "Deployment web/shop");
            }
            e => panic!("expected a conflict, got {e:?}"),
        }
        match classify(t, &api_error(409, "the object has been modified")) {
            ClusterError::Api { message, .. } => assert!(message.contains("409")),
            e => panic!("expected an api error, got {e:?}"),
        }
        match classify(t, &api_error(500, "etcd down")) {
            ClusterError::Api { message, .. } => assert_eq!(message, "HTTP 500: etcd down"),
            e => panic!("expected an api error, got {e:?}"),
        }
    }

    #[test]
    fn only_overload_server_errors_and_dropped_connections_are_transient() {
        assert!(is_transient(&api_error(429, "slow down")));
        assert!(is_transient(&api_error(503, "unavailable")));
        assert!(!is_transient(&api_error(404, "missing")));
        assert!(!is_transient(&api_error(409, "conflict")));
        let refused = Error::Service(Box::new(std::io::Error::from(ErrorKind::ConnectionRefused)));
        assert!(is_transient(&refused));
        let timeout = Error::Service(Box::new(std::io::Error::from(ErrorKind::TimedOut)));
        assert!(!is_transient(&timeout));
        assert!(classify(target(), &timeout).is_unreachable());
    }

    #[test]
    fn unreachable_messages_name_the_context() {
        let refused = Error::Service(Box::new(std::io::Error::new(
            ErrorKind::ConnectionRefused,
            "connection refused",
        )));
        match classify(target(), &refused) {
            ClusterError::Unreachable { cluster, message } => {
                assert_eq!(cluster, "c1");
                assert!(message.contains("\"ctx-1\""), "{message}");
                assert!(message.contains("connection refused"), "{message}");
            }
            e => panic!("expected unreachable, got {e:?}"),
        }
    }
}
