//! De-obfuscation and validation of the dashboards' e-mail links.
//!
//! A dashboard prints the address as
//! `<a href="javascript:noSpam('user', 'domain');">&#105;&#110;…</a>`: the
//! link text is the address as character entities, and the href's two
//! `noSpam` arguments are its halves. Either source is accepted; the result
//! must look like an address (a plausible local part, a domain of valid DNS
//! labels with an alphabetic top-level label) or it is dropped.

use super::slug::is_valid_dns_label;
use super::text::{collapse_ws, strip_prefix_ignore_case};

/// Longest address accepted (RFC 5321 path limit less the brackets).
const MAX_ADDRESS_LEN: usize = 254;
/// Longest local part accepted (RFC 5321).
const MAX_LOCAL_LEN: usize = 64;

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

/// `candidate` trimmed, with its domain lowercased, if it looks like an
/// e-mail address; `None` otherwise.
pub fn normalise_email(candidate: &str) -> Option<String> {
    let candidate = candidate.trim();
    if candidate.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let (local, domain) = candidate.split_once('@')?;
    if !is_plausible_local_part(local) || !is_plausible_domain(domain) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Whether `candidate` looks like an e-mail address.
pub fn is_plausible_email(candidate: &str) -> bool {
    normalise_email(candidate).is_some()
}

fn is_plausible_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn is_plausible_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let top_level_ok = labels
        .last()
        .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    labels.len() >= 2 && top_level_ok && labels.iter().all(|label| is_valid_dns_label(label))
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
        ] {
            assert!(!is_plausible_email(candidate), "{candidate:?}");
        }
        assert_eq!(decode_email("N/A", Some("javascript:noSpam('', '')")), None);
        let long_local = format!("{}@b.com", "a".repeat(65));
        assert!(!is_plausible_email(&long_local));
    }
}
