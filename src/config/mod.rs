//! Configuration: read YAML, validate it into the runtime [`Config`].
//!
//! The one entry point is [`parse`] (and [`load`] for a file). Every problem is
//! collected, each with the key path and, where known, the source line; a
//! malformed config never panics.

mod action;
mod duration;
mod error_pages;
mod front;
mod health;
mod limits;
mod locate;
mod policy;
mod protect;
mod route;
mod route_types;
mod schema;
mod tls;
mod types;
mod upstream;
mod validate;

pub use duration::parse_duration;
pub use error_pages::{ErrorPage, ErrorPages};
pub use front::{parse_rate, Access, BasicAuth, ForwardAuth, RateLimitConfig, Store};
pub use protect::{Protection, QueueConfig, MIN_RETRY_CONCURRENCY};
pub use tls::{CertPair, PemFile, TlsVersion};
pub use types::*;
pub use upstream::{key_source, ALGORITHMS};

use std::fmt;
use std::path::Path;

/// One problem in a config: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `upstreams.api.servers[2].weight`; empty for the whole document.
    pub path: String,
    /// 1-based source line, where known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(document)" } else { &self.path };
        match self.line {
            Some(line) => write!(f, "{path} (line {line}): {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The cause is shown once, in words (not chained as a source too).
    #[error("cannot read {path}: {}", io_cause(.error))]
    Io { path: String, error: std::io::Error },
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
}

/// An I/O error in words, without the OS error number: "No such file or directory".
pub fn io_cause(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

fn list(problems: &[Problem]) -> String {
    let mut out = format!(
        "{} problem{} in config:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

/// The line of `path`, or of its nearest ancestor that is written (a missing
/// key is reported where its parent stands).
fn line_of(lines: &std::collections::HashMap<String, usize>, path: &str) -> Option<usize> {
    let mut p = path;
    loop {
        if let Some(&line) = lines.get(p) {
            return Some(line);
        }
        p = &p[..p.rfind(['.', '['])?];
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let src = std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
        path: path.display().to_string(),
        error,
    })?;
    parse_in(&src, path.parent().unwrap_or(Path::new(".")))
}

/// Validates config text; relative file paths are taken from the current
/// directory. All problems are reported together.
pub fn parse(src: &str) -> Result<Config, ConfigError> {
    parse_in(src, Path::new(""))
}

/// Validates config text whose relative file paths (certificates) are
/// relative to `base`.
pub fn parse_in(src: &str, base: &Path) -> Result<Config, ConfigError> {
    let root: serde_yaml::Value = match serde_yaml::from_str(src) {
        Ok(v) => v,
        Err(e) => {
            return Err(ConfigError::Invalid(vec![Problem {
                path: String::new(),
                line: e.location().map(|l| l.line()),
                message: format!("invalid YAML: {e}"),
            }]))
        }
    };
    let (config, mut problems) = validate::validate(root, base);
    if problems.is_empty() {
        if let Some(config) = config {
            return Ok(config);
        }
    }
    let lines = locate::line_map(src);
    for p in &mut problems {
        if p.line.is_none() {
            p.line = line_of(&lines, &p.path);
        }
    }
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    Err(ConfigError::Invalid(problems))
}
