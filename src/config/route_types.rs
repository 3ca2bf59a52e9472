//! Runtime types of routes (SPEC §2.2, §2.3): what a route matches, the one
//! action it takes, and the traffic policies it applies. Validation settled
//! every choice: a route has exactly one action, a template names only known
//! placeholders, a regex compiled.

use http::{HeaderName, HeaderValue, Method, StatusCode};
use regex::Regex;
use std::time::Duration;

/// A routing rule. All present conditions must hold.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// The route's `name`, or its index ("0", "1", ...).
    pub label: String,
    pub host: Option<super::HostMatch>,
    /// Starts with `/`.
    pub path_prefix: Option<String>,
    /// Exact path, without the query.
    pub path: Option<String>,
    /// On the path without the query; linear time in the path's length.
    pub path_regex: Option<Regex>,
    /// Query parameters that must be present with exactly these values.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Empty means any method.
    pub methods: Vec<Method>,
    pub action: Action,
    /// Only set when `path_prefix` is.
    pub strip_prefix: bool,
    pub policy: Policy,
}

impl RouteConfig {
    /// The upstreams this route may send a request to (none for redirect and respond).
    pub fn upstreams(&self) -> Vec<usize> {
        match &self.action {
            Action::Upstream(u) => vec![*u],
            Action::Backends(b) => b.iter().map(|b| b.upstream).collect(),
            Action::Redirect(_) | Action::Respond(_) => Vec::new(),
        }
    }
}

/// The one thing a matched route does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Index into `Config::upstreams`.
    Upstream(usize),
    /// A weighted split between pools; at least one weight is above 0.
    Backends(Vec<Backend>),
    Redirect(Redirect),
    Respond(Respond),
}

impl Action {
    /// The config spelling: `upstream`, `backends`, `redirect` or `respond`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Upstream(_) => "upstream",
            Action::Backends(_) => "backends",
            Action::Redirect(_) => "redirect",
            Action::Respond(_) => "respond",
        }
    }
}

/// One pool of a `backends` split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub upstream: usize,
    /// 0..=1000; 0 takes no new requests.
    pub weight: u32,
}

/// `redirect`: each part absent is kept from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// `http` or `https`.
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: Option<RedirectPath>,
    /// 301, 302, 303, 307 or 308.
    pub status: StatusCode,
}

/// How a redirect rewrites the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectPath {
    /// Replace the whole path (a `?` in it replaces the query too).
    Full(String),
    /// Replace the matched `match.path_prefix` (which validation requires).
    Prefix(String),
}

/// `respond`: a fixed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respond {
    pub status: StatusCode,
    pub body: bytes::Bytes,
    pub content_type: HeaderValue,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The traffic policies of a route; all off by default.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub rewrite: Option<Rewrite>,
    pub request_headers: Option<HeaderRules>,
    pub response_headers: Option<HeaderRules>,
    /// Whole request, retries included, until the response head.
    pub timeout: Option<Duration>,
    pub compress: Option<Compress>,
    pub mirror: Option<Mirror>,
    /// `access`: by client address, deny wins.
    pub access: Option<super::Access>,
    /// `rate_limit`: an index into `Config::rate_limits`.
    pub rate_limit: Option<usize>,
    pub basic_auth: Option<std::sync::Arc<super::BasicAuth>>,
    pub forward_auth: Option<super::ForwardAuth>,
}

impl Policy {
    /// The policies set, by config key, in the order a request meets them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |on: bool, name| {
            if on {
                out.push(name)
            }
        };
        add(self.response_headers.is_some(), "response_headers");
        add(self.access.is_some(), "access");
        add(self.rate_limit.is_some(), "rate_limit");
        add(self.basic_auth.is_some(), "basic_auth");
        add(self.forward_auth.is_some(), "forward_auth");
        add(self.timeout.is_some(), "timeout");
        add(self.compress.is_some(), "compress");
        add(self.rewrite.is_some(), "rewrite");
        add(self.request_headers.is_some(), "request_headers");
        add(self.mirror.is_some(), "mirror");
        out
    }
}

/// `rewrite`: what the upstream is sent.
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub path: Option<PathRewrite>,
    pub host: Option<HeaderValue>,
}

/// How the path sent upstream is rewritten.
#[derive(Debug, Clone)]
pub enum PathRewrite {
    /// (matched `match.path_prefix`, replacement).
    Prefix(String, String),
    /// The first match of the pattern is replaced; `$1` / `${name}` captures.
    Regex(Regex, String),
}

/// `request_headers` / `response_headers`: applied in the order remove, set, add.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    pub set: Vec<(HeaderName, Template)>,
    pub add: Vec<(HeaderName, Template)>,
    pub remove: Vec<HeaderName>,
}

/// A header value with `${...}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// No placeholder: the value is made once at load.
    Fixed(HeaderValue),
    Parts(Vec<Piece>),
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    ClientIp,
    Host,
    Scheme,
    RequestId,
}

/// A compression algorithm (`compress.algorithms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Br,
    Gzip,
    Zstd,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
            Encoding::Zstd => "zstd",
        }
    }
}

/// `compress`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compress {
    /// Never empty; ties in the client's q-values go to the earlier one.
    pub algorithms: Vec<Encoding>,
    pub min_bytes: u64,
    /// Lowercase `type/subtype` or `type/*`.
    pub types: Vec<String>,
}

impl Compress {
    pub const DEFAULT_TYPES: [&'static str; 6] = [
        "text/*",
        "application/json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "application/wasm",
    ];
}

/// `mirror`: a copy of each chosen request to another pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mirror {
    pub upstream: usize,
    /// 0..=100.
    pub percent: u8,
}

/// `request_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIdConfig {
    pub header: HeaderName,
}
