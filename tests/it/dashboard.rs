//! The dashboard at the admin `/` in a real headless Chromium: its script
//! runs against the live `/status` and `/metrics`, and the DOM it builds
//! shows every server's state (one taken down), escapes hostile names,
//! fits a phone-width screen, copes with zero upstreams and a thousand
//! servers, and shows a reload that just happened. Screenshots go to
//! `target/dashboard*.png` for a person to look at.

use crate::common;
use common::process::{tool, TempDir};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Chromium, headless, as root, with nothing reaching beyond loopback.
fn chromium(browser: &Path, profile: &TempDir, width: u32, extra: &[String], url: &str) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=7000",
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        .arg(format!("--window-size={width},900"))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn render(browser: &Path, width: u32, url: &str) -> String {
    let profile = TempDir::new();
    let dom = chromium(browser, &profile, width, &["--dump-dom".into()], url);
    let refreshes = attr(&dom, "body", "data-refreshes").unwrap_or_else(|| panic!("the script never rendered:\n{dom}"));
    assert!(
        refreshes.parse::<u32>().unwrap() >= 2,
        "one refresh only: rates need two"
    );
    dom
}

fn screenshot(browser: &Path, width: u32, url: &str, name: &str) {
    let profile = TempDir::new();
    let file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).join(name);
    let _ = std::fs::remove_file(&file);
    chromium(
        browser,
        &profile,
        width,
        &[format!("--screenshot={}", file.display())],
        url,
    );
    let png = std::fs::read(&file).unwrap_or_else(|e| panic!("no screenshot {}: {e}", file.display()));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

/// The value of `name` on the first `<tag ...>` element.
fn attr(dom: &str, tag: &str, name: &str) -> Option<String> {
    let start = dom.find(&format!("<{tag} "))?;
    let open = &dom[start..start + dom[start..].find('>')?];
    let v = open.split(&format!("{name}=\"")).nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// The opening tag of the (first) server row for `address`.
fn server_row<'a>(dom: &'a str, address: &str) -> &'a str {
    let at = dom
        .find(&format!("data-server=\"{address}\""))
        .unwrap_or_else(|| panic!("no row for {address}"));
    let start = dom[..at].rfind("<tr").unwrap();
    &dom[start..at + dom[at..].find('>').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_row_shows_its_state_after_one_is_taken_down() {
    let Some(browser) = tool("chromium") else { return };
    let bs = [
        spawn_backend("a").await,
        spawn_backend("b").await,
        spawn_backend("c").await,
    ];
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams:\n  web:\n    servers: [{ address: \"{b0}\" }, { address: \"{b1}\" }]\n    health_check: { path: /healthz, interval: 200ms, timeout: 100ms, unhealthy_threshold: 1, healthy_threshold: 1 }\n  api: { balance: consistent_hash, hash: { key: header:x-user }, servers: [{ address: \"{b2}\" }, { address: \"{b0}\" }] }\n  \"<script>alert(1)</script>\": { servers: [{ address: \"{b2}\" }] }\nroutes:\n  - { name: \"<img src=x onerror=alert(2)>\", match: { path_prefix: /x }, upstream: \"<script>alert(1)</script>\" }\n  - { name: api, match: { path_prefix: /api }, upstream: api }\n  - { name: web, match: { path_prefix: / }, upstream: web }\n";
    let lb = spawn_lb_file(yaml, &[&bs[0], &bs[1], &bs[2]]).await;
    let c = client();
    for _ in 0..20 {
        send(&c, lb.addr, "GET", "/", &[]).await;
    }
    bs[1].set_healthz(503);
    let down = bs[1].addr.to_string();
    let admin = lb.admin.unwrap();
    eventually_async(Duration::from_secs(10), || async {
        let s = send(&client(), admin, "GET", "/status", &[]).await.body;
        let v: serde_json::Value = serde_json::from_str(&s).ok()?;
        let servers = v["upstreams"]["web"]["servers"].as_array()?.clone();
        servers
            .iter()
            .any(|x| x["address"] == down.as_str() && x["eligible"] == false)
            .then_some(())
    })
    .await;
    lb.handle.reload().await.unwrap();

    let url = format!("http://{admin}/");
    let dom = render(&browser, 1280, &url);
    let row = server_row(&dom, &down);
    assert!(row.contains("data-state=\"down\""), "{row}");
    for up in [&bs[0], &bs[2]] {
        let row = server_row(&dom, &up.addr.to_string());
        assert!(row.contains("data-state=\"up\""), "{row}");
    }
    // the hash pool shows its keyspace shares; the header the version and the reload
    assert!(dom.contains("consistent_hash · 2/2 eligible"), "{dom}");
    assert!(
        dom.contains("50.0%") || dom.matches('%').count() >= 2,
        "no keyspace share:\n{dom}"
    );
    assert!(dom.contains("ok, version 2"), "the reload is not shown:\n{dom}");
    assert!(dom.contains("round_robin · 1/2 eligible"), "{dom}");
    // hostile names are text, not markup
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{dom}");
    assert!(dom.contains("&lt;img src=x onerror=alert(2)&gt;"), "{dom}");
    assert!(!dom.contains("<script>alert(1)") && !dom.contains("<img src"), "{dom}");
    screenshot(&browser, 1280, &url, "dashboard.png");

    // a phone-width screen: nothing pushes the page sideways
    let phone = render(&browser, 390, &url);
    assert_eq!(attr(&phone, "body", "data-overflow").as_deref(), Some("false"));
    screenshot(&browser, 390, &url, "dashboard-phone.png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_upstreams_and_a_thousand_servers_both_render() {
    let Some(browser) = tool("chromium") else { return };
    let none = spawn_lb_file(
        "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nroutes: [{ match: { path: /hi }, respond: { status: 200, body: hi } }]\n",
        &[],
    )
    .await;
    let dom = render(&browser, 1280, &format!("http://{}/", none.admin.unwrap()));
    assert!(dom.contains("no upstreams"), "{dom}");

    let servers: Vec<String> = (0..1000)
        .map(|i| format!("{{ address: \"127.0.{}.{}:80\" }}", 1 + i / 250, 1 + i % 250))
        .collect();
    let yaml = format!(
        "listeners: [{{ address: \"{{LISTEN}}\" }}]\nadmin: {{ address: \"127.0.0.1:0\" }}\nupstreams: {{ big: {{ servers: [{}] }} }}\nroutes: [{{ match: {{ path_prefix: / }}, upstream: big }}]\n",
        servers.join(", ")
    );
    let big = spawn_lb_file(&yaml, &[]).await;
    let dom = render(&browser, 1280, &format!("http://{}/", big.admin.unwrap()));
    assert_eq!(dom.matches("data-state=\"up\"").count(), 1000);
    let render_ms: f64 = attr(&dom, "body", "data-render-ms").unwrap().parse().unwrap();
    assert!(render_ms < 1000.0, "1000 servers took {render_ms} ms to render");
}
