#!/usr/bin/env bash
# Reader-site figures: import time for 500 generated images, and render time
# of a comic page, the home page and the archive of a 2,000-page comic
# (SQLite, no cache in front). Prints a table; ratios are against a static
# file served by the same server in the same run (/robots.txt), because these
# machines are shared and noisy.
#
# usage: benches/reader.sh        (needs python3 and wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 2; }
cargo build --release -q --bin halftone
BIN=$PWD/target/release/halftone
WORK=$(mktemp -d)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export HALFTONE_DATA_DIR=$WORK/data HALFTONE_BIND=127.0.0.1:18080 HALFTONE_LOG=warn
CORES=$(nproc)
pin_server() { if [ "$CORES" -ge 2 ]; then taskset -c 0 "$@"; else "$@"; fi; }
pin_load() { if [ "$CORES" -ge 2 ]; then taskset -c 1 "$@"; else "$@"; fi; }

echo "generating 500 page images…"
python3 benches/make_images.py "$WORK/pages" 500 5
start=$(date +%s.%N)
"$BIN" import "$WORK/pages" >"$WORK/import.txt"
end=$(date +%s.%N)
import_secs=$(python3 -c "print(f'{$end - $start:.1f}')")
tail -n 3 "$WORK/import.txt"

# Grow the archive to 2,000 pages by copying rows (the images are shared).
python3 - "$WORK/data/halftone.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, series_id, chapter_id, title, status, published_at, live_at FROM pages ORDER BY position").fetchall()
pos = db.execute("SELECT MAX(position) FROM pages").fetchone()[0]
n = 0
while len(rows) + n < 2000:
    for (pid, sid, cid, title, status, pub, live) in rows:
        if len(rows) + n >= 2000: break
        n += 1; pos += 1
        cur = db.execute("INSERT INTO pages (series_id, chapter_id, slug, title, position, status, published_at, live_at, hover_text, transcript, notes, content_warning, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,'','','','',0,0)",
                         (sid, cid, "copy-%d" % n, title + " (copy)", pos, status, pub, live))
        db.execute("INSERT INTO page_images (page_id, media_id, position, alt_text) SELECT ?, media_id, position, alt_text FROM page_images WHERE page_id = ?", (cur.lastrowid, pid))
db.commit()
print("pages:", db.execute("SELECT COUNT(*) FROM pages").fetchone()[0])
PY

pin_server "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done

bench() { # path → "req/s p50_ms p99_ms"
  pin_load wrk -t1 -c4 -d5s --latency "http://127.0.0.1:18080$1" | python3 benches/wrkstat.py
}
for p in /robots.txt / /comic/ch03-050 /archive /feed.xml; do curl -s -o /dev/null "http://127.0.0.1:18080$p"; done
base=$(bench /robots.txt)
printf '\n%-34s %10s %9s %9s %10s\n' "what (SQLite, no cache)" "req/s" "p50 ms" "p99 ms" "vs static"
printf '%-34s %10s %9s %9s %10s\n' "import of 500 images" "-" "-" "-" "${import_secs} s"
for row in "static file (/robots.txt):/robots.txt" "comic page:/comic/ch03-050" "home (latest page):/" "archive, 2000 pages:/archive" "RSS feed:/feed.xml"; do
  name=${row%%:*}; path=${row#*:}
  read -r rps p50 p99 _ <<<"$(bench "$path")"
  ratio=$(python3 -c "print(f'{$rps / ${base%% *}:.2f}x')")
  printf '%-34s %10s %9s %9s %10s\n' "$name" "$rps" "$p50" "$p99" "$ratio"
done
