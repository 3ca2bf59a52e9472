//! The access log: one line per request, JSON or text, to stderr, stdout or a
//! file. Lines go through a bounded channel to a writer thread, so the proxy
//! never waits on the disk; if the writer falls 64K lines behind, new lines
//! are dropped and counted rather than stalling traffic. Writes are batched
//! (flushed when the buffer fills or 100 ms after the last line). The file is reopened
//! on request (SIGUSR1) for rotation.

use crate::config::{AccessLogConfig, LogFormat, LogSink};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{SystemTime, UNIX_EPOCH};

const QUEUE: usize = 65_536;
/// Buffered lines are written out at least this often.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// One request, as logged.
#[derive(Debug)]
pub struct Entry {
    pub time: SystemTime,
    /// The connection's address (the PROXY header's source when the listener has one).
    pub client: SocketAddr,
    /// The client behind trusted proxies (`X-Forwarded-For`), logged instead.
    pub forwarded: Option<std::net::IpAddr>,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: u16,
    pub route: String,
    pub upstream: String,
    pub server: String,
    pub duration_ms: f64,
    pub bytes: u64,
    /// Hash key source used, e.g. `header:x-user` or `fallback:random`.
    pub key: Option<String>,
    /// With `request_id` on.
    pub request_id: Option<String>,
}

enum Msg {
    Entry(Box<Entry>),
    Reopen,
}

/// A running access log.
#[derive(Debug)]
pub struct AccessLog {
    pub config: AccessLogConfig,
    tx: SyncSender<Msg>,
    dropped: AtomicU64,
}

impl AccessLog {
    /// Opens the sink (a file is created if missing, appended to otherwise)
    /// and starts the writer thread.
    pub fn start(config: &AccessLogConfig) -> io::Result<Self> {
        let out = open(&config.sink)?;
        let (tx, rx) = sync_channel(QUEUE);
        let (sink, format) = (config.sink.clone(), config.format);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(rx, out, sink, format))?;
        Ok(Self {
            config: config.clone(),
            tx,
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues a line; never blocks.
    pub fn write(&self, entry: Entry) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Msg::Entry(Box::new(entry))) {
            if self.dropped.fetch_add(1, Ordering::Relaxed).is_multiple_of(10_000) {
                tracing::warn!("access log writer is behind: dropping lines");
            }
        }
    }

    /// Reopens a file sink (after rotation moved it away).
    pub fn reopen(&self) {
        let _ = self.tx.send(Msg::Reopen);
    }

    /// Lines dropped because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn open(sink: &LogSink) -> io::Result<Box<dyn Write + Send>> {
    Ok(match sink {
        LogSink::Stderr => Box::new(io::stderr()),
        LogSink::Stdout => Box::new(io::stdout()),
        LogSink::File(p) => Box::new(OpenOptions::new().create(true).append(true).open(p)?) as Box<File>,
    })
}

fn writer(rx: Receiver<Msg>, out: Box<dyn Write + Send>, sink: LogSink, format: LogFormat) {
    // The writer never parks on the channel, so a request never pays for
    // waking it: it drains whatever is queued, writes it in one batch, and
    // sleeps FLUSH_EVERY. 64K queued lines per 100 ms is 650K lines/s.
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut line_buf = String::with_capacity(512);
    loop {
        loop {
            match rx.try_recv() {
                Ok(Msg::Entry(e)) => {
                    line_buf.clear();
                    write_line(&mut line_buf, &e, format);
                    let _ = out.write_all(line_buf.as_bytes());
                }
                Ok(Msg::Reopen) => {
                    let _ = out.flush();
                    match open(&sink) {
                        Ok(f) => out = BufWriter::with_capacity(64 * 1024, f),
                        Err(e) => tracing::error!("cannot reopen the access log: {e}"),
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = out.flush();
                    return;
                }
            }
        }
        let _ = out.flush();
        std::thread::sleep(FLUSH_EVERY);
    }
}

/// Formats one entry (without the newline).
pub fn line(e: &Entry, format: LogFormat) -> String {
    let mut out = String::new();
    write_line(&mut out, e, format);
    out.pop();
    out
}

/// Appends one entry and a newline to `out`, without intermediate values.
fn write_line(out: &mut String, e: &Entry, format: LogFormat) {
    use std::fmt::Write as _;
    let time = rfc3339(e.time);
    let key = e.key.as_deref().unwrap_or("");
    let client: &dyn std::fmt::Display = match &e.forwarded {
        Some(ip) => ip,
        None => &e.client,
    };
    match format {
        LogFormat::Json => {
            let q = |out: &mut String, s: &str| {
                // serde_json escapes quotes, backslashes and control characters
                out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
            };
            out.push_str("{\"time\":");
            q(out, &time);
            let _ = write!(out, ",\"client\":\"{client}\",\"method\":");
            q(out, &e.method);
            out.push_str(",\"host\":");
            q(out, &e.host);
            out.push_str(",\"path\":");
            q(out, &e.path);
            let _ = write!(out, ",\"status\":{},\"route\":", e.status);
            q(out, &e.route);
            out.push_str(",\"upstream\":");
            q(out, &e.upstream);
            out.push_str(",\"server\":");
            q(out, &e.server);
            let _ = write!(
                out,
                ",\"duration_ms\":{:.3},\"bytes\":{},\"key\":",
                e.duration_ms, e.bytes
            );
            q(out, key);
            if let Some(id) = &e.request_id {
                out.push_str(",\"request_id\":");
                q(out, id);
            }
            out.push_str("}\n");
        }
        LogFormat::Text => {
            let _ = write!(
                out,
                "{time} {client} \"{} {}{}\" {} route={} upstream={} server={} {:.3}ms {}B key={}",
                e.method,
                e.host,
                e.path,
                e.status,
                dash(&e.route),
                dash(&e.upstream),
                dash(&e.server),
                e.duration_ms,
                e.bytes,
                dash(key)
            );
            if let Some(id) = &e.request_id {
                let _ = write!(out, " request_id={id}");
            }
            out.push('\n');
        }
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// UTC time as `2026-11-24T05:00:00.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_496_400_123)),
            "2026-11-24T05:00:00.123Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn lines_carry_every_field() {
        let e = Entry {
            time: UNIX_EPOCH,
            client: "10.0.0.1:5000".parse().unwrap(),
            forwarded: None,
            method: "GET".into(),
            host: "a.example".into(),
            path: "/x?y=1".into(),
            status: 200,
            route: "api".into(),
            upstream: "api".into(),
            server: "10.0.0.9:80".into(),
            duration_ms: 1.5,
            bytes: 42,
            key: Some("header:x-user".into()),
            request_id: Some("abc".into()),
        };
        let j: serde_json::Value = serde_json::from_str(&line(&e, LogFormat::Json)).unwrap();
        for field in [
            "time",
            "client",
            "method",
            "host",
            "path",
            "status",
            "route",
            "upstream",
            "server",
            "duration_ms",
            "bytes",
            "key",
        ] {
            assert!(j.get(field).is_some(), "{field} missing");
        }
        assert_eq!(j["key"], "header:x-user");
        assert_eq!(j["request_id"], "abc");
        assert_eq!(
            line(&e, LogFormat::Text),
            "1970-01-01T00:00:00.000Z 10.0.0.1:5000 \"GET a.example/x?y=1\" 200 route=api upstream=api server=10.0.0.9:80 1.500ms 42B key=header:x-user request_id=abc"
        );
    }
}
