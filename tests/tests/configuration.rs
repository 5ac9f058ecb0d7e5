//! Every configuration variable is documented, and every documented one is
//! real: the variables the code reads must equal the variables
//! `docs/configuration.md` lists and the variables `.env.example` lists, so
//! a new flag with an environment fallback, a renamed variable or a stale
//! line fails CI here instead of confusing an operator.
//!
//! **Read by the code** means:
//! - in the Rust sources of `crates/*/src` and `bins/*/src` (comments
//!   skipped; `tests/` and `benches/` directories are not scanned): clap
//!   attributes `#[arg(env = "NAME")]` (and a bare `#[arg(env)]`, which
//!   clap derives from the field name), the builder's `.env("NAME")`,
//!   `std::env::var("NAME")`, `env::var_os("NAME")`, `var_os("NAME")`,
//!   `dotenvy::var("NAME")`, a bare `var("NAME")` where `std::env::var` is
//!   imported, and `RUST_LOG` wherever tracing's `EnvFilter` is built from
//!   the default environment variable (`from_default_env`,
//!   `try_from_default_env`, `from_env_lossy`);
//! - `${NAME…}` and `$NAME` in the values of `docker/docker-compose.yml`
//!   (`$$` is the container shell's dollar, not compose's);
//! - `${NAME…}` and `$NAME` in `docker/cron.sh` outside comments, except the
//!   variables bash itself provides (`SHELL_VARIABLES`).
//!
//! Ignored: names starting with `CARGO_` (set by Cargo for builds and
//! tests) or `MRE_TEST_` (test-only overrides such as
//! `MRE_TEST_DATABASE_URL`), and compile-time `env!`/`option_env!`, which
//! are build inputs, not configuration. A read whose name the scan cannot
//! see (`env::var(name)`, `env = SOME_CONST`, `env::vars()`) fails the test:
//! write the name as a literal so it can be checked.
//!
//! **Listed**: in `docs/configuration.md`, the first column of every table
//! whose header's first cell is `variable`, one backquoted name per row; in
//! `.env.example`, every `NAME=…` line, set or commented out (`# NAME=…`).
//! Each name may be listed once in each file.
//!
//! A second check keeps compose honest the other way: every variable it sets
//! in the `environment:` of the services that run our image must be read by
//! the code, so a misspelt name there cannot go unnoticed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

