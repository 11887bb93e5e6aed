//! The proxy's wire side: TLS and HTTP/1.1 towards tranche (hyper), the
//! faults, and forwarding to the apiserver (reqwest).

use super::{lock, Action, Seen, Shared, HANG};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// The proxy of one cluster.
#[derive(Clone)]
pub(super) struct Proxy {
    pub(super) cluster: String,
    pub(super) upstream: String,
    pub(super) shared: Arc<Shared>,
}

/// Counts a request in flight (across the set and for its cluster) for
/// as long as it lives.
struct InFlight(Arc<Shared>, String);

impl InFlight {
    fn new(shared: &Arc<Shared>, cluster: &str) -> InFlight {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak.fetch_max(now, Ordering::SeqCst);
        let mut per_cluster = lock(&shared.per_cluster);
        let (now, peak) = per_cluster.entry(cluster.to_string()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
        InFlight(shared.clone(), cluster.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some((now, _)) = lock(&self.0.per_cluster).get_mut(&self.1) {
            *now = now.saturating_sub(1);
        }
    }
}

impl Proxy {
    pub(super) async fn serve(self, listener: TcpListener, tls: tokio_rustls::TlsAcceptor) {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            // A second descriptor of the socket, to set SO_LINGER 0 (a
            // reset) after hyper owns the stream.
            let Ok(fd) = tcp.as_fd().try_clone_to_owned() else {
                continue;
            };
            let (proxy, tls) = (self.clone(), tls.clone());
            tokio::spawn(async move { proxy.connection(tcp, fd, tls).await });
        }
    }

    async fn connection(
        self,
        tcp: tokio::net::TcpStream,
        fd: OwnedFd,
        tls: tokio_rustls::TlsAcceptor,
    ) {
        let Ok(stream) = tls.accept(tcp).await else {
            return;
        };
        let reset = Arc::new(Notify::new());
        let service = {
            let (proxy, reset) = (self.clone(), reset.clone());
            hyper::service::service_fn(move |req| {
                let (proxy, reset) = (proxy.clone(), reset.clone());
                async move { Ok::<_, Infallible>(proxy.handle(req, reset).await) }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        tokio::select! {
            _ = conn => {}
            _ = reset.notified() => {
                let _ = socket2::SockRef::from(&fd).set_linger(Some(Duration::ZERO));
            }
        }
        drop(fd);
    }

    /// Answers one request: a fault, or the apiserver's answer.
    async fn handle(
        &self,
        req: Request<hyper::body::Incoming>,
        reset: Arc<Notify>,
    ) -> Response<Body> {
        let shared = &self.shared;
        let in_flight = InFlight::new(shared, &self.cluster);
        let index = shared.counter.fetch_add(1, Ordering::SeqCst);
        let method = req.method().to_string();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let stopped = lock(&shared.stopped).contains(&self.cluster);
        let fault = lock(&shared.faults)
            .iter_mut()
            .find_map(|f| f.hit(index, &self.cluster, &method, &path));
        lock(&shared.log).push(Seen {
            index,
            cluster: self.cluster.clone(),
            method: method.clone(),
            path: path.clone(),
            fault,
            status: None,
            started: Instant::now(),
            finished: None,
        });
        let (up, down) = *lock(&shared.delay);
        tokio::time::sleep(up).await;
        let answer = match (fault, stopped) {
            (Some(Action::Status(code)), _) => Some(status_response(code)),
            (Some(Action::Hang), _) => {
                tokio::time::sleep(HANG).await;
                None
            }
            (Some(Action::Reset), _) | (None, true) => None,
            (Some(Action::StopApiserver), _) => {
                shared.fleet.stop(&self.cluster);
                let mut stopped = lock(&shared.stopped);
                if !stopped.contains(&self.cluster) {
                    stopped.push(self.cluster.clone());
                }
                None
            }
            (None, false) => self.forward(req, &method, &path).await,
        };
        let Some(answer) = answer else {
            reset.notify_one();
            return std::future::pending().await;
        };
        tokio::time::sleep(down).await;
        if let Some(seen) = lock(&shared.log).iter_mut().find(|s| s.index == index) {
            seen.status = Some(answer.status().as_u16());
            seen.finished = Some(Instant::now());
        }
        // In flight until the whole body has gone back (a watch: until it ends).
        answer.map(|body| {
            body.map_frame(move |frame| {
                let _counted = &in_flight;
                frame
            })
            .boxed()
        })
    }

    /// Sends the request on to the apiserver; `None` when it cannot be
    /// reached (the client's connection is then reset, as a dead one).
    /// The answer's body is streamed back chunk by chunk, each chunk held
    /// for the `back` delay (a watch's events arrive as they come).
    async fn forward(
        &self,
        req: Request<hyper::body::Incoming>,
        method: &str,
        path: &str,
    ) -> Option<Response<Body>> {
        let headers = req.headers().clone();
        let body = req.into_body().collect().await.ok()?.to_bytes();
        let method = reqwest::Method::from_bytes(method.as_bytes()).ok()?;
        let mut out = self
            .shared
            .upstream
            .request(method, format!("{}{path}", self.upstream))
            .body(body);
        for (name, value) in &headers {
            if !is_hop_by_hop(name.as_str()) {
                out = out.header(name.as_str(), value.as_bytes());
            }
        }
        let resp = out.send().await.ok()?;
        let mut answer = Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers() {
            if !is_hop_by_hop(name.as_str()) {
                answer = answer.header(name.as_str(), value.as_bytes());
            }
        }
        // Read eagerly, each chunk stamped with when it may go back; the
        // body sends it then (the headers' own delay runs meanwhile).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = self.shared.clone();
        let mut resp = resp;
        tokio::spawn(async move {
            loop {
                let chunk = tokio::select! {
                    chunk = resp.chunk() => chunk,
                    _ = tx.closed() => break,
                };
                let Ok(Some(chunk)) = chunk else { break };
                let due = tokio::time::Instant::now() + lock(&shared.delay).1;
                if tx.send((due, chunk)).is_err() {
                    break;
                }
            }
        });
        let chunks = futures::stream::unfold(rx, |mut rx| async move {
            let (due, chunk) = rx.recv().await?;
            tokio::time::sleep_until(due).await;
            Some((Ok::<_, Infallible>(Frame::data(chunk)), rx))
        });
        answer.body(StreamBody::new(chunks).boxed()).ok()
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade"
    )
}

/// A body the proxy sends back: whole (a fault's) or streamed (forwarded).
pub(super) type Body = BoxBody<Bytes, Infallible>;

/// A Kubernetes `Status` answer, as an apiserver (or a proxy in front of
/// one) would send.
fn status_response(code: u16) -> Response<Body> {
    let reason = match code {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    };
    let body = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("fault injected by the test proxy (HTTP {code})"),
        "reason": reason, "code": code
    });
    let mut answer = Response::builder()
        .status(code)
        .header("content-type", "application/json");
    if code == 429 {
        answer = answer.header("retry-after", "1");
    }
    answer
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

/// A TLS acceptor with a fresh self-signed certificate for 127.0.0.1.
pub(super) fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap_or_else(|e| panic!("cannot make the proxy's certificate: {e}"));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(vec![cert.cert.der().clone()], key)
        })
        .unwrap_or_else(|e| panic!("cannot configure the proxy's TLS: {e}"));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
