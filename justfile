# Developer shortcuts. Every recipe is a plain cargo command, so nothing here
# is required: `cargo run --release -p ingest-cli -- demo` and
# `cargo test --workspace` work without `just`.

default:
    @just --list

# The demo: a full sync of the LiveRC simulator into the embedded SQLite database.
demo:
    cargo run --release -p ingest-cli -- demo

# The whole test suite (Postgres at 127.0.0.1:5432 must be up).
test:
    cargo test --workspace

# What CI runs: fmt, clippy, tests.
ci:
    bash .ci/run

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings

# A simulated LiveRC site on loopback.
sim *ARGS:
    cargo run --release -p liverc-sim -- {{ARGS}}

bench:
    cargo bench -p ingest-store
