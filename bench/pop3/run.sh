#!/usr/bin/env bash
# bench/pop3: [clients] POP3 clients at once, each logging in as its own user [logins] times
# one after the other; each session STATs, RETRs every message of its [messages]-message
# maildrop (each about [size] bytes) and QUITs. Against Tegami's pop-gateway (compiled,
# real Postgres) with its verified-credential cache on and off, and against Dovecot's POP3
# (Debian dovecot-pop3d, configured here on loopback with the same messages in maildirs)
# with a cleartext password and with a hashed one, all in one run, one after the other.
# Usage: bench/pop3/run.sh [clients] [logins] [messages] [size]   (default 20 3 100 10240)
# Ports: BENCH_PORT_BASE (default 12710): Tegami on it, Dovecot on +1, Tegami's ops on +71.
# DOVECOT_HASH_SCHEME (default ARGON2ID: m=64 MiB, t=3, p=1, as memory-hard as Tegami's
# scrypt at N=2^15, r=8, p=1 and of like cost here); TEGAMI_PASSWORD_SCRYPT_LN sets Tegami's.
# BENCH_NODE_ARGS passes flags to the gateway (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS=${1:-20}
LOGINS=${2:-3}
MESSAGES=${3:-100}
SIZE=${4:-10240}
WORK=$(mktemp -d /tmp/tegami-bench-pop3.XXXXXX)
chmod 755 "$WORK"
BASE=${BENCH_PORT_BASE:-12710}
TEGAMI_PORT=$BASE
DOVECOT_PORT=$((BASE + 1))
OPS_PORT=$((BASE + 71))
DB="tegami_benchp_${BENCH_DB_TAG:-}$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
PASSWORD=bench-password
NATS_PREFIX="benchp${BENCH_DB_TAG:-}$(date +%s)"
HASH_SCHEME=${DOVECOT_HASH_SCHEME:-ARGON2ID}

[ -x /usr/sbin/dovecot ] || { echo "dovecot not installed: apt-get install -y dovecot-pop3d" >&2; exit 1; }

stop_tegami() {
  [ -n "${TEGAMI_PID:-}" ] || return 0
  kill "$TEGAMI_PID" 2>/dev/null || true
  wait "$TEGAMI_PID" 2>/dev/null || true
  TEGAMI_PID=
}
stop_dovecot() { /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true; }
cleanup() {
  stop_tegami
  stop_dovecot
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  (cd packages/bus && node --input-type=module -e "
    import { connect } from '@nats-io/transport-node'; import { jetstreamManager } from '@nats-io/jetstream';
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc); await jsm.streams.delete('${NATS_PREFIX^^}_MAIL_QUEUE').catch(() => {}); await nc.close();"
  ) 2>/dev/null || true
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 150); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.2; done
  echo "nothing listens on $1" >&2
  exit 1
}

pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
mkdir -p "$WORK/maildir"
# Twice the users: the warm-up runs log in as the second half, so the measured first logins
# find Tegami's credential cache as cold as after a restart (and the JIT warm).
node --conditions=tegami-source --import tsx bench/pop3/seed.ts "$PG_URL" "$((2 * CLIENTS))" "$MESSAGES" "$PASSWORD" "$WORK/maildir" "$SIZE"
chown -R nobody:nogroup "$WORK/maildir"
mkdir -p "$WORK/run" "$WORK/state"

# shellcheck source=../lib/dovecot.sh
source bench/lib/dovecot.sh
start_dovecot() { # $1: password scheme
  local hash
  hash=$(doveadm pw -s "$1" -p "$PASSWORD")
  # ARGON2ID takes 64 MiB per check and 20 logins come at once: the default 256 MiB address
  # space limit would have the auth process killed ("Auth process broken").
  dovecot_conf pop3 "$DOVECOT_PORT" "$hash" tegami-bench-pop3 "service pop3 {
  process_limit = 1024
}
service auth {
  vsz_limit = 4G
}
service auth-worker {
  vsz_limit = 4G
}"
  /usr/sbin/dovecot -c "$WORK/dovecot.conf"
  wait_port "$DOVECOT_PORT"
}

