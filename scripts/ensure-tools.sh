#!/usr/bin/env bash
# The test suite's tools that come from PyPI (tests/tools/requirements.txt),
# in one virtualenv kept under $TERMAUDIT_TOOLS_DIR (default
# ~/.cache/termaudit/tools) and made again only when the requirements change.
# Prints the directory to put first on PATH:
#
#   PATH="$(scripts/ensure-tools.sh):$PATH"
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo_root/tests/tools/requirements.txt"
tools_dir="${TERMAUDIT_TOOLS_DIR:-$HOME/.cache/termaudit/tools}"
hash="$(sha256sum "$requirements" | cut -c1-16)"
venv="$tools_dir/venv-$hash"

log() { printf 'ensure-tools: %s\n' "$*" >&2; }

if [[ ! -x "$venv/bin/python" || ! -f "$venv/.complete" ]]; then
    log "making the tools' virtualenv $venv (once per requirements change)"
    rm -rf "$venv"
    mkdir -p "$tools_dir"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 needs its venv package for this.
        log "python3 -m venv failed; installing python3-venv"
        if [[ $EUID -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
    touch "$venv/.complete"
fi
echo "$venv/bin"
