#!/usr/bin/env bash
# The speed benchmark: a 2,000-page comic served from one core, load from
# another core, nginx serving the same bytes as the baseline in the same run,
# and the analytics service beside its own bare endpoint. Prints one table;
# ratios are against nginx (or the bare endpoint) measured in the same run.
#
# usage: benches/hug.sh [--quick]     (--quick: 10 s instead of 60 s for the hug)
#
# Needs wrk and nginx (installed from Debian packages when missing and run
# as root), python3, and MariaDB on 127.0.0.1:3306 for the MariaDB row
# (skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

HUG_SECS=60
[ "${1:-}" = "--quick" ] && HUG_SECS=10
HT=127.0.0.1:18080
NG=127.0.0.1:18081
MYSQL_URL=${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}

need() {
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; else echo "needs $1 ($2)"; exit 2; fi
}
need wrk wrk
need nginx nginx
need taskset util-linux
ulimit -n 65536 2>/dev/null || ulimit -n 4096

cargo build --release -q --bin halftone && cargo build --release -q -p halftone-analytics
BIN=$PWD/target/release/halftone
ABIN=$PWD/target/release/halftone-analytics
WORK=$(mktemp -d)
SERVER=
NGINX=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "$NGINX" ] && kill "$NGINX" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Server on core 0, load on core 1 (on a one-core machine, both share it).
if [ "$(nproc)" -ge 2 ]; then SERVER_CPU=(taskset -c 0); LOAD_CPU=(taskset -c 1); else SERVER_CPU=(); LOAD_CPU=(); fi

start() { # env assignments… : starts halftone with them
  env HALFTONE_BIND=$HT HALFTONE_WORKERS=1 HALFTONE_LOG=${BENCH_LOG:-info} "$@" "${SERVER_CPU[@]}" "$BIN" serve >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf "http://$HT/readyz" >/dev/null && return; sleep 0.1; done
  echo "halftone did not start:"; cat "$WORK/serve.log"; exit 1
}
stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER/status"; }
renders() { # renders so far (0 before the first)
  local n
  n=$(curl -s "http://$HT/metrics" | awk '/^halftone_renders_total / { print $2 }' | head -1)
  echo "${n:-0}"
}
load() { # connections seconds url → "req/s p50 p99 errors"
  "${LOAD_CPU[@]}" wrk -t1 -c"$1" -d"$2"s --timeout 10s --latency "$3" | python3 benches/wrkstat.py
}

ROWS=()
row() { ROWS+=("$(printf '%-44s %9s %9s %9s %7s %9s  %s' "$@")"); }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }

echo "== preparing a 2,000-page comic (SQLite)"
HALFTONE_DATA_DIR=$WORK/sqlite HALFTONE_LOG=warn "$BIN" demo --pages 2000
MYSQL=
if mysqladmin --protocol=tcp -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "== preparing the same on MariaDB"
  mysql --protocol=tcp -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS halftone_bench"
  HALFTONE_DATA_DIR=$WORK/mysql HALFTONE_DATABASE_URL=$MYSQL_URL/halftone_bench HALFTONE_LOG=warn "$BIN" demo --pages 2000
  MYSQL=1
fi

echo "== nginx baseline: the same bytes as the cached latest page"
start HALFTONE_DATA_DIR=$WORK/sqlite
mkdir -p "$WORK/nginx/html"
curl -s "http://$HT/" >"$WORK/nginx/html/index.html"
curl -s "http://$HT/archive" >"$WORK/nginx/html/archive.html"
curl -s "http://$HT/feed.xml" >"$WORK/nginx/html/feed.xml"
stop
NGINX_USER=
[ "$(id -u)" = 0 ] && NGINX_USER="user root;"
cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { text/html html; }
  server { listen $NG; root $WORK/nginx/html; }
}
EOF
"${SERVER_CPU[@]}" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
NGINX=$!
sleep 0.5
read -r NG_RPS NG_P50 NG_P99 NG_ERR <<<"$(load 64 10 "http://$NG/index.html")"
read -r NGA_RPS NGA_P50 NGA_P99 _ <<<"$(load 64 10 "http://$NG/archive.html")"
read -r NGF_RPS _ _ _ <<<"$(load 64 10 "http://$NG/feed.xml")"
kill "$NGINX"; wait "$NGINX" 2>/dev/null || true; NGINX=
row "nginx static file (baseline)" "$NG_RPS" "$NG_P50" "$NG_P99" "$NG_ERR" "1.00x" ""

echo "== cached latest page"
start HALFTONE_DATA_DIR=$WORK/sqlite
curl -s "http://$HT/" >/dev/null
read -r R P50 P99 E <<<"$(load 64 10 "http://$HT/")"
row "latest page, cached (SQLite)" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NG_RPS")" "target >= 1.3x"
read -r R P50 P99 E <<<"$(load 64 10 "http://$HT/archive")"
row "archive of 2,000 pages, cached" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NGA_RPS")" "vs nginx serving archive.html"
read -r R P50 P99 E <<<"$(load 64 10 "http://$HT/feed.xml")"
row "RSS feed, cached" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NGF_RPS")" "vs nginx serving feed.xml"
stop