/// Variables bash provides to every script; `cron.sh` may read them without
/// their being configuration.
const SHELL_VARIABLES: [&str; 14] = [
    "BASHPID",
    "BASH_SOURCE",
    "EUID",
    "HOME",
    "HOSTNAME",
    "IFS",
    "LINENO",
    "OLDPWD",
    "PATH",
    "PPID",
    "PWD",
    "RANDOM",
    "SECONDS",
    "UID",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = workspace_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Variable name → where it is read or listed (for the failure message).
type Sightings = BTreeMap<String, BTreeSet<String>>;

fn add(sightings: &mut Sightings, name: &str, place: &str) {
    sightings
        .entry(name.to_owned())
        .or_default()
        .insert(place.to_owned());
}

fn is_ignored(name: &str) -> bool {
    name.starts_with("CARGO_") || name.starts_with("MRE_TEST_")
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// An environment variable name as the docs and `.env.example` spell them.
fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

// --- the Rust sources -------------------------------------------------------------

/// A Rust file with every comment (line, block, doc) replaced by spaces,
/// newlines kept, and which of its bytes belong to a string or character
/// literal. Literals are copied untouched, so a `//` in a URL or a `"` in a
/// char literal does not derail the scan, and a name inside a string is
/// not taken for a read.
struct Stripped {
    code: String,
    literal: Vec<bool>,
}

impl Stripped {
    fn new(src: &str) -> Self {
        let b = src.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut literal = Vec::with_capacity(b.len());
        let blank = |out: &mut Vec<u8>, literal: &mut Vec<bool>, byte: u8| {
            out.push(if byte == b'\n' { b'\n' } else { b' ' });
            literal.push(false);
        };
        let copy = |out: &mut Vec<u8>, literal: &mut Vec<bool>, bytes: &[u8]| {
            out.extend_from_slice(bytes);
            literal.extend(std::iter::repeat_n(true, bytes.len()));
        };
        let mut i = 0;
        while i < b.len() {
            let prev_ident = i > 0 && is_ident_byte(b[i - 1]);
            match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    while i < b.len() && b[i] != b'\n' {
                        blank(&mut out, &mut literal, b[i]);
                        i += 1;
                    }
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let mut depth = 0usize;
                    while i < b.len() {
                        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                            depth += 1;
                            blank(&mut out, &mut literal, b' ');
                            blank(&mut out, &mut literal, b' ');
                            i += 2;
                        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                            depth -= 1;
                            blank(&mut out, &mut literal, b' ');
                            blank(&mut out, &mut literal, b' ');
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            blank(&mut out, &mut literal, b[i]);
                            i += 1;
                        }
                    }
                }
                b'"' => {
                    let end = string_end(b, i);
                    copy(&mut out, &mut literal, &b[i..end]);
                    i = end;
                }
                // A raw string: r"…", r#"…"#, br#"…"# (the `b` is copied already).
                b'r' if (!prev_ident
                    || (b[i - 1] == b'b' && (i < 2 || !is_ident_byte(b[i - 2]))))
                    && raw_string_start(b, i).is_some() =>
                {
                    let hashes = raw_string_start(b, i).unwrap_or_default();
                    let closing: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    let mut j = i + 2 + hashes;
                    while j < b.len() && !b[j..].starts_with(&closing) {
                        j += 1;
                    }
                    let end = (j + closing.len()).min(b.len());
                    copy(&mut out, &mut literal, &b[i..end]);
                    i = end;
                }
                b'\'' => match char_literal_end(src, i) {
                    Some(end) => {
                        copy(&mut out, &mut literal, &b[i..end]);
                        i = end;
                    }
                    // A lifetime or a label.
                    None => {
                        out.push(b'\'');
                        literal.push(false);
                        i += 1;
                    }
                },
                other => {
                    out.push(other);
                    literal.push(false);
                    i += 1;
                }
            }
        }
        Stripped {
            code: String::from_utf8(out).expect("comments are replaced by ASCII spaces"),
            literal,
        }
    }
}

/// The index just past the string literal opening at `start` (a `"`).
fn string_end(b: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// At an `r`: the number of `#`s of the raw string it opens, if it opens one.
fn raw_string_start(b: &[u8], i: usize) -> Option<usize> {
    let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

/// At a `'`: the end of the character literal it opens; `None` for a
/// lifetime or a label.
fn char_literal_end(src: &str, start: usize) -> Option<usize> {
    let rest = &src[start + 1..];
    if let Some(escaped) = rest.strip_prefix('\\') {
        // '\n', '\'', '\u{1F600}': the escaped character, then up to the quote.
        let skip = escaped.chars().next()?.len_utf8();
        let close = escaped[skip..].find('\'')?;
        return Some(start + 2 + skip + close + 1);
    }
    let c = rest.chars().next()?;
    rest[c.len_utf8()..]
        .starts_with('\'')
        .then(|| start + 1 + c.len_utf8() + 1)
}

/// The contents of the string literal at the start of `text` (after
/// blanks), and what follows it; `None` when `text` does not start with one.
fn leading_literal(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if !text.starts_with('"') {
        return None;
    }
    let end = string_end(text.as_bytes(), 0);
    Some((&text[1..end - 1], &text[end..]))
}

/// The index of the bracket closing the one opening at `open`, skipping
/// string literals.
fn matching_close(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = open;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = string_end(b, j);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// `items` split at the commas outside brackets and strings.
fn top_level_items(items: &str) -> Vec<&str> {
    let b = items.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut from, mut j) = (0usize, 0usize, 0usize);
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = string_end(b, j);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(items[from..j].trim());
                from = j + 1;
            }
            _ => {}
        }
        j += 1;
    }
    out.push(items[from..].trim());
    out.retain(|item| !item.is_empty());
    out
}

