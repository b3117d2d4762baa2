//! The access log: one line per request, nginx's "combined" format or JSON
//! lines, to a file (appended) or standard output. Lines are buffered and
//! flushed every second and at shutdown, like nginx's `buffer= flush=1s`.

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use time::OffsetDateTime;
use time::macros::format_description;

use super::config::{AccessLog, LogFormat};

pub struct Writer {
    format: LogFormat,
    out: Mutex<BufWriter<Box<dyn Write + Send>>>,
}

/// What one line says.
pub struct Entry<'a> {
    pub peer: IpAddr,
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
    pub host: &'a str,
    pub status: u16,
    /// The response's Content-Length, when known.
    pub bytes: Option<u64>,
    pub referer: &'a str,
    pub user_agent: &'a str,
    pub duration: Duration,
}

impl Writer {
    pub fn open(config: &AccessLog) -> Result<Writer> {
        let out: Box<dyn Write + Send> = if config.path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&config.path)
                    .with_context(|| {
                        format!("cannot open the access log {}", config.path.display())
                    })?,
            )
        };
        Ok(Writer {
            format: config.format,
            out: Mutex::new(BufWriter::with_capacity(64 * 1024, out)),
        })
    }

    pub fn write(&self, e: &Entry<'_>) {
        let line = format_line(self.format, e, OffsetDateTime::now_utc());
        if let Ok(mut out) = self.out.lock() {
            // A full disk or closed stdout must not take requests down.
            let _ = out.write_all(line.as_bytes());
        }
    }

    pub fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = out.flush();
        }
    }
}

/// Pure: one log line, newline included.
pub fn format_line(format: LogFormat, e: &Entry<'_>, now: OffsetDateTime) -> String {
    match format {
        LogFormat::Combined => {
            let when = now
                .format(format_description!(
                    "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
                ))
                .unwrap_or_default();
            let bytes = e.bytes.map_or_else(|| "-".to_string(), |b| b.to_string());
            let quote = |s: &str| {
                if s.is_empty() {
                    "-".to_string()
                } else {
                    s.replace('\\', "\\\\").replace('"', "\\\"")
                }
            };
            format!(
                "{} - - [{when}] \"{} {} {}\" {} {bytes} \"{}\" \"{}\"\n",
                e.peer,
                e.method,
                quote(e.target),
                e.version,
                e.status,
                quote(e.referer),
                quote(e.user_agent)
            )
        }
        LogFormat::Json => {
            let when = now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let mut line = serde_json::json!({
                "time": when,
                "remote_addr": e.peer.to_string(),
                "method": e.method,
                "target": e.target,
                "protocol": e.version,
                "host": e.host,
                "status": e.status,
                "bytes": e.bytes,
                "referer": e.referer,
                "user_agent": e.user_agent,
                "duration_ms": e.duration.as_secs_f64() * 1000.0,
            })
            .to_string();
            line.push('\n');
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            peer: "203.0.113.9".parse().unwrap(),
            method: "GET",
            target: "/a?\"b\"",
            version: "HTTP/1.1",
            host: "a.test",
            status: 200,
            bytes: Some(12),
            referer: "",
            user_agent: "curl/8",
            duration: Duration::from_millis(3),
        }
    }

    #[test]
    fn combined_lines_look_like_nginx_and_escape_quotes() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let line = format_line(LogFormat::Combined, &entry(), now);
        assert_eq!(
            line,
            "203.0.113.9 - - [14/Nov/2023:22:13:20 +0000] \"GET /a?\\\"b\\\" HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n"
        );
    }

    #[test]
    fn json_lines_parse() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let line = format_line(LogFormat::Json, &entry(), now);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["target"], "/a?\"b\"");
        assert_eq!(v["host"], "a.test");
    }
}
