//! The container files in `docker/` checked against the workspace, so a
//! renamed binary, a new binary package, a toolchain bump or an undocumented
//! variable fails CI here instead of a deployment. No Docker engine is
//! needed: the Dockerfile is read line by line, the compose file parsed as
//! YAML, and the cron script run against a stub `ingest-cli`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

/// The services docker-compose.yml must define.
const SERVICES: [&str; 4] = ["postgres", "ingest-api", "ingest-worker", "cron"];

/// Where the image keeps the run reports.
const REPORTS_DIR: &str = "/app/docs/reports";

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

// --- the workspace ------------------------------------------------------------

/// Every package under `bins/`: package name → the names of its binaries
/// (`[[bin]]` targets, else `src/main.rs` as the package name, plus
/// `src/bin/*.rs` unless `autobins = false`).
fn binary_packages() -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let entries = fs::read_dir(workspace_root().join("bins")).expect("bins/ exists");
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let manifest: toml::Table = text.parse().expect("manifest parses");
        let package = manifest["package"].as_table().expect("[package]");
        let name = package["name"].as_str().expect("package.name").to_owned();
        let mut bins = BTreeSet::new();
        for bin in manifest
            .get("bin")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            let bin_name = bin
                .get("name")
                .and_then(|n| n.as_str())
                .expect("[[bin]] name");
            bins.insert(bin_name.to_owned());
        }
        let autobins = package.get("autobins").and_then(|a| a.as_bool()) != Some(false);
        if autobins {
            if bins.is_empty() && dir.join("src/main.rs").is_file() {
                bins.insert(name.clone());
            }
            if let Ok(extra) = fs::read_dir(dir.join("src/bin")) {
                for file in extra.flatten() {
                    let path = file.path();
                    if path.extension().is_some_and(|e| e == "rs") {
                        let stem = path.file_stem().and_then(|s| s.to_str()).expect("utf-8");
                        bins.insert(stem.to_owned());
                    } else if path.join("main.rs").is_file() {
                        let stem = path.file_name().and_then(|s| s.to_str()).expect("utf-8");
                        bins.insert(stem.to_owned());
                    }
                }
            }
        }
        assert!(!bins.is_empty(), "bins/{name} builds no binary");
        out.insert(name, bins);
    }
    out
}

fn workspace_binaries() -> BTreeSet<String> {
    binary_packages().into_values().flatten().collect()
}

fn toolchain_channel() -> String {
    let toolchain: toml::Table = read("rust-toolchain.toml").parse().expect("parses");
    toolchain["toolchain"]["channel"]
        .as_str()
        .expect("toolchain.channel")
        .to_owned()
}

/// The variables `.env.example` documents, set or commented out
/// (`NAME=…` or `# NAME=…`).
fn documented_variables() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .filter_map(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            let (name, _) = line.split_once('=')?;
            is_variable_name(name).then(|| name.to_owned())
        })
        .collect()
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// --- the Dockerfile -------------------------------------------------------------

/// `(KEYWORD, arguments)` per instruction: continuation lines joined,
/// comments and blank lines dropped (also inside a continuation, as Docker
/// does).
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("docker/Dockerfile").lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let instruction = std::mem::take(&mut current);
        let (keyword, args) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((instruction.as_str(), ""));
        out.push((keyword.to_ascii_uppercase(), args.trim().to_owned()));
    }
    assert!(
        current.trim().is_empty(),
        "Dockerfile ends inside a continuation"
    );
    out
}

fn instructions(keyword: &str) -> Vec<String> {
    dockerfile()
        .into_iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, args)| args)
        .collect()
}

/// The packages of every `cargo build` in a `RUN`, and whether it is a
/// `--release --locked` build.
fn cargo_builds() -> Vec<(BTreeSet<String>, bool)> {
    let mut out = Vec::new();
    for run in instructions("RUN") {
        for command in run.split("&&") {
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(start) = words.windows(2).position(|w| w == ["cargo", "build"]) else {
                continue;
            };
            let words = &words[start + 2..];
            let mut packages = BTreeSet::new();
            let mut iter = words.iter();
            while let Some(word) = iter.next() {
                if *word == "-p" || *word == "--package" {
                    packages.insert(iter.next().expect("a package after -p").to_string());
                } else if let Some(p) = word.strip_prefix("--package=") {
                    packages.insert(p.to_owned());
                }
            }
            let strict = words.contains(&"--release") && words.contains(&"--locked");
            out.push((packages, strict));
        }
    }
    out
}

/// The arguments of a `COPY`, flags (`--from=…`, `--chmod=…`) split off.
fn copy_args(args: &str) -> (Vec<String>, Vec<String>) {
    args.split_whitespace()
        .map(str::to_owned)
        .partition(|word| word.starts_with("--"))
}

fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Binaries copied from the builder stage into the runtime image.
fn copied_binaries() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for args in instructions("COPY") {
        let (flags, mut paths) = copy_args(&args);
        if !flags.iter().any(|f| f.starts_with("--from=")) {
            continue;
        }
        let destination = paths.pop().expect("a COPY destination");
        assert_eq!(
            destination.trim_end_matches('/'),
            "/usr/local/bin",
            "binaries go to /usr/local/bin"
        );
        out.extend(paths.iter().map(|p| basename(p)));
    }
    out
}

/// Scripts copied from the build context into `/usr/local/bin`: installed
/// name → path in the repository.
fn installed_scripts() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for args in instructions("COPY") {
        let (flags, paths) = copy_args(&args);
        if flags.iter().any(|f| f.starts_with("--from=")) || paths.len() != 2 {
            continue;
        }
        if let Some(name) = paths[1].strip_prefix("/usr/local/bin/") {
            out.insert(name.to_owned(), paths[0].clone());
        }
    }
    out
}

fn dockerfile_env() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for env in instructions("ENV") {
        for pair in env.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=') {
                out.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    out
}

/// The Dockerfile's stages: the `FROM` arguments and the instructions that
/// follow, up to the next `FROM`; plus the global `ARG NAME=default`s
/// declared before the first `FROM` (the only ones a `FROM` can use).
#[derive(Debug)]
struct Stage {
    from: String,
    instructions: Vec<(String, String)>,
}