echo "== cache off"
start HALFTONE_DATA_DIR=$WORK/sqlite HALFTONE_CACHE__ENABLED=false
read -r R P50 P99 E <<<"$(load 64 10 "http://$HT/")"
row "latest page, no cache, SQLite" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NG_RPS")" "target >= 0.25x"
read -r R P50 P99 E <<<"$(load 16 10 "http://$HT/archive")"
row "archive of 2,000 pages, no cache, SQLite" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NGA_RPS")" "vs nginx serving archive.html"
read -r R P50 P99 E <<<"$(load 16 10 "http://$HT/feed.xml")"
row "RSS feed, no cache, SQLite" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NGF_RPS")" "vs nginx serving feed.xml"
stop
if [ -n "$MYSQL" ]; then
  start HALFTONE_DATA_DIR=$WORK/mysql HALFTONE_DATABASE_URL=$MYSQL_URL/halftone_bench HALFTONE_CACHE__ENABLED=false
  read -r R P50 P99 E <<<"$(load 64 10 "http://$HT/")"
  row "latest page, no cache, MariaDB" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NG_RPS")" "target >= 0.1x"
  stop
fi

echo "== cold stampede: 1,000 connections at once on an uncached page"
start HALFTONE_DATA_DIR=$WORK/sqlite HALFTONE_CACHE__TTL_MS=600000
BEFORE=$(renders)
read -r R P50 P99 E <<<"$(load 1000 3 "http://$HT/comic/rerun-1000")"
AFTER=$(renders)
STAMPEDE=$((${AFTER%.*} - ${BEFORE%.*}))
row "cold stampede, 1,000 connections" "$R" "$P50" "$P99" "$E" "-" "renders: $STAMPEDE (target: exactly 1)"
stop

echo "== hug of death: ${HUG_SECS} s at 1,000 connections, TTL 1 s expiring throughout"
start HALFTONE_DATA_DIR=$WORK/sqlite HALFTONE_CACHE__TTL_MS=1000
curl -s "http://$HT/" >/dev/null
RSS_BEFORE=$(rss_mib)
BEFORE=$(renders)
# A hug is browsers: they all send Accept-Encoding, so the cache's Brotli copy
# is what they get. RSS is sampled every 0.2 s while it lasts (VmHWM would
# also count start-up, which builds the search index).
( PEAK=0; while kill -0 "$SERVER" 2>/dev/null; do
    NOW=$(awk '/VmRSS/ { print $2 }' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    [ "${NOW:-0}" -gt "$PEAK" ] && PEAK=$NOW && echo "$PEAK" >"$WORK/peak"
    sleep 0.2
  done ) &
SAMPLER=$!
read -r R P50 P99 E <<<"$("${LOAD_CPU[@]}" wrk -t1 -c1000 -d"$HUG_SECS"s --timeout 10s --latency \
  -H "Accept-Encoding: gzip, deflate, br" -H "User-Agent: Mozilla/5.0 (bench)" "http://$HT/" | python3 benches/wrkstat.py)"
kill "$SAMPLER" 2>/dev/null; wait "$SAMPLER" 2>/dev/null || true
AFTER=$(renders)
RSS_AFTER=$(rss_mib)
PEAK=$(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/peak")
TAIL=$(python3 -c "print(f'{$P99 / $P50:.1f}')")
row "hug of death, 1,000 connections, ${HUG_SECS} s" "$R" "$P50" "$P99" "$E" "$(ratio "$R" "$NG_RPS")" "p99/p50 = $TAIL (target < 10); renders: $((${AFTER%.*} - ${BEFORE%.*})); RSS ${RSS_BEFORE} -> ${RSS_AFTER} MiB, peak ${PEAK} MiB (target < 64)"
stop

echo "== analytics: POST /api/hit (spool on, fsync'd) beside the same server's bare /healthz"
AN=127.0.0.1:18090
env HALFTONE_ANALYTICS_BIND=$AN HALFTONE_ANALYTICS_WORKERS=1 HALFTONE_ANALYTICS_RATE_LIMIT=0 \
    HALFTONE_ANALYTICS_TRUSTED_PROXIES=127.0.0.1 HALFTONE_ANALYTICS_SECRET=bench-secret-0123456789 HALFTONE_LOG=warn \
    HALFTONE_ANALYTICS_DATABASE_URL="sqlite://$WORK/analytics.db" HALFTONE_ANALYTICS_SPOOL_DIR="$WORK/spool" \
    "${SERVER_CPU[@]}" "$ABIN" >"$WORK/analytics.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://$AN/readyz" >/dev/null && break; sleep 0.1; done
read -r BASE P50 P99 E <<<"$(load 1000 10 "http://$AN/healthz")"
row "analytics GET /healthz (bare endpoint)" "$BASE" "$P50" "$P99" "$E" "-" "baseline for the next row"
read -r R P50 P99 E <<<"$("${LOAD_CPU[@]}" wrk -t1 -c1000 -d10s --timeout 10s --latency -s benches/analytics_hit.lua "http://$AN/api/hit" | python3 benches/wrkstat.py)"
row "analytics POST /api/hit, spool on" "$R" "$P50" "$P99" "$E" "-" "$(ratio "$R" "$BASE") of bare (target >= 50,000/s or >= 0.75x)"
stop

echo
printf '%-44s %9s %9s %9s %7s %9s  %s\n' "what" "req/s" "p50 ms" "p99 ms" "errors" "vs nginx" "notes"
printf '%s\n' "${ROWS[@]}"
