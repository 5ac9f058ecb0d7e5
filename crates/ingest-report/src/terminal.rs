//! A run report for a terminal: the Markdown parsed (CommonMark with
//! tables) and laid out as text, the way `ingest-cli reports show` prints it
//! when standard output is a terminal.
//!
//! What the Markdown escapes for renderers (`&amp;`, `\_`, `\|`) reads as
//! the value again; tables are aligned in columns (by display width, so
//! "Québec" or a CJK name lines up), right-aligned where the Markdown says
//! `---:`; headings, bold and code are set off with ANSI styles when
//! `styled`, and by layout alone otherwise (no escape codes at all: what
//! `NO_COLOR` and a dumb terminal ask for). Links keep their address after
//! the text when the two differ.

use pulldown_cmark::{Alignment, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use unicode_width::UnicodeWidthStr;

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// `markdown` laid out for a terminal; see the module documentation.
pub fn render_terminal(markdown: &str, styled: bool) -> String {
    let mut r = Renderer {
        styled,
        ..Renderer::default()
    };
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        r.event(event);
    }
    r.finish()
}

/// One open list: its next number (`None`: bullets).
#[derive(Debug)]
struct List {
    next: Option<u64>,
}

/// A table being collected: cells are laid out once all are known.
#[derive(Debug, Default)]
struct Table {
    alignments: Vec<Alignment>,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    in_head: bool,
}

#[derive(Debug, Default)]
struct Renderer {
    styled: bool,
    out: String,
    /// Text of the current table cell, while in a table.
    cell: Option<String>,
    table: Option<Table>,
    lists: Vec<List>,
    /// A link's address, until its text has been written.
    links: Vec<String>,
    /// Text written since the link started (to compare with its address).
    link_text: String,
    /// Whether the block being written needs a blank line before the next.
    block_open: bool,
}

