//! The real thing: a Prometheus server on loopback scrapes fulcrum's admin
//! listener every second, and its query API must count exactly the requests sent.

mod common;
use common::process::{tool, TempDir};
use common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_counts_exactly_the_requests_sent() {
    let Some(prometheus) = tool("prometheus") else { return };
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ match: { path_prefix: /ok }, upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    let dir = TempDir::new();
    let web = closed_port();
    std::fs::write(
        dir.0.join("prometheus.yml"),
        format!(
            "global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: fulcrum\n    static_configs: [{{ targets: [\"{}\"] }}]\n",
            lb.admin.unwrap()
        ),
    )
    .unwrap();
    let _prom = Killed(
        Command::new(prometheus)
            .arg(format!("--config.file={}", dir.0.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.0.join("data").display()))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let c = client();
    let sent: u64 = 137;
    for i in 0..sent {
        let path = if i % 10 == 0 { "/nowhere" } else { "/ok" };
        send(&c, lb.addr, "GET", path, &[]).await;
    }
    let query = "/api/v1/query?query=sum(fulcrum_requests_total)";
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    loop {
        if let Some(body) = try_get(web, query).await {
            last = body;
            let v: serde_json::Value = serde_json::from_str(&last).unwrap_or_default();
            if v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|n| n.parse::<u64>().ok())
                == Some(sent)
            {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw {sent} requests; last answer: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// GET that tolerates a server not up yet.
async fn try_get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    use http_body_util::BodyExt;
    let req = http::Request::get(format!("http://{addr}{path}"))
        .body(common::backend::pattern_body(0))
        .ok()?;
    let resp = tokio::time::timeout(Duration::from_secs(2), client().request(req))
        .await
        .ok()?
        .ok()?;
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    Some(String::from_utf8_lossy(&body).into_owned())
}
