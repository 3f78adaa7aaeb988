#!/usr/bin/env bash
# bench/delivery: the same load through Tegami (smtp-ingress + delivery-worker, compiled,
# real Postgres and NATS JetStream) and through a private Postfix instance delivering to
# maildirs (virtual(8)), one after the other in one run. For each system it measures
# delivered per second (first message sent to last one in the mailbox), the latency from
# acceptance to the message being in the mailbox (p50, p99), and the backlog (accepted,
# not yet delivered) sampled every 250 ms: whether the queue stays flat.
#
# Usage: bench/delivery/run.sh [messages] [connections] [size-bytes] [rate]
#   With arguments, one workload: smtp-source sends [messages] of [size] bytes over
#   [connections] sessions to one local user as fast as it can; with [rate] (messages/s)
#   bench/delivery/paced-sender.mjs sends them at that rate instead.
#   Without arguments, issue 17's three workloads on one set-up:
#     (a) 2,000 x 10 KB over 10 sessions, as fast as possible;
#     (b) 5,000 x 10 KB over 20 sessions, as fast as possible;
#     (c) 80 % of Tegami's delivered/s in (b), paced, 20 sessions for ~20 s, the same
#         rate to Postfix: acceptance -> INBOX p50/p99 and the backlog (flat or not).
# Env: BENCH_PORT_BASE (ports base+25 Postfix, base+26 Tegami, base+81/82 ops; default the
#   old 12625/12626/12681/12682), BENCH_NAME (in the database and NATS prefix names),
#   BENCH_SKIP_BUILD=1 (use the dist/ already built), BENCH_PACED_SECONDS (default 20),
#   BENCH_WORKER_NODE_ARGS / BENCH_INGRESS_NODE_ARGS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof),
#   BENCH_SIEVE_SCRIPT=<file> (the local user's active Sieve script, e.g. bench/sieve/typical.sieve).
# Besides the rates it prints, per workload, Tegami's CPU-seconds per 1000 messages
# (smtp-ingress, delivery-worker, Postgres backends and nats-server apart, from /proc/<pid>/stat),
# its database transactions per message (pg_stat_database.xact_commit of the bench database;
# each statement outside an explicit transaction is one), and the whole machine's busy
# CPU-seconds per 1000 messages during each system's run (/proc/stat).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -gt 0 ]; then
  WORKLOADS=("custom ${1:-5000} ${2:-20} ${3:-10240} ${4:-0}")
else
  WORKLOADS=("a 2000 10 10240 0" "b 5000 20 10240 0" "c auto 20 10240 auto")
fi
WORK=$(mktemp -d /tmp/tegami-bench-delivery.XXXXXX)
chmod 755 "$WORK"
PORT_BASE=${BENCH_PORT_BASE:-12600}
TEGAMI_PORT=$((PORT_BASE + 26))
POSTFIX_PORT=$((PORT_BASE + 25))
OPS_INGRESS=$((PORT_BASE + 81))
OPS_WORKER=$((PORT_BASE + 82))
NAME=${BENCH_NAME:+${BENCH_NAME}_}
PREFIX="benchd${NAME//_/}$(date +%s)"
DB="tegami_benchd_${NAME}$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
PACED_SECONDS=${BENCH_PACED_SECONDS:-20}

# shellcheck source=../lib/postfix.sh
source bench/lib/postfix.sh
postfix_require
trap bench_cleanup EXIT

# --- Postfix: a private instance on 127.0.0.1:$POSTFIX_PORT, virtual(8) into a maildir.
postfix_start "$POSTFIX_PORT"

# --- Tegami: smtp-ingress and one delivery-worker process, compiled.
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=$PG_URL TEGAMI_NATS_PREFIX=$PREFIX TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_LOG_LEVEL=warn TEGAMI_OPS_HOST=127.0.0.1
node packages/cli/dist/main.js migrate >/dev/null
node packages/cli/dist/main.js domain add bench.test >/dev/null
printf 'pw' | node packages/cli/dist/main.js user add bob@bench.test --password-stdin >/dev/null
# With BENCH_SIEVE_SCRIPT=<file>, bob's mail runs that Sieve script at delivery (issue 19).
if [ -n "${BENCH_SIEVE_SCRIPT:-}" ]; then
  node packages/cli/dist/main.js sieve put bob@bench.test bench "$BENCH_SIEVE_SCRIPT" >/dev/null
  node packages/cli/dist/main.js sieve activate bob@bench.test bench >/dev/null
  echo "bob@bench.test runs the Sieve script $BENCH_SIEVE_SCRIPT at delivery"
fi
TEGAMI_SMTP_HOST=127.0.0.1 TEGAMI_SMTP_MX_PORT=$TEGAMI_PORT TEGAMI_SMTP_SUBMISSION_PORT=0 TEGAMI_SMTP_SUBMISSIONS_PORT=0 \
  TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP=200 TEGAMI_DB_POOL_SIZE=20 TEGAMI_OPS_PORT=$OPS_INGRESS \
  node ${BENCH_INGRESS_NODE_ARGS:-} services/smtp-ingress/dist/main.js > "$WORK/ingress.log" 2>&1 &