impl Renderer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                self.style(CYAN);
                self.text(&code);
                self.style(RESET);
            }
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.newline_in_block(),
            Event::Rule => {
                self.blank_line();
                self.push("────────────────────────────────────────");
                self.block_open = true;
            }
            // The report writes no HTML; an inline tag or entity someone
            // put in a value was escaped and arrives as text.
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => {
                self.blank_line();
                self.style(BOLD);
                if level == HeadingLevel::H1 {
                    self.style(CYAN);
                }
            }
            Tag::Paragraph if self.lists.is_empty() => self.blank_line(),
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.blank_line();
                }
                self.lists.push(List { next: start });
            }
            Tag::Item => {
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
                let depth = self.lists.len().saturating_sub(1);
                let marker = match self.lists.last_mut() {
                    Some(List { next: Some(n) }) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        marker
                    }
                    _ => "• ".to_owned(),
                };
                self.push(&"   ".repeat(depth));
                self.push(&marker);
            }
            Tag::Emphasis => self.style(DIM),
            Tag::Strong => self.style(BOLD),
            Tag::Link { dest_url, .. } => {
                self.links.push(dest_url.into_string());
                self.link_text.clear();
            }
            Tag::Table(alignments) => {
                self.blank_line();
                self.table = Some(Table {
                    alignments,
                    ..Table::default()
                });
            }
            Tag::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = true;
                }
            }
            Tag::TableRow => {
                if let Some(t) = &mut self.table {
                    t.rows.push(Vec::new());
                }
            }
            Tag::TableCell => self.cell = Some(String::new()),
            Tag::CodeBlock(_) | Tag::BlockQuote(_) => self.blank_line(),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Heading(level) => {
                self.style(RESET);
                if level == HeadingLevel::H1 && !self.styled {
                    // Without styles, an underline says "title".
                    let width = self
                        .out
                        .rsplit('\n')
                        .next()
                        .map_or(0, UnicodeWidthStr::width);
                    self.out.push('\n');
                    self.push(&"=".repeat(width));
                }
                self.block_open = true;
            }
            TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::BlockQuote(_) => {
                self.block_open = true;
            }
            TagEnd::List(_) => {
                self.lists.pop();
                self.block_open = true;
            }
            TagEnd::Emphasis | TagEnd::Strong => self.style(RESET),
            TagEnd::Link => {
                if let Some(url) = self.links.pop()
                    && self.link_text.trim() != url
                {
                    let shown = format!(" <{url}>");
                    self.text(&shown);
                }
            }
            TagEnd::TableHead => {
                if let Some(t) = &mut self.table {
                    t.in_head = false;
                    // The head's cells arrive without a row of their own.
                    if let Some(head) = t.rows.pop() {
                        t.head = head;
                    }
                }
            }
            TagEnd::TableCell => {
                let cell = self.cell.take().unwrap_or_default();
                if let Some(t) = &mut self.table {
                    if t.in_head && t.rows.is_empty() {
                        t.rows.push(Vec::new());
                    }
                    if let Some(row) = t.rows.last_mut() {
                        row.push(cell);
                    }
                }
            }
            TagEnd::Table => {
                if let Some(table) = self.table.take() {
                    let text = self.layout(&table);
                    self.push(&text);
                    self.block_open = true;
                }
            }
            _ => {}
        }
    }

    /// A table as aligned columns: a bold head (or `─` under it without
    /// styles), two spaces between columns. An all-empty head (the
    /// report's key/value tables) is left out.
    fn layout(&self, table: &Table) -> String {
        let columns = table
            .rows
            .iter()
            .map(Vec::len)
            .chain([table.head.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        let has_head = table.head.iter().any(|c| !plain(c).trim().is_empty());
        let shown_rows = has_head
            .then_some(&table.head)
            .into_iter()
            .chain(&table.rows);
        for row in shown_rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(plain(cell).width());
            }
        }
        let line = |row: &[String]| -> String {
            let mut out = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let pad = width.saturating_sub(plain(cell).width());
                let right = table.alignments.get(i) == Some(&Alignment::Right);
                if i > 0 {
                    out.push_str("  ");
                }
                if right {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    if i + 1 < widths.len() {
                        out.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = String::new();
        if has_head {
            if self.styled {
                out.push_str(BOLD);
                out.push_str(&line(&table.head));
                out.push_str(RESET);
            } else {
                out.push_str(&line(&table.head));
                out.push('\n');
                let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
                out.push_str(&"─".repeat(total));
            }
            out.push('\n');
        }
        for row in &table.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out.pop();
        out
    }

    fn text(&mut self, text: &str) {
        if !self.links.is_empty() {
            self.link_text.push_str(text);
        }
        match &mut self.cell {
            Some(cell) => cell.push_str(text),
            None => self.out.push_str(text),
        }
    }

    /// An ANSI style, when styled (inside a table cell too).
    fn style(&mut self, code: &str) {
        if !self.styled {
            return;
        }
        match &mut self.cell {
            Some(cell) => cell.push_str(code),
            None => self.out.push_str(code),
        }
    }

    fn push(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// A line break inside a paragraph or item, indented under the item.
    fn newline_in_block(&mut self) {
        self.out.push('\n');
        self.out.push_str(&"   ".repeat(self.lists.len()));
    }

    /// Ends the previous block with one blank line.
    fn blank_line(&mut self) {
        if self.block_open || !self.out.is_empty() {
            while !self.out.ends_with("\n\n") && !self.out.is_empty() {
                self.out.push('\n');
            }
        }
        self.block_open = false;
    }

    fn finish(mut self) -> String {
        while self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out.push('\n');
        self.out
    }
}

/// `s` without ANSI escape sequences (for measuring a styled cell).
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "\
# Track sync report — run 0192f1c3

| | |
|---|---|
| Run | `0192f1c3` |
| Source | liverc |

## Summary

| | |
|---|---:|
| New | 2 |
| Unchanged | 1,034 |

## New tracks

1. **Mesa Grande RC Park** — `mesagranderc` — Tucson, AZ, US — https://mesagranderc.liverc.com/
2. **R&amp;R Raceway** — `rr` — Québec, CA

## Updated tracks

1. **Thunder Alley** (`thunderalley`)
   - phone: `+1 252` → `+1 253`
   - facebook\\_url: `https://facebook.com/corc` → —

## Metadata errors

| track | error | attempts |
|---|---|---:|
| `fastlaneoval` | transient | 5 |
| `b\\|c` | format | 1 |

*Churn only*: counted, [not listed](https://example.test/churn).
";

    #[test]
    fn plain_text_unescapes_and_aligns() {
        let text = render_terminal(REPORT, false);
        for line in text.lines() {
            assert!(!line.starts_with('|'), "a Markdown table row left: {line}");
        }
        assert!(!text.contains('\x1b'), "no escape codes unstyled");
        assert!(text.contains("R&R Raceway"), "{text}");
        assert!(!text.contains("&amp;"), "{text}");
        assert!(text.contains("facebook_url"), "{text}");
        assert!(text.contains("b|c"), "{text}");
        assert!(!text.contains("\\_"), "{text}");
        // Right-aligned numbers; the empty head left out.
        assert!(
            text.contains("New            2\nUnchanged  1,034"),
            "{text}"
        );
        assert!(
            text.contains("track         error      attempts\n"),
            "{text}"
        );
        assert!(!text.contains('`'), "{text}");
        assert!(text.contains("fastlaneoval  transient         5"), "{text}");
        // The title underlined; lists numbered and nested.
        assert!(
            text.starts_with(
                "Track sync report — run 0192f1c3\n================================\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n1. Thunder Alley (thunderalley)\n   • phone: +1 252 → +1 253\n"),
            "{text}"
        );
        // A link keeps its address.
        assert!(
            text.contains("not listed <https://example.test/churn>"),
            "{text}"
        );
    }

    #[test]
    fn styled_text_sets_off_headings_and_code() {
        let text = render_terminal(REPORT, true);
        assert!(
            text.contains(&format!("{BOLD}{CYAN}Track sync report")),
            "{text:?}"
        );
        assert!(
            text.contains(&format!("{CYAN}mesagranderc{RESET}")),
            "{text:?}"
        );
        // Widths ignore the escape codes: columns still line up.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| plain(l).starts_with("fastlaneoval"))
            .collect();
        assert_eq!(plain(lines[0]), "fastlaneoval  transient         5");
    }

    #[test]
    fn wide_characters_are_measured_by_display_width() {
        let md = "| a | b |\n|---|---|\n| 東京 | x |\n| ab | y |\n";
        let text = render_terminal(md, false);
        assert!(text.contains("東京  x\nab    y"), "{text}");
    }
}
