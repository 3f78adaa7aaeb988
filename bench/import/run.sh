#!/usr/bin/env bash
# bench/import: moving a Dovecot Maildir in. Makes [messages] messages (bench/import/make-maildir.ts:
# the shared corpus's shapes and two larger ones, LF line ends, dovecot-uidlist, flags) and,
# in one run, times:
#   1. `tegami import maildir` into a fresh user of a fresh database (the compiled CLI);
#   2. Dovecot's own way in, `doveadm import` of the same tree into a user of a private,
#      throwaway Dovecot (bench/lib/dovecot.sh: its own base_dir, maildir storage, fsync
#      as configured by default);
#   3. `tegami export` of the imported user to a tar file.
# For each: wall time, messages/s, MB/s of message bytes, and the peak RSS of the process
# (GNU time's "Maximum resident set size"; for doveadm, the doveadm process itself).
# Usage: bench/import/run.sh [messages]   (run as root; builds packages/cli first)
set -euo pipefail
cd "$(dirname "$0")/../.."

MESSAGES=${1:-10000}
WORK=$(mktemp -d /tmp/tegami-bench-import.XXXXXX)
chmod 755 "$WORK"
STAMP=$(date +%s)
DB="tegami_benchimport_$STAMP"
PG_ADMIN=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PG_URL="${PG_ADMIN%/*}/$DB"
SOURCE="$WORK/source/Maildir"
USER_=mover@bench.test

[ -x /usr/sbin/dovecot ] && command -v doveadm >/dev/null || { echo "dovecot not installed: apt-get install -y dovecot-imapd" >&2; exit 1; }

cleanup() {
  /usr/sbin/dovecot -c "$WORK/dovecot.conf" stop >/dev/null 2>&1 || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# timed <name> <command…>: runs it under GNU time; prints "<name> <seconds> <peak-rss-KiB>".
timed() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M" -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
    echo "$name failed:" >&2
    cat "$WORK/$name.err" >&2
    exit 1
  }
  echo "$name $(cat "$WORK/$name.time")"
}

echo "building the CLI..." >&2
pnpm exec tsc -b packages/cli/tsconfig.build.json

echo "making $MESSAGES messages..." >&2
node --conditions=tegami-source --import tsx bench/import/make-maildir.ts "$SOURCE" "$MESSAGES" >&2
BYTES=$(find "$SOURCE" -path '*/cur/*' -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
chmod -R a+rX "$WORK/source"

# --- Tegami: a fresh database and user.
psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
export DATABASE_URL=$PG_URL TEGAMI_HOSTNAME=tegami.bench.test TEGAMI_LOG_LEVEL=warn
node packages/cli/dist/main.js migrate >/dev/null
node packages/cli/dist/main.js domain add bench.test >/dev/null
printf 'bench-password' | node packages/cli/dist/main.js user add "$USER_" --password-stdin >/dev/null
psql "$PG_URL" -qc 'CHECKPOINT' >/dev/null
read -r _ T_SECONDS T_RSS < <(timed tegami-import node packages/cli/dist/main.js import maildir "$SOURCE" --user "$USER_")
tail -1 "$WORK/tegami-import.out" >&2
read -r _ E_SECONDS E_RSS < <(timed tegami-export node packages/cli/dist/main.js export "$USER_" "$WORK/mover.tar")
cat "$WORK/tegami-export.out" >&2

# --- Dovecot: a private instance, the same tree brought in with doveadm import.
# shellcheck source=../lib/dovecot.sh
source bench/lib/dovecot.sh
dovecot_conf imap 0 "{PLAIN}bench-password" tegami-bench-import
mkdir -p "$WORK/maildir"
# The user's processes run as nobody, and Dovecot opens the source as a mailbox of its own:
# it writes its index and dovecot-uidlist lock files there (a tree from a real Dovecot has them).
chown -R nobody:nogroup "$WORK/maildir" "$WORK/source"
/usr/sbin/dovecot -c "$WORK/dovecot.conf"
sync
# -s subscribes the folders; "" puts them at the top level; "all" takes every message.
read -r _ D_SECONDS D_RSS < <(timed doveadm-import doveadm -c "$WORK/dovecot.conf" import -s -u "$USER_" "maildir:$SOURCE" "" all)
D_COUNT=$(doveadm -c "$WORK/dovecot.conf" search -u "$USER_" all | wc -l)

T_COUNT=$(psql "$PG_URL" -tAc 'SELECT count(*) FROM messages')
E_SIZE=$(stat -c %s "$WORK/mover.tar")

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1048576 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo
echo "source: $MESSAGES messages, $(mib $((BYTES / 1024))) MiB (LF line ends) in $(find "$SOURCE" -name cur -type d | wc -l) folders"
printf '%-26s %9s %10s %8s %14s %9s\n' 'run' 'messages' 'seconds' 'msg/s' 'MiB/s' 'peak RSS'
printf '%-26s %9s %10s %8s %14s %8sM\n' 'tegami import maildir' "$T_COUNT" "$T_SECONDS" "$(rate "$T_COUNT" "$T_SECONDS")" "$(mbs "$BYTES" "$T_SECONDS")" "$(mib "$T_RSS")"
printf '%-26s %9s %10s %8s %14s %8sM\n' 'doveadm import' "$D_COUNT" "$D_SECONDS" "$(rate "$D_COUNT" "$D_SECONDS")" "$(mbs "$BYTES" "$D_SECONDS")" "$(mib "$D_RSS")"
printf '%-26s %9s %10s %8s %14s %8sM\n' 'tegami export (tar)' "$T_COUNT" "$E_SECONDS" "$(rate "$T_COUNT" "$E_SECONDS")" "$(mbs "$E_SIZE" "$E_SECONDS")" "$(mib "$E_RSS")"
echo "import ratio (Tegami msg/s / Dovecot msg/s): $(awk -v t="$T_SECONDS" -v d="$D_SECONDS" 'BEGIN { printf "%.2f", d / t }')"
echo "MiB/s: of the source's message bytes for the imports, of the tar file for the export ($(mib $((E_SIZE / 1024))) MiB)"
