//! Rate limits shared through Redis (SPEC §2.5): the same GCRA as the local
//! buckets, run by one Lua script per request so the check and the update
//! are atomic on the server, on Redis's own clock so instances with skewed
//! clocks agree. Keys are `fulcrum:rl:POLICY:` and the SHA-256 of the key
//! value (never the value itself), expiring when their bucket is full again.
//!
//! When Redis is down, slower than `timeout` or answers nonsense, the
//! request is let through (fail open) and counted; the log says so at most
//! once a second. After a failed connect, checks fail open at once for a
//! second instead of each waiting out the timeout; the connection manager
//! reconnects by itself, so limits apply again as soon as Redis is back.

use super::Refused;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// KEYS[1]: the bucket; ARGV: interval and tolerance in microseconds.
/// Returns 0 when admitted, else the microseconds to wait.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval
local ahead = nxt - now
if ahead > tolerance then return ahead - tolerance end
redis.call('SET', KEYS[1], nxt, 'PX', math.floor(ahead / 1000) + 1)
return 0
";

/// One policy's connection to Redis.
pub struct Shared {
    client: redis::Client,
    timeout: Duration,
    conn: OnceCell<ConnectionManager>,
    script: redis::Script,
    prefix: String,
    epoch: Instant,
    /// No connect attempt before this (ms since `epoch`).
    quiet_until_ms: AtomicU64,
    /// Last failure logged (ms since `epoch`, +1 so 0 means never).
    logged_ms: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("prefix", &self.prefix).finish()
    }
}

/// What a shared check found.
pub enum Checked {
    Admitted,
    Refused(Refused),
    /// Redis failed: let through, counted by the caller.
    Failed(String),
}

impl Shared {
    /// `url` was checked when the config loaded.
    pub fn new(policy: &str, url: &str, timeout: Duration) -> Self {
        Self {
            client: redis::Client::open(url).expect("validated with the config"),
            timeout,
            conn: OnceCell::new(),
            script: redis::Script::new(GCRA),
            prefix: format!("fulcrum:rl:{policy}:"),
            epoch: Instant::now(),
            quiet_until_ms: AtomicU64::new(0),
            logged_ms: AtomicU64::new(0),
        }
    }

    fn ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The Redis key of a key value.
    fn key(&self, value: Option<&[u8]>) -> String {
        match value {
            None => format!("{}none", self.prefix),
            Some(v) => {
                let digest = Sha256::digest(v);
                let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
                format!("{}{hex}", self.prefix)
            }
        }
    }

    async fn connection(&self) -> Result<ConnectionManager, String> {
        if self.ms() < self.quiet_until_ms.load(Ordering::Relaxed) {
            return Err("not connected (retrying within a second)".into());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let made = self
            .conn
            .get_or_try_init(|| async { self.client.get_connection_manager_with_config(config).await })
            .await;
        made.cloned().map_err(|e| {
            self.quiet_until_ms.store(self.ms() + 1000, Ordering::Relaxed);
            e.to_string()
        })
    }

    /// Checks one request of the bucket of `value`, with `interval` and `tolerance`.
    pub async fn check(&self, value: Option<&[u8]>, interval: Duration, tolerance: Duration) -> Checked {
        let run = async {
            let mut conn = self.connection().await?;
            let mut call = self.script.prepare_invoke();
            call.key(self.key(value))
                .arg(interval.as_micros().max(1) as u64)
                .arg(tolerance.as_micros() as u64);
            call.invoke_async::<i64>(&mut conn).await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(0)) => Checked::Admitted,
            Ok(Ok(wait)) if wait > 0 => Checked::Refused(Refused {
                retry_after: Duration::from_micros(wait as u64),
            }),
            Ok(Ok(other)) => Checked::Failed(format!("the script answered {other}")),
            Ok(Err(e)) => Checked::Failed(e),
            Err(_) => Checked::Failed(format!("no answer within {:?}", self.timeout)),
        }
    }

    /// Whether a failure may be logged now (at most once a second).
    pub fn may_log(&self) -> bool {
        let now = self.ms() + 1;
        let last = self.logged_ms.load(Ordering::Relaxed);
        (last == 0 || now >= last + 1000)
            && self
                .logged_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}
