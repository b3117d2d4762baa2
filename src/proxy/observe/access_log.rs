//! The access log: one line per request, nginx's "combined" format or JSON
//! lines, to a file (appended) or standard output. Lines are buffered and
//! flushed every second and at shutdown, like nginx's `buffer= flush=1s`.
//!
//! Query strings carry secrets (an OpenID Connect callback's `code` and
//! `state`, tokens in links), so the values of those parameters are
//! masked as each line is written, in the target and the Referer alike;
//! `query = "none"` logs paths only. A new log file is made mode 0640.

use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::proxy::config::{AccessLog, LogFormat, LogQuery};

pub struct Writer {
    format: LogFormat,
    query: LogQuery,
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
    /// The traffic policy's decision (`denied:address`), JSON only: the
    /// combined format keeps nginx's fields.
    pub policy: Option<&'a str>,
    /// How the response cache served it (`HIT`, `MISS`…), JSON only.
    pub cache: Option<&'a str>,
}

impl Writer {
    pub fn open(config: &AccessLog) -> Result<Writer> {
        let out: Box<dyn Write + Send> = if config.path == Path::new("-") {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                // Readable by the owner and its group, never by everyone;
                // an existing file keeps the mode it has.
                crate::fsutil::open_append(&config.path, 0o640).with_context(|| {
                    format!("cannot open the access log {}", config.path.display())
                })?,
            )
        };
        Ok(Writer {
            format: config.format,
            query: config.query,
            out: Mutex::new(BufWriter::with_capacity(64 * 1024, out)),
        })
    }

    pub fn write(&self, e: &Entry<'_>) {
        let target = redact(e.target, self.query);
        let referer = redact(e.referer, self.query);
        let e = Entry {
            target: &target,
            referer: &referer,
            ..*e
        };
        let line = format_line(self.format, &e, OffsetDateTime::now_utc());
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

/// Query parameters whose values are secrets: OAuth 2.0 / OpenID Connect
/// callbacks and tokens, and the usual credential names.
const SECRET_PARAMETERS: [&str; 8] = [
    "code",
    "state",
    "token",
    "access_token",
    "id_token",
    "password",
    "client_secret",
    "key",
];

/// Pure: `target` (a request target or a URL) as the log shows it. With
/// `Masked`, the value of each secret parameter becomes `***` (names are
/// compared after percent-decoding, ignoring case); with `Omitted`, the
/// query is dropped. Borrows when there is nothing to hide.
pub fn redact(target: &str, query: LogQuery) -> Cow<'_, str> {
    let Some((path, params)) = target.split_once('?') else {
        return Cow::Borrowed(target);
    };
    if query == LogQuery::Omitted {
        return Cow::Borrowed(path);
    }
    let secret = |param: &str| {
        param.split_once('=').is_some_and(|(name, value)| {
            !value.is_empty() && {
                let name = percent_decode(name);
                SECRET_PARAMETERS
                    .iter()
                    .any(|s| s.as_bytes().eq_ignore_ascii_case(&name))
            }
        })
    };
    if !params.split('&').any(secret) {
        return Cow::Borrowed(target);
    }
    let mut out = String::with_capacity(target.len());
    out.push_str(path);
    out.push('?');
    for (i, param) in params.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match param.split_once('=') {
            Some((name, _)) if secret(param) => {
                out.push_str(name);
                out.push_str("=***");
            }
            _ => out.push_str(param),
        }
    }
    Cow::Owned(out)
}

