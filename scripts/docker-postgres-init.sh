#!/bin/sh
# Run by the postgres image when it creates its cluster (docker-compose.yml):
# creates termaudit's app role with a password, so the server can log in
# with one. termaudit's migration (V8) then finds the role and uses it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$TERMAUDIT_APP_PASSWORD" <<'SQL'
CREATE ROLE termaudit_app LOGIN PASSWORD :'password';
SQL
