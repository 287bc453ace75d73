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
# The targets run side by side, one per core: each is one libFuzzer process
# on one core for its time, so running them one after another would leave
# the other cores idle.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
parallel="$(nproc)"
fuzz_one() {
    local target="$1"
    mkdir -p "corpus/$target"
    cargo "$toolchain" fuzz run "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$logs/$target" 2>&1
}
declare -A pids=()
mapfile -t targets < <(cargo "$toolchain" fuzz list)
for target in "${targets[@]}"; do
    # (Polled, not `wait -n`, which would take a status the loop below reads.)
    while (($(jobs -rp | wc -l) >= parallel)); do sleep 1; done
    echo "fuzz: $target for $seconds s"
    fuzz_one "$target" &
    pids[$target]=$!
done
failed=0
for target in "${targets[@]}"; do
    status=0
    wait "${pids[$target]}" || status=$?
    # What libFuzzer says of the run: executions, coverage, memory.
    echo "fuzz: $target:"
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|peak_rss_mb)' "$logs/$target" || true
    if [[ $status != 0 ]]; then
        tail -n 60 "$logs/$target" >&2
        echo "fuzz: $target failed; the reproducer is in fuzz/artifacts/$target/" >&2
        failed=1
    fi
done
((failed == 0)) || exit 1
echo "fuzz: done in $((SECONDS - started)) s"
