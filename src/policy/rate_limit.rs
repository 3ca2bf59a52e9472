//! `rate_limit`: the route's named policy checked against its key's bucket;
//! over it 429 with `Retry-After`, and no upstream is contacted.

use super::gate::{Denied, Gate};
use crate::proxy::{answer, Facts, ProxyError, ReqBody};
use crate::ratelimit::Limiter;
use crate::upstream::{extract, KeyInput};
use http::Request;
use std::sync::Arc;

pub struct RateGate {
    pub limiter: Arc<Limiter>,
    pub route: String,
}

impl Gate for RateGate {
    fn admit(&self, req: &mut Request<ReqBody>) -> Result<(), Denied> {
        let facts = req.extensions().get::<Arc<Facts>>().expect("facts come first");
        let input = KeyInput {
            headers: req.headers(),
            path: req.uri().path(),
            query: req.uri().query(),
            host: facts.host_name(),
            client_ip: facts.client.ip,
        };
        let value = self.limiter.config.keys.iter().find_map(|k| extract(k, &input));
        let Err(refused) = self.limiter.check(self.limiter.key(value.as_deref())) else {
            return Ok(());
        };
        let policy = &self.limiter.config.name;
        facts
            .metrics
            .rate_limited
            .with_label_values(&[&self.route, policy])
            .inc();
        let retry_after = refused.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let e = ProxyError::RateLimited {
            policy: policy.clone(),
            retry_after,
        };
        Err(Box::new(answer(e, &facts.snap.config.error_pages)))
    }
}
