//! De-obfuscation and validation of the dashboards' e-mail links.
//!
//! A dashboard prints the address as
//! `<a href="javascript:noSpam('user', 'domain');">&#105;&#110;…</a>`: the
//! link text is the address as character entities, and the href's two
//! `noSpam` arguments are its halves. Either source is accepted; the result
//! must be an address someone can write to or it is dropped.
//!
//! The address syntax (RFC 5321/5322: dot-atom local part of at most 64
//! octets, domain labels) is the `email_address` crate's. The connector's
//! rules on top of it are stricter, because RFC 5322 admits things a page
//! shows that are no usable contact: see [`normalise_email`].

use email_address::{EmailAddress, Options};

use super::slug::is_valid_dns_label;
use super::text::{collapse_ws, strip_prefix_ignore_case};

/// Longest address accepted (RFC 5321 path limit less the brackets);
/// `email_address` bounds the local part and the domain, not their sum.
const MAX_ADDRESS_LEN: usize = 254;

/// The e-mail address a dashboard link stands for: the link text (entities
/// decoded, a `mailto:` prefix dropped) when it is an address, else the
/// `mailto:` target or the two `noSpam('user', 'domain')` arguments of
/// `href` joined with `@`. `None` when no source yields a plausible address.
pub fn decode_email(link_text: &str, href: Option<&str>) -> Option<String> {
    let from_text = {
        let text = collapse_ws(&html_escape::decode_html_entities(link_text));
        let text = strip_prefix_ignore_case(&text, "mailto:").map_or(text.clone(), str::to_owned);
        normalise_email(&text)
    };
    from_text.or_else(|| {
        let href = href?.trim();
        if let Some(target) = strip_prefix_ignore_case(href, "mailto:") {
            let address = target.split('?').next().unwrap_or_default();
            return normalise_email(&html_escape::decode_html_entities(address));
        }
        let (user, domain) = no_spam_arguments(href)?;
        normalise_email(&format!("{user}@{domain}"))
    })
}

/// The two string arguments of a `noSpam('user', 'domain')` call anywhere in
/// `href` (single or double quotes, backslash escapes honoured).
pub fn no_spam_arguments(href: &str) -> Option<(String, String)> {
    let start = href.find("noSpam(")?;
    let args = href.get(start + "noSpam(".len()..)?;
    let (user, rest) = quoted_string(args.trim_start())?;
    let rest = rest.trim_start().strip_prefix(',')?;
    let (domain, rest) = quoted_string(rest.trim_start())?;
    rest.trim_start().starts_with(')').then_some((user, domain))
}

/// Reads a `'…'` or `"…"` literal at the start of `s`; returns its value and the rest.
fn quoted_string(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next().filter(|(_, c)| matches!(c, '\'' | '"'))?;
    let mut value = String::new();
    let mut escaped = false;
    for (index, c) in chars {
        if escaped {
            value.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some((value, s.get(index + c.len_utf8()..)?));
        } else {
            value.push(c);
        }
    }
    None
}

