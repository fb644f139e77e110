#!/usr/bin/env bash
# Search benchmark on a seeded database (see benches/load.sh for seeding):
#  1. index build: `townhall reindex` wall time, peak memory, index size;
#  2. search latency and throughput over benches/search-queries.txt (200 queries of 1–4
#     words) with wrk at 1 and 16 connections, server-side timing included;
#  3. on PostgreSQL, the same queries the way Discourse searches (weighted tsvector, GIN,
#     ts_rank_cd, ts_headline) and as a plain ILIKE, for the ratios.
# Usage: TOWNHALL_DATABASE_URL=sqlite://bench-data/bench-….db benches/search.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DB_URL=${TOWNHALL_DATABASE_URL:?set TOWNHALL_DATABASE_URL to a seeded database}
DATA=${BENCH_SEARCH_DATA:-bench-data/search-$(echo "$DB_URL" | tr -c 'a-zA-Z0-9\n' '_')}
DURATION=${DURATION:-10}
PORT=${PORT:-8187}
OUT=bench-results/search.md
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
cargo build --release -q
BIN=target/release/townhall
mkdir -p "$DATA" bench-results

echo "== index build"
/usr/bin/time -f '%e %M' -o /tmp/reindex.time env TOWNHALL_DATABASE_URL="$DB_URL" TOWNHALL_DATA_DIR="$DATA" TOWNHALL_LOG=warn "$BIN" reindex | tee /tmp/reindex.out
read -r WALL RSS_KB < /tmp/reindex.time
INDEX_DIR="$DATA/search/$(cat "$DATA/search/CURRENT")"
SIZE=$(du -sh "$INDEX_DIR" | cut -f1)
POSTS=$(grep -o 'indexed [0-9]* topic' /tmp/reindex.out | grep -o '[0-9]*' || echo '?')

echo "== search load"
TOWNHALL_DATABASE_URL="$DB_URL" TOWNHALL_DATA_DIR="$DATA" TOWNHALL_BIND="127.0.0.1:$PORT" TOWNHALL_LOG=warn "$BIN" serve > /tmp/search-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# Warm the page cache and the searcher, then measure.
wrk -t1 -c1 -d2s -s benches/search.lua "http://127.0.0.1:$PORT" >/dev/null
run() { wrk -t"$1" -c"$2" -d"${DURATION}s" --latency -s benches/search.lua "http://127.0.0.1:$PORT"; }
R1=$(run 1 1); R16=$(run 2 16)
field() { echo "$1" | awk -v k="$2" '$1==k {print $2}'; }
rps() { echo "$1" | awk '/Requests\/sec/ {print $2}'; }
RSS=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)

{
  echo "## Search benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); wrk on the same machine"
  echo "- database: $DB_URL; $POSTS topics indexed"
  echo "- index build (townhall reindex): ${WALL} s, peak RSS $((RSS_KB / 1024)) MiB, index size $SIZE"
  echo "- queries: $(wc -l < benches/search-queries.txt) of 1–4 words (benches/search-queries.txt), round robin"
  echo "- server peak RSS during the search runs: $((RSS / 1024)) MiB"
  echo
  echo "| connections | searches/s | p50 | p90 | p99 |"
  echo "|---:|---:|---:|---:|---:|"
  echo "| 1 | $(rps "$R1") | $(field "$R1" 50%) | $(field "$R1" 90%) | $(field "$R1" 99%) |"
  echo "| 16 | $(rps "$R16") | $(field "$R16" 50%) | $(field "$R16" 90%) | $(field "$R16" 99%) |"
} > "$OUT"

if [[ "$DB_URL" == postgres* ]]; then
  echo "== PostgreSQL full-text search (Discourse-style) and ILIKE, same queries"
  PSQL=(psql "$DB_URL" -qAt -v ON_ERROR_STOP=1)
  START=$(date +%s.%N)
  "${PSQL[@]}" -c "ALTER TABLE posts ADD COLUMN IF NOT EXISTS bench_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', raw)) STORED" \
               -c "CREATE INDEX IF NOT EXISTS posts_bench_tsv ON posts USING GIN (bench_tsv)"
  BUILD=$(echo "$(date +%s.%N) - $START" | bc)
  fts_ms=(); like_ms=()
  while IFS= read -r q; do
    esc=${q//\'/\'\'}
    t=$( { "${PSQL[@]}" -c '\timing on' -c "SELECT p.id, ts_headline('english', p.raw, s.q) FROM (SELECT id, raw, bench_tsv FROM posts, plainto_tsquery('english', '$esc') q WHERE bench_tsv @@ q ORDER BY ts_rank_cd(bench_tsv, q) DESC LIMIT 10) p, plainto_tsquery('english', '$esc') s(q)" ; } | awk '/^Time:/ {print $2}' | tail -1)
    fts_ms+=("$t")
    # Every word must appear (as the search box would need), first 10 rows, no ranking.
    read -ra words <<< "$esc"
    where=""
    for w in "${words[@]}"; do where+="${where:+ AND }raw ILIKE '%$w%'"; done
    t=$( { "${PSQL[@]}" -c '\timing on' -c "SELECT id FROM posts WHERE $where LIMIT 10" ; } | awk '/^Time:/ {print $2}' | tail -1)
    like_ms+=("$t")
  done < benches/search-queries.txt
  pct() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms", a[int(NR*0.5)], a[int(NR*0.9)], a[int(NR*0.99)]}'; }
  {
    echo
    echo "PostgreSQL tsvector (GIN, ts_rank_cd, ts_headline; column + index built in ${BUILD%.*} s): $(pct "${fts_ms[@]}")"
    echo
    echo "PostgreSQL ILIKE, every word of the query, first 10 rows: $(pct "${like_ms[@]}")"
  } >> "$OUT"
fi
cat "$OUT"
