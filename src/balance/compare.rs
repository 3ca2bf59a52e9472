//! Exact comparison of two hash placements: the share of the 64-bit keyspace
//! whose owner changes, computed from ring arcs or table entries, not by sampling.

use super::{Maglev, Ring};

const SPACE: f64 = 18_446_744_073_709_551_616.0; // 2^64

/// Share of keys whose owner (by id) differs between two rings.
pub fn ring_moved(a: &Ring, a_ids: &[String], b: &Ring, b_ids: &[String]) -> f64 {
    let ((pa, oa), (pb, ob)) = (a.points(), b.points());
    let (pa, pb) = (&pa[..], &pb[..]);
    if pa.is_empty() || pb.is_empty() {
        return 1.0;
    }
    let differs = |i: usize, j: usize| {
        let ia = if i < pa.len() { i } else { 0 };
        let jb = if j < pb.len() { j } else { 0 };
        a_ids[oa[ia] as usize] != b_ids[ob[jb] as usize]
    };
    let (mut i, mut j) = (0usize, 0usize);
    let mut moved = 0f64;
    let mut prev: Option<u64> = None;
    let first = pa[0].min(pb[0]);
    while i < pa.len() || j < pb.len() {
        let p = match (pa.get(i), pb.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        // keys in (prev, p] go to the first point >= p of each ring
        if let Some(q) = prev {
            if differs(i, j) {
                moved += (p - q) as f64;
            }
        }
        prev = Some(p);
        while i < pa.len() && pa[i] == p {
            i += 1;
        }
        while j < pb.len() && pb[j] == p {
            j += 1;
        }
    }
    // the wrap-around arc (last, 2^64) and [0, first] goes to each ring's first point
    let last = prev.unwrap_or(first);
    let wrap = SPACE - last as f64 + first as f64;
    if differs(0, 0) {
        moved += wrap;
    }
    (moved / SPACE).min(1.0)
}

/// Share of table entries whose owner (by id) differs; None when the sizes differ.
pub fn maglev_moved(a: &Maglev, a_ids: &[String], b: &Maglev, b_ids: &[String]) -> Option<f64> {
    let (ta, tb) = (a.table(), b.table());
    if ta.len() != tb.len() || ta.is_empty() {
        return None;
    }
    let moved = ta
        .iter()
        .zip(tb)
        .filter(|(x, y)| a_ids[**x as usize] != b_ids[**y as usize])
        .count();
    Some(moved as f64 / ta.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::super::quality::{keys, mapping, members};
    use super::super::{Balancer, Maglev, Member, Ring, DEFAULT_TABLE_SIZE};
    use super::*;

    fn ids(ms: &[Member]) -> Vec<String> {
        ms.iter().map(|m| m.id.clone()).collect()
    }

    fn sampled(a: &dyn Balancer, ma: &[Member], b: &dyn Balancer, mb: &[Member]) -> f64 {
        let keys = keys();
        let (x, y) = (mapping(a, ma, &keys), mapping(b, mb, &keys));
        x.iter().zip(&y).filter(|(p, q)| p != q).count() as f64 / keys.len() as f64
    }

    #[test]
    fn ring_exact_matches_sampling_and_identity_is_zero() {
        let a = members(10);
        let b = members(11);
        let (ra, rb) = (Ring::new(&a), Ring::new(&b));
        assert_eq!(ring_moved(&ra, &ids(&a), &Ring::new(&a), &ids(&a)), 0.0);
        let exact = ring_moved(&ra, &ids(&a), &rb, &ids(&b));
        let share_new = rb.shares()[10];
        assert!(
            (exact - share_new).abs() < 1e-9,
            "adding moves exactly the newcomer's arcs: {exact} vs {share_new}"
        );
        assert!((exact - sampled(&ra, &a, &rb, &b)).abs() < 0.005);
    }

    #[test]
    fn maglev_exact_matches_sampling() {
        let a = members(10);
        let b = members(9);
        let (ma, mb) = (Maglev::new(&a, DEFAULT_TABLE_SIZE), Maglev::new(&b, DEFAULT_TABLE_SIZE));
        let exact = maglev_moved(&ma, &ids(&a), &mb, &ids(&b)).unwrap();
        assert!((exact - sampled(&ma, &a, &mb, &b)).abs() < 0.005, "{exact}");
        assert_eq!(maglev_moved(&ma, &ids(&a), &Maglev::new(&a, 1009), &ids(&a)), None);
    }
}
