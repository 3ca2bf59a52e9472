//! `Upgrade` (WebSocket) tunnelling: the upgrade headers pass through only
//! when the client asked for one, and the two connections are spliced only
//! after the upstream answers 101.

use http::header::{CONNECTION, UPGRADE};
use http::{HeaderMap, HeaderValue};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// The `Upgrade` value of an HTTP/1.1 request that asks for one
/// (`Connection` names `upgrade`).
pub fn requested(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants = super::headers::has_token(headers, CONNECTION, "upgrade");
    wants.then(|| headers.get(UPGRADE).cloned()).flatten()
}

/// Puts the upgrade request back after hop-by-hop removal.
pub fn restore(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(UPGRADE, upgrade);
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
}

/// Splices the client's and the upstream's upgraded connections until either closes.
pub fn tunnel(client: OnUpgrade, upstream: OnUpgrade, label: String) {
    tokio::spawn(async move {
        let (client, upstream) = match tokio::try_join!(client, upstream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!("{label}: upgrade failed: {e}");
                return;
            }
        };
        let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
        if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            tracing::debug!("{label}: tunnel closed: {e}");
        }
    });
}
