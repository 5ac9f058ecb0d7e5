//! The module layering of `ingest-core`, checked against its sources the way
//! `architecture.rs` checks the crate layering against the manifests.
//!
//! Every file of `crates/ingest-core/src` has a layer, by its top folder:
//! `domain/` < `ports/` < `service/`, and `lib.rs` (the facade that
//! re-exports them) above all. A file may import its own layer and the
//! layers below, never one above; nothing imports through the crate root
//! (`crate::Name`: name the module that owns it, so its layer shows); no
//! port imports another (each stands on the domain alone, so an adapter
//! implements one without the others); and no files import each other in a
//! circle, in a layer or across.
//!
//! An import is any path to a module of the crate: `use crate::…`,
//! `super::…`, `self::…`, a path starting with a child module's name, and
//! such paths in code (`crate::x::f()`), `use` groups expanded. Comments,
//! doc comments and string literals are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// No file of the crate may be longer (unit tests included).
const MAX_LINES: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Domain,
    Ports,
    Service,
    /// `lib.rs`: the crate's face, above every layer.
    Root,
}

/// A file's layer, by its path under `src/`.
fn layer_of(file: &str) -> Option<Layer> {
    if file == "lib.rs" {
        return Some(Layer::Root);
    }
    match file.split('/').next() {
        Some("domain") => Some(Layer::Domain),
        Some("ports") => Some(Layer::Ports),
        Some("service") => Some(Layer::Service),
        _ => None,
    }
}

// ------------------------------------------------------------- the lexer ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    /// A number, or anything else that is not read.
    Other,
}

