//! sd_notify (SPEC §1) against a Unix datagram socket the test owns as
//! `NOTIFY_SOCKET`, as systemd would: READY=1 only once the listener
//! accepts, RELOADING=1 with MONOTONIC_USEC then READY=1 around a SIGHUP
//! reload, WATCHDOG=1 pings when WATCHDOG_USEC is set, STOPPING=1 on SIGTERM.

use crate::common;
use common::process::{spawn_proc_env, TempDir};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Receives datagrams until one satisfies `want`, within 10 s; returns it.
fn expect(sock: &UnixDatagram, what: &str, want: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            if want(&msg) {
                return msg;
            }
            seen.push(msg);
        }
    }
    panic!("no {what} within 10s; got {seen:?}");
}

/// Whether the datagram carries the assignment `line`.
fn has(msg: &str, line: &str) -> bool {
    msg.lines().any(|l| l == line)
}

#[test]
fn ready_reloading_watchdog_and_stopping_reach_the_notify_socket() {
    let dir = TempDir::new();
    let path = dir.0.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let yaml = "listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams: { p: { servers: [{ address: \"127.0.0.1:9\" }] } }\nroutes: [{ match: { path_prefix: / }, upstream: p }]\n";
    let mut lb = spawn_proc_env(
        yaml,
        &[
            ("NOTIFY_SOCKET", path.as_os_str()),
            ("WATCHDOG_USEC", "200000".as_ref()),
        ],
    );
    expect(&sock, "READY=1", |m| has(m, "READY=1"));
    // READY came after the bind: the listener accepts now
    std::net::TcpStream::connect(lb.addr).expect("listener accepts once READY=1 is sent");
    expect(&sock, "WATCHDOG=1", |m| has(m, "WATCHDOG=1"));

    lb.signal("HUP");
    let reloading = expect(&sock, "RELOADING=1", |m| has(m, "RELOADING=1"));
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC: {reloading:?}"))
        .parse()
        .unwrap();
    assert!(usec > 0);
    expect(&sock, "READY=1 after the reload", |m| has(m, "READY=1"));

    lb.signal("TERM");
    expect(&sock, "STOPPING=1", |m| has(m, "STOPPING=1"));
    assert_eq!(lb.wait_exit(Duration::from_secs(20)), Some(0));
}
