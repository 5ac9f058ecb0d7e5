//! Text helpers shared by the page parsers: whitespace collapsing, text of an
//! element with `<br>`s and block boundaries kept as line breaks, counts with
//! thousands separators, and protocol-relative URLs made absolute.
//!
//! Every function here is total: it returns `None` (or an empty string) on
//! input it cannot use and never panics, whatever the input.

use scraper::{ElementRef, Node};

/// Collapses every run of whitespace (Unicode `White_Space`, so non-breaking
/// spaces too) to one ASCII space and trims both ends.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// [`collapse_ws`], then `None` for an empty result.
pub(crate) fn clean(s: &str) -> Option<String> {
    let collapsed = collapse_ws(s);
    (!collapsed.is_empty()).then_some(collapsed)
}

/// The element's whole text (entities are already decoded by the HTML
/// parser), whitespace collapsed; `None` when empty.
pub(crate) fn element_text(el: ElementRef<'_>) -> Option<String> {
    let raw: String = el.text().collect();
    clean(&raw)
}

/// Elements whose boundaries end a line of text, as a browser would render them.
const BLOCK_ELEMENTS: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

/// Elements whose content is never visible text.
const INVISIBLE_ELEMENTS: &[&str] = &["script", "style", "noscript", "template", "head", "title"];

/// The text of `el` as lines: `<br>` and the start and end of block elements
/// become line breaks, source newlines and other whitespace collapse within a
/// line, empty lines are dropped, lines are joined with `\n`.
///
/// The walk is iterative, so arbitrarily deep nesting cannot overflow the stack.
pub(crate) fn text_lines(el: ElementRef<'_>) -> Vec<String> {
    let mut raw = String::new();
    // Pre-order walk with explicit "close" steps, using only parent/sibling links.
    let mut current = el.first_child();
    while let Some(node) = current {
        let mut descend = false;
        match node.value() {
            // Source line breaks are plain whitespace; only markup breaks lines.
            Node::Text(text) => raw.extend(text.chars().map(|c| match c {
                '\n' | '\r' => ' ',
                other => other,
            })),
            Node::Element(element) => {
                let name = element.name();
                if name == "br" || BLOCK_ELEMENTS.contains(&name) {
                    raw.push('\n');
                }
                descend = !INVISIBLE_ELEMENTS.contains(&name);
            }
            _ => {}
        }
        let first_child = if descend { node.first_child() } else { None };
        current = match first_child {
            Some(child) => Some(child),
            None => {
                // Climb until a node has a next sibling, closing blocks on the way.
                let mut climb = Some(node);
                let mut next = None;
                while let Some(up) = climb {
                    if up.id() == el.id() {
                        break;
                    }
                    if let Some(element) = up.value().as_element()
                        && BLOCK_ELEMENTS.contains(&element.name())
                    {
                        raw.push('\n');
                    }
                    if let Some(sibling) = up.next_sibling() {
                        next = Some(sibling);
                        break;
                    }
                    climb = up.parent();
                }
                next
            }
        };
    }
    raw.split('\n').filter_map(clean).collect()
}

