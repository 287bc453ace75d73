#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with cargo-fuzz (libFuzzer and
# AddressSanitizer), each target for a bounded time:
#
#   scripts/fuzz.sh              # 60 s per target
#   scripts/fuzz.sh 20           # 20 s per target (what the test command runs)
#
# Targets live in fuzz/fuzz_targets; each starts from its committed seeds
# (fuzz/seeds/<target>) and the corpus earlier runs grew (fuzz/corpus/<target>,
# not committed). A crash fails the run and names the reproducer under
# fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
#
# cargo-fuzz needs nightly compiler flags: the nightly toolchain when rustup
# has one, otherwise the stable one with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io"
    cargo install --locked cargo-fuzz
fi

if rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=+nightly
else
    toolchain=+stable
    export RUSTC_BOOTSTRAP=1
fi

started=$SECONDS
cargo "$toolchain" fuzz build
echo "fuzz: built in $((SECONDS - started)) s with $toolchain"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in $(cargo "$toolchain" fuzz list); do
    mkdir -p "corpus/$target"
    echo "fuzz: $target for $seconds s"
    status=0
    cargo "$toolchain" fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
    # What libFuzzer says of the run: executions, coverage, memory.
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
    if [[ $status != 0 ]]; then
        tail -n 60 "$log" >&2
        echo "fuzz: $target failed; the reproducer is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "fuzz: done in $((SECONDS - started)) s"