fn stages() -> (BTreeMap<String, String>, Vec<Stage>) {
    let mut global = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for (keyword, args) in dockerfile() {
        if keyword == "FROM" {
            stages.push(Stage {
                from: args,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((keyword, args));
        } else {
            assert_eq!(keyword, "ARG", "only ARG may precede the first FROM");
            let (name, default) = args.split_once('=').unwrap_or((&args, ""));
            global.insert(
                name.trim().to_owned(),
                expand(default.trim().trim_matches('"'), &global),
            );
        }
    }
    (global, stages)
}

/// `${NAME}` and `$NAME` replaced by `args`' values (as Docker expands an
/// ARG default or a FROM line); an unknown name is left as it is.
fn expand(text: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// The stage that runs `cargo build`.
fn builder_stage(stages: &[Stage]) -> &Stage {
    let mut builders = stages.iter().filter(|stage| {
        stage
            .instructions
            .iter()
            .any(|(k, a)| k == "RUN" && a.contains("cargo build"))
    });
    let builder = builders.next().expect("a stage runs cargo build");
    assert!(builders.next().is_none(), "one stage runs cargo build");
    builder
}

/// `KEY=value` pairs of an `ENV` or `LABEL` (or a `RUN`'s leading
/// assignments), values unquoted; `"…"` may hold spaces.
fn key_values(args: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = args.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if key.is_empty() {
            break;
        }
        if chars.next_if_eq(&'=').is_none() {
            // Not a KEY=value word (a command): the assignments end here.
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        out.insert(key, value);
    }
    out
}

/// `[workspace.package]` of the root Cargo.toml.
fn workspace_package() -> toml::Table {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    manifest["workspace"]["package"]
        .as_table()
        .expect("[workspace.package]")
        .clone()
}

// --- the compose file -----------------------------------------------------------

/// docker-compose.yml with anchors and merge keys (`<<: *app`) resolved.
fn compose() -> Value {
    let mut value: Value =
        serde_yaml_ng::from_str(&read("docker/docker-compose.yml")).expect("compose parses");
    value.apply_merge().expect("merge keys resolve");
    value
}

fn services(compose: &Value) -> BTreeMap<String, Value> {
    compose["services"]
        .as_mapping()
        .expect("services is a mapping")
        .iter()
        .map(|(k, v)| (k.as_str().expect("service name").to_owned(), v.clone()))
        .collect()
}

/// A service's command as words (list form or a plain string).
fn command(service: &Value) -> Option<Vec<String>> {
    match &service["command"] {
        Value::Sequence(words) => Some(
            words
                .iter()
                .map(|w| w.as_str().expect("command words are strings").to_owned())
                .collect(),
        ),
        Value::String(line) => Some(line.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

/// The value after `flag` in a command.
fn flag_value<'a>(command: &'a [String], flag: &str) -> Option<&'a str> {
    command
        .iter()
        .position(|w| w == flag)
        .and_then(|i| command.get(i + 1))
        .map(String::as_str)
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    match &service["environment"] {
        Value::Mapping(map) => map
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => String::new(),
                };
                (k.as_str().expect("variable name").to_owned(), value)
            })
            .collect(),
        Value::Sequence(list) => list
            .iter()
            .filter_map(|item| item.as_str()?.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Variables compose interpolates in `text`: `${NAME}`, `${NAME:-default}`
/// (and the other modifiers, nested defaults included) and `$NAME`; `$$`
/// is a literal dollar for the container's shell.
fn interpolated(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let name: String = text[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(!name.is_empty(), "malformed interpolation in {text:?}");
                i += 2 + name.len();
                out.insert(name);
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                i += 1 + name.len();
                out.insert(name);
            }
            _ => i += 1,
        }
    }
    out
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

/// The port of a `host:port` listen address.
fn port(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(_, p)| p)
}

// --- the checks -----------------------------------------------------------------

#[test]
fn the_services_exist() {
    let services = services(&compose());
    for name in SERVICES {
        assert!(
            services.contains_key(name),
            "docker-compose.yml lacks {name}"
        );
    }
    assert_eq!(services["postgres"]["image"].as_str(), Some("postgres:15"));
    let worker = &services["ingest-worker"];
    assert!(
        worker["deploy"]["replicas"]
            .as_u64()
            .is_some_and(|n| n >= 2),
        "ingest-worker runs several replicas"
    );
}

#[test]
fn every_command_runs_a_binary_the_image_installs() {
    let binaries = workspace_binaries();
    let copied = copied_binaries();
    let scripts = installed_scripts();
    let services = services(&compose());
    let expected = [
        ("ingest-api", "ingest-api"),
        ("ingest-worker", "ingest-worker"),
        ("cron", "mre-cron"),
    ];
    for (service, program) in expected {
        let words = command(&services[service]).unwrap_or_else(|| panic!("{service}: command"));
        assert_eq!(words[0], program, "{service} runs {program}");
    }
    for (name, service) in &services {
        let Some(words) = command(service) else {
            continue;
        };
        let program = &words[0];
        if let Some(script) = scripts.get(program) {
            assert!(
                workspace_root().join(script).is_file(),
                "{name}: {program} is installed from {script}, which does not exist"
            );
        } else {
            assert!(
                binaries.contains(program),
                "{name}: {program} is no binary of bins/*/Cargo.toml ({binaries:?})"
            );
            assert!(
                copied.contains(program),
                "{name}: the Dockerfile does not install {program} ({copied:?})"
            );
        }
    }
}

#[test]
fn the_dockerfile_copies_only_workspace_binaries() {
    let packages = binary_packages();
    let binaries = workspace_binaries();
    let copied = copied_binaries();
    assert!(!copied.is_empty(), "the Dockerfile copies no binary");
    for bin in &copied {
        assert!(
            binaries.contains(bin),
            "the Dockerfile copies {bin}, which no package in bins/ builds ({binaries:?})"
        );
    }
    // …and every binary of the packages it builds, none forgotten.
    let built: BTreeSet<String> = cargo_builds()
        .into_iter()
        .flat_map(|(p, _)| p)
        .filter_map(|p| packages.get(&p).cloned())
        .flatten()
        .collect();
    assert_eq!(copied, built, "binaries built vs. copied into the image");

    // The builder stage's own `cp target/release/X` agrees.
    for run in instructions("RUN") {
        for word in run.split_whitespace() {
            if let Some(bin) = word.strip_prefix("target/release/") {
                assert!(binaries.contains(bin), "the builder copies out {bin}");
            }
        }
    }
}

#[test]
fn the_dockerfile_builds_exactly_the_binary_packages() {
    let builds = cargo_builds();
    assert_eq!(builds.len(), 1, "one cargo build in the Dockerfile");
    let (packages, strict) = &builds[0];
    let expected: BTreeSet<String> = binary_packages().into_keys().collect();
    assert_eq!(
        packages, &expected,
        "cargo build -p … vs. the packages in bins/"
    );
    assert!(strict, "the image is built with --release --locked");
}

#[test]
fn the_builder_runs_the_pinned_toolchain() {
    let channel = toolchain_channel();
    let (global, stages) = stages();
    let builder = builder_stage(&stages);
    let from = builder.from.split_whitespace().next().expect("an image");
    let image = expand(from, &global);
    let tag = image
        .strip_prefix("rust:")
        .unwrap_or_else(|| panic!("the builder's default image is rust:…, got {image}"));
    let version = tag
        .strip_suffix("-slim-bookworm")
        .unwrap_or_else(|| panic!("a slim bookworm builder, got {image}"));
    assert_eq!(
        version, channel,
        "Dockerfile {image} vs. rust-toolchain.toml"
    );
    let env: BTreeMap<String, String> = builder
        .instructions
        .iter()
        .filter(|(k, _)| k == "ENV")
        .flat_map(|(_, a)| key_values(a))
        .collect();
    let pinned = expand(
        env.get("RUSTUP_TOOLCHAIN")
            .expect("the builder sets RUSTUP_TOOLCHAIN"),
        &global,
    );
    assert_eq!(pinned, channel, "RUSTUP_TOOLCHAIN vs. rust-toolchain.toml");
    let runtime = stages.last().expect("a runtime stage");
    let image = expand(&runtime.from, &global);
    assert!(image.starts_with("debian:bookworm-slim"), "{image}");
}

#[test]
fn the_dockerfile_has_no_syntax_directive() {
    // `# syntax=…` makes every build pull that frontend image from Docker
    // Hub; the engine's built-in frontend handles this file. Any parser
    // directive (`# key=value`) would have to be on the first lines.
    let text = read("docker/Dockerfile");
    for (number, line) in text.lines().enumerate() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let directive = comment
            .split_once('=')
            .map(|(key, _)| key.trim().to_ascii_lowercase());
        assert!(
            directive.as_deref() != Some("syntax"),
            "docker/Dockerfile:{}: {line}",
            number + 1
        );
    }
    let first = text.lines().next().unwrap_or_default();
    assert!(
        !first.starts_with('#') || !first.contains('='),
        "no parser directive on the first line: {first}"
    );
}

#[test]
fn the_dockerfile_builds_stripped_binaries() {
    // The release profile keeps line tables (~115 MB a binary): the image
    // build overrides it, in the builder's ENV or on the cargo command, or
    // strips the copied-out binaries.
    let (_, stages) = stages();
    let builder = builder_stage(&stages);
    let stripping = |value: Option<&String>| {
        value.is_some_and(|v| ["symbols", "true", "debuginfo"].contains(&v.as_str()))
    };
    let env_strip = builder
        .instructions
        .iter()
        .filter(|(k, _)| k == "ENV")
        .any(|(_, a)| stripping(key_values(a).get("CARGO_PROFILE_RELEASE_STRIP")));
    let run = builder
        .instructions
        .iter()
        .find(|(k, a)| k == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.clone())
        .expect("the cargo build");
    let commands: Vec<&str> = run.split("&&").collect();
    let inline_strip = commands.iter().any(|c| {
        c.contains("cargo build") && stripping(key_values(c).get("CARGO_PROFILE_RELEASE_STRIP"))
            || c.contains("--config") && c.contains("profile.release.strip")
    });
    let copied = copied_binaries();
    let strip_command = commands.iter().any(|c| {
        let words: Vec<&str> = c.split_whitespace().collect();
        words.first() == Some(&"strip")
            && copied
                .iter()
                .all(|bin| words.iter().any(|w| basename(w) == *bin))
    });
    assert!(
        env_strip || inline_strip || strip_command,
        "the builder stage must build stripped binaries \
         (ENV CARGO_PROFILE_RELEASE_STRIP=symbols, or strip them): {run}"
    );
    // Nothing turns it back off on the command line.
    assert!(
        !run.contains("strip=false") && !run.contains("STRIP=false"),
        "{run}"
    );
}

#[test]
fn the_base_images_come_from_build_arguments() {
    // A mirror or a digest pin: --build-arg RUST_IMAGE=… / RUNTIME_IMAGE=….
    let (global, stages) = stages();
    let names: BTreeSet<String> = stages
        .iter()
        .filter_map(|s| {
            let words: Vec<&str> = s.from.split_whitespace().collect();
            (words.len() == 3 && words[1].eq_ignore_ascii_case("AS")).then(|| words[2].to_owned())
        })
        .collect();
    let mut used = BTreeSet::new();
    for stage in &stages {
        let image = stage.from.split_whitespace().next().expect("an image");
        if names.contains(image) {
            continue; // FROM an earlier stage
        }
        let arg = image
            .strip_prefix("${")
            .and_then(|i| i.strip_suffix('}'))
            .unwrap_or_else(|| panic!("FROM {image}: the base image must be a build argument"));
        let default = global
            .get(arg)
            .unwrap_or_else(|| panic!("FROM {image}: no ARG {arg} before the first FROM"));
        assert!(!default.is_empty(), "ARG {arg} has a default image");
        used.insert(arg.to_owned());
    }
    assert_eq!(
        used,
        BTreeSet::from(["RUST_IMAGE".to_owned(), "RUNTIME_IMAGE".to_owned()]),
        "the builder and runtime images"
    );
    assert_eq!(
        expand(&builder_stage(&stages).from, &global)
            .split_whitespace()
            .next(),
        global.get("RUST_IMAGE").map(String::as_str)
    );
}

#[test]
fn the_image_carries_oci_labels() {
    let (_, stages) = stages();
    let runtime = stages.last().expect("a runtime stage");
    let labels: BTreeMap<String, String> = runtime
        .instructions
        .iter()
        .filter(|(k, _)| k == "LABEL")
        .flat_map(|(_, a)| key_values(a))
        .collect();
    let args: BTreeMap<String, String> = runtime
        .instructions
        .iter()
        .filter(|(k, _)| k == "ARG")
        .flat_map(|(_, a)| key_values(a))
        .collect();
    let label = |name: &str| -> String {
        let key = format!("org.opencontainers.image.{name}");
        labels
            .get(&key)
            .unwrap_or_else(|| panic!("the runtime stage lacks LABEL {key}: {labels:?}"))
            .clone()
    };
    for name in ["title", "description", "source"] {
        let _ = label(name);
    }
    assert!(!label("title").is_empty() && !label("description").is_empty());
    let package = workspace_package();
    assert_eq!(
        label("licenses"),
        package["license"].as_str().expect("workspace license"),
        "the licenses label vs. Cargo.toml"
    );
    let version = label("version");
    let arg = version
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or_else(|| panic!("the version label comes from an ARG, got {version}"));
    assert_eq!(
        args.get(arg).map(String::as_str),
        package["version"].as_str(),
        "ARG {arg}'s default vs. the workspace version"
    );
    // A label's ARG must be declared in the stage, or it expands to nothing.
    for (key, value) in &labels {
        if let Some(arg) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            assert!(
                args.contains_key(arg),
                "{key}={value}: no ARG {arg} in the stage"
            );
        }
    }
}

