//! Generated CLI conveniences: shell completions that the shells themselves
//! parse, and a man page that `man` renders.

use crate::common;
use common::process::{bin, tool, TempDir};
use std::process::Command;

fn output(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_name_every_subcommand_and_bash_parses_them() {
    let bash = output(&["completions", "bash"]);
    for sub in ["run", "check", "demo", "explain", "completions", "man"] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    assert!(bash.contains("--diff"), "bash completion lacks check's --diff");
    let dir = TempDir::new();
    let file = dir.0.join("fulcrum.bash");
    std::fs::write(&file, &bash).unwrap();
    // sourcing defines the completion function and registers it
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {} && complete -p fulcrum", file.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fulcrum"));

    assert!(output(&["completions", "zsh"]).starts_with("#compdef fulcrum"));
    assert!(output(&["completions", "fish"]).contains("complete -c fulcrum"));
    let bad = bin().args(["completions", "tcsh"]).output().unwrap();
    assert!(!bad.status.success());
}

#[test]
fn the_man_page_is_roff_that_man_renders() {
    let page = output(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH fulcrum"),
        "{}",
        &page[..200.min(page.len())]
    );
    for sub in ["run", "check", "explain"] {
        assert!(page.contains(sub), "man page lacks {sub}");
    }
    let Some(man) = tool("man") else { return };
    let dir = TempDir::new();
    let file = dir.0.join("fulcrum.1");
    std::fs::write(&file, &page).unwrap();
    let out = Command::new(man)
        .arg("-l")
        .arg(&file)
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("load balancer"), "{text}");
}
