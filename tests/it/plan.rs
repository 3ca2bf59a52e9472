//! Seeing what an edit changes: `fulcrum check --diff OLD` prints every change
//! as a plan, one line each, and a reload logs the same lines.

use crate::common;
use common::process::{bin, spawn_proc, TempDir};
use std::time::{Duration, Instant};

const OLD: &str = "listeners: [{ address: 127.0.0.1:0 }]
upstreams:
  web: { balance: round_robin, servers: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }] }
  api: { balance: consistent_hash, hash: { key: header:x-user }, servers: [{ address: 127.0.0.1:9101 }, { address: 127.0.0.1:9102 }] }
  old: { servers: [{ address: 127.0.0.1:9201 }] }
routes:
  - { name: api, match: { path_prefix: /api }, upstream: api }
  - { name: legacy, match: { path_prefix: /legacy }, upstream: old }
  - { name: web, match: { path_prefix: / }, upstream: web }
";

const NEW: &str = "listeners: [{ address: 127.0.0.1:0 }]
upstreams:
  web:
    balance: weighted_round_robin
    servers: [{ address: 127.0.0.1:9001, weight: 3 }, { address: 127.0.0.1:9002 }]
    timeouts: { response: 5s }
  api: { balance: consistent_hash, hash: { key: header:x-user }, servers: [{ address: 127.0.0.1:9101 }, { address: 127.0.0.1:9102 }, { address: 127.0.0.1:9103 }] }
routes:
  - { name: health, match: { path: /healthz }, respond: { status: 200, body: ok } }
  - { name: api, match: { path_prefix: /api/v2 }, upstream: api }
  - { name: web, match: { path_prefix: / }, upstream: web, compress: true }
";

#[test]
fn check_diff_prints_every_change_as_a_plan() {
    let dir = TempDir::new();
    let (old, new) = (dir.0.join("old.yaml"), dir.0.join("new.yaml"));
    std::fs::write(&old, OLD).unwrap();
    std::fs::write(&new, NEW).unwrap();
    let out = bin()
        .args(["check", "-c"])
        .arg(&new)
        .arg("--diff")
        .arg(&old)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "+ route health -> respond 200 (2 bytes)",
        "- route legacy",
        "~ route api: match changed",
        "~ route web: policies changed",
        "- upstream old",
        "~ upstream web: balance round_robin -> weighted_round_robin",
        "~ upstream web: timeouts.response: 30s -> 5s",
        "~ server web/127.0.0.1:9001: weight 1 -> 3 (share 50.0% -> 75.0%)",
        "~ server web/127.0.0.1:9002: share 50.0% -> 25.0%",
        "~ server api/127.0.0.1:9101: share 50.0% -> 33.3%",
        "+ server api/127.0.0.1:9103 weight 1 (share 33.3%)",
        "api: ",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(text.contains("plan (12 changes):"), "{text}");
    // the hash movement report follows
    assert!(text.contains("of keys move (ideal"), "{text}");

    let same = bin()
        .args(["check", "-c"])
        .arg(&old)
        .arg("--diff")
        .arg(&old)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&same.stdout).contains("plan: no changes"));
}

#[test]
fn a_reload_logs_what_changed() {
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = b.local_addr().unwrap();
    let yaml = format!(
        "listeners: [{{ address: 127.0.0.1:0 }}]\nupstreams: {{ web: {{ servers: [{{ address: \"{addr}\" }}] }} }}\nroutes: [{{ name: web, match: {{ path_prefix: / }}, upstream: web }}]\n"
    );
    let proc = spawn_proc(&yaml);
    let edited = yaml.replace(
        "routes: [",
        "routes: [{ name: ping, match: { path: /ping }, respond: { status: 200 } }, ",
    );
    // the file watch reloads it (SIGHUP could beat the handler's installation)
    std::fs::write(&proc.path, edited).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let log = proc.stderr.lock().unwrap().clone();
        if log.contains("config version 2: 1 change(s)") && log.contains("  + route ping -> respond 200 (0 bytes)") {
            break;
        }
        assert!(Instant::now() < end, "no change lines in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