PIDS="$!"; INGRESS_PID=$!
TEGAMI_RESOLVER_TARGET=127.0.0.1:1 TEGAMI_DELIVERY_CONCURRENCY=${TEGAMI_DELIVERY_CONCURRENCY:-32} TEGAMI_DB_POOL_SIZE=20 \
  TEGAMI_OPS_PORT=$OPS_WORKER node ${BENCH_WORKER_NODE_ARGS:-} services/delivery-worker/dist/main.js > "$WORK/worker.log" 2>&1 &
PIDS="$PIDS $!"; WORKER_PID=$!
for port in $TEGAMI_PORT $POSTFIX_PORT $OPS_WORKER; do
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done

# Each prints "accepted delivered" (accepted: told 250 so far).
counts_tegami() { psql "$PG_URL" -Atc "SELECT (SELECT count(*) FROM queue WHERE state <> 'accepting') || ' ' || (SELECT count(*) FROM deliveries WHERE status = 'delivered')"; }
counts_postfix() {
  echo "$(grep -c 'postfix/cleanup.*message-id=' "$WORK/postfix.log" 2>/dev/null || true) $(find "$WORK/mail/bench.test/bob/new" -type f 2>/dev/null | wc -l)"
}
delivered_tegami() { counts_tegami | cut -d' ' -f2; }
delivered_postfix() { counts_postfix | cut -d' ' -f2; }

# Sends the load to a port while bench/delivery/sampler.mjs samples the backlog (one
# process, one connection: cheap, the same way for both systems); waits until `target`
# messages are delivered. Prints: seconds-to-send seconds-to-deliver
run_load() { # port system target samples-file
  local port=$1 system=$2 target=$3 samples=$4 start where
  start=$(date +%s.%N)
  if [ "$RATE" = 0 ]; then
    smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$port" &
  else
    node bench/delivery/paced-sender.mjs "127.0.0.1:$port" "$MESSAGES" "$SESSIONS" "$SIZE" "$RATE" \
      alice@elsewhere.test bob@bench.test > "$samples.sender" &
  fi
  local source_pid=$!
  if [ "$system" = tegami ]; then where=$PG_URL; else where=$WORK; fi
  node bench/delivery/sampler.mjs "$system" "$where" "$target" "$samples" "$source_pid" "$start"
  wait "$source_pid"
}

# Warm-up (JIT, pools), not measured.
smtp-source -s 4 -m 200 -l 10240 -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$TEGAMI_PORT"
smtp-source -s 4 -m 200 -l 10240 -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$POSTFIX_PORT"
for _ in $(seq 1 300); do [ "$(delivered_tegami)" -ge 200 ] && [ "$(delivered_postfix)" -ge 200 ] && break; sleep 0.1; done
psql "$PG_URL" -qc "TRUNCATE delivery_attempts" >/dev/null


