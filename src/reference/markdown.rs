//! The README's config reference table, generated from the reference rows
//! (`fulcrum schema --markdown`); a test keeps the README's copy equal.

use super::keys;

/// One table row per key that means something on its own.
pub fn markdown() -> String {
    let mut out = String::from("| key | default | meaning |\n|---|---|---|\n");
    for k in keys().filter(|k| !k.meaning.is_empty()) {
        let shown = match k.shown {
            "" => "—".to_string(),
            s if k.default == Some(s) => format!("`{s}`"),
            s => s.to_string(),
        };
        let meaning = k.meaning.replace('|', "\\|");
        out.push_str(&format!("| `{}` | {} | {} |\n", k.path, shown, meaning));
    }
    out
}
