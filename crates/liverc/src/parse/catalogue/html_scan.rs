//! A lexical scanner for HTML that reports start and end tags with their
//! byte ranges, and skips everything else the way the HTML tokenizer does:
//! text, comments (`<!-- … -->`, `<!-->`, `--!>` endings), doctypes, bogus
//! comments (`<?…>`, `<!…>`, `</1…>`), and the raw content of `script`,
//! `style`, `textarea`, `title`, `xmp`, `iframe`, `noembed`, `noframes`,
//! `noscript` (scripting is enabled, as in the parser we compare against) and
//! `plaintext`, including the escape states of script data.
//!
//! Attribute values are skipped quote-aware, so a `>` or a `<tr` inside
//! `data-x="…"` neither ends the tag nor starts one. A tag cut off by the end
//! of the input is dropped, as the tokenizer drops it. Attribute *values* are
//! only looked at on demand ([`Tag::has_class`]).
//!
//! What it does not model, because it has no tree: the few places where the
//! tree builder keeps the tokenizer out of raw-text mode (inside `<select>`,
//! `<frameset>` or SVG/MathML content, where e.g. `<style>` or `<title>` is an
//! ordinary element) and `<![CDATA[` sections in foreign content.
//!
//! The scanner never panics (every index is checked) and allocates only to
//! decode character references in a `class` value.

/// A start tag or an end tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagKind {
    /// `<name …>`
    Start,
    /// `</name …>`
    End,
}

/// The tag names the track-row scanner acts on; every other name is
/// [`TagName::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagName {
    Table,
    Caption,
    Colgroup,
    Col,
    Tbody,
    Thead,
    Tfoot,
    Tr,
    Td,
    Th,
    Other,
}

impl TagName {
    fn of(name: &[u8]) -> Self {
        const NAMES: [(&[u8], TagName); 10] = [
            (b"table", TagName::Table),
            (b"caption", TagName::Caption),
            (b"colgroup", TagName::Colgroup),
            (b"col", TagName::Col),
            (b"tbody", TagName::Tbody),
            (b"thead", TagName::Thead),
            (b"tfoot", TagName::Tfoot),
            (b"tr", TagName::Tr),
            (b"td", TagName::Td),
            (b"th", TagName::Th),
        ];
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or(TagName::Other, |(_, tag)| *tag)
    }
}

/// How the content after a start tag is tokenized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Ordinary markup.
    Markup,
    /// RAWTEXT or RCDATA: text up to `</name` followed by whitespace, `/` or
    /// `>` (character references do not matter for where it ends).
    RawText(&'static [u8]),
    /// Script data, with its `<!--` escape and `<script` double-escape states.
    Script,
    /// `<plaintext>`: everything to the end of the input.
    Plaintext,
}

impl Content {
    fn after_start_tag(name: &[u8]) -> Self {
        const RAW: [&[u8]; 8] = [
            b"style",
            b"xmp",
            b"iframe",
            b"noembed",
            b"noframes",
            b"noscript",
            b"textarea",
            b"title",
        ];
        if name.eq_ignore_ascii_case(b"script") {
            return Content::Script;
        }
        if name.eq_ignore_ascii_case(b"plaintext") {
            return Content::Plaintext;
        }
        RAW.iter()
            .find(|raw| raw.eq_ignore_ascii_case(name))
            .map_or(Content::Markup, |raw| Content::RawText(raw))
    }
}

/// One tag, as found in the source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag<'a> {
    /// Start or end tag.
    pub(crate) kind: TagKind,
    /// The tag name, classified.
    pub(crate) name: TagName,
    /// Byte offset of the `<`.
    pub(crate) start: usize,
    /// Byte offset just past the closing `>`.
    pub(crate) end: usize,
    /// The source from just after the tag name up to and including the `>`.
    attributes: &'a [u8],
}

