//! `access`: by client address, deny wins, else 403 (SPEC §2.5).

use super::gate::{Denied, Gate};
use crate::config::Access;
use crate::proxy::{answer, Facts, ProxyError};

pub struct AccessGate {
    pub rules: Access,
    pub route: String,
}

impl Gate for AccessGate {
    fn admit(&self, facts: &Facts, _: &http::Uri, _: &http::HeaderMap) -> Result<(), Denied> {
        let client = facts.client.ip;
        if self.rules.admits(client) {
            return Ok(());
        }
        facts
            .metrics
            .access_denied
            .with_label_values(&[&self.route, "ip"])
            .inc();
        let e = ProxyError::AccessDenied { client };
        Err(Box::new(answer(e, &facts.snap.config.error_pages)))
    }
}
