//! Counters for the admin listener's `/metrics` (Prometheus text format):
//! requests by status class, a latency histogram, open connections,
//! upstream health, refused sites and the soonest certificate expiry.
//! Plain atomics; the exposition is rendered on demand.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::proxy::clock::now_ms;
use crate::proxy::config::Encoding;
use crate::proxy::state::State;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A decision of the traffic-policy stages (access control, rewrites,
/// rate limits): put on the response as an extension by the stage,
/// counted and logged when the response leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDecision {
    /// 403: the client's address is denied or not allowed.
    DeniedAddress,
    /// 403: a dot segment on a proxied route.
    DeniedDotfile,
    /// 401: HTTP Basic auth without valid credentials.
    DeniedCredentials,
    /// 429: over the rate limit.
    Limited,
    /// To the site's canonical host.
    RedirectedHost,
    /// By one of the site's redirect rules.
    RedirectedRule,
    /// By a route's trailing-slash policy.
    RedirectedSlash,
}

impl PolicyDecision {
    const ALL: [PolicyDecision; 7] = [
        PolicyDecision::DeniedAddress,
        PolicyDecision::DeniedDotfile,
        PolicyDecision::DeniedCredentials,
        PolicyDecision::Limited,
        PolicyDecision::RedirectedHost,
        PolicyDecision::RedirectedRule,
        PolicyDecision::RedirectedSlash,
    ];

    /// (decision, reason) as the metric's labels and the log's words.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            PolicyDecision::DeniedAddress => ("denied", "address"),
            PolicyDecision::DeniedDotfile => ("denied", "dotfile"),
            PolicyDecision::DeniedCredentials => ("denied", "credentials"),
            PolicyDecision::Limited => ("limited", "rate"),
            PolicyDecision::RedirectedHost => ("redirected", "canonical_host"),
            PolicyDecision::RedirectedRule => ("redirected", "rule"),
            PolicyDecision::RedirectedSlash => ("redirected", "trailing_slash"),
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    decisions: [AtomicU64; PolicyDecision::ALL.len()],
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    pub connections: AtomicI64,
    pub refused_connections: AtomicU64,
    pub reloads: AtomicU64,
    pub failed_reloads: AtomicU64,
    /// Responses compressed, by coding (br, zstd, gzip).
    compressed: [AtomicU64; 3],
    /// Open connections by protocol (`ConnectionKind`).
    by_protocol: [AtomicI64; 3],
    /// HTTP/1.1 connections (plain and TLS) parked between requests.
    parked: AtomicI64,
    /// The room hyper's read buffers offer on HTTP/1.1 connections, plain
    /// and TLS (`park::HyperSide`): what they hold while they wait.
    pub read_buffer_bytes: Arc<AtomicI64>,
}

/// The protocol a client connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    Http1 = 0,
    Http1Tls = 1,
    Http2 = 2,
}

impl ConnectionKind {
    const ALL: [ConnectionKind; 3] = [
        ConnectionKind::Http1,
        ConnectionKind::Http1Tls,
        ConnectionKind::Http2,
    ];

    fn label(self) -> &'static str {
        match self {
            ConnectionKind::Http1 => "http1",
            ConnectionKind::Http1Tls => "http1_tls",
            ConnectionKind::Http2 => "http2",
        }
    }
}

