//! The files under `deploy/`, each checked by the tool that consumes it:
//! `systemd-analyze verify` for the unit, `kubernetes-validate --strict`
//! for the manifests (and `fulcrum`'s own loader for the config they carry),
//! `promtool check rules` and `promtool test rules` for the alerts. Each
//! check is also shown to fail on a broken copy, so a tool that silently
//! accepts everything cannot pass the test.

use crate::common;
use common::process::{tool, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(rel)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The unit with the binary path pointing at the test build (verify checks it exists).
fn unit_for_test(dir: &TempDir, body: &str) -> PathBuf {
    let path = dir.0.join("fulcrum.service");
    std::fs::write(
        &path,
        body.replace("/usr/local/bin/fulcrum", env!("CARGO_BIN_EXE_fulcrum")),
    )
    .unwrap();
    path
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify_without_a_warning() {
    let Some(analyze) = tool("systemd-analyze") else { return };
    let unit = std::fs::read_to_string(deploy("systemd/fulcrum.service")).unwrap();
    for needed in [
        "Type=notify",
        "ExecReload=",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "LimitNOFILE=",
        "WatchdogSec=",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed}");
    }
    let dir = TempDir::new();
    let out = run(Command::new(&analyze).arg("verify").arg(unit_for_test(&dir, &unit)));
    assert!(out.status.success() && text(&out).trim().is_empty(), "{}", text(&out));

    let broken = unit.replace("Type=notify", "Type=notfy");
    let out = run(Command::new(&analyze).arg("verify").arg(unit_for_test(&dir, &broken)));
    assert!(
        text(&out).contains("notfy"),
        "a bad Type= went unnoticed: {}",
        text(&out)
    );
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(deploy("kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn kubernetes_manifests_validate_strictly_for_kubernetes_1_34() {
    let Some(validate) = tool("kubernetes-validate") else {
        return;
    };
    let files = manifests();
    let kinds: Vec<String> = files
        .iter()
        .map(|f| {
            let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            doc["kind"].as_str().unwrap().to_string()
        })
        .collect();
    for kind in ["Deployment", "ConfigMap", "Service", "PodDisruptionBudget"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} in deploy/kubernetes: {kinds:?}"
        );
    }
    let out = run(Command::new(&validate).args(["--strict", "-k", "1.34.0"]).args(&files));
    assert!(out.status.success(), "{}", text(&out));

    let dir = TempDir::new();
    let bad = dir.0.join("deployment.yaml");
    let deployment = std::fs::read_to_string(deploy("kubernetes/deployment.yaml")).unwrap();
    std::fs::write(&bad, deployment.replace("readinessProbe:", "readinesProbe:")).unwrap();
    let out = run(Command::new(&validate).args(["--strict", "-k", "1.34.0"]).arg(&bad));
    assert!(!out.status.success(), "a misspelt key passed: {}", text(&out));
}

/// Seconds of a duration string such as `30s` or `1m`.
fn seconds(d: &str) -> u64 {
    let n: u64 = d.trim_end_matches(|c: char| c.is_alphabetic()).parse().unwrap();
    if d.ends_with('m') {
        n * 60
    } else {
        n
    }
}

#[test]
fn the_configmap_holds_a_valid_config_and_the_pod_outwaits_its_drain() {
    let cm: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(deploy("kubernetes/configmap.yaml")).unwrap()).unwrap();
    let dir = TempDir::new();
    let path = dir.0.join("config.yaml");
    std::fs::write(&path, cm["data"]["config.yaml"].as_str().unwrap()).unwrap();
    let config = fulcrum::config::load(&path).unwrap_or_else(|e| panic!("the ConfigMap's config: {e}"));
    let admin = config.admin.expect("the pods' probes need the admin listener");
    assert!(
        admin.ip().is_unspecified(),
        "the kubelet probes the pod IP, not loopback: {admin}"
    );

    let d: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(deploy("kubernetes/deployment.yaml")).unwrap()).unwrap();
    let spec = &d["spec"]["template"]["spec"];
    let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
    let c = &spec["containers"][0];
    let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"].as_u64().unwrap();
    assert!(pre_stop > 0);
    assert!(
        grace > pre_stop + config.shutdown_timeout.as_secs(),
        "grace {grace}s must cover preStop {pre_stop}s + shutdown_timeout {:?}",
        config.shutdown_timeout
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert!(c["resources"]["requests"]["cpu"].is_string());
    // the unit's stop timeout covers the same drain
    let unit = std::fs::read_to_string(deploy("systemd/fulcrum.service")).unwrap();
    let stop = unit.lines().find_map(|l| l.strip_prefix("TimeoutStopSec=")).unwrap();
    assert!(seconds(stop) > config.shutdown_timeout.as_secs());
}

#[test]
fn alert_rules_pass_promtool_check_and_every_alert_has_a_unit_test() {
    let Some(promtool) = tool("promtool") else { return };
    let rules = deploy("prometheus/fulcrum-rules.yaml");
    let out = run(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert!(out.status.success(), "{}", text(&out));

    let doc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    let alerts: Vec<String> = doc["groups"][0]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(alerts.len(), 7, "{alerts:?}");
    let tests: Vec<PathBuf> = std::fs::read_dir(deploy("prometheus/tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let bodies: Vec<String> = tests.iter().map(|t| std::fs::read_to_string(t).unwrap()).collect();
    for alert in &alerts {
        let cases: Vec<&String> = bodies
            .iter()
            .filter(|b| b.contains(&format!("alertname: {alert}")))
            .collect();
        assert!(!cases.is_empty(), "{alert} has no unit test");
        assert!(
            cases.iter().any(|b| b.contains("exp_alerts: []")) && cases.iter().any(|b| b.contains("exp_labels")),
            "{alert} needs a firing and a not-firing case"
        );
    }
    let out = run(Command::new(&promtool).args(["test", "rules"]).args(&tests));
    assert!(out.status.success(), "{}", text(&out));

    // a threshold moved the wrong way makes the unit tests fail
    let dir = TempDir::new();
    let changed = std::fs::read_to_string(&rules).unwrap().replace("> 0.05", "> 0.5");
    std::fs::write(dir.0.join("fulcrum-rules.yaml"), changed).unwrap();
    std::fs::create_dir_all(dir.0.join("tests")).unwrap();
    let copy = dir.0.join("tests/high_5xx_ratio.yaml");
    std::fs::copy(deploy("prometheus/tests/high_5xx_ratio.yaml"), &copy).unwrap();
    let out = run(Command::new(&promtool).args(["test", "rules"]).arg(&copy));
    assert!(!out.status.success(), "the 5xx test passed against a 50% threshold");
}
