//! Maglev consistent hashing (Eisenbud et al., NSDI 2016), weighted.
//!
//! Each server fills a prime-sized lookup table along its own permutation
//! (offset and skip from SHA-256 of its address); a server of weight w claims
//! entries w/max_weight as often as the heaviest. Servers take turns in the
//! order of their address hashes, so list order never matters. A key goes to
//! `table[hash % size]`; an ineligible owner passes the key to the next entry,
//! so only that server's keys move.

use super::bounded::{walk, Bound};
use super::{Balancer, Member, View};
use sha2::{Digest, Sha256};

/// The default table size: a prime, good for up to 655 servers (100 entries each).
pub const DEFAULT_TABLE_SIZE: usize = 65537;

/// A Maglev lookup table.
#[derive(Debug)]
pub struct Maglev {
    table: Vec<u32>,
    members: usize,
    bound: Option<Bound>,
}

impl Maglev {
    /// Builds the table. `size` should be a prime well above the member count
    /// (validation demands 100x); an empty member list gives a table that never picks.
    pub fn new(members: &[Member], size: usize) -> Self {
        let n = members.len();
        if n == 0 || size == 0 {
            return Self {
                table: Vec::new(),
                members: n,
                bound: None,
            };
        }
        let m = size as u64;
        let perms: Vec<(u64, u64)> = members
            .iter()
            .map(|mem| {
                let d = Sha256::digest(mem.id.as_bytes());
                let word = |r: std::ops::Range<usize>| u64::from_le_bytes(d[r].try_into().expect("8 bytes"));
                (word(0..8) % m, word(8..16) % (m - 1).max(1) + 1)
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (perms[i], members[i].id.clone()));
        let max_w = members.iter().map(|m| m.weight.max(1)).max().unwrap_or(1);
        let mut table = vec![u32::MAX; size];
        let mut next = vec![0u64; n];
        let mut credit = vec![0u32; n];
        let mut filled = 0usize;
        'fill: loop {
            for &i in &order {
                credit[i] += members[i].weight.max(1);
                if credit[i] < max_w {
                    continue;
                }
                credit[i] -= max_w;
                let (offset, skip) = perms[i];
                loop {
                    let c = ((offset + next[i] * skip) % m) as usize;
                    next[i] += 1;
                    if table[c] == u32::MAX {
                        table[c] = i as u32;
                        filled += 1;
                        break;
                    }
                }
                if filled == size {
                    break 'fill;
                }
            }
        }
        Self {
            table,
            members: n,
            bound: None,
        }
    }

    /// Caps each server's in-flight requests (bounded loads).
    pub fn with_bound(mut self, bound: Bound) -> Self {
        self.bound = Some(bound);
        self
    }

    /// Owner index of each table entry.
    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// Exact share of the keyspace owned by each member (its entries / table size).
    pub fn shares(&self) -> Vec<f64> {
        self.shares_among(&super::All)
    }

    /// Exact shares when only `view`'s eligible members take keys: an
    /// ineligible member's entries count for the next eligible entry's owner.
    pub fn shares_among(&self, view: &dyn View) -> Vec<f64> {
        let mut entries = vec![0usize; self.members];
        for o in super::next_eligible(&self.table, view).into_iter().flatten() {
            entries[o as usize] += 1;
        }
        entries.iter().map(|&e| e as f64 / self.table.len() as f64).collect()
    }
}

impl Balancer for Maglev {
    /// Without a key: None (the pool's fallback decides).
    fn pick(&self, key: Option<u64>, view: &dyn View) -> Option<usize> {
        let hash = key?;
        let m = self.table.len();
        if m == 0 {
            return None;
        }
        let start = (hash % m as u64) as usize;
        let home = self.table[start] as usize;
        if self.bound.is_none() && view.is_eligible(home) {
            return Some(home);
        }
        let owners = (start..m).chain(0..start).map(|i| self.table[i] as usize);
        walk(owners, view, self.bound.as_ref())
    }

    fn overflows(&self) -> u64 {
        self.bound.as_ref().map_or(0, Bound::overflows)
    }

    fn keyspace_shares(&self, view: &dyn View) -> Option<Vec<f64>> {
        Some(self.shares_among(view))
    }
}

#[cfg(test)]
mod tests;
