//! A real Prometheus server on loopback scraping a fulcrum admin listener
//! every second, and its HTTP query API.

use super::process::{tool, TempDir};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The running server; killed (and its data removed) on drop.
pub struct Prometheus {
    child: Child,
    pub web: SocketAddr,
    _dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Starts one scraping `target` every second; None when the binary is
    /// missing outside CI (see `tool`).
    pub fn scraping(target: SocketAddr) -> Option<Self> {
        let prometheus = tool("prometheus")?;
        let dir = TempDir::new();
        let web = super::closed_port();
        std::fs::write(
            dir.0.join("prometheus.yml"),
            format!(
                "global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: fulcrum\n    static_configs: [{{ targets: [\"{target}\"] }}]\n"
            ),
        )
        .unwrap();
        let child = Command::new(prometheus)
            .arg(format!("--config.file={}", dir.0.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.0.join("data").display()))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Some(Self { child, web, _dir: dir })
    }

    /// An instant query's JSON answer, or None while the server is not up.
    pub async fn query(&self, promql: &str) -> Option<serde_json::Value> {
        let q: String = form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let body = get(self.web, &format!("/api/v1/query?query={q}")).await?;
        serde_json::from_str(&body).ok()
    }
}

/// GET that tolerates a server not up yet.
async fn get(addr: SocketAddr, path: &str) -> Option<String> {
    use http_body_util::BodyExt;
    let req = http::Request::get(format!("http://{addr}{path}"))
        .body(super::backend::pattern_body(0))
        .ok()?;
    let resp = tokio::time::timeout(Duration::from_secs(2), super::client().request(req))
        .await
        .ok()?
        .ok()?;
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    Some(String::from_utf8_lossy(&body).into_owned())
}