/// The name of the field an attribute ending at `after` annotates: further
/// attributes and the visibility skipped.
fn field_after(code: &str, mut after: usize) -> Option<String> {
    let b = code.as_bytes();
    loop {
        while after < b.len() && b[after].is_ascii_whitespace() {
            after += 1;
        }
        if code[after..].starts_with("#[") {
            after = matching_close(b, after + 1)? + 1;
        } else if code[after..].starts_with("pub") && !is_ident_byte(*b.get(after + 3)?) {
            after += 3;
            while after < b.len() && b[after].is_ascii_whitespace() {
                after += 1;
            }
            if b.get(after) == Some(&b'(') {
                after = matching_close(b, after)? + 1;
            }
        } else {
            break;
        }
    }
    let rest = &code[after..];
    let rest = rest.strip_prefix("r#").unwrap_or(rest);
    let name: String = rest
        .bytes()
        .take_while(|&c| is_ident_byte(c))
        .map(char::from)
        .collect();
    rest[name.len()..]
        .trim_start()
        .starts_with(':')
        .then_some(name)
        .filter(|n| !n.is_empty())
}

/// Each `name(` call in the code (the identifier on its own, outside
/// literals, not a function definition), with the path before it
/// (`std::env::` for `std::env::var(`, `.` for a method) and the text after
/// its `(`.
fn calls<'a>(src: &'a Stripped, name: &str) -> Vec<(&'a str, &'a str)> {
    let code = src.code.as_str();
    let b = code.as_bytes();
    let mut out = Vec::new();
    for (at, _) in code.match_indices(name) {
        let end = at + name.len();
        if src.literal[at]
            || (at > 0 && is_ident_byte(b[at - 1]))
            || b.get(end).is_some_and(|&c| is_ident_byte(c))
        {
            continue;
        }
        let Some(args) = code[end..].trim_start().strip_prefix('(') else {
            continue;
        };
        let before = code[..at].trim_end();
        let previous_word = before
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        if previous_word == "fn" {
            continue;
        }
        // The path: `a::b::` (blanks allowed around `::`).
        let mut path_start = before.len();
        let mut rest = before;
        while let Some(stripped) = rest.strip_suffix("::") {
            let stripped = stripped.trim_end();
            let ident = stripped
                .bytes()
                .rev()
                .take_while(|&c| is_ident_byte(c))
                .count();
            rest = &stripped[..stripped.len() - ident];
            path_start = rest.len();
        }
        let path = if before.ends_with('.') {
            "."
        } else {
            &code[path_start..before.len()]
        };
        out.push((path, args));
    }
    out
}

/// Whether the file imports `std::env::var` under its own name
/// (`use std::env::var;`, `use std::env::{self, var};`).
fn imports_env_var(src: &Stripped) -> bool {
    let code = src.code.as_str();
    let b = code.as_bytes();
    code.match_indices("use").any(|(at, _)| {
        let end = at + 3;
        if src.literal[at]
            || (at > 0 && is_ident_byte(b[at - 1]))
            || !b.get(end).is_some_and(u8::is_ascii_whitespace)
        {
            return false;
        }
        let statement: String = code[end..]
            .split(';')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        statement == "std::env::var"
            || statement
                .strip_prefix("std::env::{")
                .and_then(|items| items.strip_suffix('}'))
                .is_some_and(|items| items.split(',').any(|item| item == "var"))
    })
}

