//! `error_pages` (SPEC §3): files that replace the body of fulcrum's own
//! answers, per status (`"502"`) or class (`"5xx"`); an exact status wins.
//! Files are read at load and on every reload; a missing one is an error.

use super::validate::Ctx;
use super::PemFile;
use serde_yaml::Value;

/// One replacement body and its content type (from the file's extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPage {
    pub file: PemFile,
    pub content_type: &'static str,
}

/// The pages by status and by class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorPages {
    exact: Vec<(u16, ErrorPage)>,
    /// 4xx and 5xx.
    class: [Option<ErrorPage>; 2],
}

impl ErrorPages {
    /// The page for `status`: its own, else its class's.
    pub fn find(&self, status: u16) -> Option<&ErrorPage> {
        if let Some((_, p)) = self.exact.iter().find(|(s, _)| *s == status) {
            return Some(p);
        }
        self.class.get((status / 100).checked_sub(4)? as usize)?.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.class.iter().all(Option::is_none)
    }

    /// Every file read, for the reload watch.
    pub fn files(&self) -> impl Iterator<Item = &PemFile> {
        self.exact
            .iter()
            .map(|(_, p)| &p.file)
            .chain(self.class.iter().flatten().map(|p| &p.file))
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    file: String,
}

const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("json", "application/json"),
    ("txt", "text/plain; charset=utf-8"),
];

pub(super) fn error_pages(cx: &mut Ctx, value: Value) -> ErrorPages {
    let mut pages = ErrorPages::default();
    let Value::Mapping(map) = value else {
        cx.err(
            "error_pages",
            "must map a status (\"502\") or class (\"5xx\") to { file: PATH }",
        );
        return pages;
    };
    for (k, v) in map {
        let key = match &k {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => format!("{other:?}"),
        };
        let path = format!("error_pages.{key}");
        let slot = match key.as_str() {
            "4xx" => Slot::Class(0),
            "5xx" => Slot::Class(1),
            s => match s.parse::<u16>() {
                Ok(n) if (400..=599).contains(&n) => Slot::Exact(n),
                _ => {
                    cx.err(
                        &path,
                        "not a status 400..=599 or a class 4xx/5xx (fulcrum's own answers are errors)",
                    );
                    continue;
                }
            },
        };
        let Some(raw) = cx.de::<RawPage>(v, &path) else {
            continue;
        };
        let Some(page) = page(cx, &format!("{path}.file"), &raw.file) else {
            continue;
        };
        match slot {
            Slot::Class(i) => pages.class[i] = Some(page),
            Slot::Exact(n) => pages.exact.push((n, page)),
        }
    }
    pages
}

enum Slot {
    Exact(u16),
    Class(usize),
}

fn page(cx: &mut Ctx, path: &str, file: &str) -> Option<ErrorPage> {
    let ext = std::path::Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let Some((_, content_type)) = TYPES.iter().find(|(e, _)| e.eq_ignore_ascii_case(ext)) else {
        cx.err(
            path,
            format!("`{file}`: the content type follows the extension, one of .html, .json, .txt"),
        );
        return None;
    };
    let full = cx.base.join(file);
    match std::fs::read(&full) {
        Ok(pem) => Some(ErrorPage {
            file: PemFile { path: full, pem },
            content_type,
        }),
        Err(e) => {
            cx.err(path, format!("cannot read {}: {}", full.display(), super::io_cause(&e)));
            None
        }
    }
}
