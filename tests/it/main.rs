//! fulcrum's integration tests, one binary with a module per area (real
//! sockets, real processes, real tools): one link instead of one per file
//! keeps the suite's build time flat as tests grow. `rate_limit_memory`
//! stays a binary of its own because it reads its own process's RSS.

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod access_log;
mod admin;
mod algorithms;
mod balancing;
mod cli;
mod cli_extras;
mod config;
mod connections;
mod dashboard;
mod deploy;
mod discovery;
mod framing;
mod front;
mod grafana;
mod h2_idle;
mod health;
mod limits;
mod metrics;
mod metrics_zero;
mod notify;
mod own_h1;
mod park;
mod plan;
mod policies;
mod prometheus;
mod props;
mod protect;
mod proxy;
mod reload;
mod retries;
mod routing;
mod schema;
mod signals;
mod streaming;
mod tls;
mod upstream_faults;
mod upstream_framing;
mod websocket;
