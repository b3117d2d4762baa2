//! Where stored responses live: one in-memory store for the process,
//! bounded in bytes (quick_cache's CLOCK-Pro, sharded, weighted by each
//! entry's size), carried across reloads; the requests in flight that
//! others wait for (coalescing); purges; the counters of `/metrics`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::watch;

use crate::proxy::config::{CacheStore, Encoding};
use crate::proxy::request::compress::{self, Levels};

/// The store's shards (locks); each holds a sixteenth of the bytes, and
/// one key may weigh three quarters of that ([`Store::key_budget`]):
/// `cache max_entry_kb` is at most a thirty-second of the size, so an
/// entry always fits with room for its compressed copies.
const SHARDS: usize = 16;

/// A variant key's many values are bounded: past this, the oldest goes.
const MAX_VARIANTS: usize = 8;

/// One stored response. Never changed once stored (the store's size
/// bound weighs each value once): a compressed copy or a revalidation
/// stores a new one in its place.
#[derive(Clone)]
pub struct Entry {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it was received (the process clock, ms)…
    pub stored_at_ms: u64,
    /// …how old it was then (seconds), and for how long it is fresh.
    pub initial_age: u64,
    pub fresh_for: u64,
    pub stale_while_revalidate: u64,
    pub stale_if_error: u64,
    /// Never served stale (`must-revalidate`, `proxy-revalidate`,
    /// `s-maxage`, `no-cache`).
    pub must_revalidate: bool,
    /// May answer a request with credentials (`public`, `s-maxage`,
    /// `must-revalidate`).
    pub shared_with_credentials: bool,
    /// The request's values of the headers the response varies by.
    pub vary: Vec<(HeaderName, Option<HeaderValue>)>,
    /// The route it was stored for: a reload that changes the route
    /// drops it.
    pub route: u64,
    /// The body in each coding (br, zstd, gzip) once made.
    encoded: [Option<Bytes>; 3],
    /// The size of its head, counted once.
    head_bytes: usize,
}

impl Entry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        stored_at_ms: u64,
        initial_age: u64,
        fresh_for: u64,
        directives: &super::policy::Directives,
        vary: Vec<(HeaderName, Option<HeaderValue>)>,
        route: u64,
    ) -> Entry {
        let head_bytes = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 32)
            .sum::<usize>()
            + 256;
        Entry {
            status,
            headers,
            body,
            stored_at_ms,
            initial_age,
            fresh_for,
            stale_while_revalidate: directives.stale_while_revalidate.unwrap_or(0),
            stale_if_error: directives.stale_if_error.unwrap_or(0),
            must_revalidate: directives.must_revalidate
                || directives.s_maxage.is_some()
                || directives.no_cache,
            shared_with_credentials: directives.public
                || directives.s_maxage.is_some()
                || directives.must_revalidate,
            vary,
            route,
            encoded: Default::default(),
            head_bytes,
        }
    }

    /// Its age at `now_ms` (the process clock), in milliseconds.
    fn age_ms(&self, now_ms: u64) -> u64 {
        (self.initial_age.saturating_mul(1000))
            .saturating_add(now_ms.saturating_sub(self.stored_at_ms))
    }

    /// Its age in whole seconds (the `Age` header).
    pub fn age(&self, now_ms: u64) -> u64 {
        self.age_ms(now_ms) / 1000
    }

    /// None while fresh; once stale, for how many milliseconds.
    pub fn stale_by(&self, now_ms: u64) -> Option<u64> {
        let (age, fresh) = (self.age_ms(now_ms), self.fresh_for.saturating_mul(1000));
        (age >= fresh).then(|| age - fresh)
    }

    /// Whether a request with these headers gets this variant.
    pub fn matches(&self, request: &HeaderMap) -> bool {
        self.vary.iter().all(|(name, value)| {
            let now = request.get(name);
            now == value.as_ref()
        })
    }

    /// The body in `encoding`, if a copy was made.
    pub fn encoded(&self, encoding: Encoding) -> Option<Bytes> {
        self.encoded[encoding as usize].clone()
    }

    /// Bytes it holds, for the store's bound.
    fn weight(&self) -> u64 {
        let encoded: usize = (self.encoded.iter()).flatten().map(Bytes::len).sum();
        (self.body.len() + encoded + self.head_bytes) as u64
    }
}