start_tegami() { # $1: TEGAMI_AUTH_CACHE_TTL
  DATABASE_URL=$PG_URL TEGAMI_LOG_LEVEL=warn TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_NATS_PREFIX=$NATS_PREFIX \
    TEGAMI_POP_HOST=127.0.0.1 TEGAMI_POP_PORT=$TEGAMI_PORT TEGAMI_POPS_PORT=0 TEGAMI_DB_POOL_SIZE=20 TEGAMI_POP_MAX_CONNECTIONS_PER_IP=200 \
    TEGAMI_AUTH_CACHE_TTL="$1" TEGAMI_OPS_HOST=127.0.0.1 TEGAMI_OPS_PORT=$OPS_PORT \
    node ${BENCH_NODE_ARGS:-} services/pop-gateway/dist/main.js >> "$WORK/tegami.log" 2>&1 &
  TEGAMI_PID=$!
  wait_port "$TEGAMI_PORT"
}

# CPU-seconds (user + system) of a process so far, from /proc/<pid>/stat.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# One measured run: warm-up as the second half of the users (one login each), then the load.
measure() { # $1: port; prints the load's figures
  # A failed run prints zeros rather than ending the whole comparison.
  node bench/pop3/load.mjs 127.0.0.1 "$1" "$CLIENTS" pop "$PASSWORD" 1 "$CLIENTS" > /dev/null || true
  node bench/pop3/load.mjs 127.0.0.1 "$1" "$CLIENTS" pop "$PASSWORD" "$LOGINS" 0 || echo 0 0 0 0 0 0
}

start_tegami 15m
read -r TC_MSG TC_BYTES TC_SEC TC_RATE TC_LOGIN TC_DL < <(measure "$TEGAMI_PORT")
TC_CPU=$(cpu_seconds "$TEGAMI_PID")
stop_tegami
start_tegami 0
read -r TN_MSG TN_BYTES TN_SEC TN_RATE TN_LOGIN TN_DL < <(measure "$TEGAMI_PORT")
TN_CPU=$(cpu_seconds "$TEGAMI_PID")
stop_tegami
start_dovecot PLAIN
read -r DP_MSG DP_BYTES DP_SEC DP_RATE DP_LOGIN DP_DL < <(measure "$DOVECOT_PORT")
stop_dovecot
start_dovecot "$HASH_SCHEME"
read -r DH_MSG DH_BYTES DH_SEC DH_RATE DH_LOGIN DH_DL < <(measure "$DOVECOT_PORT")
stop_dovecot

line() { printf '%-32s %8s msg/s  (%s messages, %s bytes, %s s; login p50 %s ms; downloads alone %s msg/s)%s\n' "$@"; }
printf '%d clients x %d logins x RETR of %d messages of ~%d bytes (Tegami scrypt ln=%s; Dovecot hashed: %s)\n' \
  "$CLIENTS" "$LOGINS" "$MESSAGES" "$SIZE" "${TEGAMI_PASSWORD_SCRYPT_LN:-15}" "$HASH_SCHEME"
line 'tegami, credential cache on' "$TC_RATE" "$TC_MSG" "$TC_BYTES" "$TC_SEC" "$TC_LOGIN" "$TC_DL" "; gateway CPU $TC_CPU s incl. warm-up"
line 'tegami, credential cache off' "$TN_RATE" "$TN_MSG" "$TN_BYTES" "$TN_SEC" "$TN_LOGIN" "$TN_DL" "; gateway CPU $TN_CPU s incl. warm-up"
line 'dovecot, cleartext password' "$DP_RATE" "$DP_MSG" "$DP_BYTES" "$DP_SEC" "$DP_LOGIN" "$DP_DL" ''
line "dovecot, $HASH_SCHEME" "$DH_RATE" "$DH_MSG" "$DH_BYTES" "$DH_SEC" "$DH_LOGIN" "$DH_DL" ''
ratio() { echo "if ($2 > 0) $1 / $2 else 0" | bc -l; }
printf 'ratio tegami/dovecot   cleartext: cache on %.2f, cache off %.2f   %s: cache on %.2f, cache off %.2f\n' \
  "$(ratio "$TC_RATE" "$DP_RATE")" "$(ratio "$TN_RATE" "$DP_RATE")" "$HASH_SCHEME" \
  "$(ratio "$TC_RATE" "$DH_RATE")" "$(ratio "$TN_RATE" "$DH_RATE")"
