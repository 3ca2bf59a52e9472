//! `forward_auth`: the auth service decides; a 2xx lets the request on with
//! its listed headers, anything else goes back as it gave it; no answer: 503.

use super::common::*;
use super::metric;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<http::HeaderMap>>>;

/// An auth service: `authorization: Bearer good` is user 42, `slow` never
/// answers in time, anything else gets 401 with its own body and header.
async fn spawn_auth() -> (std::net::SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let record = record.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let record = record.clone();
                async move {
                    let mut headers = req.headers().clone();
                    headers.insert("x-auth-path", req.uri().path().parse().unwrap());
                    headers.insert("x-auth-method", req.method().as_str().parse().unwrap());
                    record.lock().unwrap().push(headers);
                    let auth = req
                        .headers()
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_string());
                    let resp = match auth.as_deref() {
                        Some("Bearer good") => Response::builder()
                            .header("x-user-id", "42")
                            .body(Full::new(bytes::Bytes::new())),
                        Some("Bearer slow") => {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                            Response::builder().body(Full::new(bytes::Bytes::new()))
                        }
                        _ => Response::builder()
                            .status(401)
                            .header("www-authenticate", "Bearer realm=\"sso\"")
                            .header("x-login", "https://sso.example/login")
                            .body(Full::new(bytes::Bytes::from_static(b"log in first\n"))),
                    };
                    Ok::<_, std::convert::Infallible>(resp.unwrap())
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_service_decides_before_the_upstream_is_asked() {
    let b = spawn_backend("b").await;
    let (auth, asked) = spawn_auth().await;
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
         upstreams:\n  app: {{ servers: [{{ address: \"{{b0}}\" }}] }}\n  auth: {{ servers: [{{ address: \"{auth}\" }}] }}\n\
         routes: [{{ name: app, upstream: app, forward_auth: {{ upstream: auth, path: /check, \
         request_headers: [authorization, cookie], response_headers: [x-user-id], timeout: 500ms }} }}]\n"
    );
    let lb = spawn_lb_file(&yaml, &[&b]).await;
    let c = client();
    // 2xx: on to the upstream, with the auth service's x-user-id replacing the client's
    let ok = send(
        &c,
        lb.addr,
        "POST",
        "/orders?id=7",
        &[("authorization", "Bearer good"), ("x-user-id", "1")],
    )
    .await;
    assert_eq!(ok.status, 200);
    let upstream_saw = b.seen().last().unwrap().headers.clone();
    assert_eq!(upstream_saw["x-user-id"], "42");
    let auth_saw = asked.lock().unwrap().last().unwrap().clone();
    assert_eq!(auth_saw["x-auth-path"], "/check");
    assert_eq!(auth_saw["x-auth-method"], "GET");
    assert_eq!(auth_saw["x-forwarded-method"], "POST");
    assert_eq!(auth_saw["x-forwarded-uri"], "/orders?id=7");
    assert_eq!(auth_saw["x-forwarded-for"], "127.0.0.1");
    assert!(auth_saw["x-forwarded-host"].to_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(auth_saw["authorization"], "Bearer good");
    assert!(
        auth_saw.get("x-user-id").is_none(),
        "only the listed headers are copied"
    );
    // anything else: the auth service's answer, as it gave it
    let denied = send(&c, lb.addr, "GET", "/", &[("authorization", "Bearer bad")]).await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.body, "log in first\n");
    assert_eq!(denied.headers["x-login"], "https://sso.example/login");
    assert_eq!(denied.headers["www-authenticate"], "Bearer realm=\"sso\"");
    // no answer in time: 503
    let slow = send(&c, lb.addr, "GET", "/", &[("authorization", "Bearer slow")]).await;
    assert_eq!(slow.status, 503);
    assert_eq!(
        slow.body,
        "503 Service Unavailable: upstream auth: the authentication service did not answer\n"
    );
    assert_eq!(b.traffic(), 1, "only the authorised request reached the upstream");
    let labels = [("route", "app"), ("reason", "forward_auth")];
    assert_eq!(
        metric(lb.admin.unwrap(), "fulcrum_access_denied_total", &labels).await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_pool_without_a_server_is_503() {
    let b = spawn_backend("b").await;
    let dead = closed_port();
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\n\
         upstreams:\n  app: {{ servers: [{{ address: \"{{b0}}\" }}] }}\n  auth: {{ servers: [{{ address: \"{dead}\" }}] }}\n\
         routes: [{{ upstream: app, forward_auth: {{ upstream: auth, path: /check }} }}]\n"
    );
    let lb = spawn_lb(&yaml, &[&b]).await;
    assert_eq!(send(&client(), lb.addr, "GET", "/", &[]).await.status, 503);
    assert_eq!(b.traffic(), 0);
}
