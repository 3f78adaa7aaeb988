#!/usr/bin/env bash
# bench/imap: Tegami's imap-gateway (compiled, real Postgres and NATS) and Dovecot's IMAP
# (Debian dovecot-imapd, configured here on loopback), each with the same [messages]-message
# mailbox, in one run:
#   1. [clients] concurrent clients repeat a mixed session for [seconds]: SELECT, FETCH 1:*
#      (FLAGS UID), FETCH the newest 50 (ENVELOPE BODYSTRUCTURE), FETCH one BODY[], STORE
#      \Seen, SEARCH UNSEEN, NOOP — operations per second and the ratio;
#   2. FETCH 1:* (FLAGS UID) on the whole mailbox: median of 5, in ms;
#   3. memory per idle connection: [idle] sessions in IDLE on one gateway process (PSS
#      growth of the process; for Dovecot, of all its processes), in KiB (0 skips it).
# Usage: bench/imap/run.sh [clients] [seconds] [messages] [idle]
# Env: BENCH_PORT_BASE (ports base, base+1 and base+39; default 12743), BENCH_IMAP_SKIP_MIXED=1
# (only the idle part), BENCH_TAG (in the database name and NATS prefix), BENCH_IMAP_CHEAP_LOGIN=1
# (a cheap scrypt verifier for the bench user: for memory runs).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS=${1:-20}
SECONDS_=${2:-20}
MESSAGES=${3:-10000}
IDLE=${4:-5000}
WORK=$(mktemp -d /tmp/tegami-bench-imap.XXXXXX)
chmod 755 "$WORK"
PORT_BASE=${BENCH_PORT_BASE:-12743}
TEGAMI_PORT=$PORT_BASE
DOVECOT_PORT=$((PORT_BASE + 1))
OPS_PORT=$((PORT_BASE + 39))
DB="tegami_benchi${BENCH_TAG:+_$BENCH_TAG}_$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
USER_=bench@bench.test
PASSWORD=bench-password
NATS_PREFIX="benchi${BENCH_TAG:-}$(date +%s)"
ulimit -n "$(ulimit -Hn)"

