//! The last few reloads and their outcome, for the dashboard and `/status`
//! (the metrics only count them).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many reloads are kept.
const KEPT: usize = 10;

/// One reload: when, and the version it made or the error that refused it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Reload {
    /// Unix seconds.
    pub at: f64,
    pub version: Option<u64>,
    pub error: Option<String>,
}

/// Newest last, at most [`KEPT`].
#[derive(Default)]
pub struct History(Mutex<VecDeque<Reload>>);

impl History {
    pub fn record(&self, outcome: Result<u64, String>) {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let (version, error) = match outcome {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(Reload { at, version, error });
    }

    /// Oldest first.
    pub fn recent(&self) -> Vec<Reload> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_ten_in_order() {
        let h = History::default();
        for v in 1..=12 {
            h.record(if v % 4 == 0 { Err(format!("bad {v}")) } else { Ok(v) });
        }
        let r = h.recent();
        assert_eq!(r.len(), 10);
        assert_eq!(r[0].version, Some(3));
        assert_eq!(r[1].error.as_deref(), Some("bad 4"));
        assert_eq!(r[9].error.as_deref(), Some("bad 12"));
    }
}