/// The variables one Rust file reads, and the reads whose name cannot be
/// told (as messages).
fn scan_rust(text: &str, file: &str, found: &mut Sightings, unknown: &mut Vec<String>) {
    let src = Stripped::new(text);
    let code = src.code.as_str();
    let b = code.as_bytes();

    // clap's derive: #[arg(…, env = "NAME", …)], or a bare `env` that
    // clap turns into the field's name in capitals.
    for (hash, _) in code.match_indices("#[") {
        let open = hash + 1;
        if src.literal[hash] {
            continue;
        }
        let inner = code[open + 1..].trim_start();
        let Some(after_name) = ["arg", "clap"].iter().find_map(|a| {
            inner
                .strip_prefix(a)
                .filter(|r| r.trim_start().starts_with('('))
        }) else {
            continue;
        };
        let paren = code.len() - after_name.trim_start().len();
        let (Some(close), Some(args_close)) = (matching_close(b, open), matching_close(b, paren))
        else {
            continue;
        };
        for item in top_level_items(&code[paren + 1..args_close]) {
            let Some(value) = item.strip_prefix("env") else {
                continue;
            };
            let value = value.trim_start();
            if value.is_empty() {
                match field_after(code, close + 1) {
                    Some(field) => add(found, &field.to_ascii_uppercase(), file),
                    None => unknown.push(format!("{file}: a bare `env` on no field")),
                }
            } else if let Some(value) = value.strip_prefix('=').filter(|v| !v.starts_with('=')) {
                match leading_literal(value) {
                    Some((name, rest)) if rest.trim().is_empty() => add(found, name, file),
                    _ => unknown.push(format!("{file}: `env = {}`", value.trim())),
                }
            }
        }
    }

    // clap's builder: Arg::new(…).env("NAME") (one argument; with two it is
    // std::process::Command's, which sets a child's variable).
    for (path, args) in calls(&src, "env") {
        if path == "."
            && let Some((name, rest)) = leading_literal(args)
            && rest.trim_start().starts_with(')')
        {
            add(found, name, file);
        }
    }

    // std::env and dotenvy.
    let bare_var = imports_env_var(&src);
    for function in ["var", "var_os"] {
        for (path, args) in calls(&src, function) {
            let path: String = path.split_whitespace().collect();
            let reads = path.ends_with("env::")
                || path.ends_with("dotenvy::")
                || (path.is_empty() && (function == "var_os" || bare_var));
            if !reads {
                continue;
            }
            match leading_literal(args) {
                Some((name, _)) => add(found, name, file),
                None => unknown.push(format!(
                    "{file}: `{path}{function}({}`",
                    args.lines().next().unwrap_or_default().trim()
                )),
            }
        }
    }
    for function in ["vars", "vars_os"] {
        for (path, _) in calls(&src, function) {
            if path
                .split_whitespace()
                .collect::<String>()
                .ends_with("env::")
            {
                unknown.push(format!("{file}: `env::{function}()` reads every variable"));
            }
        }
    }

    // tracing-subscriber's EnvFilter from its default variable, RUST_LOG.
    for function in ["from_default_env", "try_from_default_env", "from_env_lossy"] {
        if !calls(&src, function).is_empty() {
            add(found, "RUST_LOG", file);
        }
    }
    for function in ["from_env", "try_from_env"] {
        for (path, args) in calls(&src, function) {
            if path.contains("EnvFilter")
                && let Some((name, _)) = leading_literal(args)
            {
                add(found, name, file);
            }
        }
    }
}

/// Every `.rs` file under `dir`, `tests/` and `benches/` directories left out.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if !path.ends_with("tests") && !path.ends_with("benches") {
                out.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The variables the Rust sources of `crates/*/src` and `bins/*/src` read.
fn rust_variables(found: &mut Sightings, unknown: &mut Vec<String>) {
    let root = workspace_root();
    for group in ["crates", "bins"] {
        let entries = fs::read_dir(root.join(group))
            .unwrap_or_else(|e| panic!("read {group}/: {e}"))
            .flatten();
        for member in entries {
            for file in rust_files(&member.path().join("src")) {
                let text = fs::read_to_string(&file)
                    .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
                let relative = file.strip_prefix(&root).unwrap_or(&file);
                scan_rust(&text, &relative.display().to_string(), found, unknown);
            }
        }
    }
}

// --- docker/ ----------------------------------------------------------------------

/// Variables interpolated in `text`, shell or compose style: `${NAME}`,
/// `${NAME:-default}` (nested defaults included), `$NAME`; `$$` is a
/// literal dollar.
fn interpolated(text: &str) -> BTreeSet<String> {
    let b = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let start = match b.get(i + 1) {
            Some(b'$') => {
                i += 2;
                continue;
            }
            Some(b'{') => i + 2,
            Some(&c) if c.is_ascii_alphabetic() || c == b'_' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        let len = b[start..].iter().take_while(|&&c| is_ident_byte(c)).count();
        if len > 0 {
            out.insert(text[start..start + len].to_owned());
        }
        i = start + len;
    }
    out
}

