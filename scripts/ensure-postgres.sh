#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:${PGPORT:-5432} with
# trust auth for the user postgres. When none answers, starts a private one
# from Debian's packages (installing them when missing), as the postgres
# user since initdb refuses root. TERMAUDIT_PRIVATE_PG=1 skips the system
# cluster and always uses the private one in $TERMAUDIT_PGDATA. Either way it
# installs the server's binaries (package postgresql) when they are missing:
# the restart tests start servers of their own.
set -euo pipefail

port="${PGPORT:-5432}"
data="${TERMAUDIT_PGDATA:-/var/tmp/termaudit-pg}"

answers() {
    pg_isready -q -h 127.0.0.1 -p "$port" -U postgres 2>/dev/null && \
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The server's binaries, even when a server answers already: the tests that
# restart PostgreSQL (pg_restart.rs) start one of their own with initdb and
# pg_ctl, and fail when these are missing.
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "ensure-postgres: installing PostgreSQL from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
export PATH="$bindir:$PATH"

if command -v pg_isready >/dev/null && answers; then
    exit 0
fi

# The package may have started its own cluster; use it when it lets us in.
if command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    for version in $(ls /etc/postgresql); do
        [ -n "${TERMAUDIT_PRIVATE_PG:-}" ] || as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    sleep 1
    if answers; then exit 0; fi
    # Running, but not with trust auth on this port: stop it and use our own.
    if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then
        for version in $(ls /etc/postgresql); do
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main stop 2>/dev/null || true
        done
    fi
fi

run_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env PATH="$PATH" "$@"
    else
        "$@"
    fi
}

if [ ! -f "$data/PG_VERSION" ]; then
    echo "ensure-postgres: creating a cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    run_as_postgres initdb -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
echo "ensure-postgres: starting PostgreSQL on 127.0.0.1:$port"
run_as_postgres pg_ctl -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c max_connections=300" start >/dev/null
answers || { echo "ensure-postgres: PostgreSQL does not answer; see $data/server.log" >&2; exit 1; }
