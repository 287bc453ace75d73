#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the spec, unit and
# end-to-end tests (against a real PostgreSQL, started when none runs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
