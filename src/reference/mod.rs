//! The config reference: one table of every key (its path, type, default and
//! meaning) from which `fulcrum schema` builds the JSON Schema, the README's
//! config reference is generated (`fulcrum schema --markdown`), and
//! `fulcrum check --effective` / `GET /config` fill in defaults. One source,
//! so the three cannot drift; tests hold the table to the validator.

mod effective;
mod keys;
mod keys_route;
mod keys_upstream;
mod markdown;
mod schema;

pub use effective::effective;
pub use markdown::markdown;
pub use schema::schema;

use serde_json::Value;

/// What a key holds.
#[derive(Clone, Copy)]
pub enum Ty {
    Str,
    Bool,
    /// An integer within the bounds.
    Int(i64, i64),
    /// A number of at least this.
    Num(f64),
    /// `250ms`, `2s`, `1m`, `1h`.
    Duration,
    Enum(&'static [&'static str]),
    /// A string matching this regex (JSON Schema `pattern`).
    Pattern(&'static str),
    /// A list of strings.
    List,
    /// `{ name: value }` of strings.
    StrMap,
    /// One hash-key source or a list of them.
    KeySources,
    /// A mapping whose keys are described by the rows below it.
    Section,
    /// Anything else: a JSON Schema fragment.
    Json(fn() -> Value),
}

/// One row of the reference.
pub struct Key {
    /// e.g. `upstreams.NAME.servers[].weight`: `NAME` is any map key, `[]`
    /// any list entry.
    pub path: &'static str,
    pub ty: Ty,
    /// The default as YAML, when it is a fixed value (filled in by `--effective`).
    pub default: Option<&'static str>,
    /// The README's "default" column, e.g. `required`, `off`, `N of rate`.
    pub shown: &'static str,
    pub meaning: &'static str,
    pub required: bool,
    /// For a list: at least one entry.
    pub non_empty: bool,
    /// A section created with its defaults when absent (`limits`, an
    /// upstream's `timeouts`), because its defaults are in force anyway.
    pub implied: bool,
}

/// A key with a fixed default.
pub const fn dflt(path: &'static str, ty: Ty, default: &'static str, meaning: &'static str) -> Key {
    Key {
        path,
        ty,
        default: Some(default),
        shown: default,
        meaning,
        required: false,
        non_empty: false,
        implied: false,
    }
}

/// An optional key without a fixed default; `shown` says what absence means.
pub const fn opt(path: &'static str, ty: Ty, shown: &'static str, meaning: &'static str) -> Key {
    Key {
        path,
        ty,
        default: None,
        shown,
        meaning,
        required: false,
        non_empty: false,
        implied: false,
    }
}

/// A required key.
pub const fn req(path: &'static str, ty: Ty, meaning: &'static str) -> Key {
    Key {
        path,
        ty,
        default: None,
        shown: "required",
        meaning,
        required: true,
        non_empty: false,
        implied: false,
    }
}

impl Key {
    /// Required and, for a list or map, not empty.
    pub const fn non_empty(mut self) -> Self {
        self.non_empty = true;
        self
    }

    /// Shown differently from its YAML default in the README.
    pub const fn shown(mut self, shown: &'static str) -> Self {
        self.shown = shown;
        self
    }

    /// Materialised with its defaults by `--effective` when absent.
    pub const fn implied(mut self) -> Self {
        self.implied = true;
        self
    }
}

/// Every row, in README order.
pub fn keys() -> impl Iterator<Item = &'static Key> {
    keys::TOP
        .iter()
        .chain(keys::FRONT)
        .chain(keys_upstream::UPSTREAMS)
        .chain(keys_route::ROUTES)
        .chain(keys::TAIL)
}

/// A path split into segments: names, `NAME` (any map key) and `[]`.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.strip_suffix("[]") {
            Some(name) => {
                out.push(name);
                out.push("[]");
            }
            None => out.push(part),
        }
    }
    out
}