[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || { echo "dovecot not installed: apt-get install -y dovecot-imapd" >&2; exit 1; }

cleanup() {
  [ -n "${TEGAMI_PID:-}" ] && kill "$TEGAMI_PID" 2>/dev/null || true
  /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

pss_kib() { # pids...: the sum of their proportional set sizes
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
mkdir -p "$WORK/maildir" "$WORK/run" "$WORK/state"
echo "seeding $MESSAGES messages..."
node --conditions=tegami-source --import tsx bench/imap/seed.ts "$PG_URL" "$USER_" "$MESSAGES" "$PASSWORD" "$WORK/maildir"
chown -R nobody:nogroup "$WORK/maildir"
if [ "${BENCH_IMAP_CHEAP_LOGIN:-0}" = 1 ]; then
  # Memory runs: thousands of logins at scrypt's full cost take longer than the run on a
  # shared machine, and say nothing about an idle session's memory (with DOVECOT_SCHEME=PLAIN).
  CHEAP=$(node -e 'const { randomBytes, scryptSync } = require("node:crypto"); const s = randomBytes(16);
    const h = scryptSync(process.argv[1], s, 32, { N: 16, r: 1, p: 1 });
    console.log(`$scrypt$ln=4,r=1,p=1$${s.toString("base64")}$${h.toString("base64")}`)' "$PASSWORD")
  psql "$PG_URL" -qc "UPDATE accounts SET password_scrypt = '$CHEAP'" >/dev/null
fi

# shellcheck source=../lib/dovecot.sh
source bench/lib/dovecot.sh
# Both verify a memory-hard password hash at login (scrypt for Tegami, ARGON2ID here).
DOVECOT_HASH=$(doveadm pw -s "${DOVECOT_SCHEME:-ARGON2ID}" -p "$PASSWORD")
dovecot_conf imap "$DOVECOT_PORT" "$DOVECOT_HASH" tegami-bench-imap "$DOVECOT_IMAP_SCALE"
/usr/sbin/dovecot -c "$WORK/dovecot.conf"

DATABASE_URL=$PG_URL TEGAMI_LOG_LEVEL=warn TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_NATS_PREFIX=$NATS_PREFIX \
  TEGAMI_IMAP_HOST=127.0.0.1 TEGAMI_IMAP_PORT=$TEGAMI_PORT TEGAMI_IMAPS_PORT=0 TEGAMI_DB_POOL_SIZE=20 \
  TEGAMI_IMAP_MAX_CONNECTIONS=100000 TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP=100000 TEGAMI_IMAP_MAX_CONNECTIONS_PER_USER=100000 \
  TEGAMI_OPS_HOST=127.0.0.1 TEGAMI_OPS_PORT=$OPS_PORT node ${BENCH_NODE_ARGS:-} services/imap-gateway/dist/main.js > "$WORK/tegami.log" 2>&1 &
TEGAMI_PID=$!
for port in $TEGAMI_PORT $DOVECOT_PORT; do
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done

# Warm-up (JIT, caches; Dovecot builds its index on the first SELECT), then measure.
if [ "${BENCH_IMAP_SKIP_MIXED:-0}" != 1 ]; then
node bench/imap/load.mjs mixed 127.0.0.1 $TEGAMI_PORT 2 3 "$USER_" "$PASSWORD" > /dev/null
node bench/imap/load.mjs mixed 127.0.0.1 $DOVECOT_PORT 2 3 "$USER_" "$PASSWORD" > /dev/null
read -r T_OPS T_SEC T_RATE < <(node bench/imap/load.mjs mixed 127.0.0.1 $TEGAMI_PORT "$CLIENTS" "$SECONDS_" "$USER_" "$PASSWORD")
read -r D_OPS D_SEC D_RATE < <(node bench/imap/load.mjs mixed 127.0.0.1 $DOVECOT_PORT "$CLIENTS" "$SECONDS_" "$USER_" "$PASSWORD")
printf '%d clients, %d s, %d messages\n' "$CLIENTS" "$SECONDS_" "$MESSAGES"
printf 'mixed session   tegami %8s ops/s (%s ops in %s s)   dovecot %8s ops/s (%s ops in %s s)   ratio %.2f\n' \
  "$T_RATE" "$T_OPS" "$T_SEC" "$D_RATE" "$D_OPS" "$D_SEC" "$(echo "$T_RATE / $D_RATE" | bc -l)"
read -r T_FETCH T_FBYTES < <(node bench/imap/load.mjs fetchall 127.0.0.1 $TEGAMI_PORT "$USER_" "$PASSWORD" 5)
read -r D_FETCH D_FBYTES < <(node bench/imap/load.mjs fetchall 127.0.0.1 $DOVECOT_PORT "$USER_" "$PASSWORD" 5)
printf 'FETCH 1:* (FLAGS UID)   tegami %s ms (%s bytes)   dovecot %s ms (%s bytes)\n' "$T_FETCH" "$T_FBYTES" "$D_FETCH" "$D_FBYTES"
else
  # One login first, as the mixed part gives: an address that never logged in to the name
  # has its attempts queued by the per-account login delay.
  node bench/imap/load.mjs fetchall 127.0.0.1 $TEGAMI_PORT "$USER_" "$PASSWORD" 1 > /dev/null
  node bench/imap/load.mjs fetchall 127.0.0.1 $DOVECOT_PORT "$USER_" "$PASSWORD" 1 > /dev/null
fi

idle_kib() { # port pids-command
  local port=$1 before after fifo="$WORK/idle.$1"
  before=$(pss_kib $($2))
  mkfifo "$fifo"
  node bench/imap/load.mjs idle 127.0.0.1 "$port" "$USER_" "$PASSWORD" "$IDLE" 20 > "$fifo" &
  local loader=$!
  read -r _ < "$fifo"
  sleep 3
  after=$(pss_kib $($2))
  kill "$loader" 2>/dev/null || true
  wait "$loader" 2>/dev/null || true
  echo $(( (after - before) / IDLE ))
}
[ "$IDLE" -gt 0 ] || exit 0
T_IDLE=$(idle_kib $TEGAMI_PORT "echo $TEGAMI_PID")
printf 'memory per IDLE session (%d sessions, PSS)   tegami %s KiB\n' "$IDLE" "$T_IDLE"
D_IDLE=$(idle_kib $DOVECOT_PORT "pgrep -f tegami-bench-imap")
printf 'memory per IDLE session (%d sessions, PSS)   tegami %s KiB   dovecot %s KiB\n' "$IDLE" "$T_IDLE" "$D_IDLE"