/// docker-compose.yml with anchors and merge keys (`<<: *app`) resolved.
fn compose() -> Value {
    let mut value: Value =
        serde_yaml_ng::from_str(&read("docker/docker-compose.yml")).expect("compose parses");
    value.apply_merge().expect("merge keys resolve");
    value
}

/// Every string scalar of the document (values only: compose interpolates
/// no keys and no comments).
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Mapping(map) => map.values().for_each(|v| strings(v, out)),
        Value::Tagged(tagged) => strings(&tagged.value, out),
        _ => {}
    }
}

/// The variables docker-compose.yml interpolates.
fn compose_variables(found: &mut Sightings) {
    let mut texts = Vec::new();
    strings(&compose(), &mut texts);
    for text in &texts {
        for name in interpolated(text) {
            add(found, &name, "docker/docker-compose.yml");
        }
    }
}

/// The variables `cron.sh` reads: its expansions outside comments, less
/// what bash provides.
fn cron_variables(found: &mut Sightings) {
    for line in read("docker/cron.sh").lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for name in interpolated(line) {
            if is_variable_name(&name) && !SHELL_VARIABLES.contains(&name.as_str()) {
                add(found, &name, "docker/cron.sh");
            }
        }
    }
}

/// What compose sets in the `environment:` of the services that run our
/// image (built from docker/Dockerfile or named by `MRE_IMAGE`).
fn compose_environment() -> Sightings {
    let compose = compose();
    let mut out = Sightings::new();
    let services = compose["services"].as_mapping().expect("services");
    for (name, service) in services {
        let ours = !service["build"].is_null()
            || service["image"]
                .as_str()
                .is_some_and(|i| i.contains("MRE_IMAGE"));
        if !ours {
            continue;
        }
        let place = format!(
            "docker/docker-compose.yml ({})",
            name.as_str().unwrap_or("?")
        );
        match &service["environment"] {
            Value::Mapping(map) => {
                for key in map.keys() {
                    add(&mut out, key.as_str().expect("variable name"), &place);
                }
            }
            Value::Sequence(items) => {
                for item in items {
                    let item = item.as_str().expect("NAME=value");
                    add(&mut out, item.split('=').next().unwrap_or(item), &place);
                }
            }
            _ => {}
        }
    }
    out
}

// --- what is listed -----------------------------------------------------------------

/// The variables `docs/configuration.md` documents, and the rows of its
/// variable tables that name no single variable (as messages).
fn documented(markdown: &str) -> (Sightings, Vec<String>) {
    let mut found = Sightings::new();
    let mut bad_rows = Vec::new();
    // The row of the current table (0: its header), and whether its header
    // makes it a variable table.
    let mut row = 0usize;
    let mut variable_table = false;
    for (number, line) in markdown.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            row = 0;
            continue;
        }
        let first = line[1..].split('|').next().unwrap_or_default().trim();
        row += 1;
        match row {
            1 => variable_table = first.eq_ignore_ascii_case("variable"),
            2 => {} // the delimiter row
            _ if variable_table => {
                let place = format!("docs/configuration.md:{}", number + 1);
                match first
                    .strip_prefix('`')
                    .and_then(|f| f.strip_suffix('`'))
                    .filter(|name| is_variable_name(name))
                {
                    Some(name) => add(&mut found, name, &place),
                    None => bad_rows.push(format!("{place}: `{first}`")),
                }
            }
            _ => {}
        }
    }
    (found, bad_rows)
}

/// The variables `.env.example` lists, set or commented out.
fn env_example(text: &str) -> Sightings {
    let mut found = Sightings::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start().trim_start_matches('#').trim_start();
        if let Some((name, _)) = line.split_once('=')
            && is_variable_name(name)
        {
            add(&mut found, name, &format!(".env.example:{}", number + 1));
        }
    }
    found
}

