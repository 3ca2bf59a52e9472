//! Route actions and policies (SPEC §2.2, §2.3) over real sockets: one test
//! binary, a module per concern.

mod actions;
mod compress;
mod config_errors;
mod headers;
mod mirror;
mod recipes;
mod timeout;
