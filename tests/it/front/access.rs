//! `access`: allow and deny lists by client address, deny wins, 403; the
//! denial carries the route's `response_headers` and is counted.

use super::common::*;
use super::metric;

fn yaml(access: &str) -> String {
    format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\ntrusted_proxies: [127.0.0.1]\n\
         upstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\n\
         routes: [{{ name: admin, upstream: p, access: {access}, response_headers: {{ set: {{ x-frame-options: DENY }} }} }}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_and_deny_by_address_with_deny_winning() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(
        &yaml("{ allow: [10.0.0.0/8, \"2001:db8::/32\"], deny: [10.1.2.3] }"),
        &[&b],
    )
    .await;
    let c = client();
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for (ip, status) in [
        ("10.9.9.9", 200),
        ("10.1.2.3", 403),
        ("192.168.1.1", 403),
        ("2001:db8::5", 200),
        ("2001:db9::5", 403),
    ] {
        let r = send(&c, lb.addr, "GET", "/", &from(ip)).await;
        assert_eq!(r.status.as_u16(), status, "{ip}");
        if status == 403 {
            assert_eq!(r.body, "403 Forbidden: access denied\n");
            assert_eq!(r.headers["x-frame-options"], "DENY", "response rules cover denials");
        }
    }
    assert_eq!(b.traffic(), 2, "denied requests never reach the upstream");
    let labels = [("route", "admin"), ("reason", "ip")];
    assert_eq!(
        metric(lb.admin.unwrap(), "fulcrum_access_denied_total", &labels).await,
        3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_list_alone_lets_everyone_else_in() {
    let b = spawn_backend("b").await;
    let lb = spawn_lb_file(&yaml("{ deny: [203.0.113.0/24] }"), &[&b]).await;
    let c = client();
    assert_eq!(
        send(&c, lb.addr, "GET", "/", &[("x-forwarded-for", "198.51.100.1")])
            .await
            .status,
        200
    );
    assert_eq!(
        send(&c, lb.addr, "GET", "/", &[("x-forwarded-for", "203.0.113.9")])
            .await
            .status,
        403
    );
}
