#!/usr/bin/env bash
# bench/pop3: [clients] POP3 clients at once, each logging in as its own user, STAT, RETR
# of every message of its [messages]-message maildrop, QUIT; against Tegami's pop-gateway
# (compiled, real Postgres) and against Dovecot's POP3 (Debian dovecot-pop3d, configured
# here on loopback with the same messages in maildirs), one after the other in one run.
# Usage: bench/pop3/run.sh [clients] [messages]
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS=${1:-20}
MESSAGES=${2:-500}
WORK=$(mktemp -d /tmp/tegami-bench-pop3.XXXXXX)
chmod 755 "$WORK"
TEGAMI_PORT=12710
DOVECOT_PORT=12711
OPS_PORT=12781
DB="tegami_benchp_$(date +%s)"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
PASSWORD=bench-password
NATS_PREFIX="benchp$(date +%s)"

[ -x /usr/sbin/dovecot ] || { echo "dovecot not installed: apt-get install -y dovecot-pop3d" >&2; exit 1; }

cleanup() {
  [ -n "${TEGAMI_PID:-}" ] && kill "$TEGAMI_PID" 2>/dev/null || true
  /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  (cd packages/bus && node --input-type=module -e "
    import { connect } from '@nats-io/transport-node'; import { jetstreamManager } from '@nats-io/jetstream';
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc); await jsm.streams.delete('${NATS_PREFIX^^}_MAIL_QUEUE').catch(() => {}); await nc.close();"
  ) 2>/dev/null || true
}
trap cleanup EXIT

pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
mkdir -p "$WORK/maildir"
node --conditions=tegami-source --import tsx bench/pop3/seed.ts "$PG_URL" "$CLIENTS" "$MESSAGES" "$PASSWORD" "$WORK/maildir"
chown -R nobody:nogroup "$WORK/maildir"

mkdir -p "$WORK/run" "$WORK/state"
# Both servers verify a memory-hard password hash at each login, as a real install does:
# Tegami its scrypt (N=2^15, r=8), Dovecot its ARGON2ID default (m=64 MiB, t=3); no auth cache.
# DOVECOT_SCHEME=PLAIN gives Dovecot a cleartext password instead (no hashing at all).
DOVECOT_HASH=$(doveadm pw -s "${DOVECOT_SCHEME:-ARGON2ID}" -p "$PASSWORD")
cat > "$WORK/dovecot.conf" <<CONF
base_dir = $WORK/run
state_dir = $WORK/state
log_path = $WORK/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$WORK/maildir/%u
passdb {
  driver = static
  args = password=$DOVECOT_HASH
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$WORK/maildir/%u
}
service pop3-login {
  inet_listener pop3 {
    port = $DOVECOT_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service pop3 {
  process_limit = 1024
}
CONF
/usr/sbin/dovecot -c "$WORK/dovecot.conf"

DATABASE_URL=$PG_URL TEGAMI_LOG_LEVEL=warn TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_NATS_PREFIX=$NATS_PREFIX \
  TEGAMI_POP_HOST=127.0.0.1 TEGAMI_POP_PORT=$TEGAMI_PORT TEGAMI_POPS_PORT=0 TEGAMI_DB_POOL_SIZE=20 \
  TEGAMI_OPS_HOST=127.0.0.1 TEGAMI_OPS_PORT=$OPS_PORT node ${BENCH_NODE_ARGS:-} services/pop-gateway/dist/main.js > "$WORK/tegami.log" 2>&1 &
TEGAMI_PID=$!
for port in $TEGAMI_PORT $DOVECOT_PORT; do
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
done

# Warm-up: one pass each (JIT, Postgres and page caches), then the measured runs.
node bench/pop3/load.mjs 127.0.0.1 $TEGAMI_PORT "$CLIENTS" pop "$PASSWORD" > /dev/null
node bench/pop3/load.mjs 127.0.0.1 $DOVECOT_PORT "$CLIENTS" pop "$PASSWORD" > /dev/null
read -r T_MSG T_BYTES T_SEC T_RATE T_LOGIN T_DL < <(node bench/pop3/load.mjs 127.0.0.1 $TEGAMI_PORT "$CLIENTS" pop "$PASSWORD")
read -r D_MSG D_BYTES D_SEC D_RATE D_LOGIN D_DL < <(node bench/pop3/load.mjs 127.0.0.1 $DOVECOT_PORT "$CLIENTS" pop "$PASSWORD")
printf '%d clients x %d messages each\n' "$CLIENTS" "$MESSAGES"
printf 'tegami pop-gateway  %8s msg/s  (%s messages, %s bytes, %s s; login p50 %s ms; downloads alone %s msg/s)\n' "$T_RATE" "$T_MSG" "$T_BYTES" "$T_SEC" "$T_LOGIN" "$T_DL"
printf 'dovecot pop3        %8s msg/s  (%s messages, %s bytes, %s s; login p50 %s ms; downloads alone %s msg/s)\n' "$D_RATE" "$D_MSG" "$D_BYTES" "$D_SEC" "$D_LOGIN" "$D_DL"
printf 'ratio tegami/dovecot %.2f (downloads alone %.2f)\n' "$(echo "$T_RATE / $D_RATE" | bc -l)" "$(echo "$T_DL / $D_DL" | bc -l)"
