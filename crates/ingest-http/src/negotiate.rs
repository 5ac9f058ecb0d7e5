//! Proactive content negotiation (RFC 9110 §12.5.1): which of the
//! representations a route can send the request's `Accept` header prefers.
//!
//! Each media range of the header (`type/subtype`, `type/*` or `*/*`, with
//! parameters and a `q` weight from 0 to 1, default 1) is matched against
//! each [`Offer`]. An offer takes the weight of the most specific range that
//! matches it (`text/markdown;charset=utf-8` over `text/markdown` over
//! `text/*` over `*/*`), so `text/*;q=0.2, text/markdown` weighs Markdown 1.
//! A weight of 0 means "not acceptable". The heaviest offer wins; between
//! equal weights, the one named by the more specific range (so
//! `application/json, */*` is JSON), then the server's order (so `*/*`, or
//! `application/json, text/markdown`, gives the first offer).
//!
//! No `Accept` header means anything is acceptable: the first offer, the
//! route's default. A malformed element of the header is ignored (the RFC
//! lets a server disregard what it cannot parse); a header with nothing
//! parseable left counts as absent.

use axum::http::{HeaderMap, header};

/// A representation a route can send: its media type's essence
/// (`type/subtype`, lowercase) and the parameters it has (lowercase names),
/// which a range's parameters must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    pub(crate) essence: &'static str,
    pub(crate) params: &'static [(&'static str, &'static str)],
}

/// Which of `offers` the request's `Accept` header prefers (its index), or
/// `None` when it accepts none of them (a `406`). `offers` in the server's
/// order of preference; the first is the default.
pub(crate) fn choose(headers: &HeaderMap, offers: &[Offer]) -> Option<usize> {
    let ranges: Vec<MediaRange> = headers
        .get_all(header::ACCEPT)
        .iter()
        // A value that is not visible ASCII cannot be a media range.
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_list)
        .filter_map(MediaRange::parse)
        .collect();
    if ranges.is_empty() {
        return (!offers.is_empty()).then_some(0);
    }
    offers
        .iter()
        .enumerate()
        .filter_map(|(index, offer)| {
            // The most specific matching range decides the weight; among
            // equally specific ones (a repeated range), the heaviest.
            let (specificity, quality) = ranges
                .iter()
                .filter_map(|range| range.specificity(offer).map(|s| (s, range.quality)))
                .max()?;
            (quality > 0).then_some((quality, specificity, index))
        })
        // Heaviest, then most specific, then first in the server's order.
        .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.cmp(&a.2)))
        .map(|(_, _, index)| index)
}

/// One element of the header: a media range and its weight (0–1000).
#[derive(Debug, PartialEq, Eq)]
struct MediaRange {
    kind: String,
    subtype: String,
    /// Lowercase names; values as sent, unquoted.
    params: Vec<(String, String)>,
    quality: u16,
}

impl MediaRange {
    /// `type/subtype *( OWS ";" OWS name=value ) [ weight *( accept-ext ) ]`;
    /// `None` when malformed.
    fn parse(element: &str) -> Option<Self> {
        let mut parts = split_outside_quotes(element, ';').into_iter();
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        if !is_token(kind) || !is_token(subtype) || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut params = Vec::new();
        let mut quality = 1000;
        for part in parts {
            let (name, value) = part.trim().split_once('=')?;
            let name = name.to_ascii_lowercase();
            if !is_token(&name) {
                return None;
            }
            if name == "q" {
                quality = parse_quality(value)?;
                // What follows the weight are accept extensions, not
                // parameters of the range.
                break;
            }
            params.push((name, unquote(value)?));
        }
        Some(Self {
            kind: kind.to_ascii_lowercase(),
            subtype: subtype.to_ascii_lowercase(),
            params,
            quality,
        })
    }

    /// How specifically this range names `offer` (0 `*/*` … 3 the type
    /// with parameters), or `None` when it does not match it.
    fn specificity(&self, offer: &Offer) -> Option<u8> {
        let (kind, subtype) = offer.essence.split_once('/')?;
        let by_type = match (self.kind.as_str(), self.subtype.as_str()) {
            ("*", "*") => 0,
            (k, "*") if k == kind => 1,
            (k, s) if k == kind && s == subtype => 2,
            _ => return None,
        };
        let params_match = self.params.iter().all(|(name, value)| {
            offer
                .params
                .iter()
                .any(|(n, v)| n == name && v.eq_ignore_ascii_case(value))
        });
        params_match.then_some(if self.params.is_empty() {
            by_type
        } else {
            by_type + 1
        })
    }
}

/// The elements of a comma-separated list, empty ones dropped.
fn split_list(value: &str) -> Vec<&str> {
    split_outside_quotes(value, ',')
        .into_iter()
        .filter(|element| !element.trim().is_empty())
        .collect()
}

