//! `rate_limit`: the route's named policy checked against its key's bucket;
//! over it 429 with `Retry-After`, and no upstream is contacted. A local
//! policy decides at once; a Redis one waits for its script (and lets the
//! request through when Redis fails, counted).

use super::gate::{Admitted, AsyncGate, Denied, Gate};
use crate::proxy::{answer, Facts, ProxyError, ReqBody};
use crate::ratelimit::{Checked, Limiter};
use crate::upstream::{extract, KeyInput};
use http::Request;
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub struct RateGate {
    pub limiter: Arc<Limiter>,
    pub route: String,
}

/// The value of the first of the policy's key sources the request has.
fn key_value<'a>(
    gate: &RateGate,
    facts: &'a Facts,
    uri: &'a http::Uri,
    headers: &'a http::HeaderMap,
) -> Option<Cow<'a, [u8]>> {
    let input = KeyInput {
        headers,
        path: uri.path(),
        query: uri.query(),
        host: facts.host_name(),
        client_ip: facts.client.ip,
    };
    gate.limiter.config.keys.iter().find_map(|k| extract(k, &input))
}

/// The 429, counted.
fn refuse(gate: &RateGate, facts: &Facts, retry_after: Duration) -> Denied {
    let policy = &gate.limiter.config.name;
    facts
        .metrics
        .rate_limited
        .with_label_values(&[&gate.route, policy])
        .inc();
    let e = ProxyError::RateLimited {
        policy: policy.clone(),
        retry_after: retry_after.as_secs_f64().ceil().max(1.0) as u64,
    };
    Box::new(answer(e, &facts.snap.config.error_pages))
}

impl Gate for RateGate {
    fn admit(&self, facts: &Facts, uri: &http::Uri, headers: &http::HeaderMap) -> Result<(), Denied> {
        let value = key_value(self, facts, uri, headers);
        match self.limiter.check(self.limiter.key(value.as_deref())) {
            Ok(()) => Ok(()),
            Err(refused) => Err(refuse(self, facts, refused.retry_after)),
        }
    }
}

impl AsyncGate for RateGate {
    fn admit(self: Arc<Self>, req: Request<ReqBody>) -> Pin<Box<dyn Future<Output = Admitted> + Send>> {
        Box::pin(async move {
            let facts = super::facts(&req);
            let shared = self.limiter.shared.as_ref().expect("a Redis policy");
            let value = key_value(&self, &facts, req.uri(), req.headers()).map(Cow::into_owned);
            let (interval, tolerance) = self.limiter.gcra();
            match shared.check(value.as_deref(), interval, tolerance).await {
                Checked::Admitted => Ok(req),
                Checked::Refused(r) => Err(refuse(&self, &facts, r.retry_after)),
                Checked::Failed(why) => {
                    let policy = &self.limiter.config.name;
                    facts.metrics.rate_limit_store_errors.with_label_values(&[policy]).inc();
                    if shared.may_log() {
                        tracing::warn!("rate limit {policy}: Redis failed, letting requests through: {why}");
                    }
                    Ok(req)
                }
            }
        })
    }
}
