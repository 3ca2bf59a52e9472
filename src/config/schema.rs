//! Raw serde structs: the YAML exactly as written, before validation.
//!
//! Every struct denies unknown fields. Sections whose behaviour is not built
//! yet are captured as raw values so validation can reject them with
//! "not supported yet" instead of ignoring them. Lists of servers are kept as
//! raw values so each entry is deserialized (and reported) on its own.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// One entry of `listeners`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub address: String,
    pub tls: Option<Value>,
    pub proxy_protocol: Option<bool>,
}

/// `admin`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub address: String,
}

/// `limits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub header_read_timeout: Option<Value>,
    pub idle_timeout: Option<Value>,
    pub max_header_bytes: Option<Value>,
    pub max_headers: Option<Value>,
    pub max_body_bytes: Option<Value>,
    pub max_connections: Option<Value>,
    pub abuse_ban: Option<Value>,
}

/// `access_log`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    pub path: Option<String>,
    pub format: Option<String>,
}

/// One entry of `upstreams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub balance: Option<String>,
    pub hash: Option<RawHash>,
    pub servers: Option<Vec<Value>>,
    pub health_check: Option<RawHealthCheck>,
    pub outlier_detection: Option<RawOutlier>,
    pub protocol: Option<String>,
    pub tls: Option<Value>,
    pub discovery: Option<RawDiscovery>,
    pub timeouts: Option<RawTimeouts>,
    pub retries: Option<RawRetries>,
    pub max_in_flight: Option<Value>,
    pub queue: Option<RawQueue>,
    pub slow_start: Option<Value>,
}

/// `upstreams.*.queue`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQueue {
    pub max: Option<Value>,
    pub timeout: Option<Value>,
}

/// `upstreams.*.health_check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub path: Option<String>,
    pub interval: Option<Value>,
    pub timeout: Option<Value>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    pub expected_status: Option<Value>,
}

/// `upstreams.*.outlier_detection`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlier {
    pub consecutive_failures: Option<i64>,
    pub base_ejection_time: Option<Value>,
    pub max_ejection_percent: Option<i64>,
}

/// `upstreams.*.hash`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHash {
    pub key: Option<KeyList>,
    pub fallback: Option<String>,
    pub bounded_load: Option<Value>,
    pub table_size: Option<Value>,
}

/// `hash.key`: one source or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// One entry of `upstreams.*.servers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub address: String,
    pub weight: Option<Value>,
}

/// `upstreams.*.discovery`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscovery {
    pub dns_refresh: Option<Value>,
    pub resolver: Option<String>,
}

/// `upstreams.*.retries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    pub attempts: Option<Value>,
    pub budget: Option<Value>,
}

/// `upstreams.*.timeouts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub connect: Option<Value>,
    pub response: Option<Value>,
}

/// One entry of `routes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub matches: Option<RawMatch>,
    pub upstream: Option<String>,
    pub backends: Option<Vec<RawBackend>>,
    pub redirect: Option<RawRedirect>,
    pub respond: Option<RawRespond>,
    pub strip_prefix: Option<bool>,
    pub rewrite: Option<RawRewrite>,
    pub request_headers: Option<RawHeaderRules>,
    pub response_headers: Option<RawHeaderRules>,
    pub timeout: Option<Value>,
    /// `true`/`false`, or a [`RawCompress`] mapping.
    pub compress: Option<Value>,
    pub mirror: Option<RawMirror>,
    pub rate_limit: Option<String>,
    pub access: Option<Value>,
    pub basic_auth: Option<Value>,
    pub forward_auth: Option<Value>,
}

/// `routes[].match`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub host: Option<String>,
    pub path_prefix: Option<String>,
    pub path: Option<String>,
    pub path_regex: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub query: Option<BTreeMap<String, String>>,
    pub methods: Option<Vec<String>>,
}

/// One entry of `routes[].backends`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub upstream: String,
    pub weight: Option<i64>,
}

/// `routes[].redirect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirect {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<i64>,
    pub path: Option<String>,
    pub path_prefix: Option<String>,
    pub status: Option<i64>,
}

/// `routes[].respond`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRespond {
    pub status: Option<i64>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
}

/// `routes[].rewrite`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRewrite {
    pub path_prefix: Option<String>,
    pub path_regex: Option<RawRegexReplace>,
    pub host: Option<String>,
}

/// `rewrite.path_regex`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegexReplace {
    pub pattern: String,
    pub replacement: String,
}

/// `request_headers` / `response_headers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderRules {
    pub set: Option<BTreeMap<String, String>>,
    pub add: Option<BTreeMap<String, String>>,
    pub remove: Option<Vec<String>>,
}

/// `compress` as a mapping.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCompress {
    pub algorithms: Option<Vec<String>>,
    pub min_bytes: Option<i64>,
    pub types: Option<Vec<String>>,
}

/// `routes[].mirror`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMirror {
    pub upstream: String,
    pub percent: Option<i64>,
}

/// `request_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequestId {
    pub header: Option<String>,
}