/// `%XX` escapes and `+` (a space in forms) decoded; a malformed escape is
/// kept as written.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < bytes.len() {
        let escaped = match bytes.get(i..i + 3) {
            Some(&[b'%', high, low]) => hex(high)
                .zip(hex(low))
                .map(|(high, low)| (high * 16 + low) as u8),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
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
            let mut value = serde_json::json!({
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
            });
            if let Some(policy) = e.policy {
                value["policy"] = policy.into();
            }
            if let Some(cache) = e.cache {
                value["cache"] = cache.into();
            }
            let mut line = value.to_string();
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
            policy: None,
            cache: None,
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
    fn secret_query_values_are_masked_and_the_rest_kept() {
        let masked = |t| redact(t, LogQuery::Masked).into_owned();
        let cases = [
            ("/", "/"),
            ("/x?page=2", "/x?page=2"),
            (
                "/cb?code=abc123&state=xyz789&page=2",
                "/cb?code=***&state=***&page=2",
            ),
            ("/x?CODE=a&Access_Token=b", "/x?CODE=***&Access_Token=***"),
            // Names are decoded before they are compared.
            ("/x?%63ode=a&id%5Ftoken=b", "/x?%63ode=***&id%5Ftoken=***"),
            (
                "/x?client+secret=a&client_secret=b",
                "/x?client+secret=a&client_secret=***",
            ),
            (
                "/x?password=p%20w&key=k&keys=1",
                "/x?password=***&key=***&keys=1",
            ),
            // Nothing to hide: no value, or a name that only contains one.
            ("/x?token&code=&mycode=1", "/x?token&code=&mycode=1"),
            ("/x?a=1&&token=t&", "/x?a=1&&token=***&"),
            ("/x?%zz=1&%6=2", "/x?%zz=1&%6=2"),
            (
                "https://a.test/cb?code=abc&x=1",
                "https://a.test/cb?code=***&x=1",
            ),
            ("/x?state=a=b", "/x?state=***"),
        ];
        for (target, logged) in cases {
            assert_eq!(masked(target), logged, "{target}");
        }
        assert!(matches!(
            redact("/x?page=2", LogQuery::Masked),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn paths_only_drops_every_query() {
        for (target, logged) in [
            ("/cb?code=abc&page=2", "/cb"),
            ("/?", "/"),
            ("/plain", "/plain"),
        ] {
            assert_eq!(redact(target, LogQuery::Omitted), logged);
        }
    }

    #[test]
    fn written_lines_hide_secrets_in_the_target_and_the_referer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        for (query, format) in [
            (LogQuery::Masked, LogFormat::Combined),
            (LogQuery::Masked, LogFormat::Json),
            (LogQuery::Omitted, LogFormat::Json),
        ] {
            let w = Writer::open(&AccessLog {
                path: path.clone(),
                format,
                query,
            })
            .unwrap();
            w.write(&Entry {
                target: "/cb?code=abc123&page=2",
                referer: "https://a.test/login?state=xyz789",
                ..entry()
            });
            w.flush();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            !text.contains("abc123") && !text.contains("xyz789"),
            "{text}"
        );
        assert!(
            lines[0].contains("\"GET /cb?code=***&page=2 HTTP/1.1\""),
            "{text}"
        );
        assert!(
            lines[0].contains("\"https://a.test/login?state=***\""),
            "{text}"
        );
        assert!(
            lines[1].contains("\"target\":\"/cb?code=***&page=2\""),
            "{text}"
        );
        assert!(lines[2].contains("\"target\":\"/cb\""), "{text}");
        assert!(
            lines[2].contains("\"referer\":\"https://a.test/login\""),
            "{text}"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o007, 0, "not readable by others: {mode:o}");
    }

    #[test]
    fn json_lines_parse() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let line = format_line(LogFormat::Json, &entry(), now);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["target"], "/a?\"b\"");
        assert_eq!(v["host"], "a.test");
        assert!(v.get("policy").is_none());
        let denied = Entry {
            policy: Some("denied:address"),
            ..entry()
        };
        let v: serde_json::Value =
            serde_json::from_str(&format_line(LogFormat::Json, &denied, now)).unwrap();
        assert_eq!(v["policy"], "denied:address");
        assert!(v.get("cache").is_none());
        let hit = Entry {
            cache: Some("HIT"),
            ..entry()
        };
        let v: serde_json::Value =
            serde_json::from_str(&format_line(LogFormat::Json, &hit, now)).unwrap();
        assert_eq!(v["cache"], "HIT");
    }
}