// --- the checks ---------------------------------------------------------------------

/// Everything the code reads: Rust, compose, cron.
fn read_by_the_code() -> Sightings {
    let mut found = Sightings::new();
    let mut unknown = Vec::new();
    rust_variables(&mut found, &mut unknown);
    assert!(
        unknown.is_empty(),
        "environment reads whose variable name is not a literal, so this test cannot check \
         that they are documented; name the variable literally:\n  {}",
        unknown.join("\n  ")
    );
    compose_variables(&mut found);
    cron_variables(&mut found);
    found.retain(|name, _| !is_ignored(name));
    found
}

/// `names` of `a` that `b` lacks, each with where `a` has it.
fn difference(a: &Sightings, b: &Sightings) -> Vec<String> {
    a.iter()
        .filter(|(name, _)| !b.contains_key(*name))
        .map(|(name, places)| {
            let places: Vec<&str> = places.iter().map(String::as_str).collect();
            format!("{name} ({})", places.join(", "))
        })
        .collect()
}

#[test]
fn every_variable_read_is_documented_and_every_documented_variable_is_read() {
    let code = read_by_the_code();
    // A scan that silently found nothing would make every list "read by
    // nothing"; these are read in three different ways.
    for name in [
        "DATABASE_URL",
        "RUST_LOG",
        "MRE_CRON_AT",
        "POSTGRES_PASSWORD",
    ] {
        assert!(code.contains_key(name), "the scan missed {name}: {code:?}");
    }
    let (docs, bad_rows) = documented(&read("docs/configuration.md"));
    assert!(
        bad_rows.is_empty(),
        "rows of a `variable` table in docs/configuration.md must name one variable in \
         backquotes:\n  {}",
        bad_rows.join("\n  ")
    );
    let example = env_example(&read(".env.example"));

    let mut problems = Vec::new();
    let mut report = |what: &str, names: Vec<String>| {
        if !names.is_empty() {
            problems.push(format!("{what}:\n    {}", names.join("\n    ")));
        }
    };
    report(
        "read by the code but missing from docs/configuration.md",
        difference(&code, &docs),
    );
    report(
        "read by the code but missing from .env.example",
        difference(&code, &example),
    );
    report(
        "in docs/configuration.md but read by nothing",
        difference(&docs, &code),
    );
    report(
        "in .env.example but read by nothing",
        difference(&example, &code),
    );
    let twice = |sightings: &Sightings| -> Vec<String> {
        sightings
            .iter()
            .filter(|(_, places)| places.len() > 1)
            .map(|(name, places)| {
                let places: Vec<&str> = places.iter().map(String::as_str).collect();
                format!("{name} ({})", places.join(", "))
            })
            .collect()
    };
    report(
        "documented more than once in docs/configuration.md",
        twice(&docs),
    );
    report("listed more than once in .env.example", twice(&example));
    assert!(
        problems.is_empty(),
        "configuration variables out of step:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn compose_sets_only_variables_our_binaries_read() {
    let code = read_by_the_code();
    let set = compose_environment();
    assert!(set.contains_key("DATABASE_URL"), "found {set:?}");
    let unread = difference(&set, &code);
    assert!(
        unread.is_empty(),
        "docker-compose.yml sets variables in our containers that nothing reads (a typo?):\n  {}",
        unread.join("\n  ")
    );
}

// --- the scanners themselves ---------------------------------------------------------

fn scanned(code: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut found = Sightings::new();
    let mut unknown = Vec::new();
    scan_rust(code, "x.rs", &mut found, &mut unknown);
    found.retain(|name, _| !is_ignored(name));
    (found.into_keys().collect(), unknown)
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_rust_scan_finds_every_form_of_read() {
    let code = r##"
        use std::env;
        #[derive(clap::Args)]
        struct A {
            /// Doc: env = "IN_A_DOC_COMMENT" is not a read.
            #[arg(long, default_value = "https://x/", env = "AFTER_A_URL")]
            a: String,
            #[arg(
                long = "b",
                env = "MULTI_LINE",
                value_parser = clap::value_parser!(u16).range(1..=32),
            )]
            b: u16,
            #[arg(long, env)]
            #[arg(hide = true)]
            pub(crate) derived_name: Option<String>,
            #[arg(long, env = "MRE_TEST_ONLY")]
            t: bool,
        }
        // std::env::var("IN_A_LINE_COMMENT")
        /* env::var("IN_A /* nested */ BLOCK_COMMENT") */
        fn f() {
            let q = '"'; let s = "env::var(\"IN_A_STRING\")";
            let _ = std::env::var("STD_ENV_VAR");
            let _ = env :: var_os("ENV_VAR_OS");
            let _ = dotenvy::var("DOTENVY_VAR");
            let _ = clap::Arg::new("x").env("BUILDER_ENV");
            std::process::Command::new("x").env("CHILD_ONLY", "1");
            let _ = EnvFilter::try_from_default_env();
            let _ = other::var("NOT_THE_ENV");
            let _ = config.var("A_METHOD");
            let _ = env!("CARGO_PKG_VERSION");
            let _ = r#"env::var("IN_A_RAW_STRING")"#;
        }
    "##;
    let (found, unknown) = scanned(code);
    assert_eq!(
        found,
        names(&[
            "AFTER_A_URL",
            "BUILDER_ENV",
            "DERIVED_NAME",
            "DOTENVY_VAR",
            "ENV_VAR_OS",
            "MULTI_LINE",
            "RUST_LOG",
            "STD_ENV_VAR",
        ])
    );
    assert!(unknown.is_empty(), "{unknown:?}");

    // A bare `var` counts only where std::env::var is imported.
    assert_eq!(scanned("fn f() { var(\"X\"); }").0, names(&[]));
    assert_eq!(
        scanned("use std::env::{self, var};\nfn f() { var(\"BARE_VAR\"); }").0,
        names(&["BARE_VAR"])
    );
    assert_eq!(
        scanned("fn f() { var_os(\"BARE_VAR_OS\"); }").0,
        names(&["BARE_VAR_OS"])
    );
}

