//! Raw HTTPS to a test apiserver (no kubectl): readiness, discovery of a
//! kind's URL, and requests tests make while playing users or controllers.
//! A fresh client per call, so a fleet can outlive any one tokio runtime.

use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// An HTTPS client that trusts the apiserver's self-signed certificate.
pub fn client() -> reqwest::Client {
    tranche::cluster::install_crypto_provider();
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build an HTTPS client: {e}"))
}

/// Sends one request; returns the status code and the body (JSON when it
/// parses, else a JSON string). `Err` only when no answer came.
pub async fn send(
    server: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
) -> Result<(u16, Value), String> {
    let mut req = client()
        .request(method.clone(), format!("{server}{path}"))
        .bearer_auth(token);
    if let Some((content_type, body)) = body {
        req = req.header("Content-Type", content_type).body(body);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("{method} {path}: reading the body: {e}"))?;
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, value))
}

/// Whether `GET /readyz` answers 200.
pub async fn is_ready(server: &str, token: &str) -> bool {
    matches!(
        send(server, token, Method::GET, "/readyz", None).await,
        Ok((200, _))
    )
}

/// The URL path of an object (or of its collection when `name` is `None`:
/// across all namespaces when `namespace` is `None` too), found through
/// discovery of the object's own apiVersion.
pub async fn resource_path(
    server: &str,
    token: &str,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> String {
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let (status, list) = send(server, token, Method::GET, &base, None)
        .await
        .unwrap_or_else(|e| panic!("discovery of {api_version} failed: {e}"));
    assert_eq!(status, 200, "{api_version} is not served: {list}");
    let resource = list["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["kind"] == kind && !r["name"].as_str().unwrap_or("/").contains('/'))
        .unwrap_or_else(|| panic!("{api_version} has no kind {kind}: {list}"));
    let plural = resource["name"].as_str().unwrap_or_default();
    let mut path = base;
    if resource["namespaced"] == true {
        match (namespace, name) {
            (Some(ns), _) => path.push_str(&format!("/namespaces/{ns}")),
            // A collection across all namespaces.
            (None, None) => {}
            (None, Some(_)) => panic!("{kind} is namespaced: give a namespace"),
        }
    }
    path.push_str(&format!("/{plural}"));
    if let Some(name) = name {
        path.push_str(&format!("/{name}"));
    }
    path
}
