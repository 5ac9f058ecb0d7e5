//! Finds the catalogue's track rows in the page source without building a
//! document tree: the source of every `tr.clickable-row` that the selector
//! `table.track_list tbody tr.clickable-row` would match in the parsed
//! document, in document order.
//!
//! The [`html_scan`](super::html_scan) lexer supplies the tags; this module
//! follows the HTML tree builder's table insertion modes ("in table", "in
//! caption", "in table body", "in row", "in cell") closely enough to know,
//! for each row, where the parser opens it and where it closes it, including
//! implicit closes: a `<tr>`, `<tbody>`, `</tbody>`, `<table>` or
//! `</table>` ends an open row, a `<td>` or `<tr>` straight after `<table>`
//! implies a `<tbody>`, rows in `<thead>` and `<tfoot>` are not track rows, a
//! table inside a cell is a nested table (its rows count when a `tbody` of a
//! `table.track_list` encloses them), and end tags the tree builder ignores
//! are ignored. Markup outside tables is irrelevant to where rows start and
//! end, so it is only lexed.
//!
//! Memory is bounded by the nesting depth of tables plus the rows still open,
//! never by the page size. The limits are those of the lexer (no
//! `<select>`/`<frameset>`/foreign-content special cases) plus `<template>`
//! contents, which are treated as ordinary markup.

use std::collections::VecDeque;

use super::html_scan::{Lexer, Tag, TagKind, TagName};

/// The part of a table a row sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Head,
    Body,
    Foot,
}

impl Section {
    /// Markup that puts the tree builder where a row of this section is
    /// parsed on the page: "in table body", with this section open.
    fn context(self) -> &'static str {
        match self {
            Section::Head => "<table><thead>",
            Section::Body => "<table><tbody>",
            Section::Foot => "<table><tfoot>",
        }
    }

    fn of(name: TagName) -> Option<Self> {
        match name {
            TagName::Thead => Some(Section::Head),
            TagName::Tbody => Some(Section::Body),
            TagName::Tfoot => Some(Section::Foot),
            _ => None,
        }
    }
}

/// An open row: its id in the pending queue when it is a track row.
type RowSlot = Option<u64>;

/// The tree builder's insertion mode inside one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// "in table": no section open.
    Table,
    /// "in caption".
    Caption,
    /// "in table body".
    Section(Section),
    /// "in row".
    Row(Section, RowSlot),
    /// "in cell"; `header` for `th`.
    Cell {
        section: Section,
        row: RowSlot,
        header: bool,
    },
}

/// One open `table` element.
#[derive(Debug, Clone, Copy)]
struct Frame {
    mode: Mode,
    /// This table or an enclosing one is a `table.track_list`.
    in_track_list: bool,
    /// A `tbody` inside a `table.track_list` encloses this table.
    in_track_tbody: bool,
}

/// A track row whose start is known.
#[derive(Debug, Clone, Copy)]
struct Pending {
    start: usize,
    end: Option<usize>,
    section: Section,
}

/// One track row's source, and the markup to parse it after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowSource<'a> {
    /// From the row's `<tr` to where the parser closes the row.
    pub(crate) html: &'a str,
    /// `<table><tbody>` (or `<thead>`/`<tfoot>` for a row of a table nested
    /// in a track list's body): parsed after it, the row's `<tr>` meets the
    /// tree builder in the same mode and the same scope as on the page, so
    /// the same end tags close it.
    pub(crate) context: &'static str,
}

/// What a tag did to the current frame.
enum Step {
    /// Consumed (or ignored).
    Done,
    /// The mode changed; hand the same tag to the new mode.
    Reprocess,
}

/// Iterator over the source of the catalogue's track rows, in document
/// order. Each row runs from its `<tr` to where the parser closes it: just
/// past its `</tr>`, or the start of the tag that closes it implicitly, or
/// the end of the input.
#[derive(Debug)]
pub(crate) struct TrackRows<'a> {
    html: &'a str,
    lexer: Lexer<'a>,
    frames: Vec<Frame>,
    /// Track rows in start order; rows nest when tables do, so a row can end
    /// before an earlier one.
    pending: VecDeque<Pending>,
    /// Id of `pending[0]`.
    first_id: u64,
    table_seen: bool,
    finished: bool,
}

