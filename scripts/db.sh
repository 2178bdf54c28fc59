#!/usr/bin/env bash
# Provisions the private PostgreSQL + PostGIS cluster that `make run` and
# `make test` use when no DATABASE_URL is given.
#
#   scripts/db.sh start   install packages if missing, create the cluster under
#                         .data/pg, start it, create the database and PostGIS;
#                         prints nothing but progress on stderr (idempotent)
#   scripts/db.sh url     prints the DATABASE_URL of the private cluster
#   scripts/db.sh stop    stops the private cluster (and its standby, if it runs)
#
#   scripts/db.sh standby-start  starts the primary (as `start` does), lets it
#                         serve replication to 127.0.0.1 and keep 256MB of WAL,
#                         takes a base backup into .data/pg-standby if there is
#                         none, starts it as a streaming hot standby and waits
#                         until it streams (idempotent)
#   scripts/db.sh standby-url    prints the DATABASE_URL of the standby (read only)
#   scripts/db.sh standby-stop   stops the standby
#   scripts/db.sh standby-drop   stops the standby and removes .data/pg-standby,
#                         so the next standby-start takes a fresh base backup
#
# GRIDD_PG_PORT chooses the TCP port on 127.0.0.1 (default 55432),
# GRIDD_PG_STANDBY_PORT the standby's (default 55433).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data/pg"
logfile="$root/.data/pg.log"
port="${GRIDD_PG_PORT:-55432}"
dbname=gridd
url="postgres://postgres@127.0.0.1:${port}/${dbname}?sslmode=disable"
sdata="$root/.data/pg-standby"
slogfile="$root/.data/pg-standby.log"
sport="${GRIDD_PG_STANDBY_PORT:-55433}"
surl="postgres://postgres@127.0.0.1:${sport}/${dbname}?sslmode=disable"

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
	if standby_running "$bin"; then standby_stop; fi
	if [ -f "$data/PG_VERSION" ] && running "$bin"; then
		run_pg "$bin/pg_ctl" -D "$data" -w -m fast stop >/dev/null
		log "stopped"
	else
		log "not running"
	fi
}

# primary_sql runs one query on the primary's postgres database and prints
# the result unaligned, without headers.
primary_sql() {
	psql -X -q -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -tAc "$1" postgres
}

# prepare_primary makes the primary accept replication connections from
# 127.0.0.1 for the postgres user and keep wal_keep_size (256MB) of WAL, so a
# standby stopped for a while can catch up. Reloads; never restarts.
prepare_primary() {
	local reload=0 rules hba keep
	rules=$(primary_sql "select count(*) from pg_hba_file_rules
		where type = 'host' and database && '{replication}'
		and user_name && '{postgres,all}' and address = '127.0.0.1'
		and netmask = '255.255.255.255' and auth_method = 'trust'")
	if [ "$rules" = 0 ]; then
		hba=$(primary_sql "show hba_file")
		log "allowing replication from 127.0.0.1 for postgres in $hba"
		printf 'host replication postgres 127.0.0.1/32 trust\n' >>"$hba"
		reload=1
	fi
	keep=$(primary_sql "select setting::bigint from pg_settings where name = 'wal_keep_size'")
	if [ "$keep" -lt 256 ]; then
		log "setting wal_keep_size = 256MB on the primary"
		primary_sql "alter system set wal_keep_size = '256MB'" >/dev/null
		reload=1
	fi
	if [ "$reload" = 1 ]; then
		log "reloading the primary's configuration"
		primary_sql "select pg_reload_conf()" >/dev/null
	fi
}

standby_running() {
	[ -f "$sdata/PG_VERSION" ] && run_pg "$1/pg_ctl" -D "$sdata" status >/dev/null 2>&1
}

standby_start() {
	start
	prepare_primary
	local bin deadline state=""
	bin=$(pgbin)
	if standby_running "$bin"; then
		log "standby already running on 127.0.0.1:$sport"
		return 0
	fi
	if [ ! -f "$sdata/PG_VERSION" ]; then
		if [ -e "$sdata" ]; then
			log "removing the incomplete standby in $sdata"
			rm -rf "$sdata"
		fi
		log "taking a base backup of the primary into $sdata"
		run_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$sdata" -R -X stream -c fast
		cat >>"$sdata/postgresql.auto.conf" <<EOF
port = $sport
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s
EOF
	fi
	log "starting the standby on 127.0.0.1:$sport"
	run_pg "$bin/pg_ctl" -D "$sdata" -l "$slogfile" -w -t 60 -o "-p $sport" start >/dev/null
	deadline=$((SECONDS + 30))
	while [ "$SECONDS" -le "$deadline" ]; do
		state=$(psql -X -h 127.0.0.1 -p "$sport" -U postgres -tAc "select pg_is_in_recovery()
			and exists (select 1 from pg_stat_wal_receiver where status = 'streaming')" postgres 2>/dev/null || true)
		if [ "$state" = t ]; then
			log "standby streaming from 127.0.0.1:$port"
			return 0
		fi
		sleep 0.2
	done
	log "standby on 127.0.0.1:$sport is not streaming after 30 s; see $slogfile" \
		"(it is left running; if the primary no longer has the WAL it needs," \
		"run $0 standby-drop, then standby-start again)"
	tail -n 20 "$slogfile" >&2 || true
	return 1
}

standby_stop() {
	local bin
	bin=$(pgbin) || return 0
	if standby_running "$bin"; then
		run_pg "$bin/pg_ctl" -D "$sdata" -w -m fast stop >/dev/null
		log "standby stopped"
	else
		log "standby not running"
	fi
}

standby_drop() {
	standby_stop
	if [ -e "$sdata" ]; then
		rm -rf "$sdata"
		log "removed $sdata"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) echo "$url" ;;
standby-start) standby_start ;;
standby-stop) standby_stop ;;
standby-drop) standby_drop ;;
standby-url) echo "$surl" ;;
*)
	echo "usage: $0 start|stop|url|standby-start|standby-stop|standby-drop|standby-url" >&2
	exit 2
	;;
esac
