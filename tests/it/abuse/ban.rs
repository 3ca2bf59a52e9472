//! `limits.abuse_ban`: after an HTTP/2 flood is cut, its address's new
//! connections are held unread until the ban ends, then served again; other
//! addresses are served throughout; `0s`, a trusted proxy and a PROXY
//! header's other sources are not banned.

use super::h2::{held, rejected, settings_ping_flood_on, ATTACKER};
use super::lb;
use crate::common;
use common::h2raw::*;
use common::*;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A flood from `source` (after `prefix`) that fulcrum served until it cut it.
async fn flood_cut(addr: SocketAddr, source: IpAddr, prefix: &[u8]) {
    let end = settings_ping_flood_on(Raw::connect_with(source, addr, prefix).await).await;
    assert!(end.closed && !held(&end), "the flood was served, then cut: {end:?}");
}

/// The status line of a GET sent from `source` (after `prefix`); empty
/// when the connection closed unanswered.
async fn get_from(addr: SocketAddr, source: IpAddr, prefix: &[u8]) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    let req = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let _ = s.write_all(&[prefix, req].concat()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_address_is_held_until_its_ban_ends_then_served_again() {
    let b = spawn_backend("b").await;
    let lb = lb(&b, "abuse_ban: 1s");
    let start = Instant::now();
    flood_cut(lb.addr, ATTACKER, b"").await;
    let mut again = Raw::connect_from(ATTACKER, lb.addr).await;
    assert!(
        held(&again.read(Duration::from_millis(300)).await),
        "banned: held unread"
    );
    let good = send(&client(), lb.addr, "GET", "/", &[]).await;
    assert_eq!(good.status, 200, "another address is served during the ban");
    let end = again.read(Duration::from_secs(3)).await;
    assert!(
        end.closed && end.frames == 0,
        "closed unanswered when the ban ends: {end:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "held for the ban, not less"
    );
    assert_eq!(
        get_from(lb.addr, ATTACKER, b"").await,
        "HTTP/1.1 200 OK",
        "served after the ban"
    );
    assert_eq!(rejected(&lb, "abuse_ban").await, 1.0);
    assert_eq!(rejected(&lb, "h2_flood").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ban_when_off_or_for_a_trusted_proxy() {
    let b = spawn_backend("b").await;
    for (what, lb) in [
        ("abuse_ban: 0s", lb(&b, "abuse_ban: 0s")),
        ("trusted proxy", {
            let yaml = format!(
                "listeners: [{{ address: \"127.0.0.1:0\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\n\
                 trusted_proxies: [\"{ATTACKER}\"]\nupstreams: {{ p: {{ servers: [{{ address: \"{{b0}}\" }}] }} }}\n\
                 routes: [{{ upstream: p }}]\n"
            );
            common::process::spawn_proc(&fill(&yaml, &[&b]))
        }),
    ] {
        flood_cut(lb.addr, ATTACKER, b"").await;
        flood_cut(lb.addr, ATTACKER, b"").await;
        assert_eq!(rejected(&lb, "abuse_ban").await, 0.0, "{what}");
        assert_eq!(rejected(&lb, "h2_flood").await, 2.0, "{what}: both served and cut");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_header_the_named_source_is_banned_not_the_balancer() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"127.0.0.1:0\", proxy_protocol: true }]\nadmin: { address: \"127.0.0.1:0\" }\n\
                upstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ upstream: p }]\n";
    let lb = common::process::spawn_proc(&fill(yaml, &[&b]));
    let (balancer, flooder, other) = (
        IpAddr::from([127, 0, 0, 1]),
        b"PROXY TCP4 203.0.113.7 10.0.0.1 40000 8080\r\n",
        b"PROXY TCP4 203.0.113.8 10.0.0.1 40000 8080\r\n",
    );
    flood_cut(lb.addr, balancer, flooder).await;
    assert_eq!(
        get_from(lb.addr, balancer, flooder).await,
        "",
        "the flooder is closed unanswered"
    );
    assert_eq!(
        get_from(lb.addr, balancer, other).await,
        "HTTP/1.1 200 OK",
        "others behind the balancer are served"
    );
    assert_eq!(rejected(&lb, "abuse_ban").await, 1.0);
    assert_eq!(rejected(&lb, "proxy_protocol").await, 0.0, "a ban is not a bad header");
}
