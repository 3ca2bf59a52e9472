//! Maps key paths (`upstreams.api.servers[2].weight`) to source lines.
//!
//! serde_yaml's `Value` carries no positions, so errors found after parsing
//! would have no line. This walks the event stream of yaml-rust2 (which keeps
//! marks) once and records the line of every key and sequence item. A document
//! it cannot parse yields an empty map: errors then simply carry no line.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Path -> 1-based line of the key (or of the item, for sequence entries).
pub fn line_map(src: &str) -> HashMap<String, usize> {
    let mut walker = Walker::default();
    let mut parser = Parser::new_from_str(src);
    if parser.load(&mut walker, false).is_err() {
        return HashMap::new();
    }
    walker.lines
}

enum Frame {
    /// In a mapping: the path of the mapping, and the pending key if a value is expected next.
    Map { path: String, key: Option<String> },
    /// In a sequence: its path and the next index.
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

impl Walker {
    /// The path of the node that starts now, advancing the parent's position.
    /// Returns None when the node is a mapping key rather than a value.
    fn enter(&mut self, line: usize, scalar: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                self.lines.entry(p.clone()).or_insert(line);
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(join(path, &k)),
                None => {
                    let k = scalar.unwrap_or("?").to_string();
                    self.lines.entry(join(path, &k)).or_insert(line);
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::Scalar(value, ..) => {
                self.enter(line, Some(&value));
            }
            Event::Alias(_) => {
                self.enter(line, None);
            }
            Event::MappingStart(..) => {
                let path = self.enter(line, None).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.enter(line, None).unwrap_or_default();
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keys_and_items() {
        let src = "a:\n  b: 1\n  list:\n    - x: 1\n      y: 2\n    - { x: 3 }\nc: [1, 2]\n";
        let m = line_map(src);
        assert_eq!(m["a"], 1);
        assert_eq!(m["a.b"], 2);
        assert_eq!(m["a.list"], 3);
        assert_eq!(m["a.list[0].x"], 4);
        assert_eq!(m["a.list[0].y"], 5);
        assert_eq!(m["a.list[1].x"], 6);
        assert_eq!(m["c"], 7);
    }

    #[test]
    fn unparsable_gives_nothing() {
        assert!(line_map("a: [1, 2\n").is_empty());
    }
}