cpu_ticks() { local t=0 pid; for pid in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$t"; }
postgres_pids() { pgrep -x postgres | tr '\n' ' '; }
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # user nice system irq softirq, all cores
xacts() { psql "$PG_ADMIN" -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'"; }
# Backlog = accepted - delivered at each sample: its maximum, and its value at the middle
# and at the end of the sending: a flat queue stays about the same, a growing one climbs.
backlog() { # samples-file sent-at
  awk -v sent="$2" '
    { b = $2 - $3; if (b > max) max = b; if ($1 <= sent / 2) mid = b; if ($1 <= sent) end = b }
    END { printf "%d/%d/%d", mid, end, max }' "$1"
}
HZ=$(getconf CLK_TCK)

run_workload() { # label messages sessions size rate
  LABEL=$1 MESSAGES=$2 SESSIONS=$3 SIZE=$4 RATE=$5
  local i0 w0 x0 icpu wcpu xa p0 n0 m0 pcpu ncpu mcpu pm0 pmcpu
  WARM_T=$(delivered_tegami); WARM_P=$(delivered_postfix)
  i0=$(cpu_ticks "$INGRESS_PID"); w0=$(cpu_ticks "$WORKER_PID"); x0=$(xacts)
  p0=$(cpu_ticks $(postgres_pids)); n0=$(cpu_ticks $(pgrep -x nats-server)); m0=$(machine_busy)
  read -r T_SENT T_DONE < <(run_load $TEGAMI_PORT tegami $((WARM_T + MESSAGES)) "$WORK/tegami-$LABEL.samples")
  sleep 1.5 # pg_stat_database is flushed about once a second
  icpu=$(echo "($(cpu_ticks "$INGRESS_PID") - $i0) / $HZ / $MESSAGES * 1000" | bc -l)
  wcpu=$(echo "($(cpu_ticks "$WORKER_PID") - $w0) / $HZ / $MESSAGES * 1000" | bc -l)
  xa=$(echo "($(xacts) - $x0) / $MESSAGES" | bc -l)
  # Postgres: the backends alive now (the pools'; the sampling's psql backends come and go and
  # are not counted), NATS, and the whole machine (both systems' runs include the load
  # generator and the sampling above, and the 1.5 s pause here, about idle).
  pcpu=$(echo "($(cpu_ticks $(postgres_pids)) - $p0) / $HZ / $MESSAGES * 1000" | bc -l)
  ncpu=$(echo "($(cpu_ticks $(pgrep -x nats-server)) - $n0) / $HZ / $MESSAGES * 1000" | bc -l)
  mcpu=$(echo "($(machine_busy) - $m0) / $HZ / $MESSAGES * 1000" | bc -l)
  pm0=$(machine_busy)
  read -r P_SENT P_DONE < <(run_load $POSTFIX_PORT postfix $((WARM_P + MESSAGES)) "$WORK/postfix-$LABEL.samples")
  pmcpu=$(echo "($(machine_busy) - $pm0) / $HZ / $MESSAGES * 1000" | bc -l)

  # Latency, acceptance → in the mailbox. Tegami: queue row (written before the 250) to the
  # delivery's commit. Postfix: the delay= of each virtual(8) delivery in its log (arrival
  # in the queue, before its 250, to delivery).
  T_LAT=$(psql "$PG_URL" -Atc "
    SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1) || ' ' ||
           round((percentile_cont(0.99) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1)
      FROM (SELECT EXTRACT(EPOCH FROM d.finished_at - q.received_at) AS x
              FROM deliveries d JOIN queue q ON q.id = d.queue_id
             WHERE d.status = 'delivered' ORDER BY q.received_at DESC LIMIT $MESSAGES) t")
  sleep 0.5 # postlogd writes the log a moment after the delivery
  P_LAT=$(grep -o 'relay=virtual, delay=[0-9.]*' "$WORK/postfix.log" | tail -n "$MESSAGES" | sed 's/.*delay=//' | sort -n | awk '
    { v[NR] = $1 } END { if (NR == 0) { print "n/a n/a"; exit } i50 = int(NR * 0.5); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1; printf "%.1f %.1f\n", v[i50] * 1000, v[i99] * 1000 }')

  T_RATE=$(echo "$MESSAGES / $T_DONE" | bc -l)
  P_RATE=$(echo "$MESSAGES / $P_DONE" | bc -l)
  if [ "$RATE" = 0 ]; then
    printf '[%s] messages %d x %d bytes over %d connections, one local recipient, as fast as smtp-source sends\n' "$LABEL" "$MESSAGES" "$SIZE" "$SESSIONS"
  else
    printf '[%s] messages %d x %d bytes over %d connections, one local recipient, paced at %s/s (paced-sender.mjs; sent/late/seconds tegami: %s, postfix: %s)\n' \
      "$LABEL" "$MESSAGES" "$SIZE" "$SESSIONS" "$RATE" "$(cat "$WORK/tegami-$LABEL.samples.sender")" "$(cat "$WORK/postfix-$LABEL.samples.sender")"
  fi
  printf '%-22s %10s %12s %10s %10s %22s\n' system sent-in-s delivered/s 'p50 ms' 'p99 ms' 'backlog mid/end/max'
  read -r T50 T99 <<< "$T_LAT"; read -r P50 P99 <<< "$P_LAT"
  printf '%-22s %10.2f %12.1f %10s %10s %22s\n' tegami "$T_SENT" "$T_RATE" "$T50" "$T99" "$(backlog "$WORK/tegami-$LABEL.samples" "$T_SENT")"
  printf '%-22s %10.2f %12.1f %10s %10s %22s\n' postfix "$P_SENT" "$P_RATE" "$P50" "$P99" "$(backlog "$WORK/postfix-$LABEL.samples" "$P_SENT")"
  printf 'ratio tegami/postfix delivered/s %.2f\n' "$(echo "$T_RATE / $P_RATE" | bc -l)"
  printf 'tegami cpu-s/1000 msgs: smtp-ingress %.2f, delivery-worker %.2f, postgres %.2f, nats %.2f; db transactions/msg %.2f\n' "$icpu" "$wcpu" "$pcpu" "$ncpu" "$xa"
  printf 'whole machine cpu-s/1000 msgs: tegami run %.2f, postfix run %.2f\n' "$mcpu" "$pmcpu"
  printf 'backlog samples (seconds accepted delivered): %s, %s\n\n' "$WORK/tegami-$LABEL.samples" "$WORK/postfix-$LABEL.samples"
}

LAST_T_RATE=0
for w in "${WORKLOADS[@]}"; do
  read -r label messages sessions size rate <<< "$w"
  if [ "$rate" = auto ]; then
    rate=$(printf '%.0f' "$(echo "$LAST_T_RATE * 0.8" | bc -l)")
    messages=$((rate * PACED_SECONDS))
  fi
  run_workload "$label" "$messages" "$sessions" "$size" "$rate"
  LAST_T_RATE=$T_RATE
done
trap - EXIT
bench_cleanup
