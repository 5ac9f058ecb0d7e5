//! Escaping scraped text for the Markdown report.
//!
//! Every string that came from a web page (track names, slugs, field values,
//! error messages, URLs shown as text) goes through one of these functions
//! before it reaches the report, so that no value can break the document's
//! structure (end a table cell, start a list, open emphasis or a link) or
//! inject HTML. The rules follow CommonMark plus the GitHub tables extension:
//!
//! - [`text`]: inline text, safe in a paragraph, a list item or a table cell.
//!   Markdown punctuation is backslash-escaped, `<`, `>` and `&` become
//!   entities (so `<script>` is text, never a tag), line breaks and control
//!   characters become spaces, and bidirectional-override characters are
//!   dropped (they could make a value display as something else).
//! - [`code`] and [`cell_code`]: an inline code span, its fence one backtick
//!   longer than the longest run inside the value, padded when the value
//!   starts or ends with a backtick or a space. Inside a table cell (`cell_code`)
//!   pipes are escaped as `\|`, which the table parser removes again before
//!   it reads the span.
//! - [`strong`]: inline text in bold, trimmed so the `**` delimiters always
//!   work.
//! - [`code_block`]: a fenced code block for multi-line messages.
//!
//! What a value *means* survives: rendering the escaped Markdown gives back
//! the original text (with line breaks as spaces), which the property tests
//! below check with a real CommonMark parser.

use std::borrow::Cow;

/// What [`code`] and [`cell_code`] show for an empty value (a code span
/// cannot be empty).
pub const EMPTY_VALUE: &str = "*(empty)*";

/// A character as it may appear on one line of the report: line breaks,
/// tabs and other control characters become a space; bidirectional
/// formatting characters are dropped; NUL becomes U+FFFD (as CommonMark
/// itself does).
fn one_line_char(c: char) -> Option<char> {
    match c {
        '\0' => Some('\u{FFFD}'),
        c if c.is_control() => Some(' '),
        '\u{2028}' | '\u{2029}' => Some(' '),
        c if is_bidi_control(c) => None,
        c => Some(c),
    }
}

/// Characters that reorder how the text around them is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// `s` on one line: what [`text`] and [`code`] display, before escaping.
///
/// `"a\r\nb"` becomes `"a  b"`: each line-break character is one space.
pub fn one_line(s: &str) -> String {
    s.chars().filter_map(one_line_char).collect()
}

/// Escape `s` as inline Markdown text. Safe in paragraphs, list items and
/// table cells; never produces a raw `|`, `<`, `>` or line break.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars().filter_map(one_line_char) {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // Emphasis, code, links and images, headings, tables,
            // strikethrough, math, and the escape character itself.
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '$' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` as inline text in bold. Leading and trailing whitespace is trimmed
/// (bold delimiters next to a space do not open or close); an empty value
/// shows as `*(empty)*`.
pub fn strong(s: &str) -> String {
    let line = one_line(s);
    let trimmed = line.trim();
    if trimmed.is_empty() {
        EMPTY_VALUE.to_owned()
    } else {
        format!("**{}**", text(trimmed))
    }
}

/// `s` as an inline code span, for use outside tables.
pub fn code(s: &str) -> String {
    code_span(&one_line(s), false)
}

/// `s` as an inline code span inside a table cell: pipes escaped.
pub fn cell_code(s: &str) -> String {
    code_span(&one_line(s), true)
}

fn code_span(content: &str, in_table: bool) -> String {
    if content.is_empty() {
        return EMPTY_VALUE.to_owned();
    }
    let fence = "`".repeat(longest_run(content, '`') + 1);
    // CommonMark strips one space from each side of a span whose content
    // begins and ends with a space (and is not all spaces); pad so that a
    // value starting or ending with a backtick or a space survives.
    let all_spaces = content.chars().all(|c| c == ' ');
    let pad = !all_spaces && (content.starts_with(['`', ' ']) || content.ends_with(['`', ' ']));
    let body: Cow<'_, str> = if in_table && content.contains('|') {
        Cow::Owned(content.replace('|', "\\|"))
    } else {
        Cow::Borrowed(content)
    };
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{body}{space}{fence}")
}

/// A fenced code block holding `s` verbatim (line breaks kept, other control
/// characters as spaces). Ends with a line break.
pub fn code_block(s: &str) -> String {
    let normalised = s.replace("\r\n", "\n").replace('\r', "\n");
    let body: String = normalised
        .split('\n')
        .map(|line| line.chars().filter_map(one_line_char).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n");
    let fence = "`".repeat((longest_run(&body, '`') + 1).max(3));
    format!("{fence}text\n{body}\n{fence}\n")
}

/// Cut `s` to at most `max_chars` characters, marking the cut with `…` and
/// the original length.
pub fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    let total = s.chars().count();
    if total <= max_chars {
        return Cow::Borrowed(s);
    }
    let kept: String = s.chars().take(max_chars).collect();
    Cow::Owned(format!("{kept}… ({total} characters)"))
}