impl<'a> TrackRows<'a> {
    /// Rows of `html`, lexed lazily.
    pub(crate) fn new(html: &'a str) -> Self {
        Self {
            html,
            lexer: Lexer::new(html),
            frames: Vec::new(),
            pending: VecDeque::new(),
            first_id: 0,
            table_seen: false,
            finished: false,
        }
    }

    /// Whether a `table.track_list` has been seen so far (the whole page,
    /// once the iterator is exhausted).
    pub(crate) fn table_seen(&self) -> bool {
        self.table_seen
    }

    fn open_table(&mut self, tag: &Tag<'_>) {
        let track_list = tag.has_class("track_list");
        self.table_seen |= track_list;
        let (in_track_list, in_track_tbody) = match self.frames.last() {
            Some(parent) => {
                let section = match parent.mode {
                    Mode::Cell { section, .. } => Some(section),
                    _ => None,
                };
                (
                    parent.in_track_list || track_list,
                    parent.in_track_tbody
                        || (parent.in_track_list && section == Some(Section::Body)),
                )
            }
            None => (track_list, false),
        };
        self.frames.push(Frame {
            mode: Mode::Table,
            in_track_list,
            in_track_tbody,
        });
    }

    fn open_row(&mut self, frame: Frame, section: Section, tag: &Tag<'_>) -> RowSlot {
        let in_track_body =
            frame.in_track_tbody || (frame.in_track_list && section == Section::Body);
        if !in_track_body || !tag.has_class("clickable-row") {
            return None;
        }
        let id = self.first_id + self.pending.len() as u64;
        self.pending.push_back(Pending {
            start: tag.start,
            end: None,
            section,
        });
        Some(id)
    }

    fn close_row(&mut self, row: RowSlot, end: usize) {
        let Some(id) = row else { return };
        let index = id
            .checked_sub(self.first_id)
            .and_then(|i| usize::try_from(i).ok());
        if let Some(pending) = index.and_then(|i| self.pending.get_mut(i)) {
            pending.end.get_or_insert(end);
        }
    }

    /// Feeds one tag through the insertion modes of the innermost table.
    fn on_tag(&mut self, tag: &Tag<'_>) {
        loop {
            let Some(&frame) = self.frames.last() else {
                // Outside any table only a table start tag matters.
                if tag.kind == TagKind::Start && tag.name == TagName::Table {
                    self.open_table(tag);
                }
                return;
            };
            match self.step(frame, tag) {
                Step::Done => return,
                Step::Reprocess => {}
            }
        }
    }

    fn set_mode(&mut self, mode: Mode) {
        if let Some(frame) = self.frames.last_mut() {
            frame.mode = mode;
        }
    }

