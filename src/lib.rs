//! fulcrum: an HTTP layer-7 load balancer.
#![forbid(unsafe_code)]

pub mod balance;
pub mod config;
pub mod route;
pub mod upstream;
pub mod proxy;
pub mod server;
pub mod state;
pub mod demo;
pub mod explain;
pub mod check;