impl Tag<'_> {
    /// Whether the tag's `class` attribute (the first one: the tokenizer
    /// drops repeated attributes) has `class` among its ASCII-whitespace
    /// separated tokens, compared case-sensitively as a no-quirks document
    /// does. Character references in the value are decoded first.
    pub(crate) fn has_class(&self, class: &str) -> bool {
        let mut value: Option<&[u8]> = None;
        scan_attributes(self.attributes, 0, &mut |name, attribute_value| {
            if value.is_none() && name.eq_ignore_ascii_case(b"class") {
                value = Some(attribute_value);
            }
        });
        let Some(value) = value.and_then(|v| std::str::from_utf8(v).ok()) else {
            return false;
        };
        let decoded = if value.contains('&') {
            html_escape::decode_html_entities(value)
        } else {
            std::borrow::Cow::Borrowed(value)
        };
        decoded.split_ascii_whitespace().any(|token| token == class)
    }
}

/// Iterator over the tags of an HTML source, in order.
#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    content: Content,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `html`, in the data state.
    pub(crate) fn new(html: &'a str) -> Self {
        Self {
            src: html.as_bytes(),
            pos: 0,
            content: Content::Markup,
        }
    }
}

/// The tokenizer's whitespace (CR included: the input stream turns it into LF).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// Index of the first `needle` at or after `from`.
fn find_byte(src: &[u8], from: usize, needle: u8) -> Option<usize> {
    let rest = src.get(from..)?;
    rest.iter().position(|&b| b == needle).map(|i| from + i)
}

/// Whether `src[at..]` is `</name` (any case) followed by whitespace, `/` or
/// `>`: an end tag that closes raw text opened by `name`.
fn closes_raw_text(src: &[u8], at: usize, name: &[u8]) -> bool {
    let name_start = at + 2;
    src.get(at..name_start) == Some(b"</")
        && src
            .get(name_start..name_start + name.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name))
        && src
            .get(name_start + name.len())
            .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>')
}

/// Whether `src[at..]` is `<script` (any case) followed by whitespace, `/`
/// or `>`: the double-escape start inside escaped script data.
fn opens_script(src: &[u8], at: usize) -> bool {
    src.get(at) == Some(&b'<')
        && src
            .get(at + 1..at + 7)
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(b"script"))
        && src
            .get(at + 7)
            .is_some_and(|&b| is_space(b) || b == b'/' || b == b'>')
}

/// Where RAWTEXT/RCDATA content opened by `name` ends: at the `<` of its
/// end tag, or at the end of the input.
fn skip_raw_text(src: &[u8], from: usize, name: &[u8]) -> usize {
    let mut at = from;
    while let Some(lt) = find_byte(src, at, b'<') {
        if closes_raw_text(src, lt, name) {
            return lt;
        }
        at = lt + 1;
    }
    src.len()
}

/// Where script data ends: at the `<` of `</script`, or at the end of the
/// input, following the tokenizer's script-data escape states: inside
/// `<!-- … -->` a `<script …` enters a double-escaped section in which
/// `</script` does not end the script (it leaves the double escape).
fn skip_script(src: &[u8], from: usize) -> usize {
    #[derive(Clone, Copy)]
    enum State {
        Data,
        Escaped,
        DoubleEscaped,
    }
    let mut state = State::Data;
    let mut at = from;
    loop {
        match state {
            State::Data => {
                let Some(lt) = find_byte(src, at, b'<') else {
                    return src.len();
                };
                if closes_raw_text(src, lt, b"script") {
                    return lt;
                }
                if src.get(lt + 1..lt + 4) == Some(b"!--") {
                    // The dashes of `<!--` count towards a closing `-->`.
                    state = State::Escaped;
                    at = lt + 2;
                } else {
                    at = lt + 1;
                }
            }
            State::Escaped | State::DoubleEscaped => {
                let double = matches!(state, State::DoubleEscaped);
                let mut cursor = at;
                let next = loop {
                    let Some(&byte) = src.get(cursor) else {
                        return src.len();
                    };
                    if byte == b'-' && src.get(cursor..cursor + 3) == Some(b"-->") {
                        break (State::Data, cursor + 3);
                    }
                    if byte == b'<' {
                        if closes_raw_text(src, cursor, b"script") {
                            if !double {
                                return cursor;
                            }
                            // `</script` + terminator: back to escaped.
                            break (State::Escaped, cursor + 9);
                        }
                        if !double && opens_script(src, cursor) {
                            break (State::DoubleEscaped, cursor + 8);
                        }
                    }
                    cursor += 1;
                };
                (state, at) = next;
            }
        }
    }
}

