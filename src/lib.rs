//! fulcrum: an HTTP layer-7 load balancer.
#![deny(unsafe_code)] // one reviewed exception: server::trim (the allocator purge)

pub mod access_log;
pub mod activity;
pub mod admin;
pub mod balance;
pub mod check;
pub mod config;
pub mod demo;
pub mod diff;
pub mod discovery;
pub mod explain;
pub mod fasthash;
pub mod h2_guard;
pub mod head_error;
pub mod head_scan;
pub mod health;
pub mod ipset;
pub mod metrics;
pub mod plan;
pub mod policy;
pub mod proxy;
pub mod ratelimit;
pub mod reference;
pub mod route;
pub mod server;
pub mod state;
pub mod tls;
pub mod upstream;
pub mod watchdog;
pub mod workers;
