#!/usr/bin/env bash
# Runs a command with a private PostgreSQL server:
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# initdb into a temporary directory, start the server on a free port of 127.0.0.1 (Unix socket
# in the same directory), run COMMAND with
#   BOTSESSION_TEST_POSTGRES_URI      postgresql://postgres@127.0.0.1:PORT/postgres
#   BOTSESSION_TEST_POSTGRES_CONTROL  a script taking start|stop|restart, for tests that restart it
# and stop the server and remove the directory at the end, whatever happens. PostgreSQL refuses to
# run as root: as root, the server runs as the `postgres` system user (made by Debian's package),
# or as a `botsession-pg` user this script creates when there is none.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "with-postgres: no PostgreSQL server binaries (initdb); install Debian's postgresql package" >&2
    exit 1
fi

run_as=()
if [ "$(id -u)" = 0 ]; then
    user=postgres
    if ! id "$user" >/dev/null 2>&1; then
        user=botsession-pg
        id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    fi
    run_as=(runuser -u "$user" --)
fi

dir=$(mktemp -d /tmp/botsession-pg-XXXXXX)
chmod 755 "$dir"
[ ${#run_as[@]} -gt 0 ] && chown "$user" "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat > "$dir/control.sh" <<CONTROL
#!/usr/bin/env bash
# start|stop|restart the test server
exec ${run_as[*]} "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \\
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" "\$1" \\
    \$( [ "\$1" = start ] || echo "-m fast" ) >/dev/null
CONTROL
chmod 755 "$dir/control.sh"

stop() {
    "$dir/control.sh" stop 2>/dev/null || true
    rm -rf "$dir"
}
trap stop EXIT

"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
"$dir/control.sh" start || { cat "$dir/server.log" >&2; exit 1; }
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"

export BOTSESSION_TEST_POSTGRES_URI="postgresql://postgres@127.0.0.1:$port/postgres"
export BOTSESSION_TEST_POSTGRES_CONTROL="$dir/control.sh"
"$@"
