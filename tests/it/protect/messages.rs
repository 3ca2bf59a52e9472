//! Config messages as a person reads them: each names the key and says
//! what is allowed, once.

use super::common::process::{bin, TempDir};

fn error(yaml: &str) -> String {
    fulcrum::config::parse(yaml).expect_err("rejected").to_string()
}

#[test]
fn a_weight_that_is_not_an_integer_says_what_is_allowed() {
    let yaml = "listeners: [{ address: \"127.0.0.1:0\" }]\n\
                upstreams: { p: { servers: [{ address: \"127.0.0.1:9001\", weight: heavy }] } }\nroutes: [{ upstream: p }]\n";
    let e = error(yaml);
    assert!(
        e.contains("upstreams.p.servers[0].weight (line 2): must be an integer 1..=1000, found `heavy`"),
        "{e}"
    );
    assert!(!e.contains("i64"), "{e}");
}

#[test]
fn a_missing_config_file_names_its_cause_once() {
    let dir = TempDir::new();
    let path = dir.0.join("absent.yaml");
    let out = bin().arg("check").arg("--config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!("error: cannot read {}: No such file or directory", path.display())
    );
}

#[test]
fn a_method_typo_is_rejected_naming_the_nearest_method() {
    let yaml = |m: &str| {
        format!(
            "listeners: [{{ address: \"127.0.0.1:0\" }}]\nupstreams: {{ p: {{ servers: [{{ address: \"127.0.0.1:9001\" }}] }} }}\n\
             routes: [{{ match: {{ methods: [GET, {m}] }}, upstream: p }}]\n"
        )
    };
    for (typo, nearest) in [
        ("GTE", "GET"),
        ("POTS", "POST"),
        ("DELTE", "DELETE"),
        ("PROPFIN", "PROPFIND"),
    ] {
        let e = error(&yaml(typo));
        let want = format!(
            "routes[0].match.methods[1] (line 3): `{typo}` is not a registered HTTP method; did you mean {nearest}?"
        );
        assert!(e.contains(&want), "{e}");
    }
    for fine in ["patch", "PROPFIND", "QUERY"] {
        fulcrum::config::parse(&yaml(fine)).unwrap_or_else(|e| panic!("{fine}: {e}"));
    }
}

#[test]
fn an_invalid_path_prefix_is_one_error_not_two() {
    let yaml =
        "listeners: [{ address: \"127.0.0.1:0\" }]\nupstreams: { p: { servers: [{ address: \"127.0.0.1:9001\" }] } }\n\
                routes: [{ match: { path_prefix: api }, strip_prefix: true, upstream: p }]\n";
    let e = error(yaml);
    assert!(e.contains("1 problem"), "{e}");
    assert!(
        e.contains("routes[0].match.path_prefix (line 3): must start with /"),
        "{e}"
    );
    assert!(!e.contains("strip_prefix"), "{e}");
}
