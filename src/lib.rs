//! fulcrum: an HTTP layer-7 load balancer.
#![forbid(unsafe_code)]

pub mod balance;
pub mod config;