/// Where a `<!` markup declaration that starts at `lt` ends (just past it).
fn skip_markup_declaration(src: &[u8], lt: usize) -> usize {
    if src.get(lt + 2..lt + 4) == Some(b"--") {
        // A comment ends at the first `-->` (whose dashes may be the
        // opening ones: `<!-->`, `<!--->`) or `--!>` after the opening.
        let mut at = lt + 2;
        while let Some(dash) = find_byte(src, at, b'-') {
            if src.get(dash + 1) == Some(&b'-') {
                match src.get(dash + 2) {
                    Some(b'>') => return dash + 3,
                    Some(b'!') if dash >= lt + 4 && src.get(dash + 3) == Some(&b'>') => {
                        return dash + 4;
                    }
                    _ => {}
                }
            }
            at = dash + 1;
        }
        return src.len();
    }
    // DOCTYPE (whose quoted identifiers still end at `>`), CDATA outside
    // foreign content, and anything else: a bogus comment up to `>`.
    find_byte(src, lt + 2, b'>').map_or(src.len(), |gt| gt + 1)
}

/// Walks a tag's attributes from `pos` (just after the tag name) to the
/// tag's closing `>`, calling `visit(name, raw value)` for each attribute,
/// and returns the index just past the `>`; `None` when the input ends
/// first (the tokenizer then drops the tag).
fn scan_attributes<'s>(
    src: &'s [u8],
    mut pos: usize,
    visit: &mut impl FnMut(&'s [u8], &'s [u8]),
) -> Option<usize> {
    #[derive(Clone, Copy)]
    enum State {
        BeforeName,
        Name(usize),
        AfterName(usize, usize),
        BeforeValue(usize, usize),
        AfterQuotedValue,
        SelfClosing,
    }
    let name_of = |start: usize, end: usize| src.get(start..end).unwrap_or_default();
    let mut state = State::BeforeName;
    loop {
        let byte = *src.get(pos)?;
        match state {
            State::BeforeName => match byte {
                b'/' => {
                    state = State::SelfClosing;
                    pos += 1;
                }
                b'>' => return Some(pos + 1),
                _ if is_space(byte) => pos += 1,
                // Even `=` starts a name here.
                _ => {
                    state = State::Name(pos);
                    pos += 1;
                }
            },
            State::Name(start) => {
                if is_space(byte) || byte == b'/' || byte == b'>' {
                    state = State::AfterName(start, pos);
                } else if byte == b'=' {
                    state = State::BeforeValue(start, pos);
                    pos += 1;
                } else {
                    pos += 1;
                }
            }
            State::AfterName(start, end) => match byte {
                b'=' => {
                    state = State::BeforeValue(start, end);
                    pos += 1;
                }
                _ if is_space(byte) => pos += 1,
                _ => {
                    visit(name_of(start, end), b"");
                    match byte {
                        b'/' => {
                            state = State::SelfClosing;
                            pos += 1;
                        }
                        b'>' => return Some(pos + 1),
                        _ => {
                            state = State::Name(pos);
                            pos += 1;
                        }
                    }
                }
            },
            State::BeforeValue(start, end) => match byte {
                b'"' | b'\'' => {
                    let close = find_byte(src, pos + 1, byte)?;
                    visit(
                        name_of(start, end),
                        src.get(pos + 1..close).unwrap_or_default(),
                    );
                    state = State::AfterQuotedValue;
                    pos = close + 1;
                }
                b'>' => {
                    visit(name_of(start, end), b"");
                    return Some(pos + 1);
                }
                _ if is_space(byte) => pos += 1,
                _ => {
                    let rest = src.get(pos..)?;
                    let len = rest.iter().position(|&b| is_space(b) || b == b'>')?;
                    visit(name_of(start, end), rest.get(..len).unwrap_or_default());
                    state = State::BeforeName;
                    pos += len;
                }
            },
            State::AfterQuotedValue => match byte {
                b'/' => {
                    state = State::SelfClosing;
                    pos += 1;
                }
                b'>' => return Some(pos + 1),
                _ if is_space(byte) => {
                    state = State::BeforeName;
                    pos += 1;
                }
                // A missing space: the next attribute starts right here.
                _ => state = State::BeforeName,
            },
            State::SelfClosing => {
                if byte == b'>' {
                    return Some(pos + 1);
                }
                state = State::BeforeName;
            }
        }
    }
}

