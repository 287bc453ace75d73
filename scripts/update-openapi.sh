#!/usr/bin/env bash
# Regenerates openapi/openapi.json from the code (the spec drift test compares them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --bin termaudit -- openapi > openapi/openapi.json.tmp
mv openapi/openapi.json.tmp openapi/openapi.json
echo "wrote openapi/openapi.json"
