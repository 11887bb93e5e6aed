//! The HTTP side of analysis: a Prometheus instant query
//! (`GET <address>/api/v1/query`) and an HTTP GET with an expected status
//! and a JSON field. Redirects are refused (a bearer token is sent only to
//! the host configured for it), and a token never appears in a reading.

use super::Reading;
use crate::model::analysis::Value;
use crate::report::secret::Secret;
use std::time::Duration;

/// How long one probe request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an unexpected body a reading keeps.
const MAX_BODY: usize = 200;

/// The client every probe of one gate shares.
pub struct Prober {
    client: reqwest::Client,
}

impl Prober {
    /// A client that follows no redirect.
    pub fn new() -> Result<Prober, String> {
        crate::cluster::install_crypto_provider();
        reqwest::Client::builder()
            .user_agent("tranche")
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map(|client| Prober { client })
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    }

    /// Evaluates `query` on the Prometheus at `address`.
    pub async fn prometheus(&self, address: &str, query: &str, token: Option<&str>) -> Reading {
        let base = format!("{}/api/v1/query", address.trim_end_matches('/'));
        let mut url = match reqwest::Url::parse(&base) {
            Ok(u) => u,
            Err(e) => return Reading::Fatal(format!("address {address:?} is not a URL: {e}")),
        };
        url.query_pairs_mut().append_pair("query", query);
        let token = match read_token(token) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let mut request = self.client.get(url);
        if let Some(t) = &token {
            request = request.bearer_auth(t.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Reading::Error(network(&e, token.as_ref())),
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let json: serde_json::Value = match serde_json::from_str(&body) {
            Ok(j) => j,
            Err(_) => {
                return Reading::Error(format!(
                    "Prometheus answered {status} without JSON: {}",
                    clip(&redact(&body, token.as_ref()))
                ))
            }
        };
        if json.get("status").and_then(|s| s.as_str()) != Some("success") {
            let why = json
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("no reason");
            return Reading::Error(format!("Prometheus answered {status}: {}", clip(why)));
        }
        prometheus_result(&json)
    }

    /// GETs `url`; judged by `status` (default any 2xx) and, with
    /// `pointer`, by the JSON field it points at.
    pub async fn http(
        &self,
        url: &str,
        status: Option<u16>,
        pointer: Option<&str>,
        token: Option<&str>,
    ) -> Reading {
        let token = match read_token(token) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let mut request = self.client.get(url);
        if let Some(t) = &token {
            request = request.bearer_auth(t.expose());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Reading::Error(network(&e, token.as_ref())),
        };
        let got = response.status();
        let ok = match status {
            Some(want) => got.as_u16() == want,
            None => got.is_success(),
        };
        if !ok {
            let wanted = status.map_or("2xx".to_string(), |s| s.to_string());
            return Reading::Bad(format!("status {} (expected {wanted})", got.as_u16()));
        }
        let Some(pointer) = pointer else {
            return Reading::Good(format!("status {}", got.as_u16()));
        };
        let body = response.text().await.unwrap_or_default();
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
            return Reading::Error(format!("status {}, body is not JSON", got.as_u16()));
        };
        match json.pointer(pointer) {
            None | Some(serde_json::Value::Null) => Reading::Error(format!("no field {pointer}")),
            Some(serde_json::Value::Number(n)) => Reading::Values(vec![(
                String::new(),
                Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            )]),
            Some(serde_json::Value::String(s)) => {
                Reading::Values(vec![(String::new(), Value::Text(s.clone()))])
            }
            Some(other) => Reading::Values(vec![(String::new(), Value::Text(other.to_string()))]),
        }
    }
}

/// The values of a successful `/api/v1/query` answer: a vector's series
/// (labels shown as `{k="v"}`) or a scalar.
pub fn prometheus_result(json: &serde_json::Value) -> Reading {
    let data = &json["data"];
    let number = |pair: &serde_json::Value| -> Option<Value> {
        let text = pair.get(1)?.as_str()?;
        Some(Value::Number(match text {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            t => t.parse().ok()?,
        }))
    };
    match data["resultType"].as_str() {
        Some("vector") => {
            let series = data["result"].as_array().cloned().unwrap_or_default();
            let mut out = Vec::new();
            for s in &series {
                let Some(v) = number(&s["value"]) else {
                    return Reading::Error("Prometheus answered a sample without a value".into());
                };
                let labels: Vec<String> = s["metric"]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v)).collect())
                    .unwrap_or_default();
                let labels = match labels.is_empty() {
                    true => String::new(),
                    false => format!("{{{}}}", labels.join(",")),
                };
                out.push((labels, v));
            }
            Reading::Values(out)
        }
        Some("scalar") => match number(&data["result"]) {
            Some(v) => Reading::Values(vec![(String::new(), v)]),
            None => Reading::Error("Prometheus answered a scalar without a value".into()),
        },
        other => Reading::Error(format!(
            "Prometheus answered a {} result: write a query that gives a number",
            other.unwrap_or("missing")
        )),
    }
}

fn read_token(path: Option<&str>) -> Result<Option<Secret>, Reading> {
    match path {
        None => Ok(None),
        Some(p) => Secret::from_file(std::path::Path::new(p))
            .map(Some)
            .map_err(|e| Reading::Fatal(format!("bearer token: {e}"))),
    }
}

/// Why a request failed, with its causes; never the token.
fn network(error: &reqwest::Error, token: Option<&Secret>) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    redact(&message, token)
}

fn redact(text: &str, token: Option<&Secret>) -> String {
    match token {
        Some(t) => t.redact(text),
        None => text.to_string(),
    }
}

fn clip(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= MAX_BODY {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_BODY).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_and_scalars_are_read() {
        let v = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"cluster": "c1"}, "value": [1.0, "0.25"]}
        ]}});
        assert_eq!(
            prometheus_result(&v),
            Reading::Values(vec![("{cluster=\"c1\"}".into(), Value::Number(0.25))])
        );
        let s = serde_json::json!({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "NaN"]}});
        match prometheus_result(&s) {
            Reading::Values(v) => assert!(matches!(v[0].1, Value::Number(n) if n.is_nan())),
            other => panic!("{other:?}"),
        }
        let m = serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": []}});
        assert!(matches!(prometheus_result(&m), Reading::Error(_)));
    }
}
