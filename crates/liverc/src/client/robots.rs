//! robots.txt: parsing (RFC 9309), matching, and a per-host cache whose
//! concurrent first users share one fetch.
//!
//! - The group used is the one(s) whose `User-agent` equals our product token
//!   (case-insensitive, any `/version` suffix ignored); failing that, the `*`
//!   group(s); failing that, everything is allowed. Several groups for the
//!   same agent are merged, as RFC 9309 requires.
//! - `Allow`/`Disallow` patterns match from the start of the path (with its
//!   query), support `*` (any run of characters) and a trailing `$` (end of
//!   path); the longest matching pattern wins and on a tie `Allow` wins.
//!   Empty patterns are ignored. `/robots.txt` itself is always allowed.
//! - `Crawl-delay` (seconds, fractions allowed) is honoured; the largest value
//!   in the selected groups is used. The caller caps it.
//! - Paths and patterns are compared after normalising percent-encoding:
//!   non-ASCII bytes are percent-encoded, escapes of unreserved characters are
//!   decoded, hex digits upper-cased.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// The rules of one host that apply to our User-Agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RobotsRules {
    rules: Vec<Rule>,
    crawl_delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    /// Normalised pattern.
    pattern: String,
}

#[derive(Debug, Default)]
struct Group {
    agents: Vec<String>,
    rules: Vec<Rule>,
    crawl_delay: Option<Duration>,
}

impl RobotsRules {
    /// Everything allowed, no crawl delay (robots.txt absent, or unreadable).
    pub(crate) fn allow_all() -> Self {
        Self::default()
    }

    /// Parse a robots.txt body for the product token `token` (lowercase).
    pub(crate) fn parse(text: &str, token: &str) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        // Whether the previous meaningful line was a user-agent line (so a
        // further user-agent line joins the same group).
        let mut in_agents = false;
        for raw_line in text.lines() {
            let line = match raw_line.find('#') {
                Some(i) => &raw_line[..i],
                None => raw_line,
            };
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents || groups.is_empty() {
                        groups.push(Group::default());
                    }
                    in_agents = true;
                    let agent = value
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    if let Some(group) = groups.last_mut() {
                        group.agents.push(agent);
                    }
                }
                "allow" | "disallow" | "crawl-delay" => {
                    in_agents = false;
                    // Rules before any user-agent line belong to no group.
                    let Some(group) = groups.last_mut() else {
                        continue;
                    };
                    if key == "crawl-delay" {
                        if let Some(delay) = parse_crawl_delay(value) {
                            group.crawl_delay = group.crawl_delay.max(Some(delay));
                        }
                    } else if !value.is_empty() {
                        group.rules.push(Rule {
                            allow: key == "allow",
                            pattern: normalise(value),
                        });
                    }
                }
                // Sitemap and unknown keys neither belong to nor end a group.
                _ => {}
            }
        }

        let selected: Vec<&Group> = {
            let ours: Vec<&Group> = groups
                .iter()
                .filter(|g| g.agents.iter().any(|a| a == token))
                .collect();
            if ours.is_empty() {
                groups
                    .iter()
                    .filter(|g| g.agents.iter().any(|a| a == "*"))
                    .collect()
            } else {
                ours
            }
        };
        Self {
            rules: selected
                .iter()
                .flat_map(|g| g.rules.iter().cloned())
                .collect(),
            crawl_delay: selected.iter().filter_map(|g| g.crawl_delay).max(),
        }
    }

    /// Whether `path_and_query` (e.g. `/t/abc/?x=1`) may be fetched.
    pub(crate) fn is_allowed(&self, path_and_query: &str) -> bool {
        let path = normalise(path_and_query);
        if path == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if pattern_matches(&rule.pattern, &path) {
                let len = rule.pattern.len();
                best = match best {
                    Some((best_len, best_allow))
                        if best_len > len || (best_len == len && (best_allow || !rule.allow)) =>
                    {
                        Some((best_len, best_allow))
                    }
                    _ => Some((len, rule.allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }

    /// The `Crawl-delay` of the selected group(s), uncapped.
    pub(crate) fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }
}

fn parse_crawl_delay(value: &str) -> Option<Duration> {
    let secs: f64 = value.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// Percent-encoding normalisation shared by paths and patterns.
fn normalise(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex_value(*c)),
                bytes.get(i + 2).and_then(|c| hex_value(*c)),
            )
        {
            let decoded = h * 16 + l;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(HEX[usize::from(h)]));
                out.push(char::from(HEX[usize::from(l)]));
            }
            i += 3;
            continue;
        }
        if b.is_ascii() {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        i += 1;
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Whether a robots pattern (`*` wildcards, optional trailing `$`) matches
/// the path. Unanchored patterns are prefix matches.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    if middle.is_empty() {
        // No wildcard at all.
        return !anchored || rest.is_empty();
    }
    let (last, middle) = middle.split_last().unwrap_or((&"", &[]));
    // Leftmost placement of every middle piece leaves the most room for the
    // rest, so greedy search is exact.
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    if anchored {
        rest.ends_with(last)
    } else {
        rest.contains(last)
    }
}

