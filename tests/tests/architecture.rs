//! The layering rules of `docs/ARCHITECTURE.md`, checked against the
//! manifests and sources so a forbidden edge fails CI instead of a review.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every member manifest: package name → (dir, parsed manifest).
fn members() -> BTreeMap<String, (PathBuf, toml::Table)> {
    let mut out = BTreeMap::new();
    for group in ["crates", "bins"] {
        let dir = workspace_root().join(group);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            let Ok(text) = fs::read_to_string(&manifest) else {
                continue;
            };
            let table: toml::Table = text.parse().expect("member manifest parses");
            let name = table["package"]["name"]
                .as_str()
                .expect("package.name")
                .to_owned();
            out.insert(name, (entry.path(), table));
        }
    }
    out
}

fn deps(manifest: &toml::Table, section: &str) -> Vec<String> {
    manifest
        .get(section)
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn our_crates() -> Vec<String> {
    members().into_keys().collect()
}

/// Utility crates: small, pure, knowing no crate of ours (checked below),
/// so any crate of ours but the standalone connector may use one as it
/// would a third-party crate.
const UTILITIES: [&str; 1] = ["ingest-retry"];

#[test]
fn folder_name_is_crate_name() {
    for (name, (dir, _)) in members() {
        let folder = dir.file_name().and_then(|f| f.to_str()).unwrap_or_default();
        assert_eq!(folder, name, "crate {name} lives in folder {folder}");
    }
}

#[test]
fn every_member_uses_workspace_lints_and_versions() {
    for (name, (_, manifest)) in members() {
        let lints = manifest.get("lints").and_then(|l| l.get("workspace"));
        assert_eq!(
            lints.and_then(|v| v.as_bool()),
            Some(true),
            "{name}: [lints] workspace = true"
        );
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            let Some(table) = manifest.get(section).and_then(|d| d.as_table()) else {
                continue;
            };
            for (dep, spec) in table {
                let inherits = spec
                    .as_table()
                    .and_then(|t| t.get("workspace"))
                    .and_then(|w| w.as_bool())
                    == Some(true);
                assert!(
                    inherits,
                    "{name}: {section}.{dep} must take its version from [workspace.dependencies]"
                );
            }
        }
    }
}

#[test]
fn liverc_connector_stands_alone() {
    // Other teams depend on the connector alone: none of our crates, no database.
    let members = members();
    let (_, manifest) = &members["liverc"];
    let ours = our_crates();
    for dep in deps(manifest, "dependencies") {
        assert!(!ours.contains(&dep), "liverc must not depend on {dep}");
        assert!(
            !["sqlx", "axum"].contains(&dep.as_str()),
            "liverc must not depend on {dep}"
        );
    }
}

#[test]
fn simulator_does_not_depend_on_the_client_it_tests() {
    let members = members();
    let (_, manifest) = &members["liverc-sim"];
    let ours = our_crates();
    for dep in deps(manifest, "dependencies") {
        assert!(!ours.contains(&dep), "liverc-sim must not depend on {dep}");
    }
}

#[test]
fn core_depends_on_no_adapter() {
    let members = members();
    let Some((_, manifest)) = members.get("ingest-core") else {
        return;
    };
    let forbidden = [
        "liverc",
        "sqlx",
        "reqwest",
        "axum",
        "hyper",
        "tokio-postgres",
        "rusqlite",
    ];
    let ours = our_crates();
    for dep in deps(manifest, "dependencies") {
        assert!(
            !forbidden.contains(&dep.as_str()),
            "ingest-core must not depend on the adapter {dep}"
        );
        assert!(
            !ours.contains(&dep),
            "ingest-core must depend on no crate of ours, found {dep}"
        );
    }
}

#[test]
fn adapters_know_only_the_core() {
    // Each adapter implements ports of ingest-core and knows no sibling:
    // the HTTP API does not reach into the store, alerts do not render
    // reports, and so on. Binaries and ingest-app wire them together.
    let members = members();
    let ours = our_crates();
    for adapter in [
        "ingest-http",
        "ingest-alerts",
        "ingest-report",
        "ingest-metrics",
        "ingest-geocode",
    ] {
        let Some((_, manifest)) = members.get(adapter) else {
            panic!("{adapter} is missing from the workspace");
        };
        for dep in deps(manifest, "dependencies") {
            assert!(
                !ours.contains(&dep) || dep == "ingest-core" || UTILITIES.contains(&dep.as_str()),
                "{adapter} must depend on no crate of ours but ingest-core and the utilities, found {dep}"
            );
        }
    }
}

#[test]
fn utilities_depend_on_no_crate_of_ours() {
    let members = members();
    let ours = our_crates();
    for utility in UTILITIES {
        let Some((_, manifest)) = members.get(utility) else {
            panic!("{utility} is missing from the workspace");
        };
        for dep in deps(manifest, "dependencies") {
            assert!(
                !ours.contains(&dep),
                "the utility {utility} must depend on no crate of ours, found {dep}"
            );
        }
    }
}

#[test]
fn only_the_api_crate_maps_errors_to_http_statuses() {
    // "Only ingest-http knows HTTP status codes": no other library crate
    // names a `StatusCode` (clients such as the connector read statuses
    // through reqwest's own type; the worker's metrics server answers 200).
    let root = workspace_root();
    for (name, (dir, _)) in members() {
        // liverc-sim plays the LiveRC site itself, statuses included.
        if name == "ingest-http" || name == "liverc-sim" || !dir.starts_with(root.join("crates")) {
            continue;
        }
        for file in rust_files(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).expect("read source");
            assert!(
                !text.contains("axum::http::StatusCode") && !text.contains("http::StatusCode::"),
                "{} maps to HTTP statuses; only ingest-http may",
                file.display()
            );
        }
    }
}

#[test]
fn library_crates_do_not_read_the_environment() {
    // Configuration is read once, in the binaries. liverc-sim's own binary
    // (src/bin) is a composition root too.
    for (name, (dir, _)) in members() {
        if dir.starts_with(workspace_root().join("bins")) {
            continue;
        }
        for file in rust_files(&dir.join("src")) {
            if file.components().any(|c| c.as_os_str() == "bin") {
                continue;
            }
            let text = fs::read_to_string(&file).expect("read source");
            for needle in ["env::var(", "env::var_os(", "dotenvy::"] {
                assert!(
                    !text.contains(needle),
                    "{name}: {} reads the environment ({needle}); read configuration in the binary",
                    file.display()
                );
            }
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_scratch_database_crate_is_for_tests_only() {
    // ingest-testdb creates and drops databases: no library or binary may
    // depend on it, only tests (dev-dependencies). It depends on no crate
    // of ours either.
    let members = members();
    let ours = our_crates();
    assert!(members.contains_key("ingest-testdb"));
    for (name, (_, manifest)) in &members {
        for section in ["dependencies", "build-dependencies"] {
            assert!(
                !deps(manifest, section).contains(&"ingest-testdb".to_owned()),
                "{name}: ingest-testdb is a dev-dependency only, found in [{section}]"
            );
        }
    }
    let (_, manifest) = &members["ingest-testdb"];
    for dep in deps(manifest, "dependencies") {
        assert!(!ours.contains(&dep), "ingest-testdb depends on {dep}");
    }
}
