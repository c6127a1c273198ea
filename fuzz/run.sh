#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and keeps what it learns in
# fuzz/corpus/<target>/ (commit new corpus files; crashes land in
# fuzz/artifacts/<target>/ and fail the run).
#
#   fuzz/run.sh [seconds per target, default 60] [target...]
#
# Needs cargo-fuzz (cargo install cargo-fuzz). It asks for nightly features
# (the sanitizer); RUSTC_BOOTSTRAP lets the stable compiler provide them.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(upload_decode import_naming markdown ws_message analytics_beacon)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
for target in "${TARGETS[@]}"; do
  mkdir -p "corpus/$target"
  before=$(ls "corpus/$target" | wc -l)
  started=$(date +%s)
  cargo fuzz run "$target" "corpus/$target" -- -max_total_time="$SECS" -rss_limit_mb=2048 \
    2>&1 | tail -n 3
  after=$(ls "corpus/$target" | wc -l)
  echo "== $target: $(( $(date +%s) - started )) s, corpus $before -> $after inputs, no crash"
done