/// Parses a count printed with thousands separators (`6,753,663`,
/// `6.753.663`, `6 753 663`, non-breaking or thin spaces, apostrophes).
/// Anything else, or a value beyond `u64`, is `None`.
pub(crate) fn parse_count(s: &str) -> Option<u64> {
    let digits: String = s
        .trim()
        .chars()
        .filter(|c| {
            !matches!(
                c,
                ',' | '.' | ' ' | '\'' | '\u{a0}' | '\u{202f}' | '\u{2009}'
            )
        })
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Makes a protocol-relative URL (`//host/path`) absolute with `https:`;
/// other values are returned trimmed, empty ones as `None`.
pub(crate) fn absolute_https(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    Some(match url.strip_prefix("//") {
        Some(rest) => format!("https://{rest}"),
        None => url.to_owned(),
    })
}

/// ASCII case-insensitive `starts_with`, safe on any UTF-8 input.
pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// ASCII case-insensitive `strip_prefix`, safe on any UTF-8 input.
pub(crate) fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if starts_with_ignore_case(s, prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are; invalid
/// UTF-8 is replaced). `+` is left alone: in `tel:` and paths it is literal.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Placeholders a site prints for "no value".
pub(crate) fn is_placeholder(value: &str) -> bool {
    let value = value.trim();
    value.is_empty()
        || [
            "n/a", "na", "n.a.", "none", "-", "--", "\u{2014}", "tba", "tbd", "null",
        ]
        .iter()
        .any(|placeholder| placeholder.eq_ignore_ascii_case(value))
}

#[cfg(test)]
mod tests {
    use scraper::{Html, Selector};

    use super::*;

    fn first<'a>(html: &'a Html, css: &str) -> ElementRef<'a> {
        let selector = Selector::parse(css).expect("test selector");
        html.select(&selector).next().expect("element in fixture")
    }

    #[test]
    fn collapse_handles_tabs_newlines_and_nbsp() {
        assert_eq!(collapse_ws("\t a \n\u{a0} b  "), "a b");
        assert_eq!(clean(" \n\t "), None);
        assert_eq!(clean(" x "), Some("x".to_owned()));
    }

    #[test]
    fn counts_accept_common_separators_only() {
        assert_eq!(parse_count("6,753,663"), Some(6_753_663));
        assert_eq!(parse_count(" 6.753.663 "), Some(6_753_663));
        assert_eq!(parse_count("6 753\u{a0}663"), Some(6_753_663));
        assert_eq!(parse_count("898"), Some(898));
        assert_eq!(parse_count("0"), Some(0));
        assert_eq!(parse_count(""), None);
        assert_eq!(parse_count(",,"), None);
        assert_eq!(parse_count("-5"), None);
        assert_eq!(parse_count("+5"), None);
        assert_eq!(parse_count("12a"), None);
        assert_eq!(parse_count("99999999999999999999999"), None);
    }

    #[test]
    fn text_lines_break_on_br_and_blocks_only() {
        let html = Html::parse_fragment(
            "<div id=d><hr>One<br>two\n   words<br><br>\
             <p>para <b>bold</b></p>after<script>var x = 1;</script><ul><li>item</li></ul></div>",
        );
        let lines = text_lines(first(&html, "#d"));
        assert_eq!(lines, ["One", "two words", "para bold", "after", "item"]);
    }

    #[test]
    fn text_lines_survive_deep_nesting() {
        let depth = 20_000;
        let html = format!(
            "<div id=d>{}deep{}</div>",
            "<span>".repeat(depth),
            "</span>".repeat(depth)
        );
        let doc = Html::parse_fragment(&html);
        assert_eq!(text_lines(first(&doc, "#d")), ["deep"]);
    }

    #[test]
    fn element_text_joins_inline_elements_like_a_browser() {
        let html = Html::parse_fragment("<p id=p><b>a</b><i>b</i>  c&amp;d</p>");
        assert_eq!(element_text(first(&html, "#p")), Some("ab c&d".to_owned()));
    }

    #[test]
    fn absolute_https_only_touches_protocol_relative() {
        assert_eq!(absolute_https("//a.b/c"), Some("https://a.b/c".to_owned()));
        assert_eq!(
            absolute_https(" http://a.b/ "),
            Some("http://a.b/".to_owned())
        );
        assert_eq!(absolute_https("  "), None);
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(
            percent_decode("tel:+1%20252-291-4088"),
            "tel:+1 252-291-4088"
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "\u{e9}");
        assert_eq!(percent_decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn placeholders() {
        for value in ["N/A", " n/a ", "", "-", "None", "\u{2014}"] {
            assert!(is_placeholder(value), "{value:?}");
        }
        assert!(!is_placeholder("+1 252-291-4088"));
    }

    #[test]
    fn prefix_helpers_are_char_boundary_safe() {
        assert!(starts_with_ignore_case("HTTPS://x", "https://"));
        assert!(!starts_with_ignore_case("h\u{e9}llo", "hx"));
        assert!(!starts_with_ignore_case("a\u{e9}", "ab"));
        assert_eq!(strip_prefix_ignore_case("\u{e9}\u{e9}\u{e9}", "ab"), None);
        assert_eq!(strip_prefix_ignore_case("Tel:+1", "tel:"), Some("+1"));
    }
}
