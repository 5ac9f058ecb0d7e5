# Developer shortcuts. Every recipe is a plain cargo command, so nothing here
# is required: `cargo run --release -p ingest-cli -- demo` and
# `scripts/test` work without `just`.

default:
    @just --list

# The demo: a full sync of the LiveRC simulator into the embedded SQLite database.
demo:
    cargo run --release -p ingest-cli -- demo

# The whole test suite, after scripts/test-setup (PostgreSQL, Chromium and
# its driver, tmux: started or installed when missing).
test *ARGS:
    scripts/test {{ARGS}}

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
