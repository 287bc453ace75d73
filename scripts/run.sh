#!/usr/bin/env bash
# Builds and runs termaudit with demo data: PostgreSQL (started when none
# runs), migrations, the web app, and a token to sign in with.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-postgres.sh
if [ -x scripts/build-frontend.sh ]; then
    scripts/build-frontend.sh
fi
cargo build --release --locked --bin termaudit

# Migrations run as the tables' owner, the server as termaudit_app, the role
# the migrations create (README, "Database roles").
export TERMAUDIT_MIGRATE_DATABASE_URL="${TERMAUDIT_MIGRATE_DATABASE_URL:-postgres://postgres@127.0.0.1:${PGPORT:-5432}/termaudit}"
export DATABASE_URL="${DATABASE_URL:-postgres://termaudit_app@127.0.0.1:${PGPORT:-5432}/termaudit}"

bind="${TERMAUDIT_BIND:-127.0.0.1:8080}"
export TERMAUDIT_BIND="$bind"
bin=target/release/termaudit
"$bin" migrate >/dev/null
token=$("$bin" token --sub demo-admin --name "Demo admin" --project demo --permission all 2>/dev/null)

cat <<MSG

  termaudit is starting at http://$bind/
  API docs:  http://$bind/api/docs/
  Sign in on the page as one of the demo users (Alice opens terminals on
  the demo targets: a demo program, not a shell), or use this token for the
  demo project (every permission, valid 12 hours):

  $token

  Try: curl -H "Authorization: Bearer \$TOKEN" http://$bind/api/v1/projects

MSG
exec "$bin" serve --demo
