#!/usr/bin/env bash
# Time from `pnpm start` to /healthz and /readyz answering 200: on a fresh TEGAMI_DATA_DIR
# (the first start creates the database) and again on the same data (a restart).
#   bench/standalone/start.sh [runs] [repo]   (repo: another checkout to compare, default this one)
set -euo pipefail
runs=${1:-3}
repo=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
port=18481

now() { date +%s.%N; }
wait_for() { # url deadline-seconds → prints seconds waited, or "timeout"
  local start=$1 url=$2
  for _ in $(seq 1 1200); do
    if curl -sf -o /dev/null "$url"; then echo "$(echo "$(now) - $start" | bc)"; return; fi
    sleep 0.05
  done
  echo timeout
}
one_start() { # data-dir label
  local dir=$1 label=$2 start pid health ready
  start=$(now)
  (cd "$repo" && TEGAMI_DATA_DIR="$dir" TEGAMI_OPS_PORT=$port TEGAMI_SMTP_MX_PORT=0 TEGAMI_SMTP_SUBMISSION_PORT=0 \
    TEGAMI_SMTP_SUBMISSIONS_PORT=0 TEGAMI_POP_PORT=0 TEGAMI_POPS_PORT=0 TEGAMI_IMAP_PORT=0 TEGAMI_IMAPS_PORT=0 \
    exec setsid pnpm start >"$dir.log" 2>&1) &
  pid=$!
  health=$(wait_for "$start" "http://127.0.0.1:$port/healthz")
  ready=$(wait_for "$start" "http://127.0.0.1:$port/readyz")
  printf '%-8s healthz %6.2f s   readyz %6.2f s\n' "$label" "$health" "$ready"
  kill -INT -- "-$(ps -o pgid= "$pid" | tr -d ' ')" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 1
}

echo "repo: $repo ($(cd "$repo" && git rev-parse --short HEAD))"
for i in $(seq 1 "$runs"); do
  base=$(mktemp -d /tmp/tegami-start-XXXXXX)
  chmod 755 "$base"
  one_start "$base/data" "fresh#$i"
  one_start "$base/data" "again#$i"
  rm -rf "$base" "$base/data.log"
done
