#!/usr/bin/env bash
# bench/imap/own-mailbox.sh: the common IMAP case (issue 17). [clients] users, each with its
# OWN mailbox of [messages] messages (INBOX, Sent, Archive, Drafts, Trash; shapes from the
# shared corpus plus 10 KB and 40 KB messages), seeded alike into Tegami (real Postgres and
# NATS, the compiled imap-gateway) and a Dovecot IMAP instance (Debian dovecot-imapd,
# Maildir++, configured here on loopback). In one run:
#   1. persistent sessions: each client logs in once to its user and runs, for [seconds], a
#      seeded random mix as a client that keeps no cache does (LIST, STATUS, SELECT, FETCH of
#      flags / envelopes / bodystructures / header fields / one body, STORE, APPEND, EXPUNGE):
#      commands/s of each and the ratio, and the mean latency of each command type;
#   2. a fresh login for each session (LOGIN, SELECT, two FETCHes, LOGOUT, repeated):
#      commands/s and login latency, against Dovecot with a hashed password (ARGON2ID, as in
#      bench/imap/run.sh; DOVECOT_SCHEME overrides) and with a cleartext one.
# Usage: bench/imap/own-mailbox.sh [clients] [seconds] [messages] [seed]
# Ports: BENCH_PORT_BASE (Tegami; Dovecot +1, ops +2), default 12745. BENCH_NODE_ARGS passes
# flags to the gateway (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof). BENCH_DB_POOL sets its Postgres pool
# (default 10, the service's own default). BENCH_LOGINS=0 skips part 2;
# BENCH_ROUNDS=n runs part 1 n times, the servers alternating.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS=${1:-20}
SECONDS_=${2:-20}
MESSAGES=${3:-200}
SEED=${4:-1}
BASE=${BENCH_PORT_BASE:-12745}
TEGAMI_PORT=$BASE
DOVECOT_PORT=$((BASE + 1))
OPS_PORT=$((BASE + 2))
WORK=$(mktemp -d /tmp/tegami-bench-imap-own.XXXXXX)
chmod 755 "$WORK"
STAMP=$(date +%s)
DB="tegami_benchio_$STAMP"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
PASSWORD=bench-password
NATS_PREFIX="benchio$STAMP"
ulimit -n "$(ulimit -Hn)"

[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || { echo "dovecot not installed: apt-get install -y dovecot-imapd" >&2; exit 1; }

cleanup() {
  [ -n "${TEGAMI_PID:-}" ] && kill "$TEGAMI_PID" 2>/dev/null && wait "$TEGAMI_PID" 2>/dev/null || true
  /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# shellcheck source=../lib/dovecot.sh
source bench/lib/dovecot.sh
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || pnpm build >/dev/null
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
mkdir -p "$WORK/maildir" "$WORK/run" "$WORK/state"
echo "seeding $CLIENTS users x $MESSAGES messages..."
node --conditions=tegami-source --import tsx bench/imap/own-seed.ts "$PG_URL" "$CLIENTS" "$MESSAGES" "$PASSWORD" "$WORK/maildir"
chown -R nobody:nogroup "$WORK/maildir"

dovecot_start() { # scheme: the passdb's password scheme (ARGON2ID, PLAIN, ...)
  /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$DOVECOT_PORT) 2>/dev/null || break; sleep 0.2; done
  local hash
  hash=$(doveadm pw -s "$1" -p "$PASSWORD")
  dovecot_conf imap "$DOVECOT_PORT" "$hash" tegami-bench-imap-own "$DOVECOT_IMAP_SCALE
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Archive {
    special_use = \\Archive
  }
}"
  /usr/sbin/dovecot -c "$WORK/dovecot.conf"
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$DOVECOT_PORT) 2>/dev/null && break; sleep 0.2; done
}

