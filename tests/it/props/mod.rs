//! Property tests (proptest) of the pure functions every request or config
//! goes through: the config loader, the request-head scanner, hash-key
//! extraction, the PROXY header reader, route matching and the balancers'
//! invariants. Each property is checked against a plain restatement of the
//! SPEC's rule, not against the code's own helpers.

mod balance;
mod config;
mod parsers;
mod route;
