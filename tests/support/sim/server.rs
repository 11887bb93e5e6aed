//! The HTTP side of one simulated cluster: a hyper HTTP/1.1 server on a
//! loopback port that answers the part of the Kubernetes API tranche uses
//! (discovery, get, list, watch, create, update, patch incl. server-side
//! apply, delete, the `status` subresource), checks bearer tokens, and
//! writes an audit log line per request (the format of the real
//! apiserver's `level: Metadata` log, so the harness reads both alike).

use super::kinds::{self, Resource};
use super::selector::{Fields, Labels};
use super::store::{qualified, Event, Failure, Store, Write};
use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// A response body: whole, or a watch stream.
pub type Body = BoxBody<Bytes, Infallible>;

/// How often a watch that asked for bookmarks gets one: about once a
/// minute, as the real apiserver's watch cache sends them, unless
/// `TRANCHE_SIM_BOOKMARK_SECS` says otherwise.
fn bookmark_every() -> Duration {
    static EVERY: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *EVERY.get_or_init(|| {
        let secs = std::env::var("TRANCHE_SIM_BOOKMARK_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(60);
        Duration::from_secs(secs)
    })
}
/// Longest watch when the client gives no `timeoutSeconds`.
const DEFAULT_WATCH: Duration = Duration::from_secs(1800);

/// Who a bearer token is.
#[derive(Debug, Clone)]
pub struct User {
    /// User name (in the audit log).
    pub name: String,
    /// May do everything (else only discovery and `/version`).
    pub admin: bool,
}

/// One simulated cluster: its store, its users and its audit log.
pub struct SimCluster {
    /// Cluster name.
    pub name: String,
    /// Its objects.
    pub store: Mutex<Store>,
    users: Arc<BTreeMap<String, User>>,
    audit: Option<Mutex<std::fs::File>>,
}

impl SimCluster {
    /// A new cluster; `audit` is the log file to append to, if any.
    pub fn new(
        name: &str,
        users: Arc<BTreeMap<String, User>>,
        audit: Option<&std::path::Path>,
    ) -> SimCluster {
        let audit = audit.map(|p| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", p.display()));
            Mutex::new(file)
        });
        SimCluster {
            name: name.to_string(),
            store: Mutex::new(Store::new(name)),
            users,
            audit,
        }
    }

    /// The store, locked.
    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn audit(&self, event: Value) {
        if let Some(file) = &self.audit {
            let mut line = event.to_string();
            line.push('\n');
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            // A full disk only loses log lines; the tests then fail on them.
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// What a request is about, parsed from its URL.
#[derive(Debug, Clone, Default)]
struct Target {
    resource: Option<Resource>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    group: String,
    version: String,
    plural: String,
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&text[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(uri: &hyper::Uri) -> BTreeMap<String, String> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn json_response(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .expect("a response")
}

fn failure(f: &Failure) -> Response<Body> {
    json_response(f.code, &f.status())
}

/// Answers one request and logs it.
pub async fn handle(
    cluster: Arc<SimCluster>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let received = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let uri = parts.uri.clone();
    let request_uri = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let token = header("authorization")
        .strip_prefix("Bearer ")
        .unwrap_or_default()
        .to_string();
    let user = cluster.users.get(&token).cloned();
    let params = query(&uri);
    let path = uri.path().trim_end_matches('/').to_string();
    let target = {
        let store = cluster.store();
        parse_target(&store, &path)
    };
    let watching = params.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = verb_of(&parts.method, &target, watching);
    let (response, code) = match &user {
        None => {
            let f = Failure {
                code: 401,
                reason: "Unauthorized",
                message: "Unauthorized".into(),
            };
            (failure(&f), 401)
        }
        Some(u) => {
            let response = respond(
                &cluster,
                u,
                &parts.method,
                &path,
                &target,
                &params,
                &header("accept"),
                &header("content-type"),
                &header("user-agent"),
                &body,
                watching,
                verb,
            );
            let code = response.status().as_u16();
            (response, code)
        }
    };
    let mut event = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "stage": "ResponseComplete", "requestURI": request_uri, "verb": verb,
        "user": {"username": user.as_ref().map(|u| u.name.as_str()).unwrap_or("")},
        "userAgent": header("user-agent"), "responseStatus": {"code": code},
        "requestReceivedTimestamp": received,
    });
    if !target.plural.is_empty() {
        let mut o = json!({"resource": target.plural, "apiGroup": target.group, "apiVersion": target.version});
        if let Some(ns) = &target.namespace {
            o["namespace"] = json!(ns);
        }
        if let Some(n) = &target.name {
            o["name"] = json!(n);
        }
        if let Some(s) = &target.subresource {
            o["subresource"] = json!(s);
        }
        event["objectRef"] = o;
    }
    cluster.audit(event);
    Ok(response)
}

/// The audit verb of a request.
fn verb_of(method: &Method, target: &Target, watching: bool) -> &'static str {
    let named = target.name.is_some();
    match *method {
        Method::GET if watching => "watch",
        Method::GET if !named && !target.plural.is_empty() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

/// Parses `/api/v1/...` and `/apis/<g>/<v>/...` resource paths.
fn parse_target(store: &Store, path: &str) -> Target {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Target::default(),
    };
    if rest.is_empty() {
        return Target::default();
    }
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let served = |plural: &str| store.resource(&api_version, plural);
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, rest @ ..] if served(plural).is_some() => {
            (Some(ns.to_string()), {
                let mut v = vec![*plural];
                v.extend(rest);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let plural = rest[0].to_string();
    let resource = served(&plural);
    Target {
        resource,
        namespace,
        name: rest.get(1).map(|n| n.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
        group: group.to_string(),
        version: version.to_string(),
        plural,
    }
}

#[allow(clippy::too_many_arguments)]
fn respond(
    cluster: &Arc<SimCluster>,
    user: &User,
    method: &Method,
    path: &str,
    target: &Target,
    params: &BTreeMap<String, String>,
    accept: &str,
    content_type: &str,
    user_agent: &str,
    body: &Bytes,
    watching: bool,
    verb: &str,
) -> Response<Body> {
    match path {
        "/version" => {
            return json_response(
                200,
                &json!({
                    "major": "1", "minor": "34", "gitVersion": "v1.34.0-sim", "platform": "linux/amd64",
                    "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "", "compiler": "gc",
                }),
            )
        }
        "/readyz" | "/livez" | "/healthz" => {
            return Response::builder()
                .status(200)
                .body(Full::new(Bytes::from_static(b"ok")).boxed())
                .expect("a response")
        }
        "/api" => {
            return json_response(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            )
        }
        "/apis" => return json_response(200, &kinds::group_list(cluster.store().resources())),
        _ => {}
    }
    if target.plural.is_empty() {
        let api_version = path
            .strip_prefix("/api/")
            .or_else(|| path.strip_prefix("/apis/"));
        return match api_version.and_then(|v| kinds::resource_list(cluster.store().resources(), v))
        {
            Some(list) => json_response(200, &list),
            None => failure(&Failure {
                code: 404,
                reason: "NotFound",
                message: "the server could not find the requested resource".into(),
            }),
        };
    }
    let Some(r) = target.resource.clone() else {
        return failure(&Failure {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
        });
    };
    if !user.admin {
        let scope = match &target.namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let what = match &target.name {
            Some(n) => format!("{} \"{n}\"", qualified(&r)),
            None => qualified(&r),
        };
        return failure(&Failure {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "{what} is forbidden: User \"{}\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                user.name, r.plural, r.group
            ),
        });
    }
    if r.namespaced && target.namespace.is_none() && target.name.is_some() {
        return failure(&Failure {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
        });
    }
    let namespace = target.namespace.as_deref();
    let dry_run = params.get("dryRun").is_some_and(|d| d == "All");
    let manager = params.get("fieldManager").cloned().unwrap_or_else(|| {
        user_agent
            .split('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string()
    });
    let metadata_only = accept.contains("as=PartialObjectMetadata");
    let labels = match Labels::parse(
        params
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or(""),
    ) {
        Ok(l) => l,
        Err(e) => {
            return failure(&Failure {
                code: 400,
                reason: "BadRequest",
                message: e,
            })
        }
    };
    let fields = match Fields::parse(
        params
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or(""),
    ) {
        Ok(f) => f,
        Err(e) => {
            return failure(&Failure {
                code: 400,
                reason: "BadRequest",
                message: e,
            })
        }
    };
    let parse_body = || -> Result<Value, Failure> {
        let text = String::from_utf8_lossy(body);
        let parsed = if content_type.contains("yaml") {
            serde_yaml::from_str::<Value>(&text).map_err(|e| e.to_string())
        } else {
            serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|e| Failure {
            code: 400,
            reason: "BadRequest",
            message: format!("the body does not parse: {e}"),
        })
    };
    let name = target.name.clone();
    let sub = target.subresource.as_deref();
    if sub.is_some_and(|s| s != "status" || !r.subresources.iter().any(|x| x == "status")) {
        return failure(&Failure {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
        });
    }
    if *method == Method::GET && target.name.is_none() && watching {
        return watch(
            cluster.clone(),
            r,
            namespace.map(str::to_string),
            labels,
            fields,
            params,
            metadata_only,
        );
    }
    let result: Result<(u16, Value), Failure> = (|| match (method.clone(), name) {
        (Method::GET, Some(name)) => {
            let obj = cluster.store().get(&r, namespace, &name)?;
            Ok((200, if metadata_only { partial(&obj) } else { obj }))
        }
        (Method::GET, None) => {
            let store = cluster.store();
            let items = store.list(&r, namespace, |o| labels.matches(o) && fields.matches(o));
            let rv = store.resource_version().to_string();
            Ok((
                200,
                if metadata_only {
                    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                       "metadata": {"resourceVersion": rv}, "items": items.iter().map(partial).collect::<Vec<_>>()})
                } else {
                    json!({"kind": format!("{}List", r.kind), "apiVersion": r.api_version(),
                       "metadata": {"resourceVersion": rv}, "items": items})
                },
            ))
        }
        (Method::POST, None) => {
            let obj = parse_body()?;
            let Some(name) = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return Err(Failure {
                    code: 422,
                    reason: "Invalid",
                    message: format!("{} is invalid: metadata.name: Required value", r.kind),
                });
            };
            let created = cluster.store().write(
                &r,
                namespace,
                &name,
                Write::Create(obj),
                &manager,
                dry_run,
            )?;
            Ok((201, created))
        }
        (Method::PUT, Some(name)) => {
            let obj = parse_body()?;
            let stored = cluster.store().write_sub(
                &r,
                namespace,
                &name,
                sub,
                Write::Update(obj),
                &manager,
                dry_run,
            )?;
            Ok((200, stored))
        }
        (Method::PATCH, Some(name)) => {
            let patch = parse_body()?;
            let write = if content_type.starts_with("application/apply-patch") {
                if !params.contains_key("fieldManager") {
                    return Err(Failure { code: 400, reason: "BadRequest", message: "PATCH, application/apply-patch+yaml: is not supported without fieldManager".into() });
                }
                let force = params.get("force").is_some_and(|f| f == "true");
                Write::Apply {
                    config: patch,
                    force,
                }
            } else if content_type.starts_with("application/merge-patch") {
                Write::Merge(patch)
            } else if content_type.starts_with("application/strategic-merge-patch") {
                Write::Strategic(patch)
            } else if content_type.starts_with("application/json-patch") {
                Write::JsonPatch(patch)
            } else {
                return Err(Failure {
                    code: 415,
                    reason: "UnsupportedMediaType",
                    message: format!(
                        "the body of the request was in an unknown format: {content_type}"
                    ),
                });
            };
            let existed = cluster.store().get(&r, namespace, &name).is_ok();
            let stored = cluster
                .store()
                .write_sub(&r, namespace, &name, sub, write, &manager, dry_run)?;
            Ok((if existed { 200 } else { 201 }, stored))
        }
        (Method::DELETE, Some(name)) => {
            let options = if body.is_empty() {
                json!({})
            } else {
                parse_body()?
            };
            let pre = options.get("preconditions").cloned().unwrap_or(json!({}));
            let gone = cluster
                .store()
                .delete(&r, namespace, &name, &pre, dry_run)?;
            Ok((200, gone))
        }
        (Method::DELETE, None) => {
            let mut store = cluster.store();
            let names: Vec<(Option<String>, String)> = store
                .list(&r, namespace, |o| labels.matches(o) && fields.matches(o))
                .iter()
                .map(|o| {
                    (
                        o.pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        o.pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
                .collect();
            let mut items = Vec::new();
            for (ns, n) in names {
                items.push(store.delete(&r, ns.as_deref(), &n, &json!({}), dry_run)?);
            }
            Ok((
                200,
                json!({"kind": format!("{}List", r.kind), "apiVersion": r.api_version(), "metadata": {}, "items": items}),
            ))
        }
        _ => Err(Failure {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!("{method} is not supported here"),
        }),
    })();
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(f) => failure(&f),
    }
}

/// The metadata-only form of an object.
fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut text = json!({"type": kind, "object": object}).to_string();
    text.push('\n');
    Bytes::from(text)
}

/// A watch: the events after `resourceVersion` (or, without one, every
/// matching object as ADDED first), then every change as it happens,
/// bookmarks when asked, until `timeoutSeconds`. An RV older than the
/// history gets one ERROR event with 410 Gone.
fn watch(
    cluster: Arc<SimCluster>,
    r: Resource,
    namespace: Option<String>,
    labels: Labels,
    fields: Fields,
    params: &BTreeMap<String, String>,
    metadata_only: bool,
) -> Response<Body> {
    let since = params
        .get("resourceVersion")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|v| *v > 0);
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WATCH);
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let shape = move |o: &Value| if metadata_only { partial(o) } else { o.clone() };
    let mut pending: VecDeque<Bytes> = VecDeque::new();
    let receiver = {
        let store = cluster.store();
        match since {
            None => {
                for o in store.list(&r, namespace.as_deref(), |o| {
                    labels.matches(o) && fields.matches(o)
                }) {
                    pending.push_back(line("ADDED", &shape(&o)));
                }
                store
                    .subscribe(store.resource_version())
                    .ok()
                    .map(|(_, rx)| rx)
            }
            Some(since) => match store.subscribe(since) {
                Ok((replay, rx)) => {
                    for e in &replay {
                        if let Some(l) =
                            event_line(e, &r, namespace.as_deref(), &labels, &fields, &shape)
                        {
                            pending.push_back(l);
                        }
                    }
                    Some(rx)
                }
                Err(()) => {
                    let gone = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                        "message": format!("too old resource version: {since} ({})", store.resource_version()),
                        "reason": "Expired", "code": 410});
                    pending.push_back(line("ERROR", &gone));
                    None
                }
            },
        }
    };
    struct State {
        pending: VecDeque<Bytes>,
        rx: Option<broadcast::Receiver<Event>>,
        deadline: tokio::time::Instant,
        bookmark: tokio::time::Interval,
    }
    let start = tokio::time::Instant::now();
    let mut bookmark = tokio::time::interval_at(start + bookmark_every(), bookmark_every());
    bookmark.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        pending,
        rx: receiver,
        deadline: start + timeout,
        bookmark,
    };
    let stream = futures::stream::unfold(state, move |mut s| {
        let (cluster, r, namespace, labels, fields) = (
            cluster.clone(),
            r.clone(),
            namespace.clone(),
            labels.clone(),
            fields.clone(),
        );
        async move {
            loop {
                if let Some(b) = s.pending.pop_front() {
                    return Some((Ok::<_, Infallible>(Frame::data(b)), s));
                }
                let rx = s.rx.as_mut()?;
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok(e) => {
                            if let Some(l) = event_line(&e, &r, namespace.as_deref(), &labels, &fields, &shape) {
                                s.pending.push_back(l);
                            }
                        }
                        // Fell behind or the cluster is gone: end; the client resumes.
                        Err(_) => return None,
                    },
                    _ = tokio::time::sleep_until(s.deadline) => return None,
                    _ = s.bookmark.tick(), if bookmarks => {
                        let rv = cluster.store().resource_version().to_string();
                        let (kind, api_version) = if metadata_only {
                            ("PartialObjectMetadata".to_string(), "meta.k8s.io/v1".to_string())
                        } else {
                            (r.kind.clone(), r.api_version())
                        };
                        s.pending.push_back(line("BOOKMARK", &json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv}})));
                    }
                }
            }
        }
    });
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .header("Transfer-Encoding", "chunked")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .expect("a response")
}

/// The line a watch of `r` sends for a change, if it concerns it: an
/// object that starts or stops matching the selector is ADDED or DELETED.
fn event_line(
    e: &Event,
    r: &Resource,
    namespace: Option<&str>,
    labels: &Labels,
    fields: &Fields,
    shape: &impl Fn(&Value) -> Value,
) -> Option<Bytes> {
    if e.key.group != r.group || e.key.plural != r.plural {
        return None;
    }
    if namespace.is_some() && e.key.namespace.as_deref() != namespace {
        return None;
    }
    let matches = |o: &Value| labels.matches(o) && fields.matches(o);
    let mut object = (*e.object).clone();
    object["apiVersion"] = json!(r.api_version());
    let now = matches(&object);
    let before = e.old.as_deref().is_some_and(matches);
    let kind = match (e.kind, before, now) {
        ("MODIFIED", false, true) => "ADDED",
        ("MODIFIED", true, false) => "DELETED",
        ("MODIFIED", false, false) => return None,
        (k, _, true) => k,
        ("DELETED", true, _) => "DELETED",
        _ => return None,
    };
    Some(line(kind, &shape(&object)))
}
