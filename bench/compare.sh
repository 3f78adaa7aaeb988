#!/usr/bin/env bash
# bench/compare.sh: the "before and after" set of issue 16 in one command. Runs
# bench/smtp, bench/delivery, bench/pop3 and bench/imap (each against its Postfix or
# Dovecot reference in the same run) on this checkout and, with --before, on another
# commit too, alternating before/after bench by bench so both see the same machine load.
# The figure to compare is the ratio to the reference: the machine is shared.
#
# Usage: bench/compare.sh [--before COMMIT] [--runs N] [--only smtp,delivery,pop3,imap]
#   --before COMMIT  also measure COMMIT: `git archive` into a scratch checkout beside a
#                    link to ../shared (the corpus), `pnpm install --frozen-lockfile`.
#   --runs N         repeat the whole set N times (default 1).
#   --only LIST      a subset, comma-separated.
# Sizes (the arguments each run.sh takes) from the environment, defaults as in RESULTS.md,
# shortened where a full run takes over ~6 minutes on two cores:
#   BENCH_SMTP_ARGS="5000 20 10240" BENCH_DELIVERY_ARGS="5000 20 10240"
#   BENCH_POP3_ARGS="20 3 100 10240"       BENCH_IMAP_ARGS="20 20 10000 0"
# Needs root, Postgres, NATS, and the Debian packages postfix, dovecot-imapd, dovecot-pop3d.
# Logs and a summary go to $BENCH_OUT (default a new /tmp/tegami-compare.* directory).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)

COMMAND_LINE="$*"
BEFORE=""
RUNS=1
ONLY="smtp,delivery,pop3,imap"
while [ $# -gt 0 ]; do
  case $1 in
    --before) BEFORE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: bench/compare.sh [--before COMMIT] [--runs N] [--only smtp,delivery,pop3,imap]" >&2; exit 2 ;;
  esac
done

declare -A ARGS=(
  [smtp]=${BENCH_SMTP_ARGS:-5000 20 10240}
  [delivery]=${BENCH_DELIVERY_ARGS:-5000 20 10240}
  [pop3]=${BENCH_POP3_ARGS:-20 3 100 10240}
  [imap]=${BENCH_IMAP_ARGS:-20 20 10000 0}
)
# The lines of each run.sh's output that carry the figures.
declare -A PICK=(
  [smtp]='^(tegami|postfix|ratio)|^end of DATA'
  [delivery]='^(tegami|postfix|ratio) '
  [pop3]='^(tegami|dovecot|ratio)'
  [imap]='^(mixed|FETCH|memory)'
)

OUT=${BENCH_OUT:-$(mktemp -d /tmp/tegami-compare.XXXXXX)}
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"

checkouts=("this=$HERE")
if [ -n "$BEFORE" ]; then
  # The bench seeds read the corpus at ../shared/corpus relative to the checkout.
  ROOT="$OUT/before"
  mkdir -p "$ROOT/main"
  [ -e "$ROOT/shared" ] || ln -s "$(cd "$HERE/.." && pwd)/shared" "$ROOT/shared"
  git -C "$HERE" archive "$BEFORE" | tar -x -C "$ROOT/main"
  (cd "$ROOT/main" && pnpm install --frozen-lockfile >/dev/null)
  checkouts=("before=$ROOT/main" "after=$HERE")
fi

{
  echo "# bench/compare.sh $COMMAND_LINE: $(date -u +%Y-%m-%dT%H:%MZ), runs=$RUNS, before=${BEFORE:-none}, this checkout=$HERE at $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)')$(git -C "$HERE" diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')"
  echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
} | tee "$SUMMARY"

for run in $(seq 1 "$RUNS"); do
  for bench in ${ONLY//,/ }; do
    for entry in "${checkouts[@]}"; do
      label=${entry%%=*}
      dir=${entry#*=}
      log="$OUT/$bench.$label.$run.log"
      # shellcheck disable=SC2086 # ARGS holds the script's positional arguments
      echo "## $bench ($label, run $run): bench/$bench/run.sh ${ARGS[$bench]}   [load $(cut -d' ' -f1 /proc/loadavg)]" | tee -a "$SUMMARY"
      start=$(date +%s)
      if "$dir/bench/$bench/run.sh" ${ARGS[$bench]} > "$log" 2>&1; then
        grep -E "${PICK[$bench]}" "$log" | tee -a "$SUMMARY"
      else
        echo "FAILED (exit $?): see $log" | tee -a "$SUMMARY"
        tail -n 20 "$log" | sed 's/^/    /' | tee -a "$SUMMARY"
      fi
      echo "   ($(($(date +%s) - start)) s)" | tee -a "$SUMMARY"
    done
  done
done
echo "summary: $SUMMARY"
