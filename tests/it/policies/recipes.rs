//! Every YAML block of the README's "Recipes" section is a config fulcrum loads.

/// The YAML code blocks between `## Recipes` and the next `## ` heading.
fn recipe_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("\n## Recipes").expect("README has a Recipes section");
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut blocks = Vec::new();
    let mut rest = &section[..end];
    while let Some(open) = rest.find("```yaml\n") {
        let body = &rest[open + 8..];
        let close = body.find("```").expect("closed block");
        blocks.push(body[..close].to_string());
        rest = &body[close + 3..];
    }
    blocks
}

#[test]
fn every_recipe_is_a_valid_config() {
    let blocks = recipe_blocks();
    assert!(
        blocks.len() >= 5,
        "http->https, maintenance, security headers, canary, shadow: {}",
        blocks.len()
    );
    for (i, yaml) in blocks.iter().enumerate() {
        if let Err(e) = fulcrum::config::parse(yaml) {
            panic!("recipe {i} does not load: {e}\n{yaml}");
        }
    }
}
