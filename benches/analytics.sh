#!/usr/bin/env bash
# Ingest benchmark for halftone-analytics: beacons/s on one core with the
# durable spool on (every hit fsync'd, group commit every 10 ms), load from
# a second core, and the service's memory across rounds. Baseline in the same
# run: the same server answering /healthz (HTTP alone, no spool, no parsing).
#
# usage: benches/analytics.sh [seconds per round, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ADDR=127.0.0.1:18090
need() {
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; else echo "needs $1 ($2)"; exit 2; fi
}
need wrk wrk
need taskset util-linux
ulimit -n 65536 2>/dev/null || true

cargo build --release -q -p halftone-analytics
BIN=$PWD/target/release/halftone-analytics
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
if [ "$(nproc)" -ge 2 ]; then SRV=(taskset -c 0); LOAD=(taskset -c 1); else SRV=(); LOAD=(); fi

SECRET=bench-secret-0123456789
env HALFTONE_ANALYTICS_BIND=$ADDR HALFTONE_ANALYTICS_WORKERS=1 HALFTONE_ANALYTICS_RATE_LIMIT=0 \
    HALFTONE_ANALYTICS_TRUSTED_PROXIES=127.0.0.1 HALFTONE_ANALYTICS_SECRET=$SECRET HALFTONE_LOG=warn \
    HALFTONE_ANALYTICS_DATABASE_URL="sqlite://$WORK/analytics.db" HALFTONE_ANALYTICS_SPOOL_DIR="$WORK/spool" \
    "${SRV[@]}" "$BIN" >"$WORK/out.log" 2>"$WORK/err.log" &
PID=$!
for _ in $(seq 100); do curl -sf "http://$ADDR/readyz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
ledger() { curl -s -H "Authorization: Bearer $SECRET" "http://$ADDR/api/ledger"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

printf '\n%-44s %9s %9s %9s %7s %9s %10s\n' what req/s "p50 ms" "p99 ms" errors "vs base" "RSS MiB"
RSS0=$(rss)
printf '%-44s %9s %9s %9s %7s %9s %10s\n' "service idle" - - - - - "$RSS0"
read -r BASE B50 B99 BERR < <("${LOAD[@]}" wrk -t1 -c1000 -d"${SECS}"s --latency "http://$ADDR/healthz" | python3 benches/wrkstat.py)
printf '%-44s %9s %9s %9s %7s %9s %10s\n' "GET /healthz (baseline: HTTP only)" "$BASE" "$B50" "$B99" "$BERR" "1.00x" "$(rss)"
TOTAL_OK=0
for round in 1 2 3; do
  OUT=$(ROUND=$round "${LOAD[@]}" wrk -t1 -c1000 -d"${SECS}"s --latency -s benches/analytics_hit.lua "http://$ADDR/api/hit")
  read -r RPS P50 P99 ERR < <(echo "$OUT" | python3 benches/wrkstat.py)
  REQS=$(echo "$OUT" | awk '/requests in/ { print $1 }')
  TOTAL_OK=$((TOTAL_OK + REQS - ERR))
  RATIO=$(python3 -c "print(f'{$RPS / $BASE:.2f}x')")
  printf '%-44s %9s %9s %9s %7s %9s %10s\n' "POST /api/hit, spool on, round $round" "$RPS" "$P50" "$P99" "$ERR" "$RATIO" "$(rss)"
done
START=$(date +%s.%N)
for _ in $(seq 600); do [ "$(ledger | field lag)" = 0 ] && break; sleep 0.1; done
CATCH=$(python3 -c "import time; print(f'{time.time() - $START:.1f}')")
L=$(ledger)
SPOOLED=$(echo "$L" | field spooled); COMMITTED=$(echo "$L" | field committed)
VIEWS=$(python3 - "$WORK/analytics.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT SUM(n) FROM counts WHERE metric='views' AND dim=''").fetchone()[0])
PY
)
echo
echo "acknowledged (2xx): $TOTAL_OK   spooled: $SPOOLED   committed: $COMMITTED   page views in the database: $VIEWS"
echo "database caught up ${CATCH}s after the load stopped; spool on disk now: $(du -sh "$WORK/spool" | cut -f1)"
# wrk stops with requests in flight: those were stored but their answers not
# counted, so the database may hold a few more than wrk saw acknowledged.
if [ "$VIEWS" = "$SPOOLED" ] && [ "$VIEWS" -ge "$TOTAL_OK" ]; then
  echo "every stored hit is in the database exactly once ($((VIEWS - TOTAL_OK)) were in flight when wrk stopped)"
else
  echo "MISMATCH"; exit 1
fi