/// How long a fetched robots.txt is trusted.
pub(crate) const ROBOTS_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// How long an unreadable robots.txt (5xx, network error) counts as "allow
/// everything" before the next request to that host fetches it again.
pub(crate) const ROBOTS_FAILURE_TTL: Duration = Duration::from_secs(10 * 60);

/// A robots.txt outcome and how long to keep it.
#[derive(Debug, Clone)]
pub(crate) struct CachedRobots {
    pub(crate) rules: Arc<RobotsRules>,
    pub(crate) ttl: Duration,
}

#[derive(Debug)]
struct Slot {
    cell: OnceCell<(Arc<RobotsRules>, Instant)>,
}

/// Per-origin robots.txt cache. The first request to a host fetches; the
/// others arriving meanwhile wait for that one fetch. A fetch that fails
/// with an error (the kill switch) leaves the slot empty for the next user.
#[derive(Debug, Default)]
pub(crate) struct RobotsCache {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl RobotsCache {
    /// The rules for `origin`, fetching them with `fetch` if not cached or
    /// expired.
    pub(crate) async fn get<E, F, Fut>(
        &self,
        origin: &str,
        mut fetch: F,
    ) -> Result<Arc<RobotsRules>, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<CachedRobots, E>>,
    {
        loop {
            let slot = {
                let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
                Arc::clone(slots.entry(origin.to_owned()).or_insert_with(|| {
                    Arc::new(Slot {
                        cell: OnceCell::new(),
                    })
                }))
            };
            let (rules, expires_at) = slot
                .cell
                .get_or_try_init(|| {
                    let fut = fetch();
                    async move {
                        let cached = fut.await?;
                        Ok((cached.rules, Instant::now() + cached.ttl))
                    }
                })
                .await?;
            if Instant::now() < *expires_at {
                return Ok(Arc::clone(rules));
            }
            // Expired: drop the slot (unless someone already replaced it) and
            // go round again to fetch afresh.
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots
                .get(origin)
                .is_some_and(|current| Arc::ptr_eq(current, &slot))
            {
                slots.remove(origin);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const TOKEN: &str = "liverc-ingest";

    #[test]
    fn empty_or_missing_allows_everything() {
        let r = RobotsRules::parse("", TOKEN);
        assert!(r.is_allowed("/"));
        assert!(r.is_allowed("/anything?x=1"));
        assert_eq!(r.crawl_delay(), None);
        assert!(RobotsRules::allow_all().is_allowed("/x"));
    }

    #[test]
    fn star_group_applies_when_ours_is_absent() {
        let r = RobotsRules::parse(
            "User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n",
            TOKEN,
        );
        assert!(r.is_allowed("/"));
        assert!(r.is_allowed("/public/page"));
        assert!(!r.is_allowed("/private/page"));
    }

    #[test]
    fn our_group_beats_star_and_ignores_version_and_case() {
        let text =
            "User-agent: *\nDisallow: /\n\nUser-Agent: LiveRC-Ingest/1.0\nDisallow: /admin\n";
        let r = RobotsRules::parse(text, TOKEN);
        assert!(r.is_allowed("/"));
        assert!(!r.is_allowed("/admin/x"));
        // A bot with another token falls back to `*`.
        let other = RobotsRules::parse(text, "somebot");
        assert!(!other.is_allowed("/"));
    }

    #[test]
    fn disallow_all_for_us() {
        let r = RobotsRules::parse("User-agent: liverc-ingest\nDisallow: /\n", TOKEN);
        assert!(!r.is_allowed("/"));
        assert!(!r.is_allowed("/t/abc/"));
        assert!(r.is_allowed("/robots.txt"));
    }

    #[test]
    fn grouped_agents_and_merged_groups() {
        let text = "User-agent: a\nUser-agent: liverc-ingest\nDisallow: /one\n\
                    User-agent: b\nDisallow: /two\n\
                    User-agent: liverc-ingest\nDisallow: /three\nCrawl-delay: 2\n";
        let r = RobotsRules::parse(text, TOKEN);
        assert!(!r.is_allowed("/one"));
        assert!(r.is_allowed("/two"));
        assert!(!r.is_allowed("/three"));
        assert_eq!(r.crawl_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        let text = "User-agent: *\nDisallow: /t/\nAllow: /t/public\nDisallow: /t/public/secret\n\
                    Allow: /same\nDisallow: /same\n";
        let r = RobotsRules::parse(text, TOKEN);
        assert!(!r.is_allowed("/t/abc"));
        assert!(r.is_allowed("/t/public/page"));
        assert!(!r.is_allowed("/t/public/secret/x"));
        assert!(r.is_allowed("/same/thing"));
        // Order does not matter for ties either.
        let r = RobotsRules::parse("User-agent: *\nDisallow: /same\nAllow: /same\n", TOKEN);
        assert!(r.is_allowed("/same"));
    }

    #[test]
    fn wildcards_and_end_anchor() {
        let text = "User-agent: *\nDisallow: /*.php$\nDisallow: /*?session=\nDisallow: /a*b*c\nAllow: /$\nDisallow: /\n";
        let r = RobotsRules::parse(text, TOKEN);
        assert!(r.is_allowed("/"));
        assert!(!r.is_allowed("/index.php"));
        assert!(!r.is_allowed("/x/index.php"));
        assert!(!r.is_allowed("/index.php5"), "falls to Disallow: /");
        assert!(!r.is_allowed("/page?session=1"));
        assert!(!r.is_allowed("/axxbyyc/zz"));
        let r = RobotsRules::parse("User-agent: *\nDisallow: /*.php$\n", TOKEN);
        assert!(r.is_allowed("/index.php5"));
        assert!(r.is_allowed("/index.php?x"));
        assert!(!r.is_allowed("/index.php"));
        assert!(r.is_allowed("/a.ph"));
    }

    #[test]
    fn pattern_matcher_edge_cases() {
        assert!(pattern_matches("/", "/anything"));
        assert!(pattern_matches("*", "/x"));
        assert!(pattern_matches("/a*", "/a"));
        assert!(pattern_matches("/a*$", "/abc"));
        assert!(pattern_matches("/a$", "/a"));
        assert!(!pattern_matches("/a$", "/ab"));
        assert!(pattern_matches("/*/x$", "/1/2/x"));
        assert!(!pattern_matches("/*/x$", "/1/2/xy"));
        assert!(pattern_matches("/a*a$", "/aa"));
        assert!(!pattern_matches("/ab*ba$", "/aba"));
        assert!(pattern_matches("/**x", "/yyx"));
    }

    #[test]
    fn empty_rules_comments_and_junk_are_ignored() {
        let text = "# comment\nDisallow: /before-any-agent\nUser-agent: * # trailing\nDisallow:\n\
                    garbage line\nSitemap: https://x/sitemap.xml\nDisallow: /x # why\n";
        let r = RobotsRules::parse(text, TOKEN);
        assert!(r.is_allowed("/before-any-agent"));
        assert!(r.is_allowed("/y"));
        assert!(!r.is_allowed("/x/1"));
    }

    #[test]
    fn crawl_delay_forms() {
        let delay = |v: &str| {
            RobotsRules::parse(&format!("User-agent: *\nCrawl-delay: {v}\n"), TOKEN).crawl_delay()
        };
        assert_eq!(delay("1"), Some(Duration::from_secs(1)));
        assert_eq!(delay("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(delay("soon"), None);
        assert_eq!(delay("-1"), None);
        assert_eq!(delay("inf"), None);
        assert_eq!(delay("NaN"), None);
    }

    #[test]
    fn percent_encoding_is_normalised() {
        let r = RobotsRules::parse(
            "User-agent: *\nDisallow: /caf\u{e9}\nDisallow: /%7euser\n",
            TOKEN,
        );
        assert!(!r.is_allowed("/caf%C3%A9/menu"));
        assert!(!r.is_allowed("/~user/x"));
        assert!(!r.is_allowed("/%7Euser/x"));
        let r = RobotsRules::parse("User-agent: *\nDisallow: /a%2fb\n", TOKEN);
        assert!(!r.is_allowed("/a%2Fb"));
        assert!(r.is_allowed("/a/b"), "an encoded slash is not a slash");
        assert_eq!(normalise("/%41%zz%"), "/A%zz%");
    }

    #[tokio::test]
    async fn cache_fetches_once_for_concurrent_users() {
        let cache = Arc::new(RobotsCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let cache = Arc::clone(&cache);
            let fetches = Arc::clone(&fetches);
            tasks.push(tokio::spawn(async move {
                cache
                    .get("http://h", || {
                        let fetches = Arc::clone(&fetches);
                        async move {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(CachedRobots {
                                rules: Arc::new(RobotsRules::parse(
                                    "User-agent: *\nDisallow: /x",
                                    TOKEN,
                                )),
                                ttl: ROBOTS_TTL,
                            })
                        }
                    })
                    .await
            }));
        }
        for t in tasks {
            let rules = t.await.expect("task").expect("rules");
            assert!(!rules.is_allowed("/x"));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn cache_refetches_after_expiry_and_after_errors() {
        let cache = RobotsCache::default();
        let fetches = AtomicUsize::new(0);
        let fetch = || {
            fetches.fetch_add(1, Ordering::SeqCst);
            async {
                Ok::<_, &str>(CachedRobots {
                    rules: Arc::new(RobotsRules::allow_all()),
                    ttl: ROBOTS_FAILURE_TTL,
                })
            }
        };
        // An error is not cached.
        let err = cache
            .get("http://h", || async { Err::<CachedRobots, _>("disabled") })
            .await;
        assert_eq!(err.err(), Some("disabled"));
        cache.get("http://h", fetch).await.expect("rules");
        cache.get("http://h", fetch).await.expect("rules");
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        tokio::time::advance(ROBOTS_FAILURE_TTL + Duration::from_secs(1)).await;
        cache.get("http://h", fetch).await.expect("rules");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // Another origin has its own slot.
        cache.get("http://other", fetch).await.expect("rules");
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}