    fn step(&mut self, frame: Frame, tag: &Tag<'_>) -> Step {
        use TagKind::{End, Start};
        use TagName::{Caption, Col, Colgroup, Table, Tbody, Td, Tfoot, Th, Thead, Tr};
        let start = tag.kind == Start;
        let name = tag.name;
        match frame.mode {
            Mode::Table => match (tag.kind, name) {
                (Start, Caption) => self.set_mode(Mode::Caption),
                (Start, Tbody | Thead | Tfoot) => {
                    if let Some(section) = Section::of(name) {
                        self.set_mode(Mode::Section(section));
                    }
                }
                // An implied tbody.
                (Start, Tr | Td | Th) => {
                    self.set_mode(Mode::Section(Section::Body));
                    return Step::Reprocess;
                }
                // `<table>` in a table closes it and opens a new one where
                // the old one was.
                (Start, Table) => {
                    self.frames.pop();
                    return Step::Reprocess;
                }
                (End, Table) => {
                    self.frames.pop();
                }
                // Column groups never hold rows, and anything else is
                // foster-parented or ignored: no effect on rows.
                _ => {}
            },
            Mode::Caption => match (tag.kind, name) {
                (End, Caption) => self.set_mode(Mode::Table),
                (Start, Caption | Col | Colgroup | Tbody | Td | Tfoot | Th | Thead | Tr)
                | (End, Table) => {
                    self.set_mode(Mode::Table);
                    return Step::Reprocess;
                }
                (Start, Table) => self.open_table(tag),
                _ => {}
            },
            Mode::Section(section) => match (tag.kind, name) {
                (Start, Tr) => {
                    let row = self.open_row(frame, section, tag);
                    self.set_mode(Mode::Row(section, row));
                }
                // An implied tr, never a track row (it has no class).
                (Start, Td | Th) => {
                    self.set_mode(Mode::Row(section, None));
                    return Step::Reprocess;
                }
                (Start, Caption | Col | Colgroup | Tbody | Thead | Tfoot) | (End, Table) => {
                    self.set_mode(Mode::Table);
                    return Step::Reprocess;
                }
                (End, Tbody | Thead | Tfoot) if Section::of(name) == Some(section) => {
                    self.set_mode(Mode::Table);
                }
                (Start, Table) => {
                    self.frames.pop();
                    return Step::Reprocess;
                }
                _ => {}
            },
            Mode::Row(section, row) => match (tag.kind, name) {
                (Start, Td | Th) => self.set_mode(Mode::Cell {
                    section,
                    row,
                    header: name == Th,
                }),
                (End, Tr) => {
                    self.close_row(row, tag.end);
                    self.set_mode(Mode::Section(section));
                }
                (Start, Caption | Col | Colgroup | Tbody | Thead | Tfoot | Tr | Table)
                | (End, Table) => {
                    self.close_row(row, tag.start);
                    self.set_mode(Mode::Section(section));
                    return Step::Reprocess;
                }
                (End, Tbody | Thead | Tfoot) if Section::of(name) == Some(section) => {
                    self.close_row(row, tag.start);
                    self.set_mode(Mode::Section(section));
                    return Step::Reprocess;
                }
                _ => {}
            },
            Mode::Cell {
                section,
                row,
                header,
            } => {
                let closes_cell = match (tag.kind, name) {
                    (End, Td) => !header,
                    (End, Th) => header,
                    (End, Tbody | Thead | Tfoot) => Section::of(name) == Some(section),
                    (End, Table | Tr) => true,
                    (Start, Caption | Col | Colgroup | Tbody | Td | Tfoot | Th | Thead | Tr) => {
                        true
                    }
                    _ => false,
                };
                if closes_cell {
                    self.set_mode(Mode::Row(section, row));
                    // `</td>` and `</th>` are consumed by the close.
                    if start || !matches!(name, Td | Th) {
                        return Step::Reprocess;
                    }
                } else if start && name == Table {
                    // A table nested in the cell.
                    self.open_table(tag);
                }
            }
        }
        Step::Done
    }

    /// The end of the input closes every open row.
    fn finish(&mut self) {
        let end = self.html.len();
        for pending in &mut self.pending {
            pending.end.get_or_insert(end);
        }
        self.frames.clear();
        self.finished = true;
    }
}

impl<'a> Iterator for TrackRows<'a> {
    type Item = RowSource<'a>;

