//! Every config the suite loads is also checked against `fulcrum schema`
//! (the `jsonschema` crate, compiled once), so the schema cannot fall behind
//! what the loader accepts.

use std::sync::OnceLock;

/// YAML as JSON, map keys as strings (as editors' YAML servers see them).
pub fn to_json(v: serde_yaml::Value) -> serde_json::Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => serde_json::Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => serde_json::to_value(n).unwrap_or_default(),
        Y::String(s) => s.into(),
        Y::Sequence(items) => items.into_iter().map(to_json).collect(),
        Y::Mapping(m) => m
            .into_iter()
            .map(|(k, v)| {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_string(),
                };
                (key, to_json(v))
            })
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Y::Tagged(t) => to_json(t.value),
    }
}

/// Panics with the schema's complaints when `yaml` does not validate.
pub fn assert_valid(yaml: &str) {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(&fulcrum::reference::schema()).unwrap();
        jsonschema::validator_for(&schema).expect("fulcrum schema is a valid JSON Schema")
    });
    let doc = to_json(serde_yaml::from_str(yaml).expect("YAML"));
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "fulcrum loads this config but the schema rejects it: {errors:#?}\n{yaml}"
    );
}