fn longest_run(s: &str, c: char) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for ch in s.chars() {
        if ch == c {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    fn options() -> Options {
        Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM
    }

    /// Whether `s` has a `|` not preceded by a backslash.
    fn has_unescaped_pipe(s: &str) -> bool {
        let mut previous = None;
        for c in s.chars() {
            if c == '|' && previous != Some('\\') {
                return true;
            }
            previous = Some(c);
        }
        false
    }

    /// The text of each cell of the table's body rows, and whether any HTML
    /// showed up anywhere in the document.
    fn table_cells(markdown: &str) -> (Vec<Vec<String>>, bool) {
        let mut rows = Vec::new();
        let mut in_body = false;
        let mut html = false;
        let mut cell: Option<String> = None;
        for event in Parser::new_ext(markdown, options()) {
            match event {
                Event::Html(_) | Event::InlineHtml(_) => html = true,
                Event::End(TagEnd::TableHead) => in_body = true,
                Event::Start(Tag::TableRow) if in_body => rows.push(Vec::new()),
                Event::Start(Tag::TableCell) if in_body => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) if in_body => {
                    if let (Some(row), Some(text)) = (rows.last_mut(), cell.take()) {
                        row.push(text);
                    }
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(c) = cell.as_mut() {
                        c.push_str(&t);
                    }
                }
                Event::Start(Tag::Emphasis) => {
                    if let Some(c) = cell.as_mut() {
                        c.push_str("<em>");
                    }
                }
                _ => {}
            }
        }
        (rows, html)
    }

    /// The events of a one-line paragraph, as (kind, text) pairs.
    fn inline_events(markdown: &str) -> Vec<(String, String)> {
        Parser::new_ext(markdown, options())
            .filter_map(|event| match event {
                Event::Text(t) => Some(("text".to_owned(), t.to_string())),
                Event::Code(t) => Some(("code".to_owned(), t.to_string())),
                Event::Html(t) | Event::InlineHtml(t) => Some(("html".to_owned(), t.to_string())),
                Event::Start(tag) => Some(("start".to_owned(), format!("{tag:?}"))),
                Event::End(tag) => Some(("end".to_owned(), format!("{tag:?}"))),
                Event::SoftBreak | Event::HardBreak => Some(("break".to_owned(), String::new())),
                _ => None,
            })
            .collect()
    }

    /// Adjacent text events joined (the parser splits text at escapes).
    fn joined_text(events: &[(String, String)]) -> String {
        events
            .iter()
            .filter(|(kind, _)| kind == "text")
            .map(|(_, t)| t.as_str())
            .collect()
    }

    #[test]
    fn text_escapes_markdown_and_html() {
        assert_eq!(text("| pipes |"), "\\| pipes \\|");
        assert_eq!(
            text("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(text("**bold** _it_"), "\\*\\*bold\\*\\* \\_it\\_");
        assert_eq!(
            text("[link](javascript:alert(1))"),
            "\\[link\\](javascript:alert(1))"
        );
        assert_eq!(text("# heading"), "\\# heading");
        assert_eq!(text("a & b"), "a &amp; b");
        assert_eq!(text("&lt;"), "&amp;lt;");
        assert_eq!(text("back\\slash `tick`"), "back\\\\slash \\`tick\\`");
        assert_eq!(
            text("~~strike~~ $x$ ![img]"),
            "\\~\\~strike\\~\\~ \\$x\\$ \\!\\[img\\]"
        );
    }

    #[test]
    fn text_puts_everything_on_one_line() {
        assert_eq!(text("a\nb\r\nc\rd\te"), "a b  c d e");
        assert_eq!(text("a\u{2028}b\u{85}c"), "a b c");
        assert_eq!(text("nul\0"), "nul\u{FFFD}");
        // Right-to-left override dropped: it would display "gpj.exe" reversed.
        assert_eq!(text("evil\u{202E}gpj.exe"), "evilgpj.exe");
    }

    #[test]
    fn text_leaves_ordinary_names_alone() {
        assert_eq!(
            text("Circuit Pointe-Noire (Québec) +1 252-291-4088 https://a.liverc.com/"),
            "Circuit Pointe-Noire (Québec) +1 252-291-4088 https://a.liverc.com/"
        );
    }

    #[test]
    fn strong_trims_and_marks_empty_names() {
        assert_eq!(strong("  Name  "), "**Name**");
        assert_eq!(strong(" \n "), EMPTY_VALUE);
        assert_eq!(strong("*x*"), "**\\*x\\***");
    }

    #[test]
    fn code_fences_are_longer_than_any_backtick_run() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("a``b`c"), "```a``b`c```");
        assert_eq!(code("`start"), "`` `start ``");
        assert_eq!(code("end`"), "`` end` ``");
        assert_eq!(code(" spaced "), "`  spaced  `");
        assert_eq!(code("   "), "`   `");
        assert_eq!(code(""), EMPTY_VALUE);
        assert_eq!(code("a\nb"), "`a b`");
    }

    #[test]
    fn cell_code_escapes_pipes_only_in_tables() {
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(cell_code("a|b"), "`a\\|b`");
        assert_eq!(cell_code("a\\|b"), "`a\\\\|b`");
    }

    #[test]
    fn code_block_keeps_lines_and_outfences_backticks() {
        assert_eq!(code_block("one\r\ntwo"), "```text\none\ntwo\n```\n");
        assert_eq!(
            code_block("```\nrm -rf\n````"),
            "`````text\n```\nrm -rf\n````\n`````\n"
        );
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdefghij", 10), "abcdefghij");
        assert_eq!(truncate("abcdefghijk", 4), "abcd… (11 characters)");
        assert_eq!(truncate("ééééé", 2), "éé… (5 characters)");
    }

    #[test]
    fn hostile_values_render_as_text_in_a_real_parser() {
        let hostile = [
            "| pipes |",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "**bold**",
            "line\nbreak",
            "[link](javascript:alert(1))",
            "`tick` ``two``",
            "# not a heading",
        ];
        for value in hostile {
            let markdown = format!(
                "| a | b |\n|---|---|\n| {} | {} |\n",
                text(value),
                cell_code(value)
            );
            let (rows, html) = table_cells(&markdown);
            assert!(!html, "{value:?} produced HTML:\n{markdown}");
            let expected = one_line(value);
            assert_eq!(
                rows,
                vec![vec![expected.trim().to_owned(), expected.clone()]],
                "{markdown}"
            );
        }
    }

    /// Printable ASCII (every Markdown metacharacter), line breaks, tabs,
    /// a few non-ASCII letters and spaces, and bidi controls.
    const HOSTILE: &str = "[ -~\n\r\t\u{a0}\u{2028}\u{202e}é漢🏁]{0,40}";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn escaped_text_never_has_a_raw_pipe_angle_or_line_break(s in HOSTILE) {
            let escaped = text(&s);
            prop_assert!(!has_unescaped_pipe(&escaped), "{escaped:?}");
            prop_assert!(!escaped.contains(['<', '>', '\n', '\r']), "{escaped:?}");
            let code = cell_code(&s);
            prop_assert!(!has_unescaped_pipe(&code), "{code:?}");
            prop_assert!(!code.contains(['\n', '\r']), "{code:?}");
        }

        #[test]
        fn table_cells_round_trip_through_a_commonmark_parser(s in HOSTILE) {
            let markdown = format!(
                "| a | b | c |\n|---|---|---|\n| {} | {} | end |\n",
                text(&s),
                cell_code(&s)
            );
            let (rows, html) = table_cells(&markdown);
            prop_assert!(!html, "HTML in {markdown:?}");
            let expected = one_line(&s);
            let expected_code = if expected.is_empty() {
                "<em>(empty)".to_owned()
            } else {
                expected.clone()
            };
            prop_assert_eq!(
                rows,
                vec![vec![
                    expected.trim_matches([' ', '\t']).to_owned(),
                    expected_code,
                    "end".to_owned()
                ]],
                "{:?}", markdown
            );
        }

        #[test]
        fn list_items_round_trip_through_a_commonmark_parser(s in HOSTILE) {
            let markdown = format!("1. {} — {}\n", strong(&s), code(&s));
            let events = inline_events(&markdown);
            prop_assert!(events.iter().all(|(kind, _)| kind != "html" && kind != "break"),
                "{markdown:?} → {events:?}");
            let expected = one_line(&s);
            if expected.trim().is_empty() {
                return Ok(());
            }
            // Exactly one bold span holding the whole trimmed value.
            let starts = events.iter().filter(|(k, t)| k == "start" && t == "Strong").count();
            prop_assert_eq!(starts, 1, "{:?} → {:?}", markdown, events);
            let strong_start = events.iter().position(|(k, t)| k == "start" && t == "Strong");
            let strong_end = events.iter().position(|(k, t)| k == "end" && t == "Strong");
            if let (Some(a), Some(b)) = (strong_start, strong_end) {
                prop_assert_eq!(joined_text(&events[a + 1..b]), expected.trim());
            }
            let codes: Vec<_> = events.iter().filter(|(k, _)| k == "code").collect();
            prop_assert_eq!(codes.len(), 1, "{:?} → {:?}", markdown, events);
            prop_assert_eq!(&codes[0].1, &expected);
        }
    }
}
