#!/usr/bin/env bash
# bench/delivery: the same sustained load through Tegami (smtp-ingress + delivery-worker,
# compiled, real Postgres and NATS JetStream) and through a private Postfix instance
# delivering to maildirs, one after the other in one run. Postfix's smtp-source sends
# [messages] of [size] bytes over [connections] sessions to one local user; then this
# measures, for each system: delivered per second (first 250 to last delivery), the
# latency from acceptance to the message being in the mailbox (p50, p99), and the backlog
# (accepted, not yet delivered) sampled every 250 ms: whether the queue stays flat.
# Usage: bench/delivery/run.sh [messages] [connections] [size-bytes]
set -euo pipefail
cd "$(dirname "$0")/../.."

MESSAGES=${1:-5000}
SESSIONS=${2:-20}
SIZE=${3:-10240}
WORK=$(mktemp -d /tmp/tegami-bench-delivery.XXXXXX)
chmod 755 "$WORK"
TEGAMI_PORT=12626
POSTFIX_PORT=12625
OPS_INGRESS=12681
OPS_WORKER=12682
PREFIX="benchd$(date +%s)"
DB="tegami_benchd_$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"

if ! command -v smtp-source >/dev/null || [ ! -x /usr/sbin/postfix ]; then
  echo "postfix not installed: apt-get install -y postfix" >&2; exit 1
fi

cleanup() {
  for pid in ${PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  /usr/sbin/postfix -c "$WORK/conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  (cd packages/bus && node --input-type=module -e "
    import { connect } from '@nats-io/transport-node'; import { jetstreamManager } from '@nats-io/jetstream';
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc); await jsm.streams.delete('${PREFIX^^}_MAIL_QUEUE').catch(() => {}); await nc.close();" \
    ) 2>/dev/null || true
}
trap cleanup EXIT

# --- Postfix: a private instance on 127.0.0.1:$POSTFIX_PORT, virtual(8) into a maildir.
mkdir -p "$WORK/conf" "$WORK/queue" "$WORK/data" "$WORK/mail"
chown postfix "$WORK/data"
chown nobody:nogroup "$WORK/mail"
cat > "$WORK/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
myhostname = postfix.bench.test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file_prefixes = /tmp
maillog_file = $WORK/postfix.log
virtual_mailbox_domains = bench.test
virtual_mailbox_base = $WORK/mail
virtual_mailbox_maps = hash:$WORK/conf/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
default_process_limit = 100
smtpd_client_connection_count_limit = 100
EOF
echo "bob@bench.test bench.test/bob/" > "$WORK/conf/vmailbox"
postmap -c "$WORK/conf" "$WORK/conf/vmailbox"
sed -e "s/^smtp      inet.*/127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd/" /usr/share/postfix/master.cf.dist > "$WORK/conf/master.cf"
/usr/sbin/postfix -c "$WORK/conf" start >/dev/null 2>&1 || { cat "$WORK/postfix.log" >&2; exit 1; }

# --- Tegami: smtp-ingress and one delivery-worker process, compiled.
pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=$PG_URL TEGAMI_NATS_PREFIX=$PREFIX TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_LOG_LEVEL=warn TEGAMI_OPS_HOST=127.0.0.1
node packages/cli/dist/main.js migrate >/dev/null
node packages/cli/dist/main.js domain add bench.test >/dev/null
printf 'pw' | node packages/cli/dist/main.js user add bob@bench.test --password-stdin >/dev/null
TEGAMI_SMTP_HOST=127.0.0.1 TEGAMI_SMTP_MX_PORT=$TEGAMI_PORT TEGAMI_SMTP_SUBMISSION_PORT=0 TEGAMI_SMTP_SUBMISSIONS_PORT=0 \
  TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP=200 TEGAMI_DB_POOL_SIZE=20 TEGAMI_OPS_PORT=$OPS_INGRESS \
  node services/smtp-ingress/dist/main.js > "$WORK/ingress.log" 2>&1 &
PIDS="$!"
TEGAMI_RESOLVER_TARGET=127.0.0.1:1 TEGAMI_DELIVERY_CONCURRENCY=${TEGAMI_DELIVERY_CONCURRENCY:-32} TEGAMI_DB_POOL_SIZE=20 \
  TEGAMI_OPS_PORT=$OPS_WORKER node services/delivery-worker/dist/main.js > "$WORK/worker.log" 2>&1 &
PIDS="$PIDS $!"
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

