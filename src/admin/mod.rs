//! The admin listener (SPEC §4): the dashboard at /, /healthz, /metrics,
//! /status, /config, /lookup, POST /reload.
//! Bound only where `admin.address` says; its connections are not drained on
//! shutdown (they carry no user traffic).

mod status;

use crate::explain::{explain_in, Described};
use crate::server::{Handle, ReloadError};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;
use std::convert::Infallible;
use tokio::net::TcpListener;

type Reply = Response<Full<Bytes>>;

/// The dashboard: one self-contained page (its CSS and script inline).
const DASHBOARD: &str = include_str!("dashboard.html");

/// Nothing from elsewhere: the page talks only to this listener.
const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";

/// Serves the admin endpoints on `listener` until the task is aborted.
pub async fn serve(listener: TcpListener, handle: Handle) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("admin listening on {addr}");
    }
    while let Ok((stream, _)) = listener.accept().await {
        let handle = handle.clone();
        let service = service_fn(move |req| {
            let handle = handle.clone();
            async move { Ok::<_, Infallible>(route(&handle, req).await) }
        });
        tokio::spawn(async move {
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn json_reply(status: StatusCode, value: serde_json::Value) -> Reply {
    reply(status, "application/json", value.to_string())
}

async fn route(handle: &Handle, req: Request<Incoming>) -> Reply {
    let text = "text/plain; charset=utf-8";
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => reply(StatusCode::OK, text, "ok\n"),
        (&Method::GET, "/metrics") => {
            let metrics = &handle.shared().metrics;
            metrics.refresh(&handle.shared().state.load());
            reply(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics.render(),
            )
        }
        (&Method::GET, "/") => {
            let mut r = reply(StatusCode::OK, "text/html; charset=utf-8", DASHBOARD);
            r.headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        (&Method::GET, "/status") => json_reply(StatusCode::OK, status::status(handle)),
        (&Method::GET, "/config") => match handle.effective() {
            Some(Ok(yaml)) => reply(StatusCode::OK, "application/yaml; charset=utf-8", yaml),
            Some(Err(e)) => reply(StatusCode::INTERNAL_SERVER_ERROR, text, format!("{e}\n")),
            None => reply(StatusCode::NOT_FOUND, text, "the config was not loaded from a file\n"),
        },
        (&Method::GET, "/lookup") => lookup(handle, req.uri().query().unwrap_or("")),
        (&Method::POST, "/reload") => match handle.reload().await {
            Ok(version) => json_reply(StatusCode::OK, json!({ "version": version })),
            Err(e @ ReloadError::ShuttingDown) => {
                json_reply(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": e.to_string() }))
            }
            Err(e) => json_reply(StatusCode::BAD_REQUEST, json!({ "error": e.to_string() })),
        },
        (_, "/" | "/healthz" | "/metrics" | "/status" | "/config" | "/lookup" | "/reload") => {
            reply(StatusCode::METHOD_NOT_ALLOWED, text, "method not allowed\n")
        }
        (_, path) => reply(StatusCode::NOT_FOUND, text, format!("no admin endpoint {path}\n")),
    }
}

/// `/lookup?path=&host=&method=&header=NAME:VALUE&cookie=NAME:VALUE&client_ip=`.
fn lookup(handle: &Handle, query: &str) -> Reply {
    let bad = |msg: String| json_reply(StatusCode::BAD_REQUEST, json!({ "error": msg }));
    let (mut path, mut method, mut client_ip) = (None, Method::GET, [127, 0, 0, 1].into());
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "path" => path = Some(v.into_owned()),
            "host" => match HeaderValue::from_str(&v) {
                Ok(h) => {
                    headers.insert(header::HOST, h);
                }
                Err(_) => return bad(format!("host {v:?} is not a header value")),
            },
            "method" => match Method::from_bytes(v.to_ascii_uppercase().as_bytes()) {
                Ok(m) => method = m,
                Err(_) => return bad(format!("{v:?} is not a method")),
            },
            "client_ip" => match v.parse() {
                Ok(ip) => client_ip = ip,
                Err(_) => return bad(format!("{v:?} is not an IP address")),
            },
            "header" => {
                let parsed = v.split_once(':').and_then(|(n, val)| {
                    Some((
                        HeaderName::from_bytes(n.trim().as_bytes()).ok()?,
                        HeaderValue::from_str(val.trim()).ok()?,
                    ))
                });
                match parsed {
                    Some((n, val)) => {
                        headers.append(n, val);
                    }
                    None => return bad(format!("header {v:?} is not NAME:VALUE")),
                }
            }
            "cookie" => match v.split_once(':') {
                Some((n, val)) => cookies.push(format!("{}={}", n.trim(), val.trim())),
                None => return bad(format!("cookie {v:?} is not NAME:VALUE")),
            },
            other => return bad(format!("unknown parameter {other:?}")),
        }
    }
    if !cookies.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }
    let Some(path) = path else {
        return bad("missing parameter: path (e.g. /lookup?path=/api/users&header=x-user:alice)".into());
    };
    let Ok(uri) = path.parse() else {
        return bad(format!("path {path:?} is not a request path"));
    };
    let snap = handle.shared().state.load();
    let req = Described {
        method,
        uri,
        headers,
        client_ip,
    };
    let explanation = explain_in(&snap.router, &snap.upstreams, &snap.algorithms, &req);
    json_reply(StatusCode::OK, serde_json::to_value(explanation).unwrap_or_default())
}