#[test]
fn the_rust_scan_refuses_names_it_cannot_see() {
    for code in [
        "fn f(k: &str) { std::env::var(k); }",
        "const N: &str = \"X\";\n#[derive(clap::Args)] struct A { #[arg(env = N)] a: u8 }",
        "fn f() { for (k, v) in std::env::vars() {} }",
    ] {
        let (_, unknown) = scanned(code);
        assert_eq!(unknown.len(), 1, "{code}: {unknown:?}");
    }
}

#[test]
fn interpolation_is_read_like_compose_and_bash_read_it() {
    let found = interpolated("a ${A} ${B:-x} ${C:?err} $D $$E $${F} ${G:-${H}} ${I-} $1 $");
    assert_eq!(found, names(&["A", "B", "C", "D", "G", "H", "I"]));
}

#[test]
fn the_lists_are_read_as_documented() {
    let markdown = "\
| variable | default |
|---|---|
| `MRE_ONE` | 1 |
| `MRE_TWO` | 2 |

| name | what |
|---|---|
| `HTTP_PROXY` | not configuration of ours |

| Variable | default |
|:--|--:|
| `MRE_THREE` | 3 |
";
    let (docs, bad) = documented(markdown);
    assert_eq!(
        docs.into_keys().collect::<BTreeSet<_>>(),
        names(&["MRE_ONE", "MRE_THREE", "MRE_TWO"])
    );
    assert!(bad.is_empty(), "{bad:?}");
    let (_, bad) = documented("| variable |\n|---|\n| `A`, `B` |\n| plain |\n");
    assert_eq!(bad.len(), 2, "{bad:?}");

    let example = env_example(
        "# A comment = not a variable\nMRE_SET=1\n# MRE_COMMENTED=x\n  #MRE_TIGHT=\nlower=1\n",
    );
    assert_eq!(
        example.into_keys().collect::<BTreeSet<_>>(),
        names(&["MRE_COMMENTED", "MRE_SET", "MRE_TIGHT"])
    );
}