/// The tokens of a Rust source with their line numbers; comments and
/// string, char and byte literals are dropped.
fn lex(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    // Skips a quoted literal from its opening quote; returns the index past it.
    let skip_quoted = |mut i: usize, quote: char, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != quote {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    break;
                } else if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_quoted(i, '"', &mut line);
        } else if ch == '\'' {
            if at(i + 1) == '\\' || (at(i + 2) == '\'' && at(i + 1) != '\'') {
                i = skip_quoted(i, '\'', &mut line); // a char literal
            } else {
                i += 1; // a lifetime or a label: its name lexes as an identifier
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let next = at(i);
            let hashes = c[i..].iter().take_while(|&&h| h == '#').count();
            if matches!(word.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                // A raw string: r"…", r#"…"#, br"…", …
                i += hashes + 1;
                while i < c.len() {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    if c[i] == '"' && c[i + 1..].iter().take(hashes).all(|&h| h == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
            } else if word == "r" && next == '#' {
                // A raw identifier, `r#type`: its name is the next word.
                i += 1;
            } else if matches!((word.as_str(), next), ("b" | "c", '"') | ("b", '\'')) {
                i = skip_quoted(i, next, &mut line);
            } else {
                out.push((Tok::Ident(word), line));
            }
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Other, line));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

// ------------------------------------------------------------ the paths ----

/// The module path of a file under `src/`: `domain/track.rs` → `domain::track`,
/// `service/mod.rs` → `service`, `lib.rs` → the root.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths of a `use` tree or a path in code starting at `toks[i]`,
/// groups expanded; and the index past it.
fn parse_tree(toks: &[(Tok, usize)], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    loop {
        match toks.get(i).map(|t| &t.0) {
            Some(Tok::Ident(s)) => {
                segments.push(s.clone());
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                let mut out = Vec::new();
                i += 1;
                while let Some((tok, _)) = toks.get(i) {
                    match tok {
                        Tok::Punct('}') => {
                            i += 1;
                            break;
                        }
                        Tok::Punct(',') => i += 1,
                        _ => {
                            let (inner, next) = parse_tree(toks, i);
                            out.extend(inner.into_iter().map(|p| {
                                let mut full = segments.clone();
                                full.extend(p);
                                full
                            }));
                            // Something the tree did not read: step over it.
                            i = next.max(i + 1);
                        }
                    }
                }
                return (out, i);
            }
            _ => break, // `*`, `<`, or the path's end
        }
        if toks.get(i).map(|t| &t.0) == Some(&Tok::PathSep) {
            i += 1;
        } else {
            break;
        }
    }
    if toks.get(i).map(|t| &t.0) == Some(&Tok::Ident("as".to_owned())) {
        i += 2;
    }
    (vec![segments], i)
}

/// One import of a crate module found in a file.
#[derive(Debug, Clone)]
struct Import {
    line: usize,
    /// As written, e.g. `super::run::Stop`.
    written: String,
    /// Absolute, from the crate root.
    absolute: Vec<String>,
}

/// What one file declares and imports.
#[derive(Debug, Default)]
struct FileScan {
    /// Modules defined inline (`mod tests { … }`), absolute.
    inline_modules: Vec<Vec<String>>,
    imports: Vec<Import>,
}

/// Read one file: its inline modules and the imports of crate modules.
fn scan(file: &str, text: &str) -> FileScan {
    let toks = lex(text);
    let file_module = module_of(file);
    let mut scan = FileScan::default();
    // Child modules the file declares (`mod x;` or `mod x { … }`).
    let mut children = BTreeSet::new();
    for w in toks.windows(3) {
        if let (Tok::Ident(kw), Tok::Ident(name)) = (&w[0].0, &w[1].0)
            && kw == "mod"
            && matches!(w[2].0, Tok::Punct(';' | '{'))
        {
            children.insert(name.clone());
        }
    }
    // The inline modules the scan is in: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let current = || {
            let mut m = file_module.clone();
            m.extend(inline.iter().map(|(n, _)| n.clone()));
            m
        };
        match &toks[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    let mut m = current();
                    m.push(name.clone());
                    scan.inline_modules.push(m);
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(first) => {
                let after_sep = i > 0 && toks[i - 1].0 == Tok::PathSep;
                let before_sep = toks.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep);
                // A child module's name starts a path only at the file's own
                // level (where `mod` declared it).
                let is_child = inline.is_empty() && children.contains(first);
                let starts = matches!(first.as_str(), "crate" | "super" | "self") || is_child;
                if starts && before_sep && !after_sep {
                    let (paths, next) = parse_tree(&toks, i);
                    let line = toks[i].1;
                    for path in paths {
                        if let Some(absolute) = absolute(&current(), &path) {
                            scan.imports.push(Import {
                                line,
                                written: path.join("::"),
                                absolute,
                            });
                        }
                    }
                    i = next;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// A path as written, from the crate root; `None` for a `super` above it.
fn absolute(current: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base = current.to_vec();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &path[1..];
        }
        Some("self") => rest = &path[1..],
        _ => {}
    }
    while rest.first().map(String::as_str) == Some("super") {
        base.pop()?;
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

// ------------------------------------------------------------ the check ----

/// An edge of the file graph: `from` imports something of `to`.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    written: String,
}

/// Every import of one file of the crate by another: the file graph.
fn edges(sources: &BTreeMap<String, String>) -> Vec<Edge> {
    let scans: BTreeMap<&String, FileScan> = sources.iter().map(|(f, t)| (f, scan(f, t))).collect();
    let mut modules: BTreeMap<Vec<String>, String> =
        sources.keys().map(|f| (module_of(f), f.clone())).collect();
    for (file, scan) in &scans {
        for m in &scan.inline_modules {
            modules.insert(m.clone(), (*file).clone());
        }
    }
    let mut out = Vec::new();
    for (file, scan) in &scans {
        for import in &scan.imports {
            // The longest prefix that is a module names the file it reaches.
            let target = (0..=import.absolute.len())
                .rev()
                .find_map(|n| modules.get(&import.absolute[..n]));
            let Some(to) = target else { continue };
            if to != *file {
                out.push(Edge {
                    from: (*file).clone(),
                    to: to.clone(),
                    line: import.line,
                    written: import.written.clone(),
                });
            }
        }
    }
    out
}

/// Every breach of the layering in `sources` (path under `src/` → text).
fn violations(sources: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for file in sources.keys() {
        if layer_of(file).is_none() {
            out.push(format!(
                "{file} belongs to no layer: put it under domain/, ports/ or service/"
            ));
        }
    }
    let edges = edges(sources);
    for e in &edges {
        let (Some(from), Some(to)) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        if to == Layer::Root {
            out.push(format!(
                "{}:{} imports `{}` through the crate root: import it from the module that owns it",
                e.from, e.line, e.written
            ));
        } else if to > from {
            out.push(format!(
                "{}:{} ({from:?}) imports `{}` from {} ({to:?}), a layer above it",
                e.from, e.line, e.written, e.to
            ));
        } else if from == Layer::Ports && to == Layer::Ports && e.to != "ports/mod.rs" {
            out.push(format!(
                "{}:{} imports `{}` from another port, {}: move what they share to the domain",
                e.from, e.line, e.written, e.to
            ));
        }
    }
    for circle in circles(&edges) {
        // One import per pair of files is enough to find the tie.
        let mut ties: BTreeMap<(&str, &str), String> = BTreeMap::new();
        for e in edges
            .iter()
            .filter(|e| circle.contains(&e.from) && circle.contains(&e.to))
        {
            ties.entry((&e.from, &e.to))
                .or_insert_with(|| format!("{}:{} -> {} (`{}`)", e.from, e.line, e.to, e.written));
        }
        let ties: Vec<String> = ties.into_values().collect();
        out.push(format!(
            "import circle between {}: {}",
            circle.iter().cloned().collect::<Vec<_>>().join(", "),
            ties.join("; ")
        ));
    }
    out
}

/// The strongly connected components of more than one file (Tarjan).
fn circles(edges: &[Edge]) -> Vec<BTreeSet<String>> {
    struct Tarjan<'a> {
        next: BTreeMap<&'a str, Vec<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.next.get(v).cloned().unwrap_or_default() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.out.push(component);
                }
            }
        }
    }
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.from).or_default().push(&e.to);
        next.entry(&e.to).or_default();
    }
    let nodes: Vec<&str> = next.keys().copied().collect();
    let mut t = Tarjan {
        next,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.out
}