# Both verify a memory-hard password hash at login: Tegami scrypt (ln=15, r=8: 32 MiB),
# Dovecot ARGON2ID (Dovecot 2.3's default: m=64 MiB, t=3). What one verification costs on
# each side is measured and printed below, so the comparison says how comparable they are.
HASHED=${DOVECOT_SCHEME:-ARGON2ID}
dovecot_start "$HASHED"
DATABASE_URL=$PG_URL TEGAMI_LOG_LEVEL=warn TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_NATS_PREFIX=$NATS_PREFIX \
  TEGAMI_IMAP_HOST=127.0.0.1 TEGAMI_IMAP_PORT=$TEGAMI_PORT TEGAMI_IMAPS_PORT=0 TEGAMI_DB_POOL_SIZE=${BENCH_DB_POOL:-10} \
  TEGAMI_IMAP_MAX_CONNECTIONS=100000 TEGAMI_IMAP_MAX_CONNECTIONS_PER_IP=100000 TEGAMI_IMAP_MAX_CONNECTIONS_PER_USER=100000 \
  TEGAMI_OPS_HOST=127.0.0.1 TEGAMI_OPS_PORT=$OPS_PORT node ${BENCH_NODE_ARGS:-} services/imap-gateway/dist/main.js > "$WORK/tegami.log" 2>&1 &
TEGAMI_PID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$TEGAMI_PORT) 2>/dev/null && break; sleep 0.2; done

cpu_ticks() { # pids...: their user+system CPU time, in clock ticks
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
TICKS=$(getconf CLK_TCK)
postgres_pids() { pgrep -x postgres | tr '\n' ' '; }
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; } # user nice system irq softirq, all cores

# Warm-up (JIT, caches; Dovecot builds its indexes on the first SELECTs), then measure.
node bench/imap/own-load.mjs mix 127.0.0.1 $TEGAMI_PORT "$CLIENTS" 3 "$PASSWORD" 999 "$WORK/warm.json" > /dev/null
node bench/imap/own-load.mjs mix 127.0.0.1 $DOVECOT_PORT "$CLIENTS" 3 "$PASSWORD" 999 "$WORK/warm.json" > /dev/null

# BENCH_ROUNDS > 1 alternates the two servers that many times (a busy machine's load drifts).
printf '%d clients, each its own mailbox of %d messages, %d s, seed %d\n' "$CLIENTS" "$MESSAGES" "$SECONDS_" "$SEED"
for _ in $(seq 1 "${BENCH_ROUNDS:-1}"); do
  TS0=$(awk '{print $15}' "/proc/$TEGAMI_PID/stat"); T0=$(cpu_ticks "$TEGAMI_PID"); TP0=$(cpu_ticks $(postgres_pids)); TM0=$(machine_busy)
  read -r T_OPS T_SEC T_RATE T_CLIENT < <(node bench/imap/own-load.mjs mix 127.0.0.1 $TEGAMI_PORT "$CLIENTS" "$SECONDS_" "$PASSWORD" "$SEED" "$WORK/tegami-mix.json")
  T_CPU=$(( $(cpu_ticks "$TEGAMI_PID") - T0 )); T_SYS=$(( $(awk '{print $15}' "/proc/$TEGAMI_PID/stat") - TS0 )); TP_CPU=$(( $(cpu_ticks $(postgres_pids)) - TP0 )); TM_CPU=$(( $(machine_busy) - TM0 ))
  D0=$(cpu_ticks $(dovecot_pids)); DM0=$(machine_busy)
  read -r D_OPS D_SEC D_RATE D_CLIENT < <(node bench/imap/own-load.mjs mix 127.0.0.1 $DOVECOT_PORT "$CLIENTS" "$SECONDS_" "$PASSWORD" "$SEED" "$WORK/dovecot-mix.json")
  D_CPU=$(( $(cpu_ticks $(dovecot_pids)) - D0 )); DM_CPU=$(( $(machine_busy) - DM0 ))
  printf 'mix, persistent sessions   tegami %8s commands/s (%s in %s s)   dovecot %8s commands/s (%s in %s s)   ratio %.2f\n' \
    "$T_RATE" "$T_OPS" "$T_SEC" "$D_RATE" "$D_OPS" "$D_SEC" "$(echo "$T_RATE / $D_RATE" | bc -l)"
  printf 'CPU per 1000 commands      imap-gateway %.0f ms (kernel %.0f)   dovecot (all its processes) %.0f ms\n' \
    "$(echo "$T_CPU * 1000000 / $TICKS / $T_OPS" | bc -l)" "$(echo "$T_SYS * 1000000 / $TICKS / $T_OPS" | bc -l)" "$(echo "$D_CPU * 1000000 / $TICKS / $D_OPS" | bc -l)"
  # The whole machine's busy time includes the load generator (the same for both) and, on the
  # Tegami side, Postgres: what the 2 cores were spent on, per 1000 commands.
  printf '                           postgres %.0f ms   load client: tegami run %.0f ms (%.2f cores), dovecot run %.0f ms (%.2f cores)\n' \
    "$(echo "$TP_CPU * 1000000 / $TICKS / $T_OPS" | bc -l)" "$(echo "$T_CLIENT * 1000 / $T_OPS" | bc -l)" "$(echo "$T_CLIENT / 1000 / $T_SEC" | bc -l)" \
    "$(echo "$D_CLIENT * 1000 / $D_OPS" | bc -l)" "$(echo "$D_CLIENT / 1000 / $D_SEC" | bc -l)"
  printf '                           whole machine: tegami run %.0f ms, dovecot run %.0f ms\n' \
    "$(echo "$TM_CPU * 1000000 / $TICKS / $T_OPS" | bc -l)" "$(echo "$DM_CPU * 1000000 / $TICKS / $D_OPS" | bc -l)"
  node bench/imap/own-load.mjs table "$WORK/tegami-mix.json" "$WORK/dovecot-mix.json"
