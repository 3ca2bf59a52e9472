//! The command line as users run it: check, explain, run with SIGTERM, demo backends.

use crate::common;
use common::process::{bin, TempDir};
use common::*;

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn check_accepts_the_shipped_config_with_a_summary() {
    let (code, out, err) = run(&["check", "-c", SHIPPED]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("listeners: 127.0.0.1:8080"), "{out}");
    assert!(out.contains("web: weighted_round_robin; 3 servers"), "{out}");
    assert!(
        out.contains("api: consistent_hash on header:x-user-id, cookie:session"),
        "{out}"
    );
}

#[test]
fn check_rejects_a_bad_config_with_exit_1_naming_key_and_line() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    std::fs::write(&path, "listeners: [{ address: 127.0.0.1:0 }]\nupstreams:\n  a:\n    servers: [{ address: 127.0.0.1:1, weight: 5000 }]\nroutes: [{ upstream: b }]\n").unwrap();
    let (code, out, err) = run(&["check", "-c", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("upstreams.a.servers[0].weight (line 4): 5000 is out of range"),
        "{err}"
    );
    assert!(
        err.contains("routes[0].upstream (line 5): unknown upstream `b`"),
        "{err}"
    );
    let (code, _, err) = run(&["check", "-c", "/nonexistent/fulcrum.yaml"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot read /nonexistent/fulcrum.yaml"), "{err}");
}

#[test]
fn check_diff_reports_exact_moves_per_hash_upstream() {
    let (code, out, err) = run(&["check", "-c", SHIPPED, "--diff", SHIPPED]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("api: 0.0% of keys move (ideal 0.0%)"), "{out}");
    let dir = TempDir::new();
    let write = |name: &str, servers: &str| {
        let path = dir.0.join(name);
        let yaml = format!(
            "listeners: [{{ address: 127.0.0.1:0 }}]\nupstreams:\n  api:\n    balance: consistent_hash\n    hash: {{ key: path }}\n    servers: [{servers}]\n  mg:\n    balance: maglev\n    hash: {{ key: path }}\n    servers: [{servers}]\nroutes: [{{ upstream: api }}]\n"
        );
        std::fs::write(&path, yaml).unwrap();
        path.to_str().unwrap().to_string()
    };
    let ten: Vec<String> = (1..=10).map(|i| format!("{{ address: 10.0.0.{i}:80 }}")).collect();
    let old = write("old.yaml", &ten.join(", "));
    let new = write("new.yaml", &format!("{}, {{ address: 10.0.0.11:80 }}", ten.join(", ")));
    let (code, out, err) = run(&["check", "-c", &new, "--diff", &old]);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with("api: ")).unwrap();
    let moved: f64 = line["api: ".len()..].split('%').next().unwrap().parse().unwrap();
    assert!((8.0..=10.1).contains(&moved), "{line}");
    assert!(line.contains("(ideal "), "{line}");
    assert!(out.contains("  10.0.0.11:80: - -> "), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("mg: ") && l.contains("of keys move")),
        "{out}"
    );
}

#[test]
fn explain_names_route_upstream_server_and_key() {
    let (code, out, err) = run(&[
        "explain",
        "-c",
        SHIPPED,
        "--host",
        "api.example.com",
        "--header",
        "x-user-id=alice",
        "/api/users",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("route: api\n") && out.contains("upstream: api (consistent_hash"),
        "{out}"
    );
    assert!(out.contains("why: hash of header:x-user-id = \"alice\""), "{out}");
    let server = out
        .lines()
        .find_map(|l| l.strip_prefix("server: "))
        .unwrap()
        .to_string();
    // the same key through the cookie source lands on the same server
    let (_, by_cookie, _) = run(&[
        "explain",
        "-c",
        SHIPPED,
        "--host",
        "api.example.com",
        "--cookie",
        "session=alice",
        "/api/users",
    ]);
    assert!(by_cookie.contains(&format!("server: {server}")), "{by_cookie}");
    assert!(by_cookie.contains("why: hash of cookie:session"), "{by_cookie}");
    let (_, none, _) = run(&["explain", "-c", SHIPPED, "--method", "DELETE", "/x"]);
    assert!(none.contains("no route matches DELETE"), "{none}");
}

#[tokio::test]
async fn demo_backend_answers_with_its_name() {
    let addr = fulcrum::demo::spawn_backend("web-2".into(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let r = send(&client(), addr, "GET", "/hello?x=1", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, format!("web-2 {addr}: GET /hello?x=1\n"));
    assert_eq!(fulcrum::demo::backend_name("web", 1), "web-2");
}
