#!/usr/bin/env bash
# Provisions the private PostgreSQL + PostGIS cluster that `make run` and
# `make test` use when no DATABASE_URL is given.
#
#   scripts/db.sh start   install packages if missing, create the cluster under
#                         .data/pg, start it, create the database and PostGIS;
#                         prints nothing but progress on stderr (idempotent)
#   scripts/db.sh url     prints the DATABASE_URL of the private cluster
#   scripts/db.sh stop    stops the private cluster
#
# GRIDD_PG_PORT chooses the TCP port on 127.0.0.1 (default 55432).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/pg"
logfile="$root/.data/pg.log"
port="${GRIDD_PG_PORT:-55432}"
dbname=gridd
url="postgres://postgres@127.0.0.1:${port}/${dbname}?sslmode=disable"

log() { printf 'db: %s\n' "$*" >&2; }

pgbin() {
	local v
	for v in $(ls -1 /usr/lib/postgresql 2>/dev/null | sort -rn); do
		if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
			echo "/usr/lib/postgresql/$v/bin"
			return 0
		fi
	done
	return 1
}

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
	local bin ver
	if ! bin=$(pgbin); then
		log "installing PostgreSQL from the distribution"
		as_root apt-get update -qq
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >&2
		bin=$(pgbin)
	fi
	ver=$(basename "$(dirname "$bin")")
	if [ ! -f "/usr/share/postgresql/$ver/extension/postgis.control" ]; then
		log "installing PostGIS for PostgreSQL $ver from the distribution"
		as_root apt-get update -qq
		DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "postgresql-$ver-postgis-3" >&2
	fi
}

# run_pg runs a server binary as the cluster's owner: the postgres user when we
# are root (initdb and postgres refuse to run as root), else ourselves.
run_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# When root runs a checkout inside a directory the postgres user cannot enter
# (a 0700 temporary directory, say), open the path for traversal only (o+x).
open_path_for_postgres() {
	[ "$(id -u)" = 0 ] || return 0
	local d="$root"
	while [ "$d" != "/" ]; do
		if ! runuser -u postgres -- test -x "$d"; then
			log "letting the postgres user traverse $d (chmod o+x)"
			chmod o+x "$d"
		fi
		d=$(dirname "$d")
	done
}

running() {
	"$1/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1
}

start() {
	install_packages
	local bin
	bin=$(pgbin)
	mkdir -p "$root/.data"
	open_path_for_postgres
	if [ "$(id -u)" = 0 ]; then chown postgres "$root/.data"; fi
	if [ ! -f "$data/PG_VERSION" ]; then
		log "creating the cluster in $data"
		run_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	fi
	if running "$bin"; then
		log "already running on 127.0.0.1:$port"
	else
		log "starting on 127.0.0.1:$port"
		run_pg "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 -o "-p $port" start >/dev/null
	fi
	if ! psql -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='$dbname'" postgres | grep -q 1; then
		log "creating database $dbname"
		psql -q -h 127.0.0.1 -p "$port" -U postgres -c "create database $dbname" postgres
	fi
	PGOPTIONS="-c client_min_messages=warning" psql -q -h 127.0.0.1 -p "$port" -U postgres -c "create extension if not exists postgis" "$dbname"
}

stop() {
	local bin
	bin=$(pgbin) || return 0
	if [ -f "$data/PG_VERSION" ] && running "$bin"; then
		run_pg "$bin/pg_ctl" -D "$data" -w -m fast stop >/dev/null
		log "stopped"
	else
		log "not running"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) echo "$url" ;;
*)
	echo "usage: $0 start|stop|url" >&2
	exit 2
	;;
esac