/// The variants stored under one key.
pub struct Variants(pub Vec<Arc<Entry>>);

#[derive(Clone)]
struct Weigh;

impl quick_cache::Weighter<String, Arc<Variants>> for Weigh {
    fn weight(&self, key: &String, value: &Arc<Variants>) -> u64 {
        weigh(key, &value.0)
    }
}

/// A key's weight: itself, its variants, their compressed copies.
fn weigh(key: &str, list: &[Arc<Entry>]) -> u64 {
    key.len() as u64 + list.iter().map(|e| e.weight()).sum::<u64>()
}

/// How a request was served by the cache, as `X-Cache` says and the
/// metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Miss,
    Stale,
    Revalidated,
    Bypass,
}

impl Outcome {
    const ALL: [Outcome; 5] = [
        Outcome::Hit,
        Outcome::Miss,
        Outcome::Stale,
        Outcome::Revalidated,
        Outcome::Bypass,
    ];

    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Outcome::Hit => "HIT",
            Outcome::Miss => "MISS",
            Outcome::Stale => "STALE",
            Outcome::Revalidated => "REVALIDATED",
            Outcome::Bypass => "BYPASS",
        })
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Stale => "stale",
            Outcome::Revalidated => "revalidated",
            Outcome::Bypass => "bypass",
        }
    }
}

pub struct Store {
    entries: quick_cache::sync::Cache<
        String,
        Arc<Variants>,
        Weigh,
        quick_cache::DefaultHashBuilder,
        quick_cache::sync::DefaultLifecycle<String, Arc<Variants>>,
    >,
    pub settings: CacheStore,
    /// Keys being fetched, with what their waiters watch (closed when the
    /// fetch is over, stored or not).
    flights: Mutex<HashMap<String, watch::Receiver<()>>>,
    outcomes: [AtomicU64; 5],
    purged: AtomicU64,
}

/// A request fetching a key others wait for; dropping it wakes them.
pub struct Flight {
    store: Arc<Store>,
    key: String,
    _done: watch::Sender<()>,
}

impl Drop for Flight {
    fn drop(&mut self) {
        if let Ok(mut flights) = self.store.flights.lock() {
            flights.remove(&self.key);
        }
    }
}

/// The first request for a key fetches it; the others wait.
pub enum Joined {
    First(Flight),
    Wait(watch::Receiver<()>),
}

impl Store {
    pub fn new(settings: &CacheStore) -> Store {
        let bytes = settings.max_size_mb * 1024 * 1024;
        // A guess at the number of entries (for the table's first size):
        // 8 KiB each on average.
        let items = (bytes / 8192).clamp(64, 1 << 20) as usize;
        // A fixed number of shards, each bounded by its share of the
        // bytes: an entry must fit one, hence `max_entry_kb` at most a
        // sixteenth of the size (`config::cache_store_problems`).
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(items)
            .weight_capacity(bytes)
            .shards(SHARDS)
            .build()
            .expect("the options are in range");
        Store {
            entries: quick_cache::sync::Cache::with_options(
                options,
                Weigh,
                Default::default(),
                Default::default(),
            ),
            settings: settings.clone(),
            flights: Mutex::new(HashMap::new()),
            outcomes: Default::default(),
            purged: AtomicU64::new(0),
        }
    }

    pub fn max_entry(&self) -> usize {
        (self.settings.max_entry_kb * 1024) as usize
    }

    /// The variant of `key` for a request with `headers`, stored for
    /// `route`.
    pub fn get(&self, key: &str, headers: &HeaderMap, route: u64) -> Option<Arc<Entry>> {
        let variants = self.entries.get(key)?;
        variants
            .0
            .iter()
            .find(|e| e.route == route && e.matches(headers))
            .cloned()
    }

