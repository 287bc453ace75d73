#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the spec, unit and
# end-to-end tests against a real PostgreSQL (started when none runs), the
# web app's build and its browser tests in headless Chromium, and a bounded
# run of the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
# The real asciinema CLI checks that downloads play as they were recorded.
if ! command -v asciinema >/dev/null; then
    python3 -m pip install --quiet asciinema 2>/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq asciinema >/dev/null; }
fi

echo "== web app"
scripts/build-frontend.sh
(cd frontend && cargo clippy --locked --target wasm32-unknown-unknown -- -D warnings 2>/dev/null \
    || cargo clippy --locked -- -D warnings)
(cd frontend && cargo test --locked)

echo "== cargo fmt"
cargo fmt --all -- --check
(cd frontend && cargo fmt -- --check)
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== fuzzing (bounded)"
scripts/fuzz.sh 20
