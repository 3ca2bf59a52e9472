//! `fulcrum schema`, `fulcrum check --effective`, `GET /config` and the
//! README's config reference, all made from one table (src/reference):
//! checked with a real validator (check-jsonschema), against the loader's
//! own verdicts, and for drift (the README table is the generated one; an
//! effective config loads to exactly the config it came from).

use crate::common;
use common::process::{bin, tool, TempDir};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn out(args: &[&str]) -> String {
    let o = bin().args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap()
}

/// The README's YAML blocks that are whole configs (they name `listeners`).
fn readme_configs() -> Vec<String> {
    let readme = readme();
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(open) = rest.find("```yaml\n") {
        let body = &rest[open + 8..];
        let close = body.find("```").unwrap();
        if body[..close].contains("listeners:") {
            blocks.push(body[..close].to_string());
        }
        rest = &body[close + 3..];
    }
    assert!(blocks.len() >= 9, "{}", blocks.len());
    blocks
}

/// The configs a user meets: the shipped one, the ConfigMap's, the README's.
fn user_configs() -> Vec<(String, String)> {
    let mut all = vec![(
        "config.yaml".to_string(),
        std::fs::read_to_string(Path::new(ROOT).join("config.yaml")).unwrap(),
    )];
    let cm: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("deploy/kubernetes/configmap.yaml")).unwrap(),
    )
    .unwrap();
    all.push((
        "configmap".into(),
        cm["data"]["config.yaml"].as_str().unwrap().to_string(),
    ));
    for (i, b) in readme_configs().into_iter().enumerate() {
        all.push((format!("README block {i}"), b));
    }
    all
}

fn write_all(dir: &TempDir, configs: &[(String, String)]) -> Vec<PathBuf> {
    configs
        .iter()
        .enumerate()
        .map(|(i, (_, yaml))| {
            let p = dir.0.join(format!("c{i}.yaml"));
            std::fs::write(&p, yaml).unwrap();
            p
        })
        .collect()
}

#[test]
fn the_schema_is_deterministic_draft_2020_12() {
    let a = out(&["schema"]);
    assert_eq!(a, out(&["schema"]), "two runs differ");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(v["additionalProperties"], false);
    let pool = &v["properties"]["upstreams"]["additionalProperties"];
    assert_eq!(pool["properties"]["balance"]["default"], "weighted_round_robin");
    assert!(pool["properties"]["balance"]["description"]
        .as_str()
        .unwrap()
        .contains("maglev"));
    assert_eq!(v["properties"]["limits"]["properties"]["max_headers"]["maximum"], 10000);
}

