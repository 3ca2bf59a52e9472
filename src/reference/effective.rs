//! `fulcrum check --effective` and `GET /config`: the config as written with
//! every fixed default of the reference filled in (sections whose defaults
//! are always in force, such as `limits`, are added), and the defaults that
//! depend on other keys (`burst`, maglev `table_size`) taken from the
//! validated config. The output is YAML that `fulcrum check` accepts again
//! and that loads to the same config.

use super::{keys, segments, Ty};
use crate::config::{Balance, Config};
use serde_yaml::{Mapping, Value};

/// Inserts `default` at the path `segs` wherever its parent exists.
fn fill(v: &mut Value, segs: &[&str], default: &Value) {
    match segs {
        [] => {}
        ["[]", rest @ ..] => {
            if let Value::Sequence(items) = v {
                for item in items {
                    fill(item, rest, default);
                }
            }
        }
        ["NAME", rest @ ..] => {
            if let Value::Mapping(m) = v {
                for (_, item) in m.iter_mut() {
                    fill(item, rest, default);
                }
            }
        }
        [last] => {
            if let Value::Mapping(m) = v {
                if !m.contains_key(*last) {
                    m.insert(Value::from(*last), default.clone());
                }
            }
        }
        [name, rest @ ..] => {
            if let Value::Mapping(m) = v {
                if let Some(child) = m.get_mut(*name) {
                    fill(child, rest, default);
                }
            }
        }
    }
}

/// Sets `key` in the mapping at `section.name` when absent.
fn fill_named(root: &mut Value, section: &str, name: &str, path: &[&str], value: Value) {
    let mut node = root.get_mut(section).and_then(|s| s.get_mut(name));
    for seg in &path[..path.len() - 1] {
        node = node.and_then(|n| n.get_mut(*seg));
    }
    if let Some(Value::Mapping(m)) = node {
        let last = path[path.len() - 1];
        if !m.contains_key(last) {
            m.insert(Value::from(last), value);
        }
    }
}

/// The effective config of `source`, which `config` was validated from.
pub fn effective(source: &str, config: &Config) -> Result<String, String> {
    let mut root: Value = serde_yaml::from_str(source).map_err(|e| e.to_string())?;
    for key in keys() {
        let default = match (key.default, key.implied, key.ty) {
            (Some(d), _, _) => serde_yaml::from_str(d).map_err(|e| format!("{}: {e}", key.path))?,
            (None, true, Ty::Section) => Value::Mapping(Mapping::new()),
            _ => continue,
        };
        fill(&mut root, &segments(key.path), &default);
    }
    for r in &config.rate_limits {
        fill_named(&mut root, "rate_limits", &r.name, &["burst"], Value::from(r.burst));
    }
    for u in &config.upstreams {
        if let Balance::Maglev(_, size) = &u.balance {
            fill_named(
                &mut root,
                "upstreams",
                &u.name,
                &["hash", "table_size"],
                Value::from(*size as u64),
            );
        }
    }
    let body = serde_yaml::to_string(&root).map_err(|e| e.to_string())?;
    Ok(format!(
        "# The config in force, every default filled in (fulcrum check --effective).\n# Relative paths are relative to the original config's directory.\n{body}"
    ))
}
