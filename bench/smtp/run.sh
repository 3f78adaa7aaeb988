#!/usr/bin/env bash
# bench/smtp: Postfix's smtp-source sends the same load to smtp-ingress and to a Postfix
# configured here on loopback, one after the other in one run. Prints messages per second
# for both, the ratio, and smtp-ingress's end-of-DATA → 250 latency (p50/p99, from its
# Prometheus histogram). Usage: bench/smtp/run.sh [messages] [connections] [size-bytes]
set -euo pipefail
cd "$(dirname "$0")/../.."

MESSAGES=${1:-5000}
SESSIONS=${2:-20}
SIZE=${3:-10240}
WORK=$(mktemp -d /tmp/tegami-bench-smtp.XXXXXX)
POSTFIX_PORT=12525
TEGAMI_PORT=12526
OPS_PORT=12580
PREFIX="bench$(date +%s)"
DB="tegami_bench_$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"

if ! command -v smtp-source >/dev/null || [ ! -x /usr/sbin/postfix ]; then
  echo "postfix not installed: apt-get install -y postfix" >&2; exit 1
fi

cleanup() {
  [ -n "${TEGAMI_PID:-}" ] && kill "$TEGAMI_PID" 2>/dev/null || true
  /usr/sbin/postfix stop >/dev/null 2>&1 || true
  [ -f "$WORK/master.cf.orig" ] && cp "$WORK/master.cf.orig" /etc/postfix/master.cf
  if [ -f "$WORK/main.cf.orig" ]; then cp "$WORK/main.cf.orig" /etc/postfix/main.cf; else rm -f /etc/postfix/main.cf; fi
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  (cd packages/bus && node --input-type=module -e "
    import { connect } from '@nats-io/transport-node'; import { jetstreamManager } from '@nats-io/jetstream';
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc); await jsm.streams.delete('${PREFIX^^}_MAIL_QUEUE').catch(() => {}); await nc.close();" \
    ) 2>/dev/null || true
}
trap cleanup EXIT

# --- Postfix on loopback: the machine's default instance, configured here (its files are
# backed up and restored), accepting mail for bench.test and discarding it after queueing.
# (`postfix -c <dir>` exits silently with 1 for a directory not listed in the default
# main.cf's alternate_config_directories, so a private instance is not simpler.)
cp /etc/postfix/main.cf "$WORK/main.cf.orig" 2>/dev/null || true
[ -f /etc/postfix/master.cf ] || cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
cp /etc/postfix/master.cf "$WORK/master.cf.orig"
/usr/sbin/postfix stop >/dev/null 2>&1 || true
[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
postconf -e compatibility_level=3.6 myhostname=postfix.bench.test mydestination=bench.test \
  inet_interfaces=127.0.0.1 inet_protocols=ipv4 mynetworks=127.0.0.0/8 \
  local_transport=discard: default_transport=discard: local_recipient_maps= \
  maillog_file_prefixes=/var,/dev/stdout,/tmp maillog_file="$WORK/postfix.log" \
  'smtpd_recipient_restrictions=permit_mynetworks, reject_unauth_destination' \
  smtpd_client_connection_count_limit=100 default_process_limit=100
sed -i -e "s/^smtp      inet.*/127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd/" /etc/postfix/master.cf
# Postfix reports startup errors only to syslog (none runs here) or to a terminal, so
# give it one when it fails and show what it said.
/usr/sbin/postfix start >/dev/null 2>&1 || { script -qc '/usr/sbin/postfix start' /dev/null >&2; exit 1; }

# --- smtp-ingress, compiled, against real Postgres and NATS JetStream.
pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL=$PG_URL node packages/cli/dist/main.js migrate >/dev/null
DATABASE_URL=$PG_URL node packages/cli/dist/main.js domain add bench.test >/dev/null
printf 'pw' | DATABASE_URL=$PG_URL node packages/cli/dist/main.js user add bob@bench.test --password-stdin >/dev/null
DATABASE_URL=$PG_URL TEGAMI_NATS_PREFIX=$PREFIX TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_LOG_LEVEL=warn \
  TEGAMI_SMTP_HOST=127.0.0.1 TEGAMI_SMTP_MX_PORT=$TEGAMI_PORT TEGAMI_SMTP_SUBMISSION_PORT=0 TEGAMI_SMTP_SUBMISSIONS_PORT=0 \
  TEGAMI_SMTP_MAX_CONNECTIONS_PER_IP=200 TEGAMI_DB_POOL_SIZE=20 TEGAMI_OPS_HOST=127.0.0.1 TEGAMI_OPS_PORT=$OPS_PORT \
  node services/smtp-ingress/dist/main.js > "$WORK/tegami.log" 2>&1 &
TEGAMI_PID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$TEGAMI_PORT) 2>/dev/null && break; sleep 0.2; done
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$POSTFIX_PORT) 2>/dev/null && break; sleep 0.2; done

measure() { # name port
  local start end
  start=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$2"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# Warm-up (JIT, connection pools), then the measured runs.
smtp-source -s 4 -m 200 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$TEGAMI_PORT"
smtp-source -s 4 -m 200 -l "$SIZE" -f alice@elsewhere.test -t bob@bench.test "127.0.0.1:$POSTFIX_PORT"
curl -s "http://127.0.0.1:$OPS_PORT/metrics" > "$WORK/metrics-before.txt"

TEGAMI_SECONDS=$(measure tegami $TEGAMI_PORT)
POSTFIX_SECONDS=$(measure postfix $POSTFIX_PORT)
curl -s "http://127.0.0.1:$OPS_PORT/metrics" > "$WORK/metrics-after.txt"

ACCEPTED=$(psql "$PG_URL" -Atc "SELECT count(*) FROM queue WHERE state = 'queued'")
node bench/smtp/latency.mjs "$WORK/metrics-before.txt" "$WORK/metrics-after.txt" > "$WORK/latency.txt"

TEGAMI_RATE=$(echo "$MESSAGES / $TEGAMI_SECONDS" | bc -l)
POSTFIX_RATE=$(echo "$MESSAGES / $POSTFIX_SECONDS" | bc -l)
printf 'messages %d x %d bytes over %d connections (queued in Postgres, incl. warm-up: %s)\n' "$MESSAGES" "$SIZE" "$SESSIONS" "$ACCEPTED"
printf 'tegami smtp-ingress  %8.1f msg/s  (%.2f s)\n' "$TEGAMI_RATE" "$TEGAMI_SECONDS"
printf 'postfix smtpd        %8.1f msg/s  (%.2f s)\n' "$POSTFIX_RATE" "$POSTFIX_SECONDS"
printf 'ratio tegami/postfix %8.2f\n' "$(echo "$TEGAMI_RATE / $POSTFIX_RATE" | bc -l)"
cat "$WORK/latency.txt"
