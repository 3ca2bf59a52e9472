//! Bodies stream both ways through a real fulcrum process with flat memory.

use crate::common;
use common::backend::{pattern_body, pattern_chunk};
use common::process::spawn_proc;
use common::*;
use http::Request;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

const SIZE: u64 = 100 * 1024 * 1024;
/// Peak-RSS growth allowed while 100 MB passes: far below the body size.
const MAX_GROWTH_KIB: u64 = 40 * 1024;

const ONE: &str = r#"
listeners: [{ address: "127.0.0.1:0" }]
limits: { max_body_bytes: 209715200 }
upstreams: { pool: { servers: [{ address: "{b0}" }] } }
routes: [{ match: { path_prefix: / }, upstream: pool }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_megabytes_each_way_byte_exact_with_flat_memory() {
    let b = spawn_backend("b").await;
    let lb = spawn_proc(&fill(ONE, &[&b]));
    let c = client();
    // warm up so the baseline includes the connection pools and buffers
    assert_eq!(send(&c, lb.addr, "GET", "/", &[]).await.status, 200);
    let baseline = lb.status_kib("VmHWM");

    // upload: the backend hashes what it receives
    let mut expected = Sha256::new();
    let mut off = 0;
    while off < SIZE {
        let len = (SIZE - off).min(64 * 1024) as usize;
        expected.update(pattern_chunk(off, len));
        off += len as u64;
    }
    let expected = format!("{SIZE} {:x}", expected.finalize());
    let req = Request::post(format!("http://{}/sha", lb.addr))
        .body(pattern_body(SIZE))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&body), expected, "upload arrived altered");

    // download: hash as it streams in
    let resp = c
        .request(
            Request::get(format!("http://{}/big/{SIZE}", lb.addr))
                .body(pattern_body(0))
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = resp.into_body();
    let (mut got, mut hasher, mut n) = (Sha256::new(), Sha256::new(), 0u64);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            got.update(&data);
            for piece in data.chunks(64 * 1024) {
                hasher.update(pattern_chunk(n, piece.len()));
                n += piece.len() as u64;
            }
        }
    }
    assert_eq!(n, SIZE);
    assert_eq!(got.finalize(), hasher.finalize(), "download arrived altered");

    let peak = lb.status_kib("VmHWM");
    assert!(
        peak - baseline < MAX_GROWTH_KIB,
        "peak RSS grew {} KiB (baseline {baseline} KiB) for 100 MB each way",
        peak - baseline
    );
    eprintln!("fulcrum peak RSS: baseline {baseline} KiB, after 2 x 100 MB {peak} KiB");
}