#[test]
fn user_configs_validate_with_check_jsonschema() {
    let Some(check) = tool("check-jsonschema") else { return };
    let dir = TempDir::new();
    let schema = dir.0.join("fulcrum.schema.json");
    std::fs::write(&schema, out(&["schema"])).unwrap();
    let configs = user_configs();
    for (name, yaml) in &configs {
        fulcrum::config::parse(yaml).unwrap_or_else(|e| panic!("{name} does not load: {e}"));
    }
    let files = write_all(&dir, &configs);
    let o = Command::new(&check)
        .arg("--schemafile")
        .arg(&schema)
        .args(&files)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Configs the loader rejects for an unknown key or a wrong type.
const REJECTED: &[&str] = &[
    "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ respond: { status: 200 } }]\nworkerz: 2\n",
    "listeners: [{ address: 127.0.0.1:0, tls: { certificates: [] , alpm: [h2] } }]\nroutes: [{ respond: { status: 200 } }]\n",
    "listeners: 5\nroutes: [{ respond: { status: 200 } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nworkers: many\nroutes: [{ respond: { status: 200 } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nshutdown_timeout: 30\nroutes: [{ respond: { status: 200 } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1, wieght: 2 }] } }\nroutes: [{ upstream: a }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1, weight: heavy }] } }\nroutes: [{ upstream: a }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { balance: fastest, servers: [{ address: 127.0.0.1:1 }] } }\nroutes: [{ upstream: a }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1 }], health_check: { path: /h, interval: 2 } } }\nroutes: [{ upstream: a }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nupstreams: { a: { servers: [{ address: 127.0.0.1:1 }], retries: { attempts: twice } } }\nroutes: [{ upstream: a }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ match: { paht: /x }, respond: { status: 200 } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ respond: { status: 200, colour: red } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ respond: { status: 200 }, compress: yes please }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nroutes: [{ respond: { status: 200 }, strip_prefix: maybe }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nrate_limits: { l: { rate: 10/s, brust: 5 } }\nroutes: [{ respond: { status: 200 }, rate_limit: l }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\nlimits: { max_headers: lots }\nroutes: [{ respond: { status: 200 } }]\n",
    "listeners: [{ address: 127.0.0.1:0 }]\naccess_log: { path: stderr, format: xml }\nroutes: [{ respond: { status: 200 } }]\n",
];

#[test]
fn what_the_loader_rejects_for_keys_or_types_the_schema_rejects_too() {
    let Some(check) = tool("check-jsonschema") else { return };
    let dir = TempDir::new();
    let schema = dir.0.join("fulcrum.schema.json");
    std::fs::write(&schema, out(&["schema"])).unwrap();
    for (i, yaml) in REJECTED.iter().enumerate() {
        assert!(
            fulcrum::config::parse(yaml).is_err(),
            "the loader accepts case {i}:\n{yaml}"
        );
        let file = dir.0.join(format!("bad{i}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        let o = Command::new(&check)
            .arg("--schemafile")
            .arg(&schema)
            .arg(&file)
            .output()
            .unwrap();
        assert!(!o.status.success(), "the schema accepts case {i}:\n{yaml}");
    }
}

#[test]
fn the_readme_reference_is_the_generated_table_and_names_the_schema_comment() {
    let table = out(&["schema", "--markdown"]);
    let readme = readme();
    assert!(
        readme.contains(&table),
        "README's config reference differs from `fulcrum schema --markdown`; paste its output into README.md"
    );
    assert!(
        readme.contains("# yaml-language-server: $schema="),
        "README lacks the editor comment"
    );
}

/// `config` rendered for comparison: the validated config, every field.
fn loaded(yaml: &str) -> String {
    format!(
        "{:?}",
        fulcrum::config::parse(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
    )
}

#[test]
fn effective_configs_load_to_the_same_config_and_are_a_fixed_point() {
    for (name, yaml) in user_configs() {
        let dir = TempDir::new();
        let path = dir.0.join("c.yaml");
        std::fs::write(&path, &yaml).unwrap();
        let effective = out(&["check", "--effective", "-c", path.to_str().unwrap()]);
        assert_eq!(
            loaded(&yaml),
            loaded(&effective),
            "{name}: the effective config differs:\n{effective}"
        );
        std::fs::write(&path, &effective).unwrap();
        assert_eq!(
            out(&["check", "--effective", "-c", path.to_str().unwrap()]),
            effective,
            "{name}: not a fixed point"
        );
        common::schema::assert_valid(&effective);
    }
    // defaults are spelled out
    let shipped = Path::new(ROOT).join("config.yaml");
    let e = out(&["check", "--effective", "-c", shipped.to_str().unwrap()]);
    for filled in [
        "max_headers: 100",
        "connect: 1s",
        "attempts: 1",
        "fallback: random",
        "trusted_proxies: []",
    ] {
        assert!(e.contains(filled), "no {filled} in:\n{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_config_serves_the_effective_config_and_follows_reloads() {
    let b = spawn_backend("b").await;
    let yaml = "listeners: [{ address: \"{LISTEN}\" }]\nadmin: { address: \"127.0.0.1:0\" }\nupstreams: { p: { servers: [{ address: \"{b0}\" }] } }\nroutes: [{ match: { path_prefix: / }, upstream: p }]\n";
    let lb = spawn_lb_file(yaml, &[&b]).await;
    let admin = lb.admin.unwrap();
    let r = send(&client(), admin, "GET", "/config", &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("response: 30s") && r.body.contains("max_body_bytes: 10485760"),
        "{}",
        r.body
    );
    assert_eq!(loaded(&r.body), loaded(&std::fs::read_to_string(&lb.path).unwrap()));
    let changed = std::fs::read_to_string(&lb.path)
        .unwrap()
        .replace("{ p: { servers", "{ p: { balance: random, servers");
    std::fs::write(&lb.path, changed).unwrap();
    lb.handle.reload().await.unwrap();
    let r = send(&client(), admin, "GET", "/config", &[]).await;
    assert!(r.body.contains("balance: random"), "{}", r.body);
    let r = send(&client(), admin, "POST", "/config", &[]).await;
    assert_eq!(r.status, 405);
}
