//! Reference rows: `upstreams` (SPEC §2, §2.1, §2.4).

use super::{dflt, opt, req, Key, Ty};
use serde_json::{json, Value};

fn status_range() -> Value {
    json!({ "oneOf": [
        { "type": "integer", "minimum": 100, "maximum": 599 },
        { "type": "string", "pattern": r"^\s*[1-5][0-9]{2}(\s*-\s*[1-5][0-9]{2})?\s*$" }
    ]})
}

fn weight() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": 1000 })
}

pub static UPSTREAMS: &[Key] = &[
    opt("upstreams", Ty::Section, "none", ""),
    opt("upstreams.NAME", Ty::Section, "", ""),
    dflt("upstreams.NAME.balance", Ty::Enum(crate::config::ALGORITHMS), "weighted_round_robin", "`round_robin`, `weighted_round_robin`, `random`, `least_connections`, `p2c_ewma`, `consistent_hash`, `maglev` (see *Balancing*)"),
    opt("upstreams.NAME.hash", Ty::Section, "—", "only with `consistent_hash` / `maglev`, and required there"),
    req("upstreams.NAME.hash.key", Ty::KeySources, "`header:NAME`, `cookie:NAME`, `query:NAME`, `path`, `host`, `client_ip`, or a list tried in order; an empty value counts as absent"),
    dflt("upstreams.NAME.hash.fallback", Ty::Enum(&["random", "round_robin", "reject"]), "random", "no key in the request: `random` (weighted), `round_robin`, or `reject` (400)"),
    opt("upstreams.NAME.hash.bounded_load", Ty::Num(1.0), "off", "a number of at least 1.0 (1.0: every server at most ceil(mean)): no server takes more than ceil(c x mean in-flight), weighted; overflow walks on along the ring or table"),
    opt("upstreams.NAME.hash.table_size", Ty::Int(101, 1 << 26), "65537, or the smallest prime >= 100 x servers when larger", "`maglev` only: a prime, at least 100 x the servers, at most 2^26"),
    req("upstreams.NAME.servers[]", Ty::Section, "").non_empty(),
    req("upstreams.NAME.servers[].address", Ty::Pattern(super::keys::HOST_PORT), "`ip:port`, or `name:port`: one server per A/AAAA record of the name (see *Several instances and DNS discovery*); unique in the pool").shown("required, at least one server"),
    dflt("upstreams.NAME.servers[].weight", Ty::Json(weight), "1", "integer 1..=1000"),
    opt("upstreams.NAME.timeouts", Ty::Section, "", "").implied(),
    dflt("upstreams.NAME.timeouts.connect", Ty::Duration, "1s", "TCP connect to a server; past it: 502"),
    dflt("upstreams.NAME.timeouts.response", Ty::Duration, "30s", "until the response head arrives; past it: 504"),
    dflt("upstreams.NAME.protocol", Ty::Enum(&["http1", "h2c", "h2"]), "http1", "`http1` (pooled keep-alive; with `tls`, ALPN may pick HTTP/2), `h2c` (HTTP/2 with prior knowledge, one multiplexed connection per server, trailers passed through: gRPC backends), or `h2` (with `tls` only: HTTP/2 required)"),
    opt("upstreams.NAME.retries", Ty::Section, "", "").implied(),
    dflt("upstreams.NAME.retries.attempts", Ty::Int(0, 10), "1", "0..=10 extra tries, each on another eligible server, only as *Behaviour on the wire* says"),
    opt("upstreams.NAME.retries.budget", Ty::Pattern(r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"), "none", "`N%` (1%..=100%): retries in flight at most this share of the pool's requests in flight, 3 always allowed (see *Protecting upstreams*)"),
    opt("upstreams.NAME.max_in_flight", Ty::Int(1, 1_000_000), "off", "1..=1000000 requests in flight per server; a full server is passed over, and when every eligible one is full requests queue"),
    opt("upstreams.NAME.queue", Ty::Section, "", ""),
    dflt("upstreams.NAME.queue.max", Ty::Int(0, 1_000_000), "1000", "only with `max_in_flight`: requests waiting (0..=1000000; 0 = 503 at once); beyond it 503 `queue full`"),
    dflt("upstreams.NAME.queue.timeout", Ty::Duration, "5s", "1ms..=1h; waited longer: 503 `queue timeout`"),
    opt("upstreams.NAME.slow_start", Ty::Duration, "off", "1s..=1h: a server that becomes eligible after start-up ramps from 10% to 100% of its weight over this"),
    opt("upstreams.NAME.health_check", Ty::Section, "off", "active checks; off without `health_check`"),
    req("upstreams.NAME.health_check.path", Ty::Pattern("^/"), "starts with `/`"),
    dflt("upstreams.NAME.health_check.interval", Ty::Duration, "2s", "between checks of one server; longer than `timeout`"),
    dflt("upstreams.NAME.health_check.timeout", Ty::Duration, "1s", "a check not answered by then fails"),
    dflt("upstreams.NAME.health_check.healthy_threshold", Ty::Int(1, 100), "2", "passes in a row to become healthy (1..=100)"),
    dflt("upstreams.NAME.health_check.unhealthy_threshold", Ty::Int(1, 100), "3", "failures in a row to become unhealthy (1..=100)"),
    dflt("upstreams.NAME.health_check.expected_status", Ty::Json(status_range), "200-399", "a code or an inclusive range"),
    opt("upstreams.NAME.outlier_detection", Ty::Section, "off", "passive checks on live traffic"),
    dflt("upstreams.NAME.outlier_detection.consecutive_failures", Ty::Int(1, 1000), "5", "connect errors, timeouts and 5xx in a row on live traffic to eject (1..=1000)"),
    dflt("upstreams.NAME.outlier_detection.base_ejection_time", Ty::Duration, "30s", "an ejection lasts this x the ejections so far, capped at 10x"),
    dflt("upstreams.NAME.outlier_detection.max_ejection_percent", Ty::Int(0, 100), "50", "never more of the pool ejected at once (0..=100)"),
    opt("upstreams.NAME.tls", Ty::Section, "plain text", "TLS to the servers"),
    opt("upstreams.NAME.tls.server_name", Ty::Str, "the server's host (its IP)", "SNI and the name the certificate must carry"),
    opt("upstreams.NAME.tls.ca", Ty::Str, "the platform's trust roots", "PEM CA bundle to verify servers against"),
    opt("upstreams.NAME.discovery", Ty::Section, "", ""),
    dflt("upstreams.NAME.discovery.dns_refresh", Ty::Duration, "5s", "names are resolved again this often (at least 100ms)"),
    opt("upstreams.NAME.discovery.resolver", Ty::Str, "the system's (`/etc/resolv.conf`)", "`ip` or `ip:port` of the DNS server to ask"),
];
