#!/usr/bin/env bash
# bench/acceptance: the SMTP acceptance half alone (smtp-ingress compiled, real Postgres and
# NATS JetStream, no delivery-worker) against a private Postfix instance's smtpd, one after
# the other in one run. smtp-source sends [messages] of [size] bytes over [connections]
# sessions to one local user; this prints messages accepted per second (smtp-source's
# wall time), and for Tegami the CPU milliseconds per message of smtp-ingress and of its
# Postgres backends (from /proc/<pid>/stat) and the SQL statements per message (a counting
# preload around pg's Client.query). Postfix also delivers during its run (virtual(8)
# into a maildir), so its figure is, if anything, low.
# Usage: bench/acceptance/run.sh [messages] [connections] [size-bytes]  (run `pnpm build` first)
# Ports: BENCH_PORT_BASE (default 12700): +25 Tegami, +26 Postfix, +81 ingress ops.
set -euo pipefail
cd "$(dirname "$0")/../.."

MESSAGES=${1:-2000}
SESSIONS=${2:-10}
SIZE=${3:-10240}
BASE=${BENCH_PORT_BASE:-12700}
TEGAMI_PORT=$((BASE + 25))
POSTFIX_PORT=$((BASE + 26))
OPS_INGRESS=$((BASE + 81))
WORK=$(mktemp -d /tmp/tegami-bench-acceptance.XXXXXX)
chmod 755 "$WORK"
STAMP=$(date +%s)
PREFIX="benchacc$STAMP"
DB="tegami_benchacc_$STAMP"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"

# shellcheck source=../lib/postfix.sh
source bench/lib/postfix.sh
postfix_require
trap bench_cleanup EXIT

# --- Postfix: a private instance (bench/lib/postfix.sh).
postfix_start "$POSTFIX_PORT"

# --- Tegami: smtp-ingress alone, compiled (run `pnpm build` first).
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=$PG_URL TEGAMI_NATS_PREFIX=$PREFIX TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_LOG_LEVEL=warn TEGAMI_OPS_HOST=127.0.0.1
node packages/cli/dist/main.js migrate >/dev/null
node packages/cli/dist/main.js domain add bench.test >/dev/null
printf 'pw' | node packages/cli/dist/main.js user add bob@bench.test --password-stdin >/dev/null
COUNT_SQL_FROM="$PWD/packages/store/package.json" \
TEGAMI_SMTP_HOST=127.0.0.1 TEGAMI_SMTP_MX_PORT=$TEGAMI_PORT TEGAMI_SMTP_SUBMISSION_PORT=0 TEGAMI_SMTP_SUBMISSIONS_PORT=0 \
  TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP=200 TEGAMI_DB_POOL_SIZE=${POOL:-20} TEGAMI_OPS_PORT=$OPS_INGRESS \
  node --import "$PWD/bench/acceptance/count-sql.mjs" ${NODE_EXTRA:-} services/smtp-ingress/dist/main.js > "$WORK/ingress.log" 2>&1 &
INGRESS=$!
PIDS="$INGRESS"
for port in $TEGAMI_PORT $POSTFIX_PORT; do
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done

cpu_ticks() { # pids… → utime+stime summed, in clock ticks
  local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t
}
backends() { psql "$PG_ADMIN" -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'" | tr '\n' ' '; }
HZ=$(getconf CLK_TCK)
send() { smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$1"; }

# Warm-up (JIT, pool), not measured.
smtp-source -s "$SESSIONS" -m 400 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$TEGAMI_PORT"
smtp-source -s 4 -m 200 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$POSTFIX_PORT"
sleep 1
kill -USR2 "$INGRESS"; sleep 0.2
BACKENDS=$(backends)
I0=$(cpu_ticks "$INGRESS"); B0=$(cpu_ticks $BACKENDS); S0=$(awk '{print $15}' "/proc/$INGRESS/stat")
Q0=$(psql "$PG_URL" -Atc "SELECT count(*) FROM queue WHERE state = 'queued'")
SESS0=$(psql "$PG_ADMIN" -Atc "SELECT sessions FROM pg_stat_database WHERE datname = '$DB'")
T0=$(date +%s.%N); send "$TEGAMI_PORT"; T1=$(date +%s.%N)
I1=$(cpu_ticks "$INGRESS"); B1=$(cpu_ticks $BACKENDS); S1=$(awk '{print $15}' "/proc/$INGRESS/stat")
kill -USR2 "$INGRESS"; sleep 0.3
Q1=$(psql "$PG_URL" -Atc "SELECT count(*) FROM queue WHERE state = 'queued'")
SESS1=$(psql "$PG_ADMIN" -Atc "SELECT sessions FROM pg_stat_database WHERE datname = '$DB'")
P0=$(date +%s.%N); send "$POSTFIX_PORT"; P1=$(date +%s.%N)

ACCEPTED=$((Q1 - Q0))
SQL=$(grep SQLCOUNT "$WORK/ingress.log" | tail -1)
T_RATE=$(echo "$MESSAGES / ($T1 - $T0)" | bc -l)
P_RATE=$(echo "$MESSAGES / ($P1 - $P0)" | bc -l)
printf 'messages %d x %d bytes over %d connections, one local recipient; %d queued\n' "$MESSAGES" "$SIZE" "$SESSIONS" "$ACCEPTED"
printf 'tegami  accepted/s %8.1f   ingress CPU ms/msg %.2f   postgres backends CPU ms/msg %.2f   SQL statements/msg %.2f\n' \
  "$T_RATE" "$(echo "($I1 - $I0) * 1000 / $HZ / $MESSAGES" | bc -l)" "$(echo "($B1 - $B0) * 1000 / $HZ / $MESSAGES" | bc -l)" \
  "$(echo "$(echo "$SQL" | cut -d' ' -f2) / $MESSAGES" | bc -l)"
printf '        (ingress CPU in the kernel, sockets: %.2f ms/msg)\n' "$(echo "($S1 - $S0) * 1000 / $HZ / $MESSAGES" | bc -l)"
printf 'postfix accepted/s %8.1f\n' "$P_RATE"
printf 'ratio tegami/postfix accepted/s %.2f\n' "$(echo "$T_RATE / $P_RATE" | bc -l)"
echo "statements: $SQL"
echo "Postgres sessions opened during the Tegami run: $((SESS1 - SESS0 - 2)) (less the bench's own two)"
trap - EXIT
bench_cleanup