/// `s` split at `separator` wherever it is not inside a quoted string.
fn split_outside_quotes(s: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// RFC 9110 `token`: one or more of the visible characters that are not
/// delimiters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A parameter value: a token, or a quoted string without its quotes and
/// escapes.
fn unquote(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return None,
                c => out.push(c),
            }
        }
        Some(out)
    } else {
        is_token(value).then(|| value.to_owned())
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_quality(value: &str) -> Option<u16> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const MARKDOWN: Offer = Offer {
        essence: "text/markdown",
        params: &[("charset", "utf-8")],
    };
    const JSON: Offer = Offer {
        essence: "application/json",
        params: &[("charset", "utf-8")],
    };
    const OFFERS: &[Offer] = &[MARKDOWN, JSON];

    fn pick(accept: &[&str]) -> Option<&'static str> {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).expect("value"));
        }
        choose(&headers, OFFERS).map(|i| OFFERS[i].essence)
    }

    const MD: Option<&str> = Some("text/markdown");
    const JS: Option<&str> = Some("application/json");

    #[test]
    fn no_header_or_anything_goes_is_the_default() {
        assert_eq!(pick(&[]), MD);
        assert_eq!(pick(&["*/*"]), MD);
        assert_eq!(pick(&["text/*"]), MD);
        assert_eq!(pick(&["text/markdown"]), MD);
        assert_eq!(pick(&["TEXT/Markdown; Charset=UTF-8"]), MD);
    }

    #[test]
    fn an_explicit_type_is_chosen() {
        assert_eq!(pick(&["application/json"]), JS);
        assert_eq!(pick(&["application/*"]), JS);
        assert_eq!(pick(&["application/json; charset=utf-8"]), JS);
        assert_eq!(pick(&["application/json; charset=\"UTF-8\""]), JS);
    }

    #[test]
    fn weights_decide() {
        assert_eq!(pick(&["text/markdown;q=0.5, application/json"]), JS);
        assert_eq!(pick(&["application/json;q=0.9, text/markdown"]), MD);
        assert_eq!(pick(&["application/json;q=1.0, text/markdown;q=0.999"]), JS);
        assert_eq!(pick(&["application/json;q=0.001, */*;q=0"]), JS);
        // Spread over several header lines, as a list may be.
        assert_eq!(pick(&["text/markdown;q=0.2", "application/json;q=0.3"]), JS);
    }

    #[test]
    fn a_tie_goes_to_the_more_specific_range_then_to_the_default() {
        // What HTTP libraries send: JSON named, anything else as a fallback.
        assert_eq!(pick(&["application/json, text/plain, */*"]), JS);
        assert_eq!(pick(&["application/json, */*;q=0.8"]), JS);
        assert_eq!(pick(&["application/json, text/markdown"]), MD);
        assert_eq!(pick(&["text/markdown, application/json"]), MD);
    }

    #[test]
    fn the_most_specific_range_sets_the_weight() {
        assert_eq!(
            pick(&["text/*;q=0.9, text/markdown;q=0.1, application/json;q=0.5"]),
            JS
        );
        assert_eq!(
            pick(&["*/*;q=0.1, text/*;q=0.8, application/json;q=0.5"]),
            MD
        );
        assert_eq!(
            pick(&[
                "text/markdown;charset=utf-8;q=0.9, text/markdown;q=0.1, application/json;q=0.5"
            ]),
            MD
        );
        // Excluded by name, even though a wildcard admits it.
        assert_eq!(pick(&["*/*, text/markdown;q=0"]), JS);
        assert_eq!(pick(&["*/*, application/json;q=0"]), MD);
    }

    #[test]
    fn nothing_acceptable() {
        assert_eq!(pick(&["image/png"]), None);
        assert_eq!(pick(&["text/html, application/xml;q=0.9"]), None);
        assert_eq!(pick(&["*/*;q=0"]), None);
        assert_eq!(pick(&["text/markdown;q=0, application/json;q=0.000"]), None);
        // A parameter the representation does not have.
        assert_eq!(pick(&["text/markdown;charset=latin1"]), None);
        assert_eq!(pick(&["application/json;profile=x"]), None);
    }

    #[test]
    fn malformed_elements_are_ignored() {
        // Each of these alone is as if there were no header.
        for bad in [
            "markdown",
            "*/json",
            "text/",
            "/json",
            "application/json;q=2",
            "application/json;q=0.5000",
            "application/json;q=",
            "application/json;q=abc",
            "application/json;q=-1",
            "application/json;=x",
            "application/json;p=\"unterminated",
            "text mark/down",
            ",,",
        ] {
            assert_eq!(pick(&[bad]), MD, "{bad}");
        }
        // …and the rest of the header still counts.
        assert_eq!(
            pick(&["application/json;q=2, application/json;q=0.4, image/png"]),
            JS
        );
    }

    #[test]
    fn accept_extensions_after_the_weight_are_not_parameters() {
        assert_eq!(
            pick(&["application/json;q=0.5;ext=1, text/markdown;q=0.4"]),
            JS
        );
    }

    #[test]
    fn quoted_strings_may_hold_separators() {
        assert_eq!(
            pick(&["application/json;charset=\"utf-8\";q=0.7, text/markdown;q=\"0.5\""]),
            JS,
            "a quoted weight is malformed: that element is ignored"
        );
        assert_eq!(
            split_outside_quotes("a/b;x=\"1,2;3\", c/d", ','),
            vec!["a/b;x=\"1,2;3\"", " c/d"]
        );
    }

    #[test]
    fn weights_in_thousandths() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("1.001"), None);
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0.123"), Some(123));
        assert_eq!(parse_quality(".5"), None);
        assert_eq!(parse_quality("0."), Some(0));
    }
}