#[test]
fn the_image_user_is_a_regular_user() {
    // useradd --system warns that 10001 exceeds SYS_UID_MAX (999).
    let user = instructions("USER");
    let (uid, gid) = user
        .last()
        .and_then(|u| u.split_once(':'))
        .expect("USER uid:gid");
    let mut found = false;
    for run in instructions("RUN") {
        for command in run.split("&&") {
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(&program) = words.first() else {
                continue;
            };
            if program != "useradd" && program != "groupadd" {
                continue;
            }
            found = true;
            for flag in ["--system", "-r"] {
                assert!(!words.contains(&flag), "{program} {flag}: {command}");
            }
            let id = if program == "useradd" { uid } else { gid };
            let flag = if program == "useradd" {
                "--uid"
            } else {
                "--gid"
            };
            assert_eq!(
                words
                    .iter()
                    .position(|w| *w == flag)
                    .and_then(|i| words.get(i + 1))
                    .copied(),
                Some(id),
                "{command}"
            );
        }
    }
    assert!(found, "the Dockerfile creates its user");
}

#[test]
fn the_image_runs_as_mre_and_exposes_the_service_ports() {
    let user = instructions("USER");
    assert_eq!(user.last().map(String::as_str), Some("10001:10001"));
    let exposed: BTreeSet<String> = instructions("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let services = services(&compose());
    for (service, flag) in [
        ("ingest-api", "--addr"),
        ("ingest-worker", "--metrics-addr"),
    ] {
        let words = command(&services[service]).expect("command");
        let addr = flag_value(&words, flag).unwrap_or_else(|| panic!("{service} {flag}"));
        assert!(
            exposed.contains(port(addr)),
            "{service} listens on {addr}; the Dockerfile exposes {exposed:?}"
        );
    }
    assert_eq!(
        dockerfile_env()
            .get("MRE_TRACK_SYNC_REPORT_DIR")
            .map(String::as_str),
        Some(REPORTS_DIR)
    );
    let healthcheck = instructions("HEALTHCHECK");
    assert_eq!(healthcheck.len(), 1, "one HEALTHCHECK");
    let probe = healthcheck[0]
        .split_once("CMD")
        .map(|(_, cmd)| cmd.trim())
        .expect("HEALTHCHECK CMD");
    let program: Vec<String> = serde_yaml_ng::from_str(probe).expect("exec form");
    assert!(
        copied_binaries().contains(&program[0]),
        "the health check runs {}, which the image does not install",
        program[0]
    );
}

#[test]
fn services_share_the_reports_volume_and_the_database() {
    let services = services(&compose());
    for name in ["ingest-api", "ingest-worker"] {
        let service = &services[name];
        let volumes: Vec<String> = service["volumes"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name}: volumes"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        assert!(
            volumes
                .iter()
                .any(|v| v.ends_with(&format!(":{REPORTS_DIR}"))),
            "{name} mounts the reports volume at {REPORTS_DIR}: {volumes:?}"
        );
        let env = environment(service);
        let database = env
            .get("DATABASE_URL")
            .unwrap_or_else(|| panic!("{name}: DATABASE_URL"));
        assert!(
            database.starts_with("postgres://") && database.contains("@postgres:5432/"),
            "{name}: DATABASE_URL points at the postgres service: {database}"
        );
        assert_eq!(
            env.get("MRE_TRACK_SYNC_REPORT_DIR").map(String::as_str),
            Some(REPORTS_DIR)
        );
        let depends = &service["depends_on"]["postgres"]["condition"];
        assert_eq!(
            depends.as_str(),
            Some("service_healthy"),
            "{name} waits for postgres"
        );
        let env_file = &service["env_file"];
        assert!(
            serde_yaml_ng::to_string(env_file)
                .expect("serialises")
                .contains("../.env"),
            "{name} reads ../.env"
        );
    }
    // The cron calls the API service on the port it listens on.
    let api = command(&services["ingest-api"]).expect("command");
    let api_port = port(flag_value(&api, "--addr").expect("--addr"));
    let cron_url = environment(&services["cron"])
        .remove("MRE_CRON_API_URL")
        .expect("cron: MRE_CRON_API_URL");
    assert_eq!(cron_url, format!("http://ingest-api:{api_port}"));
}

