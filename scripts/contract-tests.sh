#!/usr/bin/env bash
# The API contract, checked the way generated SDKs and strict clients meet
# it, against the real server: it starts `termaudit serve --demo` on a free
# loopback port with a fresh database, then
#
#   1. validates the served OpenAPI document as OpenAPI 3.1
#      (openapi-spec-validator);
#   2. generates a Python SDK from openapi/openapi.json with
#      openapi-python-client, failing on any warning, and runs a scenario
#      through it (tests/contract/sdk_scenario.py);
#   3. generates TypeScript types with openapi-typescript and type-checks a
#      small client program against them (tests/contract/ts, `tsc --noEmit`);
#   4. runs schemathesis against the served document with an all-permissions
#      token: every check, the stateful phase following the document's links,
#      settings in schemathesis.toml (about four minutes).
#
# The tools come from scripts/ensure-tools.sh (test.sh puts them on PATH);
# nothing is installed here. Needs PostgreSQL on 127.0.0.1:5432 (test.sh
# starts it) and builds the debug `termaudit` binary unless TERMAUDIT_BIN
# names one.
# CONTRACT_SKIP_SCHEMATHESIS=1 runs steps 1-3 only (quick, while working).
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root="$PWD"

# Quick when the tools are in place already (as test.sh leaves them).
PATH="$(scripts/ensure-tools.sh):$PATH"
export PATH

# The server: TERMAUDIT_BIN when the caller built it (test.sh, whose build
# of every target enables other dependency features than this package's
# alone would, so building here would compile the workspace again).
if [[ -n "${TERMAUDIT_BIN:-}" ]]; then
    bin="$TERMAUDIT_BIN"
else
    cargo build --quiet --locked -p termaudit-server --bin termaudit
    bin="$repo_root/target/debug/termaudit"
fi
[[ -x "$bin" ]] || { echo "contract: no server binary at $bin" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/termaudit-contract.XXXXXX")"
database="termaudit_contract_$$"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    psql -h 127.0.0.1 -U postgres -d postgres -qAtc "DROP DATABASE IF EXISTS $database WITH (FORCE)" \
        >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
export TERMAUDIT_BIND="127.0.0.1:$port"
export TERMAUDIT_JWT_SECRET="contract-tests-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export TERMAUDIT_DATA_DIR="$work/data"
export RUST_LOG="${RUST_LOG:-warn}"
base_url="http://127.0.0.1:$port"

"$bin" serve --demo >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "$base_url/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "contract: the server did not start" >&2
        exit 1
    fi
    sleep 0.2
done
curl -fsS "$base_url/readyz" >/dev/null

token() { "$bin" token --sub "$1" --name "$2" --project demo "${@:3}" 2>/dev/null; }
export TERMAUDIT_URL="$base_url"
export TERMAUDIT_TOKEN="$(token contract "Contract tests" --permission all)"
export TERMAUDIT_INGEST_TOKEN="$(token gateway-contract "Contract gateway" --permission terminal.ingest)"
export TERMAUDIT_AUDITOR_TOKEN="$(token auditor-contract "Contract auditor" \
    --permission terminal.view_history --permission terminal.view_recording \
    --permission terminal.download_recording)"

failed=0
step() { printf '\n== contract: %s\n' "$*"; }

step "the served document is valid OpenAPI 3.1 (openapi-spec-validator)"
curl -fsS "$base_url/api/openapi.json" -o "$work/served.json"
openapi-spec-validator --schema 3.1 --validation-errors all "$work/served.json"

step "Python SDK (openapi-python-client), no warnings, and a scenario through it"
openapi-python-client generate --path openapi/openapi.json --meta none \
    --output-path "$work/python/termaudit_client" \
    --fail-on-warning 2>&1 | tee "$work/python-generate.log"
if grep -qi "warning" "$work/python-generate.log"; then
    echo "contract: openapi-python-client warned" >&2
    exit 1
fi
PYTHONPATH="$work/python" python tests/contract/sdk_scenario.py

step "TypeScript types (openapi-typescript) and a client type-checked by tsc"
mkdir -p "$work/ts"
cp tests/contract/ts/*.ts tests/contract/ts/tsconfig.json "$work/ts/"
ln -s "$(dirname "$(dirname "$(command -v tsc)")")" "$work/ts/node_modules"
openapi-typescript openapi/openapi.json --output "$work/ts/termaudit.d.ts"
(cd "$work/ts" && tsc --noEmit -p tsconfig.json)
echo "tsc: the client type-checks against the generated types"

if [[ "${CONTRACT_SKIP_SCHEMATHESIS:-}" == 1 ]]; then
    echo "contract: schemathesis skipped (CONTRACT_SKIP_SCHEMATHESIS=1)"
    exit 0
fi
step "schemathesis: every check, stateful, against the served document"
started=$SECONDS
schemathesis --config-file schemathesis.toml run "$base_url/api/openapi.json" \
    --url "$base_url" 2>&1 | tee "$work/schemathesis.log" || failed=1
echo "schemathesis took $((SECONDS - started)) s"
if ((failed)); then
    echo "contract: schemathesis found problems; the server's log follows" >&2
    grep -E "ERROR|error" "$work/server.log" | tail -n 40 >&2 || true
    exit 1
fi
