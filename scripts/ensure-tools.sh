#!/usr/bin/env bash
# The test suite's tools: those from PyPI (tests/tools/requirements.txt) in
# one virtualenv, those from npm (tests/tools/package-lock.json) in one
# node_modules installed by `npm ci`, both kept under $TERMAUDIT_TOOLS_DIR
# (default ~/.cache/termaudit/tools) in folders named by the hash of what
# pins them, so each is made again only when its pins change. Prints the
# directories to put first on PATH (colon-separated):
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

lockfile="$repo_root/tests/tools/package-lock.json"
node_hash="$(cat "$repo_root/tests/tools/package.json" "$lockfile" | sha256sum | cut -c1-16)"
node_dir="$tools_dir/node-$node_hash"
if [[ ! -f "$node_dir/.complete" ]]; then
    log "installing the npm tools into $node_dir (once per lockfile change)"
    if ! command -v npm >/dev/null; then
        log "npm is missing; installing Debian's nodejs and npm"
        if [[ $EUID -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    rm -rf "$node_dir"
    mkdir -p "$node_dir"
    cp "$repo_root/tests/tools/package.json" "$lockfile" "$node_dir/"
    (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    touch "$node_dir/.complete"
fi
echo "$venv/bin:$node_dir/node_modules/.bin"