// ---------------------------------------------------------------- input ----

fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .join("crates/ingest-core/src")
}

/// Every `.rs` file under `dir`, by its path relative to `root` (with `/`).
fn read_sources(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_sources(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under the root");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let text = fs::read_to_string(&path).expect("read source");
            out.insert(rel.join("/"), text);
        }
    }
}

fn core_sources() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    read_sources(&core_src(), &core_src(), &mut out);
    out
}

fn synthetic(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
        .collect()
}

// ---------------------------------------------------------------- tests ----

#[test]
fn ingest_core_modules_are_layered_without_circles() {
    let sources = core_sources();
    let found = violations(&sources);
    assert!(found.is_empty(), "{}", found.join("\n"));

    // The checker saw the imports it is there to judge: each layer reaches
    // the ones below it.
    let edges = edges(&sources);
    let reaches = |from: Layer, to: Layer| {
        edges
            .iter()
            .any(|e| layer_of(&e.from) == Some(from) && layer_of(&e.to) == Some(to))
    };
    assert!(reaches(Layer::Domain, Layer::Domain), "{edges:#?}");
    assert!(reaches(Layer::Ports, Layer::Domain), "{edges:#?}");
    assert!(reaches(Layer::Service, Layer::Ports), "{edges:#?}");
    assert!(reaches(Layer::Service, Layer::Domain), "{edges:#?}");
    assert!(reaches(Layer::Service, Layer::Service), "{edges:#?}");
}

#[test]
fn no_file_of_ingest_core_is_over_400_lines() {
    let sources = core_sources();
    assert!(sources.len() > 10, "read {} files", sources.len());
    let long: Vec<String> = sources
        .iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(file, text)| format!("{file}: {} lines", text.lines().count()))
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}

