//! `fulcrum schema`: the JSON Schema (draft 2020-12) of the config, built
//! from the reference rows. Every mapping denies unknown keys, as the loader
//! does; the output is deterministic (keys sorted).

use super::{keys, segments, Key, Ty};
use serde_json::{json, Map, Value};

/// The pattern of a duration string.
pub const DURATION: &str = r"^\s*[0-9]+(ms|s|m|h)\s*$";

/// A path's node: a mapping with named keys, a map of any names, or a list.
#[derive(Default)]
struct Node {
    key: Option<&'static Key>,
    props: Vec<(&'static str, Node)>,
    values: Option<Box<Node>>,
    items: Option<Box<Node>>,
}

impl Node {
    fn child(&mut self, seg: &'static str) -> &mut Node {
        match seg {
            "[]" => self.items.get_or_insert_with(Box::default),
            "NAME" => self.values.get_or_insert_with(Box::default),
            name => {
                let i = match self.props.iter().position(|(n, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        self.props.push((name, Node::default()));
                        self.props.len() - 1
                    }
                };
                &mut self.props[i].1
            }
        }
    }

    /// Required where this node or (for a list) its entries' row says so.
    fn required(&self) -> bool {
        self.key.is_some_and(|k| k.required) || self.items.as_ref().is_some_and(|i| i.required())
    }
}

/// The rows as a tree.
fn tree() -> Node {
    let mut root = Node::default();
    for key in keys() {
        let mut node = &mut root;
        for seg in segments(key.path) {
            node = node.child(seg);
        }
        node.key = Some(key);
    }
    root
}

fn leaf(ty: Ty) -> Value {
    match ty {
        Ty::Str => json!({ "type": "string" }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Int(min, max) => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Ty::Num(min) => json!({ "type": "number", "minimum": min }),
        Ty::Duration => json!({ "type": "string", "pattern": DURATION }),
        Ty::Enum(values) => json!({ "enum": values }),
        Ty::Pattern(p) => json!({ "type": "string", "pattern": p }),
        Ty::List => json!({ "type": "array", "items": { "type": "string" } }),
        Ty::StrMap => json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        Ty::KeySources => {
            let one = json!({ "type": "string", "pattern": r"^((header|cookie|query):.+|path|host|client_ip)$" });
            json!({ "oneOf": [one.clone(), { "type": "array", "minItems": 1, "items": one }] })
        }
        Ty::Section => json!({ "type": "object" }),
        Ty::Json(f) => f(),
    }
}

fn render(node: &Node) -> Value {
    let mut out = match node.key.map(|k| k.ty) {
        Some(ty) if !matches!(ty, Ty::Section) => leaf(ty),
        _ if node.items.is_some() => {
            let items = node.items.as_deref().expect("checked");
            let mut a = json!({ "type": "array", "items": render(items) });
            if items.key.is_some_and(|k| k.non_empty) {
                a["minItems"] = json!(1);
            }
            a
        }
        _ if node.values.is_some() => {
            json!({ "type": "object", "additionalProperties": render(node.values.as_deref().expect("checked")) })
        }
        _ => {
            let mut props = Map::new();
            let mut required = Vec::new();
            for (name, child) in &node.props {
                props.insert(name.to_string(), render(child));
                if child.required() {
                    required.push(json!(name));
                }
            }
            let mut o = json!({ "type": "object", "additionalProperties": false, "properties": props });
            if !required.is_empty() {
                o["required"] = Value::Array(required);
            }
            o
        }
    };
    if let Some(k) = node.key {
        if !k.meaning.is_empty() {
            out["description"] = json!(k.meaning);
        }
        if let Some(d) = k.default {
            out["default"] = serde_yaml::from_str::<Value>(d).expect("reference defaults are YAML");
        }
    }
    out
}

/// The whole schema, pretty-printed.
pub fn schema() -> String {
    let mut s = render(&tree());
    s["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    s["$id"] = json!("https://github.com/fulcrum-lb/fulcrum/config.schema.json");
    s["title"] = json!("fulcrum config");
    s["description"] = json!("fulcrum's YAML config (README: Config reference). Unknown keys are errors; durations are strings with a unit (250ms, 2s, 1m, 1h).");
    let mut text = serde_json::to_string_pretty(&s).expect("a JSON value");
    text.push('\n');
    text
}