/// Counts one in a gauge until dropped.
pub struct Counted<'a>(&'a AtomicI64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    pub fn record(&self, status: u16, elapsed: Duration) {
        let class = (status / 100).clamp(1, 5) as usize - 1;
        self.by_class[class].fetch_add(1, Relaxed);
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// Counts a connection of `kind` until the guard is dropped.
    pub fn count_connection(&self, kind: ConnectionKind) -> Counted<'_> {
        let gauge = &self.by_protocol[kind as usize];
        gauge.fetch_add(1, Relaxed);
        Counted(gauge)
    }

    /// Counts a parked connection until the guard is dropped.
    pub fn count_parked(&self) -> Counted<'_> {
        self.parked.fetch_add(1, Relaxed);
        Counted(&self.parked)
    }

    pub fn record_compressed(&self, encoding: Encoding) {
        self.compressed[encoding as usize].fetch_add(1, Relaxed);
    }

    pub fn record_decision(&self, decision: PolicyDecision) {
        self.decisions[decision as usize].fetch_add(1, Relaxed);
    }

    pub fn render(&self, state: &State) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        self.render_decisions(&mut out);
        self.render_counters(&mut out);
        render_upstreams(&mut out, state);
        let _ = writeln!(
            out,
            "# HELP webtier_compressed_responses_total Responses compressed on the fly, by coding.\n# TYPE webtier_compressed_responses_total counter"
        );
        for encoding in [Encoding::Br, Encoding::Zstd, Encoding::Gzip] {
            let _ = writeln!(
                out,
                "webtier_compressed_responses_total{{encoding=\"{}\"}} {}",
                encoding.token(),
                self.compressed[encoding as usize].load(Relaxed)
            );
        }
        if let Some(cache) = &state.cache {
            cache.render(&mut out);
        }
        let clients: usize = state.limiters().iter().map(|l| l.clients()).sum();
        let _ = writeln!(
            out,
            "# HELP webtier_rate_limit_clients Client addresses the rate limits remember (forgotten once their budget has refilled).\n# TYPE webtier_rate_limit_clients gauge\nwebtier_rate_limit_clients {clients}"
        );
        let _ = writeln!(
            out,
            "# HELP webtier_sites_refused Sites of the configuration not served (their certificate or static root is unusable; see the log).\n# TYPE webtier_sites_refused gauge\nwebtier_sites_refused {}",
            state.refused().len()
        );
        if let Some(not_after) = state.certs.soonest_expiry() {
            let _ = writeln!(
                out,
                "# HELP webtier_certificate_expiry_seconds The soonest notAfter of the served certificates (Unix time).\n# TYPE webtier_certificate_expiry_seconds gauge\nwebtier_certificate_expiry_seconds {not_after}"
            );
        }
        out
    }

    /// Requests by status class and the latency histogram.
    fn render_requests(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP webtier_requests_total Requests answered, by status class.\n# TYPE webtier_requests_total counter"
        );
        for (i, c) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "webtier_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP webtier_request_duration_seconds Time from request head to response head.\n# TYPE webtier_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(
                out,
                "webtier_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(
            out,
            "webtier_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\nwebtier_request_duration_seconds_sum {}\nwebtier_request_duration_seconds_count {count}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
    }

    /// The traffic-policy decisions, by kind.
    fn render_decisions(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP webtier_policy_decisions_total Requests the traffic policy answered itself (denied, redirected, rate-limited), by decision and reason.\n# TYPE webtier_policy_decisions_total counter"
        );
        for d in PolicyDecision::ALL {
            let (decision, reason) = d.labels();
            let _ = writeln!(
                out,
                "webtier_policy_decisions_total{{decision=\"{decision}\",reason=\"{reason}\"}} {}",
                self.decisions[d as usize].load(Relaxed)
            );
        }
    }

    /// Connections and reloads.
    fn render_counters(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP webtier_connections_by_protocol Open client connections, by protocol (TLS ones once their handshake is done).\n# TYPE webtier_connections_by_protocol gauge"
        );
        for kind in ConnectionKind::ALL {
            let _ = writeln!(
                out,
                "webtier_connections_by_protocol{{protocol=\"{}\"}} {}",
                kind.label(),
                self.by_protocol[kind as usize].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP webtier_parked_connections HTTP/1.1 connections (plain and TLS) idle between requests whose HTTP buffers are released.\n# TYPE webtier_parked_connections gauge\nwebtier_parked_connections {}",
            self.parked.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP webtier_connection_read_buffer_bytes Room offered by the HTTP read buffers of HTTP/1.1 connections, plain and TLS (what they hold while waiting; 0 once parked).\n# TYPE webtier_connection_read_buffer_bytes gauge\nwebtier_connection_read_buffer_bytes {}",
            self.read_buffer_bytes.load(Relaxed)
        );
        let gauges = [
            (
                "webtier_connections",
                "gauge",
                "Open client connections.",
                self.connections.load(Relaxed),
            ),
            (
                "webtier_refused_connections_total",
                "counter",
                "Connections refused at the max_connections limit.",
                self.refused_connections.load(Relaxed) as i64,
            ),
            (
                "webtier_reloads_total",
                "counter",
                "Configuration and certificate reloads that took effect.",
                self.reloads.load(Relaxed) as i64,
            ),
            (
                "webtier_failed_reloads_total",
                "counter",
                "Reloads refused (the old configuration kept serving).",
                self.failed_reloads.load(Relaxed) as i64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }
}

/// Each upstream's health and requests in flight (an upstream shared by
/// several routes once).
fn render_upstreams(out: &mut String, state: &State) {
    let _ = writeln!(
        out,
        "# HELP webtier_upstream_healthy 1 when the upstream takes requests.\n# TYPE webtier_upstream_healthy gauge"
    );
    let now = now_ms();
    let mut in_flight = String::new();
    let mut seen = std::collections::HashSet::new();
    for group in state.groups() {
        for up in &group.upstreams {
            if seen.insert(up.base.clone()) {
                let _ = writeln!(
                    out,
                    "webtier_upstream_healthy{{upstream=\"{}\"}} {}",
                    up.base,
                    u8::from(up.available(now))
                );
                let _ = writeln!(
                    in_flight,
                    "webtier_upstream_in_flight{{upstream=\"{}\"}} {}",
                    up.base,
                    up.in_flight()
                );
            }
        }
    }
    let _ = write!(
        out,
        "# HELP webtier_upstream_in_flight Requests being answered by the upstream.\n# TYPE webtier_upstream_in_flight gauge\n{in_flight}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_land_in_their_class_and_bucket() {
        let m = Metrics::default();
        m.record(204, Duration::from_micros(300));
        m.record(502, Duration::from_millis(30));
        let state = State::build(
            crate::proxy::config::ProxyConfig {
                challenge_dir: std::env::temp_dir(),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let text = m.render(&state);
        assert!(
            text.contains("webtier_requests_total{class=\"2xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("webtier_requests_total{class=\"5xx\"} 1"),
            "{text}"
        );
        assert!(text.contains("webtier_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("webtier_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("webtier_request_duration_seconds_count 2"));
        assert!(text.contains("\nwebtier_sites_refused 0\n"), "{text}");
    }

    #[test]
    fn refused_sites_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::proxy::config::ProxyConfig {
            challenge_dir: dir.path().join("challenge"),
            ..Default::default()
        };
        for name in ["a.test", "b.test"] {
            config.sites.push(crate::proxy::config::SiteConfig {
                names: vec![name.into()],
                tls: None,
                routes: vec![crate::proxy::config::RouteConfig {
                    path: "/".into(),
                    root: Some(dir.path().join("missing")),
                    ..Default::default()
                }],
                auth: None,
                access: None,
                canonical_host: None,
                redirects: Vec::new(),
                rate_limit: None,
                cache: None,
                compress: None,
            });
        }
        let state = State::build(config, None).unwrap();
        let text = Metrics::default().render(&state);
        assert!(text.contains("\nwebtier_sites_refused 2\n"), "{text}");
    }
}