#[test]
fn the_checker_catches_an_import_from_a_lower_layer_to_a_higher_one() {
    let sources = synthetic(&[
        ("lib.rs", "pub mod domain; pub mod ports; pub mod service;"),
        ("domain/mod.rs", "pub mod track;"),
        (
            "domain/track.rs",
            "use crate::service::Engine;\npub struct Track;",
        ),
        ("ports/mod.rs", "pub mod jobs; pub mod repo;"),
        (
            "ports/repo.rs",
            "fn f() -> crate::service::Engine { crate::service::Engine }\n\
             fn g(_: super::jobs::Lease) {}",
        ),
        ("ports/jobs.rs", "pub struct Lease;"),
        ("service/mod.rs", "pub struct Engine;"),
    ]);
    let found = violations(&sources);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("domain/track.rs:1 (Domain)") && v.contains("service/mod.rs")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("ports/repo.rs:1 (Ports)") && v.contains("service/mod.rs")),
        "a path in code counts too: {found:#?}"
    );
    assert!(
        found.iter().any(
            |v| v.starts_with("ports/repo.rs:2 imports `super::jobs::Lease` from another port")
        ),
        "{found:#?}"
    );
    assert_eq!(found.len(), 4, "{found:#?}");
}

#[test]
fn the_checker_catches_an_import_circle() {
    let sources = synthetic(&[
        ("lib.rs", "pub mod service;"),
        (
            "service/mod.rs",
            "mod stage;\nuse stage::run;\npub struct Shared;",
        ),
        ("service/stage.rs", "use super::Shared;\npub fn run() {}"),
    ]);
    let found = violations(&sources);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("import circle between service/mod.rs, service/stage.rs"),
        "{found:#?}"
    );
}

#[test]
fn the_checker_catches_an_import_through_the_crate_root() {
    let sources = synthetic(&[
        ("lib.rs", "pub mod domain; pub use domain::a::A;"),
        ("domain/mod.rs", "pub mod a; pub mod b;"),
        ("domain/a.rs", "pub struct A;"),
        ("domain/b.rs", "use crate::A;"),
    ]);
    let found = violations(&sources);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("through the crate root"), "{found:#?}");
}

#[test]
fn the_checker_reads_groups_and_not_comments_strings_or_test_modules() {
    let sources = synthetic(&[
        ("lib.rs", "pub mod domain; pub mod ports; pub mod service;"),
        ("domain/mod.rs", "pub mod a;"),
        (
            "domain/a.rs",
            "//! See [`crate::service::S`].\n\
             // use crate::service::S;\n\
             /* crate::service::S */\n\
             const S: &str = \"crate::service::S\";\n\
             const R: &str = r#\"crate::service::S\"#;\n\
             fn f<'a>(x: &'a str) -> char { '{' }\n\
             pub struct A;\n\
             #[cfg(test)]\n\
             mod tests {\n    use super::*;\n    use super::super::a::A;\n}\n",
        ),
        ("ports/mod.rs", "pub mod p;"),
        (
            "ports/p.rs",
            "use crate::{\n    domain::a::{self, A},\n    service::{S, T as U},\n};",
        ),
        ("service/mod.rs", "pub struct S; pub struct T;"),
    ]);
    let found = violations(&sources);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found
            .iter()
            .all(|v| v.starts_with("ports/p.rs:1 (Ports)") && v.contains("service/mod.rs")),
        "{found:#?}"
    );
    let edges = edges(&sources);
    assert!(
        edges.iter().all(|e| e.from != "domain/a.rs"),
        "domain/a.rs imports nothing: {edges:#?}"
    );
}

#[test]
fn a_file_outside_the_layers_is_reported() {
    let sources = synthetic(&[("lib.rs", "pub mod helpers;"), ("helpers.rs", "")]);
    let found = violations(&sources);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("helpers.rs belongs to no layer"),
        "{found:#?}"
    );
}
