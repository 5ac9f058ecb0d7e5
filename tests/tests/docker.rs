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

/// `ARG NAME=default` values, for `${NAME}` in `FROM`.
fn dockerfile_args() -> BTreeMap<String, String> {
    instructions("ARG")
        .iter()
        .filter_map(|a| a.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
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
    let args = dockerfile_args();
    let from = instructions("FROM");
    let builder = from
        .iter()
        .find(|f| f.starts_with("rust:"))
        .expect("a rust: builder stage");
    let image = builder.split_whitespace().next().expect("an image");
    let tag = image.strip_prefix("rust:").expect("rust image");
    let tag = match tag.strip_prefix("${RUST_VERSION}") {
        Some(rest) => format!("{}{rest}", args["RUST_VERSION"]),
        None => tag.to_owned(),
    };
    let version = tag
        .strip_suffix("-slim-bookworm")
        .unwrap_or_else(|| panic!("a slim bookworm builder, got rust:{tag}"));
    assert_eq!(
        version, channel,
        "Dockerfile rust:{tag} vs. rust-toolchain.toml"
    );
    if let Some(pinned) = dockerfile_env().get("RUSTUP_TOOLCHAIN") {
        let pinned = pinned.replace("${RUST_VERSION}", &args["RUST_VERSION"]);
        assert_eq!(pinned, channel, "RUSTUP_TOOLCHAIN vs. rust-toolchain.toml");
    }
    let runtime = from.last().expect("a runtime stage");
    assert!(runtime.starts_with("debian:bookworm-slim"), "{runtime}");
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
    let dir = tempfile::tempdir().expect("temp dir");
    let record = dir.path().join("args");
    let stub = dir.path().join("ingest-cli");
    fs::write(
        &stub,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"MRE_API_TOKEN=$MRE_API_TOKEN\" \"$@\" > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .expect("write stub");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&stub)
        .status()
        .expect("chmod runs");
    assert!(chmod.success());
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    command
        .arg(workspace_root().join("docker/cron.sh"))
        .args(args)
        .env_clear()
        .env("PATH", path);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("bash runs");
    let recorded = fs::read_to_string(&record).ok();
    (output, recorded)
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
