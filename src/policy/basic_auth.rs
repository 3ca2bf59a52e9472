//! `basic_auth`: 401 with `WWW-Authenticate` unless the request carries a
//! user of the htpasswd file and its password. Every attempt with
//! credentials costs one bcrypt verify, an unknown user's against a decoy
//! hash of the same cost, so timing does not tell which users exist; the
//! verify runs on the blocking pool, off the worker thread. The
//! `Authorization` header is never forwarded.

use super::gate::{Admitted, AsyncGate};
use crate::config::BasicAuth;
use crate::proxy::{answer, Facts, ProxyError, ReqBody};
use base64::Engine;
use http::{header, Request};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub struct BasicGate {
    pub auth: Arc<BasicAuth>,
    pub route: String,
}

/// `user` and `password` of an `Authorization: Basic ...` header.
fn credentials(req: &Request<ReqBody>) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl AsyncGate for BasicGate {
    fn admit(self: Arc<Self>, mut req: Request<ReqBody>) -> Pin<Box<dyn Future<Output = Admitted> + Send>> {
        Box::pin(async move {
            let facts = super::facts(&req);
            let given = credentials(&req);
            req.headers_mut().remove(header::AUTHORIZATION);
            let verified = match given {
                None => false,
                Some((user, password)) => {
                    let known = self.auth.users.iter().find(|(u, _)| *u == user).map(|(_, h)| h.clone());
                    let (hash, exists) = match known {
                        Some(h) => (h, true),
                        None => (self.auth.decoy.clone(), false),
                    };
                    let matched = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                        .await
                        .unwrap_or(false);
                    matched && exists
                }
            };
            if verified {
                return Ok(req);
            }
            deny(&facts, &self)
        })
    }
}

fn deny(facts: &Facts, gate: &BasicGate) -> Admitted {
    facts
        .metrics
        .access_denied
        .with_label_values(&[&gate.route, "basic_auth"])
        .inc();
    let e = ProxyError::Unauthorized {
        realm: gate.auth.realm.clone(),
    };
    Err(Box::new(answer(e, &facts.snap.config.error_pages)))
}