# Sends the load to a port while sampling the backlog; waits until `target` messages
# are delivered. Prints: seconds-to-send seconds-to-deliver max-backlog final-backlog-at-send-end
run_load() { # port counts-fn target samples-file → "seconds-to-send seconds-to-deliver"
  local port=$1 counts=$2 target=$3 samples=$4 start sent_at now c
  : > "$samples"
  start=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$port" &
  local source_pid=$!
  while kill -0 "$source_pid" 2>/dev/null; do
    now=$(date +%s.%N); c=$($counts)
    echo "$(echo "$now - $start" | bc -l) $c" >> "$samples"
    sleep 0.25
  done
  wait "$source_pid"
  sent_at=$(date +%s.%N)
  while :; do
    c=$($counts); now=$(date +%s.%N)
    echo "$(echo "$now - $start" | bc -l) $c" >> "$samples"
    [ "${c#* }" -ge "$target" ] && break
    sleep 0.1
  done
  echo "$(echo "$sent_at - $start" | bc -l) $(echo "$now - $start" | bc -l)"
}

# Warm-up (JIT, pools), not measured.
smtp-source -s 4 -m 200 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$TEGAMI_PORT"
smtp-source -s 4 -m 200 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$POSTFIX_PORT"
for _ in $(seq 1 300); do [ "$(delivered_tegami)" -ge 200 ] && [ "$(delivered_postfix)" -ge 200 ] && break; sleep 0.1; done
psql "$PG_URL" -qc "TRUNCATE delivery_attempts" >/dev/null
WARM_T=$(delivered_tegami); WARM_P=$(delivered_postfix)

read -r T_SENT T_DONE < <(run_load $TEGAMI_PORT counts_tegami $((WARM_T + MESSAGES)) "$WORK/tegami.samples")
read -r P_SENT P_DONE < <(run_load $POSTFIX_PORT counts_postfix $((WARM_P + MESSAGES)) "$WORK/postfix.samples")

# Latency, acceptance → in the mailbox. Tegami: queue row (written before the 250) to the
# delivery's commit. Postfix: the delay= of each virtual(8) delivery in its log (arrival
# in the queue, before its 250, to delivery).
T_LAT=$(psql "$PG_URL" -Atc "
  SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1) || ' ' ||
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1)
    FROM (SELECT EXTRACT(EPOCH FROM d.finished_at - q.received_at) AS x
            FROM deliveries d JOIN queue q ON q.id = d.queue_id
           WHERE d.status = 'delivered' ORDER BY q.received_at DESC LIMIT $MESSAGES) t")
P_LAT=$(grep -o 'relay=virtual, delay=[0-9.]*' "$WORK/postfix.log" | tail -n "$MESSAGES" | sed 's/.*delay=//' | sort -n | awk '
  { v[NR] = $1 } END { if (NR == 0) { print "n/a n/a"; exit } i50 = int(NR * 0.5); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1; printf "%.1f %.1f\n", v[i50] * 1000, v[i99] * 1000 }')

# Backlog = accepted - delivered at each sample: its maximum, and its value at the middle
# and at the end of the sending: a flat queue stays about the same, a growing one climbs.
backlog() { # samples-file sent-at
  awk -v sent="$2" '
    { b = $2 - $3; if (b > max) max = b; if ($1 <= sent / 2) mid = b; if ($1 <= sent) end = b }
    END { printf "%d/%d/%d", mid, end, max }' "$1"
}
T_RATE=$(echo "$MESSAGES / $T_DONE" | bc -l)
P_RATE=$(echo "$MESSAGES / $P_DONE" | bc -l)
printf 'messages %d x %d bytes over %d connections, one local recipient\n' "$MESSAGES" "$SIZE" "$SESSIONS"
printf '%-22s %10s %12s %10s %10s %22s\n' system sent-in-s delivered/s 'p50 ms' 'p99 ms' 'backlog mid/end/max'
read -r T50 T99 <<< "$T_LAT"; read -r P50 P99 <<< "$P_LAT"
printf '%-22s %10.2f %12.1f %10s %10s %22s\n' tegami "$T_SENT" "$T_RATE" "$T50" "$T99" "$(backlog "$WORK/tegami.samples" "$T_SENT")"
printf '%-22s %10.2f %12.1f %10s %10s %22s\n' postfix "$P_SENT" "$P_RATE" "$P50" "$P99" "$(backlog "$WORK/postfix.samples" "$P_SENT")"
printf 'ratio tegami/postfix delivered/s %.2f\n' "$(echo "$T_RATE / $P_RATE" | bc -l)"
printf 'backlog samples (seconds delivered): %s, %s\n' "$WORK/tegami.samples" "$WORK/postfix.samples"
trap - EXIT
cleanup