/// `candidate` trimmed, with its domain lowercased, if it is a usable
/// e-mail address; `None` otherwise.
///
/// Valid RFC 5322 syntax (checked by `email_address`, without the display
/// name `Name <a@b.com>` and domain literal `a@[10.0.0.1]` forms a contact
/// link never means), and on top of it the connector's own rules:
///
/// - ASCII only: an internationalised address (`é@b.com`) cannot be
///   written to by every mail system, and is more often mojibake from a
///   page in the wrong charset than a real mailbox;
/// - no quoted local part (`"a b"@c.com`): legal, but no club uses one, and
///   a placeholder or a sentence in quotes is what it catches in practice;
/// - the domain a resolvable host name: letters, digits and hyphens only
///   (no `_`, which RFC 5322 allows in a domain atom), and a top-level label
///   of two or more letters, which rejects typos and placeholders such as
///   `a@b.c` or `a@b.c0m`;
/// - at most [`MAX_ADDRESS_LEN`] characters in all.
pub fn normalise_email(candidate: &str) -> Option<String> {
    let candidate = candidate.trim();
    if candidate.len() > MAX_ADDRESS_LEN || !candidate.is_ascii() {
        return None;
    }
    let syntax = Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let address = EmailAddress::parse_with_options(candidate, syntax).ok()?;
    let (local, domain) = (address.local_part(), address.domain());
    if local.starts_with('"') || !is_host_name(domain) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Whether `candidate` is a usable e-mail address (see [`normalise_email`]).
pub fn is_plausible_email(candidate: &str) -> bool {
    normalise_email(candidate).is_some()
}

/// A domain made of DNS host-name labels whose last label is alphabetic and
/// at least two letters long.
fn is_host_name(domain: &str) -> bool {
    let top_level_ok = domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    top_level_ok && domain.split('.').all(is_valid_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THUNDER_TEXT: &str = "&#119;&#111;&#114;&#108;&#100;&#111;&#102;&#114;&#99;&#112;&#97;\
                                &#114;&#116;&#115;&#64;&#97;&#111;&#108;&#46;&#99;&#111;&#109;";

    #[test]
    fn entity_encoded_link_text() {
        assert_eq!(
            decode_email(THUNDER_TEXT, None),
            Some("worldofrcparts@aol.com".to_owned())
        );
        // Already decoded by the HTML parser: plain text works too.
        assert_eq!(
            decode_email(" info@cormcc.org ", None),
            Some("info@cormcc.org".to_owned())
        );
        // Hex entities and a mailto: prefix in the text.
        assert_eq!(
            decode_email("mailto:a&#x40;b.co", None),
            Some("a@b.co".to_owned())
        );
    }

    #[test]
    fn no_spam_arguments_when_text_is_unusable() {
        let href = "javascript:noSpam('info', 'cormcc.org');";
        assert_eq!(
            decode_email("", Some(href)),
            Some("info@cormcc.org".to_owned())
        );
        assert_eq!(
            decode_email(
                "E-mail us",
                Some("javascript:noSpam( \"a.b\" ,\"Example.COM\" )")
            ),
            Some("a.b@example.com".to_owned())
        );
        assert_eq!(
            no_spam_arguments(r"noSpam('o\'neil', 'x.ie')"),
            Some(("o'neil".to_owned(), "x.ie".to_owned()))
        );
    }

    #[test]
    fn mailto_href() {
        assert_eq!(
            decode_email("write to us", Some("mailto:club@track.com.au?subject=hi")),
            Some("club@track.com.au".to_owned())
        );
    }

    #[test]
    fn malformed_no_spam_calls() {
        for href in [
            "javascript:noSpam('a');",
            "javascript:noSpam('a', 'b'",
            "javascript:noSpam(a, b)",
            "javascript:noSpam('a' 'b')",
            "javascript:noSpam('unterminated",
            "javascript:noSpam(",
            "javascript:void(0)",
        ] {
            assert_eq!(no_spam_arguments(href), None, "{href}");
        }
    }

    #[test]
    fn implausible_addresses_are_none() {
        for candidate in [
            "",
            "@",
            "a@",
            "@b.com",
            "a@b",
            "a@b.c",
            "a@b.c0m",
            "a@@b.com",
            "a b@c.com",
            ".a@b.com",
            "a.@b.com",
            "a..b@c.com",
            "a@-b.com",
            "a@b..com",
            "a@b_c.com",
            "N/A",
            "\u{e9}@b.com",
            // Valid RFC 5322, still no usable contact (the connector's rules).
            "\"a b\"@c.com",
            "\"a\"@c.com",
            "a@[10.0.0.1]",
            "Club <a@b.com>",
            "<a@b.com>",
            "a@b.c\u{f6}m",
            "a@localhost",
        ] {
            assert!(!is_plausible_email(candidate), "{candidate:?}");
        }
        assert_eq!(decode_email("N/A", Some("javascript:noSpam('', '')")), None);
        let long_local = format!("{}@b.com", "a".repeat(65));
        assert!(!is_plausible_email(&long_local));
        // Each part within its own limit, the whole over the path limit.
        let long_address = format!(
            "{}@{}.com",
            "a".repeat(64),
            vec!["b".repeat(50); 4].join(".")
        );
        assert!(long_address.len() > MAX_ADDRESS_LEN);
        assert!(!is_plausible_email(&long_address));
    }

    #[test]
    fn usable_addresses_keep_their_local_part_and_lowercase_the_domain() {
        for (candidate, expected) in [
            ("a@b.co", "a@b.co"),
            (" Info@Track.COM.au ", "Info@track.com.au"),
            ("o'neil+rc@x-y.ie", "o'neil+rc@x-y.ie"),
            (
                "a.b_c!#$%&*/=?^`{|}~-@sub.example.org",
                "a.b_c!#$%&*/=?^`{|}~-@sub.example.org",
            ),
            ("1@2.example", "1@2.example"),
        ] {
            assert_eq!(
                normalise_email(candidate).as_deref(),
                Some(expected),
                "{candidate:?}"
            );
        }
        let longest_local = format!("{}@b.com", "a".repeat(64));
        assert!(is_plausible_email(&longest_local));
    }
}