#[test]
fn every_variable_is_documented_in_env_example() {
    let documented = documented_variables();
    let mut used = BTreeSet::new();
    let mut texts = Vec::new();
    strings(&compose(), &mut texts);
    for text in &texts {
        used.extend(interpolated(text));
    }
    assert!(used.contains("POSTGRES_PASSWORD"), "found {used:?}");
    // What the cron script reads from its environment.
    let script = read("docker/cron.sh");
    for word in script.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("MRE_") {
            used.insert(word.to_owned());
        }
    }
    let missing: Vec<&String> = used.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "variables used by docker/ but not in .env.example: {missing:?}"
    );
}

#[test]
fn interpolation_is_read_like_compose_reads_it() {
    let found = interpolated("a ${A} ${B:-x} ${C:?err} $D $$E $${F} ${G:-${H}} ${I-}");
    let expected: BTreeSet<String> = ["A", "B", "C", "D", "G", "H", "I"]
        .map(str::to_owned)
        .into();
    assert_eq!(found, expected);
}

// --- the cron script ----------------------------------------------------------

/// Run `docker/cron.sh` with a stub `ingest-cli` (records its token
/// variable and arguments, exits 3) first on PATH.
fn run_cron(args: &[&str], env: &[(&str, &str)]) -> (std::process::Output, Option<String>) {
    let run = run_cron_with(args, env, false);
    (run.output, run.cli)
}

