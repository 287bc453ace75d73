#!/usr/bin/env bash
# s3s-fs, a Rust S3-compatible server over a directory, for the recording
# benchmark's RECORDING_BENCH_STORE=s3s-fs (tests/benches/recording_1gb.rs):
# built once from crates.io into $TERMAUDIT_TOOLS_DIR (default
# ~/.cache/termaudit/tools); prints the binary's path. Not part of the test
# suite, which uses moto (scripts/ensure-tools.sh).
#
#   TERMAUDIT_S3S_FS="$(scripts/ensure-s3s-fs.sh)"
set -euo pipefail

# 0.14.1 is the last release that builds with rustc 1.95.
version=0.14.1
root="${TERMAUDIT_TOOLS_DIR:-$HOME/.cache/termaudit/tools}/s3s-fs-$version"
if [[ ! -x "$root/bin/s3s-fs" ]]; then
    printf 'ensure-s3s-fs: building s3s-fs %s into %s (once)\n' "$version" "$root" >&2
    cargo install "s3s-fs@$version" --features binary --locked --root "$root" >&2
fi
echo "$root/bin/s3s-fs"
