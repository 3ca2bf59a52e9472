//! `fulcrum check --diff OLD`: for each hash upstream, the exact share of keys
//! that move from OLD's placement to the new one, against the ideal (the least
//! any placement could move for the change in shares), and each server's
//! keyspace share before and after.

use crate::balance::compare::{maglev_moved, ring_moved};
use crate::balance::{Maglev, Ring};
use crate::config::{Balance, Config, UpstreamConfig};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A built hash placement and its member ids.
enum Placement {
    Ring(Ring),
    Maglev(Maglev),
}

fn build(u: &UpstreamConfig) -> Option<(Placement, Vec<String>)> {
    let members = crate::upstream::members(u);
    let ids = members.iter().map(|m| m.id.clone()).collect();
    let placement = match &u.balance {
        Balance::ConsistentHash(_) => Placement::Ring(Ring::new(&members)),
        Balance::Maglev(_, size) => Placement::Maglev(Maglev::new(&members, *size)),
        _ => return None,
    };
    Some((placement, ids))
}

fn shares(p: &Placement, ids: &[String]) -> BTreeMap<String, f64> {
    let s = match p {
        Placement::Ring(r) => r.shares(),
        Placement::Maglev(m) => m.shares(),
    };
    ids.iter().cloned().zip(s).collect()
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The report, one block per hash upstream of `new`.
pub fn diff(old: &Config, new: &Config) -> String {
    let mut out = String::new();
    for u in &new.upstreams {
        let Some((after, after_ids)) = build(u) else { continue };
        let before = old.upstreams.iter().find(|o| o.name == u.name).and_then(build);
        let Some((before, before_ids)) = before else {
            let _ = writeln!(out, "{}: new hash upstream ({})", u.name, u.balance.name());
            continue;
        };
        let (sa, sb) = (shares(&before, &before_ids), shares(&after, &after_ids));
        let mut all: Vec<&String> = sa.keys().chain(sb.keys()).collect();
        all.sort();
        all.dedup();
        let ideal: f64 = all
            .iter()
            .map(|id| (sa.get(*id).unwrap_or(&0.0) - sb.get(*id).unwrap_or(&0.0)).abs())
            .sum::<f64>()
            / 2.0;
        let moved = match (&before, &after) {
            (Placement::Ring(a), Placement::Ring(b)) => Some(ring_moved(a, &before_ids, b, &after_ids)),
            (Placement::Maglev(a), Placement::Maglev(b)) => maglev_moved(a, &before_ids, b, &after_ids),
            _ => None,
        };
        match moved {
            Some(m) => {
                let _ = writeln!(out, "{}: {} of keys move (ideal {})", u.name, pct(m), pct(ideal));
            }
            None => {
                let _ = writeln!(
                    out,
                    "{}: algorithm or table size changed: placement starts afresh and most keys move",
                    u.name
                );
            }
        }
        for id in all {
            let show = |s: Option<&f64>| s.map_or("-".to_string(), |v| pct(*v));
            let _ = writeln!(out, "  {id}: {} -> {}", show(sa.get(id)), show(sb.get(id)));
        }
    }
    if out.is_empty() {
        out.push_str("no hash upstreams\n");
    }
    out
}
