#!/usr/bin/env bash
# The whole end-to-end scenario through a real PgBouncer in transaction
# pooling, over TLS to PostgreSQL (issue 17).
#
#   .ci/pgbouncer.sh            (after the release build; reuses it)
#
# PgBouncer is Debian's: the package of Debian 13 (1.24.1), built here from
# its source (the orig tarball from deb.debian.org, checked against the
# SHA-256 Debian's Sources index gives), because Debian 12's 1.18 predates
# max_prepared_statements (1.21): without it a pooler in transaction mode
# cannot carry the named prepared statements sqlx uses. Each service gets a
# role of its own whose search_path is its schema (what
# INNOLAB_DATABASE_POOLING=transaction expects); the schemas are emptied
# first. Needs root (apt-get), a C compiler, and PostgreSQL on 127.0.0.1:5432
# with trust for postgres, as .ci/run has.
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.24.1
sha256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/innolab-pgbouncer-$version"
bin="$cache/bin/pgbouncer"

if [[ ! -x "$bin" ]]; then
  echo "building PgBouncer $version from Debian's source"
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    # shellcheck source=scripts/lib/apt.sh
    source "$(dirname "$0")/../scripts/lib/apt.sh"
    apt_get install -y -qq --no-install-recommends libevent-dev libssl-dev pkg-config make gcc \
      || { apt_get update -qq && apt_get install -y -qq --no-install-recommends \
      libevent-dev libssl-dev pkg-config make gcc; }
  fi
  build="$(mktemp -d)"
  curl -fsS -o "$build/src.tar.gz" \
    "http://deb.debian.org/debian/pool/main/p/pgbouncer/pgbouncer_$version.orig.tar.gz"
  echo "$sha256  $build/src.tar.gz" | sha256sum -c --quiet
  tar -xzf "$build/src.tar.gz" -C "$build"
  (cd "$build/pgbouncer-$version" \
    && ./configure --prefix="$cache" --without-cares --without-systemd >/dev/null \
    && make -j2 >/dev/null && make install >/dev/null)
  rm -rf "$build"
fi
"$bin" --version | head -1

run="$(mktemp -d)"
chmod 755 "$run"
services=(membership initiatives guidance impact)
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "postgres://postgres@127.0.0.1:5432/postgres" "$@"; }
users="$run/users.txt"
: >"$users"
for service in "${services[@]}"; do
  role="innolab_pgb_$service"
  schema="pgb_$service"
  psql_admin <<SQL
DROP SCHEMA IF EXISTS $schema CASCADE;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN;
  END IF;
END \$\$;
ALTER ROLE $role SET search_path = $schema;
GRANT CREATE, CONNECT ON DATABASE postgres TO $role;
SQL
  echo "\"$role\" \"\"" >>"$users"
done

# Small pools, so that clients share server connections: what transaction
# pooling is for, and what would expose any session state left behind.
cat >"$run/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=5432 dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6432
unix_socket_dir =
auth_type = trust
auth_file = $users
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
max_prepared_statements = 200
ignore_startup_parameters = extra_float_digits
stats_users = innolab_pgb_membership
server_tls_sslmode = require
logfile = $run/pgbouncer.log
pidfile = $run/pgbouncer.pid
INI
# PgBouncer will not run as root: as root, run it as postgres, from a copy
# that user can read.
install -m 755 "$bin" "$run/pgbouncer"
if [[ "$(id -u)" == 0 ]]; then
  chown -R postgres "$run"
  su postgres -s /bin/sh -c "$run/pgbouncer -d $run/pgbouncer.ini"
else
  "$run/pgbouncer" -d "$run/pgbouncer.ini"
fi
trap 'kill "$(cat "$run/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 6432 && break
  sleep 0.2
done

status=0
INNOLAB_TEST_PGBOUNCER_URL='postgres://innolab_pgb_{service}@127.0.0.1:6432/postgres' \
  cargo test --locked -p innolab-tests --test e2e -- pgbouncer --nocapture 2>&1 \
  | tee "$run/test.log" || status=$?
if grep -q "skipping the PgBouncer run" "$run/test.log"; then
  echo "the PgBouncer test was skipped" >&2
  status=1
fi
if ((status != 0)); then
  echo "--- PgBouncer's log"
  tail -50 "$run/pgbouncer.log"
fi
# What went through PgBouncer: it must have carried the scenario.
xacts="$(psql -X -At -F' ' "postgres://innolab_pgb_membership@127.0.0.1:6432/pgbouncer" \
  -c 'SHOW STATS' | awk '$1 == "postgres" { print $2 }')"
echo "PgBouncer carried ${xacts:-no} transactions of the scenario"
if ((status == 0)) && [[ "${xacts:-0}" -lt 100 ]]; then
  echo "too few transactions through PgBouncer: the services did not use it" >&2
  status=1
fi
exit $status