impl<'a> Lexer<'a> {
    /// Lexes the tag whose `<` is at `lt` and whose name starts at
    /// `name_start`; `None` when the input ends inside it.
    fn tag(&mut self, kind: TagKind, lt: usize, name_start: usize) -> Option<Tag<'a>> {
        let src = self.src;
        let rest = src.get(name_start..)?;
        let name_len = rest
            .iter()
            .position(|&b| is_space(b) || b == b'/' || b == b'>')?;
        let name = rest.get(..name_len)?;
        let after_name = name_start + name_len;
        let end = scan_attributes(src, after_name, &mut |_, _| {})?;
        if kind == TagKind::Start {
            self.content = Content::after_start_tag(name);
        }
        Some(Tag {
            kind,
            name: TagName::of(name),
            start: lt,
            end,
            attributes: src.get(after_name..end)?,
        })
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Tag<'a>;

    fn next(&mut self) -> Option<Tag<'a>> {
        let src = self.src;
        loop {
            match std::mem::replace(&mut self.content, Content::Markup) {
                Content::Markup => {}
                Content::RawText(name) => self.pos = skip_raw_text(src, self.pos, name),
                Content::Script => self.pos = skip_script(src, self.pos),
                Content::Plaintext => self.pos = src.len(),
            }
            let Some(lt) = find_byte(src, self.pos, b'<') else {
                self.pos = src.len();
                return None;
            };
            let after = lt + 1;
            let found = match src.get(after) {
                None => None,
                Some(b'!') => {
                    self.pos = skip_markup_declaration(src, lt);
                    continue;
                }
                Some(b'/') => match src.get(lt + 2) {
                    Some(b) if b.is_ascii_alphabetic() => self.tag(TagKind::End, lt, lt + 2),
                    // `</>` is dropped.
                    Some(b'>') => {
                        self.pos = lt + 3;
                        continue;
                    }
                    // `</` + anything else: a bogus comment up to `>`.
                    Some(_) => {
                        self.pos = find_byte(src, lt + 2, b'>').map_or(src.len(), |gt| gt + 1);
                        continue;
                    }
                    None => None,
                },
                // `<?…>` is a bogus comment.
                Some(b'?') => {
                    self.pos = find_byte(src, after, b'>').map_or(src.len(), |gt| gt + 1);
                    continue;
                }
                Some(b) if b.is_ascii_alphabetic() => self.tag(TagKind::Start, lt, after),
                // A lone `<` is text.
                Some(_) => {
                    self.pos = after;
                    continue;
                }
            };
            return match found {
                Some(tag) => {
                    self.pos = tag.end;
                    Some(tag)
                }
                None => {
                    // The input ended inside a tag: the tokenizer drops it.
                    self.pos = src.len();
                    None
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tag as (kind, its source text).
    fn tags(html: &str) -> Vec<(TagKind, &str)> {
        Lexer::new(html)
            .map(|tag| {
                let source = html.get(tag.start..tag.end).unwrap_or_default();
                (tag.kind, source)
            })
            .collect()
    }

    fn sources(html: &str) -> Vec<&str> {
        tags(html).into_iter().map(|(_, source)| source).collect()
    }

    #[test]
    fn plain_tags_and_ranges() {
        let html = "a<p>b</P ><BR/>c";
        let found: Vec<Tag<'_>> = Lexer::new(html).collect();
        assert_eq!(found.len(), 3);
        assert_eq!(
            found
                .iter()
                .map(|t| (t.kind, t.start, t.end))
                .collect::<Vec<_>>(),
            [
                (TagKind::Start, 1, 4),
                (TagKind::End, 5, 10),
                (TagKind::Start, 10, 15)
            ]
        );
    }

    #[test]
    fn names_are_classified_case_insensitively() {
        let names: Vec<TagName> =
            Lexer::new("<TABLE><Tr><td><TH><tbody><thead><tfoot><caption><col><colgroup><trx><t>")
                .map(|t| t.name)
                .collect();
        assert_eq!(
            names,
            [
                TagName::Table,
                TagName::Tr,
                TagName::Td,
                TagName::Th,
                TagName::Tbody,
                TagName::Thead,
                TagName::Tfoot,
                TagName::Caption,
                TagName::Col,
                TagName::Colgroup,
                TagName::Other,
                TagName::Other,
            ]
        );
    }

    #[test]
    fn quoted_attribute_values_hide_markup() {
        let html = r#"<tr data-x="a > <tr class='clickable-row'>" title='it"s >'><td x=a<b>"#;
        assert_eq!(
            sources(html),
            [
                r#"<tr data-x="a > <tr class='clickable-row'>" title='it"s >'>"#,
                "<td x=a<b>"
            ]
        );
    }

    #[test]
    fn attribute_edge_cases() {
        // No space between attributes, `=` starting a name, spaces around `=`.
        let html = r#"<a href="x"class="one two"><b =x class = "three"><i class=four/>"#;
        let classes: Vec<bool> = Lexer::new(html)
            .map(|t| t.has_class("two") || t.has_class("three") || t.has_class("four/"))
            .collect();
        assert_eq!(classes, [true, true, true]);
        let tag = Lexer::new("<i class=four/>").next().expect("tag");
        assert!(!tag.has_class("four"));
    }

    #[test]
    fn the_first_class_attribute_wins() {
        let tag = Lexer::new(r#"<tr CLASS="a" class="clickable-row">"#)
            .next()
            .expect("tag");
        assert!(tag.has_class("a"));
        assert!(!tag.has_class("clickable-row"));
    }

    #[test]
    fn class_tokens_are_exact_and_case_sensitive() {
        let tag = Lexer::new("<table class=\"table\ttrack_list\n x\">")
            .next()
            .expect("tag");
        assert!(tag.has_class("track_list"));
        assert!(tag.has_class("table"));
        assert!(!tag.has_class("track"));
        let upper = Lexer::new("<table class=TRACK_LIST>").next().expect("tag");
        assert!(!upper.has_class("track_list"));
        let entity = Lexer::new("<table class=\"track&#95;list\">")
            .next()
            .expect("tag");
        assert!(entity.has_class("track_list"));
        let none = Lexer::new("<table>").next().expect("tag");
        assert!(!none.has_class("track_list"));
    }

    #[test]
    fn comments_end_where_the_tokenizer_ends_them() {
        assert_eq!(sources("<!-- <tr> --><a>"), ["<a>"]);
        assert_eq!(sources("<!--><a>"), ["<a>"]);
        assert_eq!(sources("<!---><a>"), ["<a>"]);
        assert_eq!(sources("<!-- x --!><a>"), ["<a>"]);
        // `--!>` must follow the opening; `-- >` does not end a comment.
        assert_eq!(sources("<!--!><b>--><a>"), ["<a>"]);
        assert_eq!(sources("<!---!><b>--><a>"), ["<a>"]);
        assert_eq!(sources("<!-- -- > <b> --><a>"), ["<a>"]);
        // An unterminated comment runs to the end.
        assert_eq!(sources("<a><!-- <b>"), ["<a>"]);
    }

    #[test]
    fn doctypes_and_bogus_comments() {
        // A quoted identifier does not protect `>`: `b">` is text.
        assert_eq!(sources(r#"<!DOCTYPE html PUBLIC "a>b"><a>"#), ["<a>"]);
        assert_eq!(sources(r#"<!doctype x "a><i>b"><i>"#), ["<i>", "<i>"]);
        assert_eq!(sources("<?xml <b> ?><a>"), ["<a>"]);
        assert_eq!(sources("<![CDATA[ <b> ]]><a>"), ["<a>"]);
        assert_eq!(sources("</ <b>><a>"), ["<a>"]);
        assert_eq!(sources("</1tr><a>"), ["<a>"]);
        assert_eq!(sources("</><a>"), ["<a>"]);
        assert_eq!(sources("<! <b> ><a>"), ["<a>"]);
    }

    #[test]
    fn lone_angle_brackets_are_text() {
        assert_eq!(sources("a < b <1 <é <a>"), ["<a>"]);
        assert_eq!(sources("<"), Vec::<&str>::new());
        assert_eq!(sources("</"), Vec::<&str>::new());
    }

    #[test]
    fn tags_cut_off_by_the_end_are_dropped() {
        assert_eq!(sources("<a><tr class=\"x"), ["<a>"]);
        assert_eq!(sources("<a><tr"), ["<a>"]);
        assert_eq!(sources("<a></tr "), ["<a>"]);
        assert_eq!(sources("<a><tr x=y"), ["<a>"]);
        assert_eq!(sources("<a><tr/"), ["<a>"]);
    }

    #[test]
    fn raw_text_elements_hide_markup() {
        assert_eq!(
            sources("<style>a<tr></styl></style x><a>"),
            ["<style>", "</style x>", "<a>"]
        );
        assert_eq!(
            sources("<TEXTAREA><tr></textarea2></TextArea/><a>"),
            ["<TEXTAREA>", "</TextArea/>", "<a>"]
        );
        assert_eq!(
            sources("<title><td></title><a>"),
            ["<title>", "</title>", "<a>"]
        );
        for name in ["xmp", "iframe", "noembed", "noframes", "noscript"] {
            let html = format!("<{name}><tr></{name}><a>");
            assert_eq!(tags(&html).len(), 3, "{name}");
        }
        // Unterminated raw text runs to the end; so does plaintext.
        assert_eq!(sources("<style><a>"), ["<style>"]);
        assert_eq!(sources("<plaintext></plaintext><a>"), ["<plaintext>"]);
        // An end tag does not open raw text.
        assert_eq!(sources("</style><a>"), ["</style>", "<a>"]);
        // Self-closing syntax does not stop an HTML raw-text element.
        assert_eq!(sources("<title/><a></title>"), ["<title/>", "</title>"]);
    }

    #[test]
    fn script_data_and_its_escapes() {
        assert_eq!(
            sources("<script>if (a<b) x='</tr>';</script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        // Escaped: `</script>` still ends the script.
        assert_eq!(
            sources("<script><!-- x </script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        // Double-escaped: the first `</script>` only leaves the double escape.
        assert_eq!(
            sources("<script><!-- <script> </script> <tr> --></script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        // `-->` leaves the escape before `<script` is seen.
        assert_eq!(
            sources("<script><!-- --> <script> </script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        // `<!-->` opens and closes the escape at once.
        assert_eq!(
            sources("<script><!--><script></script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        // Double-escaped to the end of the input.
        assert_eq!(sources("<script><!--<script></script><a>"), ["<script>"]);
        // `<scripts` is not a double-escape start.
        assert_eq!(
            sources("<script><!--<scripts></script><a>"),
            ["<script>", "</script>", "<a>"]
        );
        assert_eq!(sources("<script>"), ["<script>"]);
    }

    #[test]
    fn never_panics_on_truncations_of_a_tricky_page() {
        let html = "<!DOCTYPE html><tr a='>' b=\"é\"><!-- c --!><script><!--<script></script>--></script>\
                    <style>x</style><textarea></textarea>é<?pi?></1><![CDATA[x]]><plaintext><a>";
        for end in 0..=html.len() {
            if let Some(prefix) = html.get(..end) {
                let _ = Lexer::new(prefix).count();
            }
        }
        for start in 0..=html.len() {
            if let Some(suffix) = html.get(start..) {
                let _ = Lexer::new(suffix).count();
            }
        }
    }
}