    fn next(&mut self) -> Option<RowSource<'a>> {
        loop {
            if let Some(&Pending {
                start,
                end: Some(end),
                section,
            }) = self.pending.front()
            {
                self.pending.pop_front();
                self.first_id += 1;
                return Some(RowSource {
                    // Both ends are at ASCII bytes or the end of the input,
                    // so this never falls back.
                    html: self.html.get(start..end).unwrap_or_default(),
                    context: section.context(),
                });
            }
            if self.finished {
                return None;
            }
            match self.lexer.next() {
                Some(tag) => self.on_tag(&tag),
                None => self.finish(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(html: &str) -> (Vec<&str>, bool) {
        let mut scan = TrackRows::new(html);
        let rows: Vec<&str> = scan.by_ref().map(|row| row.html).collect();
        (rows, scan.table_seen())
    }

    const ROW: &str = r#"<tr class="clickable-row">"#;

    #[test]
    fn explicit_rows() {
        let html = format!(
            r#"<table class="track_list"><thead>{ROW}<td>h</td></tr></thead><tbody>{ROW}<td>a</td></tr> {ROW}<td>b</td></tr></tbody><tfoot>{ROW}</tr></tfoot></table>"#
        );
        let (found, seen) = rows(&html);
        assert!(seen);
        assert_eq!(
            found,
            [
                format!("{ROW}<td>a</td></tr>"),
                format!("{ROW}<td>b</td></tr>")
            ]
        );
    }

    #[test]
    fn implied_tbody_and_implicit_ends() {
        let html = format!(
            r#"<table class="x track_list">{ROW}<td>a{ROW}<td>b</tbody>{ROW}<td>c</table>{ROW}"#
        );
        let (found, _) = rows(&html);
        assert_eq!(
            found,
            [
                format!("{ROW}<td>a"),
                format!("{ROW}<td>b"),
                format!("{ROW}<td>c")
            ]
        );
    }

    #[test]
    fn only_clickable_rows_of_track_lists() {
        let html = format!(
            r#"<table class="other">{ROW}</tr></table><table class="track_list"><tr class="row"><td></td></tr>{ROW}<td>x</td></tr></table>"#
        );
        let (found, seen) = rows(&html);
        assert!(seen);
        assert_eq!(found, [format!("{ROW}<td>x</td></tr>")]);
        assert_eq!(
            rows("<table><tr class=clickable-row></table>"),
            (vec![], false)
        );
    }

    #[test]
    fn nested_tables_nest_rows() {
        let inner = format!("<table>{ROW}<td>in</td></tr></table>");
        let outer_row = format!("{ROW}<td>{inner}</td></tr>");
        let html = format!(r#"<table class="track_list"><tbody>{outer_row}</tbody></table>"#);
        let (found, _) = rows(&html);
        assert_eq!(found, [outer_row.clone(), format!("{ROW}<td>in</td></tr>")]);
        // A track_list nested in an ordinary table: its own rows count.
        let html = format!(
            r#"<table><tr><td><table class="track_list">{ROW}<td>n</table></td></tr>{ROW}</table>"#
        );
        assert_eq!(rows(&html).0, [format!("{ROW}<td>n")]);
    }

    #[test]
    fn a_table_start_tag_in_a_row_closes_the_table() {
        let html = format!(
            r#"<table class="track_list">{ROW}<table class="track_list">{ROW}<td>2</td></tr></table>"#
        );
        let (found, _) = rows(&html);
        assert_eq!(found, [ROW.to_owned(), format!("{ROW}<td>2</td></tr>")]);
    }

    #[test]
    fn ignored_end_tags_do_not_end_rows() {
        let html = format!(
            r#"<table class="track_list"><tbody>{ROW}<td></th></thead></caption></td></tbody2><td>x</td></tr></table>"#
        );
        let (found, _) = rows(&html);
        assert_eq!(
            found,
            [format!(
                "{ROW}<td></th></thead></caption></td></tbody2><td>x</td></tr>"
            )]
        );
    }

    #[test]
    fn captions_and_column_groups() {
        let html = format!(
            r#"<table class="track_list"><caption>{ROW}<colgroup><col>{ROW}<td>a<col>b</td></table>"#
        );
        // The caption's `<tr>` closes the caption and opens a row in an
        // implied tbody; `<colgroup>` closes it; `<col>` in a cell closes
        // the row too.
        let (found, _) = rows(&html);
        assert_eq!(found, [ROW.to_owned(), format!("{ROW}<td>a")]);
    }

    #[test]
    fn markup_in_comments_scripts_and_attributes_is_not_rows() {
        let html = format!(
            r#"<table class="track_list"><tbody><!-- {ROW} --><script>"{ROW}"</script>{ROW}<td data-x='</tr>{ROW}'><textarea></tr></textarea></td></tr></table>"#
        );
        let (found, _) = rows(&html);
        assert_eq!(found.len(), 1);
        assert!(found[0].ends_with("</textarea></td></tr>"), "{found:?}");
    }

    #[test]
    fn rows_open_at_the_end_run_to_it() {
        let html = format!(r#"<table class="track_list">{ROW}<td><b>x"#);
        assert_eq!(rows(&html).0, [format!("{ROW}<td><b>x")]);
    }

    #[test]
    fn rows_of_nested_heads_and_feet_keep_their_section() {
        let html = format!(
            r#"<table class="track_list"><tbody><tr><td><table><thead>{ROW}</thead><tbody>{ROW}</tbody><tfoot>{ROW}"#
        );
        let contexts: Vec<&str> = TrackRows::new(&html).map(|row| row.context).collect();
        assert_eq!(
            contexts,
            ["<table><thead>", "<table><tbody>", "<table><tfoot>"]
        );
    }

    #[test]
    fn no_table() {
        assert_eq!(rows(""), (vec![], false));
        assert_eq!(rows("<p class=track_list>"), (vec![], false));
        assert_eq!(rows("<table class=track_list>"), (vec![], true));
    }
}