/// What a run of `cron.sh` did.
struct CronRun {
    output: std::process::Output,
    /// The stub `ingest-cli`'s record: its token variable and arguments.
    cli: Option<String>,
    /// The argument of each `sleep` (with the stub `sleep` only).
    sleeps: Vec<String>,
}

fn write_stub(path: &Path, script: &str) {
    fs::write(path, script).expect("write stub");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(path)
        .status()
        .expect("chmod runs");
    assert!(chmod.success());
}

/// `run_cron`, and with `stub_sleep` a stub `sleep` too, which records its
/// argument and sends the script SIGTERM: the endless loop (no argument)
/// then runs one round and stops. A `timeout` guards against a script that
/// would not stop.
fn run_cron_with(args: &[&str], env: &[(&str, &str)], stub_sleep: bool) -> CronRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let record = dir.path().join("args");
    let sleeps = dir.path().join("sleeps");
    write_stub(
        &dir.path().join("ingest-cli"),
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"MRE_API_TOKEN=$MRE_API_TOKEN\" \"$@\" > '{}'\nexit 3\n",
            record.display()
        ),
    );
    if stub_sleep {
        // The script runs `sleep` as its own background child: $PPID is the
        // script.
        write_stub(
            &dir.path().join("sleep"),
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{}'\nkill -TERM \"$PPID\"\nexit 0\n",
                sleeps.display()
            ),
        );
    }
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("timeout");
    command
        .arg("60")
        .arg("bash")
        .arg(workspace_root().join("docker/cron.sh"))
        .args(args)
        .env_clear()
        .env("PATH", path);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("timeout and bash run");
    assert_ne!(
        output.status.code(),
        Some(124),
        "cron.sh timed out: {output:?}"
    );
    CronRun {
        output,
        cli: fs::read_to_string(&record).ok(),
        sleeps: fs::read_to_string(&sleeps)
            .map(|s| s.lines().map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

#[test]
fn the_cron_script_calls_remote_sync_and_passes_its_status_on() {
    assert!(
        workspace_binaries().contains("ingest-cli"),
        "the cron script calls ingest-cli"
    );
    let (output, recorded) = run_cron(
        &["--now"],
        &[
            ("MRE_CRON_API_TOKEN", "tok-0123456789abcdef"),
            ("MRE_CRON_API_URL", "http://ingest-api:8080"),
        ],
    );
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let args: Vec<String> = recorded
        .expect("ingest-cli was called")
        .lines()
        .map(str::to_owned)
        .collect();
    // The token travels in ingest-cli's MRE_API_TOKEN, not on the command line.
    assert_eq!(
        args,
        [
            "MRE_API_TOKEN=tok-0123456789abcdef",
            "remote",
            "sync",
            "--api-url",
            "http://ingest-api:8080",
            "--trigger",
            "cron",
            "--wait"
        ]
    );
}

#[test]
fn the_cron_script_refuses_a_bad_configuration_before_calling_anything() {
    let cases: [&[(&str, &str)]; 3] = [
        &[],
        &[("MRE_CRON_API_TOKEN", "t"), ("MRE_CRON_AT", "25:00")],
        &[
            ("MRE_CRON_API_TOKEN", "t"),
            ("MRE_CRON_MAX_DELAY_SECONDS", "soon"),
        ],
    ];
    for env in cases {
        let (output, recorded) = run_cron(&["--now"], env);
        assert_eq!(output.status.code(), Some(64), "{env:?}: {output:?}");
        assert!(recorded.is_none(), "{env:?}: ingest-cli must not run");
    }
    let (output, _) = run_cron(&["--bogus"], &[("MRE_CRON_API_TOKEN", "t")]);
    assert_eq!(output.status.code(), Some(64));
}

#[test]
fn the_cron_script_schedules_the_next_run_at_the_configured_time() {
    let (output, recorded) = run_cron(&["--next"], &[("MRE_CRON_AT", "04:30")]);
    assert!(output.status.success(), "{output:?}");
    assert!(recorded.is_none());
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let next = chrono::DateTime::parse_from_rfc3339(text.trim())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .with_timezone(&chrono::Utc);
    assert_eq!(next.format("%H:%M:%S").to_string(), "04:30:00", "{next}");
    // The next 04:30 UTC: ahead (give or take the script's own run time,
    // should it have started just before 04:30), and no further than a day.
    let ahead = next - chrono::Utc::now();
    assert!(
        ahead > chrono::TimeDelta::seconds(-5) && ahead <= chrono::TimeDelta::days(1),
        "{next} is {ahead} ahead"
    );
}

/// `--next` for these settings: the time printed and the log (stderr).
fn cron_next(env: &[(&str, &str)]) -> (chrono::DateTime<chrono::Utc>, String) {
    let (output, recorded) = run_cron(&["--next"], env);
    assert!(output.status.success(), "{env:?}: {output:?}");
    assert!(recorded.is_none());
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let next = chrono::DateTime::parse_from_rfc3339(stdout.trim())
        .unwrap_or_else(|e| panic!("{stdout:?}: {e}"))
        .with_timezone(&chrono::Utc);
    (next, String::from_utf8(output.stderr).expect("utf-8"))
}

#[test]
fn the_cron_script_reads_leading_zeros_as_decimal() {
    // bash reads 0600 as octal 384, and 08 or 09 not at all ("value too great
    // for base"): the script must read every number in base 10.
    for (value, seconds) in [("0600", 600), ("09", 9), ("0", 0), ("1800", 1800)] {
        let (_, log) = cron_next(&[("MRE_CRON_MAX_DELAY_SECONDS", value)]);
        let expected = if seconds == 0 {
            "plus no random delay".to_owned()
        } else {
            format!("plus a random delay of 0-{seconds}s")
        };
        assert!(log.contains(&expected), "{value}: {log}");
        assert!(!log.contains("error"), "{value}: {log}");
    }
    // The HH:MM of MRE_CRON_AT too: 08 and 09 are the octal failures.
    for at in ["08:09", "09:08", "00:00", "23:59"] {
        let (next, log) = cron_next(&[("MRE_CRON_AT", at)]);
        assert_eq!(
            next.format("%H:%M:%S").to_string(),
            format!("{at}:00"),
            "{log}"
        );
        let ahead = next - chrono::Utc::now();
        assert!(
            ahead > chrono::TimeDelta::seconds(-5) && ahead <= chrono::TimeDelta::days(1),
            "{at}: {next} is {ahead} ahead"
        );
    }
}

#[test]
fn the_cron_loop_waits_for_the_time_plus_a_decimal_delay() {
    // The loop itself, with a stub sleep that stops it after one wait.
    for (value, max) in [("0600", 600), ("09", 9)] {
        let run = run_cron_with(
            &[],
            &[
                ("MRE_CRON_API_TOKEN", "tok-0123456789abcdef"),
                ("MRE_CRON_AT", "08:09"),
                ("MRE_CRON_MAX_DELAY_SECONDS", value),
            ],
            true,
        );
        let stdout = String::from_utf8_lossy(&run.output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{value}: {stdout}{stderr}"
        );
        assert!(stderr.is_empty(), "{value}: {stderr}");
        // "next track sync at …T08:09:00Z plus a random Ns"
        let line = stdout
            .lines()
            .find(|l| l.contains("next track sync at"))
            .unwrap_or_else(|| panic!("{value}: {stdout}"));
        assert!(line.contains("T08:09:00Z"), "{line}");
        let delay: u64 = line
            .rsplit_once("plus a random ")
            .and_then(|(_, d)| d.strip_suffix('s'))
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(delay <= max, "{value}: a delay of {delay}s exceeds {max}s");
        // The sleep lasts until 08:09 (within a day) plus that delay.
        let slept: u64 = run
            .sleeps
            .first()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{value}: sleeps {:?}", run.sleeps));
        let until_time = slept
            .checked_sub(delay)
            .unwrap_or_else(|| panic!("slept {slept}s, delay {delay}s"));
        assert!(
            (1..=86_400).contains(&until_time),
            "{value}: slept {slept}s with a delay of {delay}s"
        );
    }
}

#[test]
fn the_database_password_is_required_not_shipped() {
    // .env.example lists it commented out, so no deployment keeps a password
    // from the example; compose has no default and refuses to run without it.
    let example = read(".env.example");
    assert!(
        example
            .lines()
            .any(|l| l.trim_start().starts_with("# POSTGRES_PASSWORD=")),
        ".env.example lists POSTGRES_PASSWORD as a commented example"
    );
    assert!(
        !example
            .lines()
            .any(|l| l.trim_start().starts_with("POSTGRES_PASSWORD")),
        ".env.example sets no POSTGRES_PASSWORD"
    );
    let mut texts = Vec::new();
    strings(&compose(), &mut texts);
    let uses: Vec<&String> = texts
        .iter()
        .filter(|t| interpolated(t).contains("POSTGRES_PASSWORD"))
        .collect();
    assert!(
        uses.len() >= 2,
        "the postgres service and DATABASE_URL: {uses:?}"
    );
    for text in uses {
        assert!(
            text.contains("${POSTGRES_PASSWORD:?") && !text.contains("${POSTGRES_PASSWORD:-"),
            "POSTGRES_PASSWORD is required (${{POSTGRES_PASSWORD:?…}}): {text}"
        );
    }
}

// --- the smoke test -------------------------------------------------------------

/// `docker/smoke-test.compose.yml` adds only what the smoke test needs, runs
/// binaries the image installs (the simulator through `ingest-cli
/// simulator`, which must exist), points the services at it rather than at
/// liverc.com, and sets only configuration names that exist.
#[test]
fn the_smoke_test_overlay_runs_the_simulator_from_the_image() {
    let mut overlay: Value = serde_yaml_ng::from_str(&read("docker/smoke-test.compose.yml"))
        .expect("the overlay parses");
    overlay.apply_merge().expect("merge keys resolve");
    let overlay = services(&overlay);
    let base = services(&compose());
    let copied = copied_binaries();
    let documented = documented_variables();

    let sim = &overlay["liverc-sim"];
    let words = command(sim).expect("liverc-sim has a command");
    assert_eq!(words[..2], ["ingest-cli", "simulator"], "{words:?}");
    assert!(
        copied.contains("ingest-cli"),
        "the image installs ingest-cli"
    );
    let listen = flag_value(&words, "--addr").expect("--addr");
    let main_rs = read("bins/ingest-cli/src/main.rs");
    assert!(
        main_rs.contains("Simulator(liverc_sim::cli::SimArgs)"),
        "ingest-cli has the simulator command"
    );

    for (name, service) in &overlay {
        if name == "liverc-sim" {
            continue;
        }
        assert!(
            base.contains_key(name),
            "the overlay adds an unknown service {name}"
        );
        let env = environment(service);
        for key in env.keys() {
            assert!(
                documented.contains(key),
                "{name}: {key} is not a configuration name of .env.example"
            );
        }
        if let Some(url) = env.get("MRE_LIVERC_CATALOGUE_URL") {
            assert_eq!(
                url,
                &format!("http://liverc-sim:{}/", port(listen)),
                "{name} reads the simulator's catalogue"
            );
            assert!(
                env["MRE_LIVERC_TRACK_URL_TEMPLATE"].starts_with("http://liverc-sim:"),
                "{name}: dashboards from the simulator too"
            );
        }
    }
    assert!(
        environment(&overlay["ingest-worker"]).contains_key("MRE_LIVERC_CATALOGUE_URL"),
        "the workers, which fetch, are pointed at the simulator"
    );

    // The script parses, and brings up only the services it checks (not
    // cron, which would start a second sync at its hour).
    let script = workspace_root().join("docker/smoke-test.sh");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(checked.status.success(), "{checked:?}");
    let text = read("docker/smoke-test.sh");
    assert!(
        text.contains("compose up -d postgres liverc-sim ingest-api ingest-worker"),
        "the smoke test starts the services it checks"
    );
    assert!(text.contains("trap teardown EXIT"), "it always tears down");
}