done

[ "${BENCH_LOGINS:-1}" = 1 ] || exit 0
hash_ms() { # the best of 5 runs of one verification: node's scrypt as Tegami runs it; doveadm pw -t less its start-up
  node -e "const c = require('crypto'); let best = 1e9; for (let i = 0; i < 5; i++) { const t = performance.now();
    c.scryptSync('$PASSWORD', Buffer.alloc(16), 32, { N: 32768, r: 8, p: 1, maxmem: 64 << 20 }); best = Math.min(best, performance.now() - t); }
    console.log(best.toFixed(0))"
  local hash best=999999 plain=999999 t
  hash=$(doveadm pw -s "$HASHED" -p "$PASSWORD")
  for _ in 1 2 3 4 5; do
    t=$(date +%s%N); doveadm pw -t "$hash" -p "$PASSWORD" >/dev/null; t=$(( ($(date +%s%N) - t) / 1000000 )); [ "$t" -lt "$best" ] && best=$t
    t=$(date +%s%N); doveadm pw -t "{PLAIN}$PASSWORD" -p "$PASSWORD" >/dev/null; t=$(( ($(date +%s%N) - t) / 1000000 )); [ "$t" -lt "$plain" ] && plain=$t
  done
  echo $((best - plain))
}
read -r S_MS D_MS <<< "$(hash_ms | tr '\n' ' ')"
printf 'one password verification (best of 5): tegami scrypt ln=15 r=8 %s ms   dovecot %s %s ms\n' "$S_MS" "$HASHED" "$D_MS"
login_line() { # name json: "rate commands/s, login avg / p50 ms"
  node -e "const r = JSON.parse(require('fs').readFileSync('$2', 'utf8')); const l = r.types.LOGIN;
    console.log('$1'.padEnd(28) + r.rate.toFixed(1).padStart(8) + ' commands/s   login avg ' + l.mean.toFixed(1) + ' ms, p50 ' + l.p50.toFixed(1) + ' ms (' + l.count + ' logins)')"
}
node bench/imap/own-load.mjs logins 127.0.0.1 $TEGAMI_PORT "$CLIENTS" "$SECONDS_" "$PASSWORD" "$SEED" "$WORK/tegami-logins.json" > /dev/null
node bench/imap/own-load.mjs logins 127.0.0.1 $DOVECOT_PORT "$CLIENTS" "$SECONDS_" "$PASSWORD" "$SEED" "$WORK/dovecot-logins-hashed.json" > /dev/null
dovecot_start PLAIN
node bench/imap/own-load.mjs logins 127.0.0.1 $DOVECOT_PORT "$CLIENTS" "$SECONDS_" "$PASSWORD" "$SEED" "$WORK/dovecot-logins-plain.json" > /dev/null
echo "fresh login per session (LOGIN, SELECT, 2 FETCH, LOGOUT)"
login_line "tegami (scrypt)" "$WORK/tegami-logins.json"
login_line "dovecot ($HASHED)" "$WORK/dovecot-logins-hashed.json"
login_line "dovecot (PLAIN)" "$WORK/dovecot-logins-plain.json"
node -e "const f = (n) => JSON.parse(require('fs').readFileSync('$WORK/' + n + '.json', 'utf8')).rate;
  console.log('ratio tegami/dovecot: ' + (f('tegami-logins') / f('dovecot-logins-hashed')).toFixed(2) + ' ($HASHED), ' + (f('tegami-logins') / f('dovecot-logins-plain')).toFixed(2) + ' (PLAIN)')"