    /// Stores `entry` under `key`, replacing the variant it matches.
    /// Stores `entry` under `key`, replacing the variant it matches; the
    /// variants that vary by other headers (the upstream changed its
    /// `Vary`) go, and the oldest go while the key is over its budget.
    /// An entry over the budget alone is not stored.
    pub fn put(&self, key: &str, entry: Arc<Entry>) {
        let names = |e: &Entry| e.vary.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let mut list: Vec<Arc<Entry>> = match self.entries.get(key) {
            Some(v) => (v.0.iter())
                .filter(|e| {
                    e.route == entry.route && e.vary != entry.vary && names(e) == names(&entry)
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        if list.len() >= MAX_VARIANTS {
            list.remove(0);
        }
        list.push(entry);
        while weigh(key, &list) > self.key_budget() && list.len() > 1 {
            list.remove(0);
        }
        if weigh(key, &list) > self.key_budget() {
            return;
        }
        self.entries
            .insert(key.to_string(), Arc::new(Variants(list)));
    }

    /// What one key may weigh: well within a shard's share of the bytes,
    /// which quick_cache refuses a value beyond (and drops the key).
    fn key_budget(&self) -> u64 {
        self.settings.max_size_mb * 1024 * 1024 / SHARDS as u64 * 3 / 4
    }

    /// The body of `entry` (stored under `key`) in `encoding`: its copy,
    /// or one made now and stored with a new entry in its place (weighed
    /// anew), unless the entry has gone meanwhile.
    pub fn encoded(
        &self,
        key: &str,
        entry: &Arc<Entry>,
        encoding: Encoding,
        levels: Levels,
    ) -> Option<Bytes> {
        if let Some(bytes) = entry.encoded(encoding) {
            return Some(bytes);
        }
        let bytes = compress::encode_all(encoding, levels, &entry.body)?;
        if let Some(v) = self.entries.get(key)
            && let Some(at) = v.0.iter().position(|e| Arc::ptr_eq(e, entry))
        {
            let mut copy = Entry::clone(entry);
            copy.encoded[encoding as usize] = Some(bytes.clone());
            let mut list = v.0.clone();
            list[at] = Arc::new(copy);
            // A copy that would put the key over its budget is not kept.
            if weigh(key, &list) <= self.key_budget() {
                self.entries
                    .insert(key.to_string(), Arc::new(Variants(list)));
            }
        }
        Some(bytes)
    }

    /// Joins the fetch of `key`, or starts it.
    pub fn join(self: &Arc<Store>, key: &str) -> Joined {
        let Ok(mut flights) = self.flights.lock() else {
            let (tx, _) = watch::channel(());
            return Joined::First(self.flight(key, tx));
        };
        if let Some(rx) = flights.get(key) {
            return Joined::Wait(rx.clone());
        }
        let (tx, rx) = watch::channel(());
        flights.insert(key.to_string(), rx);
        drop(flights);
        Joined::First(self.flight(key, tx))
    }

    fn flight(self: &Arc<Store>, key: &str, tx: watch::Sender<()>) -> Flight {
        Flight {
            store: Arc::clone(self),
            key: key.to_string(),
            _done: tx,
        }
    }

    pub fn count(&self, outcome: Outcome) {
        self.outcomes[outcome as usize].fetch_add(1, Relaxed);
    }

    /// Removes every key `matches` accepts; how many were removed.
    fn remove_where(&self, matches: impl Fn(&str, &Variants) -> bool) -> u64 {
        let removed = AtomicU64::new(0);
        self.entries.retain(|k, v| {
            let gone = matches(k, v);
            if gone {
                removed.fetch_add(1, Relaxed);
            }
            !gone
        });
        let n = removed.into_inner();
        self.purged.fetch_add(n, Relaxed);
        n
    }

    /// Every key (None), one key, or every key that starts with a prefix.
    pub fn purge(&self, what: Purge<'_>) -> u64 {
        match what {
            Purge::All => self.remove_where(|_, _| true),
            Purge::Key(key) => self.remove_where(|k, _| k == key),
            Purge::Prefix(prefix) => self.remove_where(|k, _| k.starts_with(prefix)),
        }
    }

    /// After a reload: the entries of routes that are no longer served as
    /// they were are dropped.
    pub fn keep_routes(&self, live: &HashSet<u64>) -> u64 {
        self.remove_where(|_, v| v.0.iter().any(|e| !live.contains(&e.route)))
    }

    /// The Prometheus lines of the cache.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP webtier_cache_requests_total Requests to cached routes, by how the cache served them.\n# TYPE webtier_cache_requests_total counter"
        );
        for outcome in Outcome::ALL {
            let _ = writeln!(
                out,
                "webtier_cache_requests_total{{result=\"{}\"}} {}",
                outcome.label(),
                self.outcomes[outcome as usize].load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP webtier_cache_entries Keys stored (each with its variants).\n# TYPE webtier_cache_entries gauge\nwebtier_cache_entries {}\n\
             # HELP webtier_cache_bytes Bytes the stored responses hold (heads, bodies, compressed copies).\n# TYPE webtier_cache_bytes gauge\nwebtier_cache_bytes {}\n\
             # HELP webtier_cache_capacity_bytes The store's bound (cache max_size_mb).\n# TYPE webtier_cache_capacity_bytes gauge\nwebtier_cache_capacity_bytes {}\n\
             # HELP webtier_cache_purged_total Keys removed by purges and reloads.\n# TYPE webtier_cache_purged_total counter\nwebtier_cache_purged_total {}",
            self.entries.len(),
            self.entries.weight(),
            self.entries.capacity(),
            self.purged.load(Relaxed),
        );
    }
}

/// What a purge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purge<'a> {
    All,
    Key(&'a str),
    Prefix(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::request::cache::policy::Directives;

    /// A fresh 200 of `route` with `body`, varying as `vary` says.
    fn stored(
        route: u64,
        vary: &[(&'static str, Option<&'static str>)],
        body: &'static [u8],
    ) -> Arc<Entry> {
        Arc::new(Entry::new(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(body),
            100,
            0,
            60,
            &Directives::default(),
            vary.iter()
                .map(|(n, v)| (HeaderName::from_static(n), v.map(HeaderValue::from_static)))
                .collect(),
            route,
        ))
    }

    fn entry(
        route: u64,
        vary: &[(&'static str, Option<&'static str>)],
        body: &'static str,
    ) -> Arc<Entry> {
        stored(route, vary, body.as_bytes())
    }

    fn lang(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("accept-language", HeaderValue::from_static(v));
        h
    }

    #[test]
    fn variants_are_kept_apart_and_replaced_by_their_own() {
        let s = Store::new(&CacheStore::default());
        s.put("k", entry(1, &[("accept-language", Some("en"))], "en"));
        s.put("k", entry(1, &[("accept-language", Some("fr"))], "fr"));
        assert_eq!(s.get("k", &lang("en"), 1).unwrap().body, "en");
        assert_eq!(s.get("k", &lang("fr"), 1).unwrap().body, "fr");
        assert!(s.get("k", &lang("de"), 1).is_none());
        assert!(s.get("k", &HeaderMap::new(), 1).is_none());
        s.put("k", entry(1, &[("accept-language", Some("en"))], "en2"));
        assert_eq!(s.get("k", &lang("en"), 1).unwrap().body, "en2");
        assert_eq!(s.get("k", &lang("fr"), 1).unwrap().body, "fr");
        // Another route's entry is not served.
        assert!(s.get("k", &lang("en"), 2).is_none());
    }

    #[test]
    fn purges_remove_what_they_name_and_reloads_what_changed() {
        let s = Store::new(&CacheStore::default());
        for (k, route) in [
            ("a.test/x", 1),
            ("a.test/x/y", 1),
            ("a.test/z", 2),
            ("b.test/x", 2),
        ] {
            s.put(k, entry(route, &[], "b"));
        }
        assert_eq!(s.purge(Purge::Key("a.test/x")), 1);
        assert!(s.get("a.test/x/y", &HeaderMap::new(), 1).is_some());
        assert_eq!(s.purge(Purge::Prefix("a.test/")), 2);
        assert_eq!(s.keep_routes(&HashSet::from([1])), 1);
        assert!(s.get("b.test/x", &HeaderMap::new(), 2).is_none());
        s.put("c", entry(1, &[], "b"));
        assert_eq!(s.purge(Purge::All), 1);
    }

    #[test]
    fn a_compressed_copy_is_stored_once_in_a_new_entry_and_weighed() {
        let s = Store::new(&CacheStore::default());
        static BODY: [u8; 8192] = [b'a'; 8192];
        let e = stored(1, &[], &BODY);
        s.put("k", Arc::clone(&e));
        let before = s.entries.weight();
        let levels = Levels {
            gzip: 1,
            br: 1,
            zstd: 1,
        };
        let gz = s.encoded("k", &e, Encoding::Gzip, levels).unwrap();
        let stored = s.get("k", &HeaderMap::new(), 1).unwrap();
        assert_eq!(stored.encoded(Encoding::Gzip).unwrap(), gz);
        assert_eq!(s.entries.weight(), before + gz.len() as u64);
        // Another coding of the new entry; then the old one's (gone
        // from the store) is made but not stored.
        let br = s.encoded("k", &stored, Encoding::Br, levels).unwrap();
        assert_eq!(s.entries.weight(), before + (gz.len() + br.len()) as u64);
        s.encoded("k", &e, Encoding::Zstd, levels).unwrap();
        assert!(
            s.get("k", &HeaderMap::new(), 1)
                .unwrap()
                .encoded(Encoding::Zstd)
                .is_none()
        );
        assert_eq!(s.purge(Purge::All), 1);
        assert_eq!(s.entries.weight(), 0);
    }

    fn sized(route: u64, lang: &'static str, bytes: &'static [u8]) -> Arc<Entry> {
        stored(route, &[("accept-language", Some(lang))], bytes)
    }

    #[test]
    fn a_key_stays_within_its_budget() {
        // 1 MiB: shards of 64 KiB, a key's budget 48 KiB.
        let s = Store::new(&CacheStore {
            max_size_mb: 1,
            max_entry_kb: 32,
        });
        static BIG: [u8; 30 * 1024] = [b'x'; 30 * 1024];
        static HUGE: [u8; 50 * 1024] = [b'x'; 50 * 1024];
        s.put("k", sized(1, "en", &BIG));
        // A second variant would put the key over: the older goes.
        s.put("k", sized(1, "fr", &BIG));
        assert!(s.get("k", &lang("en"), 1).is_none());
        assert!(s.get("k", &lang("fr"), 1).is_some());
        // Over the budget alone: not stored, the key left as it was.
        s.put("k", sized(1, "de", &HUGE));
        assert!(s.get("k", &lang("de"), 1).is_none());
        assert!(s.get("k", &lang("fr"), 1).is_some());
        // A variant by other headers replaces them all.
        s.put("k", entry(1, &[("accept", Some("text/html"))], "new"));
        assert!(s.get("k", &lang("fr"), 1).is_none());
    }

    #[test]
    fn the_store_holds_no_more_than_its_bound() {
        let s = Store::new(&CacheStore {
            max_size_mb: 1,
            max_entry_kb: 64,
        });
        static BODY: [u8; 32 * 1024] = [b'x'; 32 * 1024];
        for i in 0..200 {
            s.put(&format!("k{i}"), stored(1, &[], &BODY));
        }
        assert!(s.entries.weight() <= 1024 * 1024, "{}", s.entries.weight());
        assert!(s.entries.len() > 10);
    }

    #[test]
    fn a_fetch_is_joined_until_it_ends() {
        let s = Arc::new(Store::new(&CacheStore::default()));
        let Joined::First(flight) = s.join("k") else {
            panic!("the first request fetches")
        };
        let Joined::Wait(rx) = s.join("k") else {
            panic!("the second waits")
        };
        drop(flight);
        // Closed: a waiter's changed() ends with an error.
        assert!(rx.has_changed().is_err());
        assert!(matches!(s.join("k"), Joined::First(_)));
    }
}
