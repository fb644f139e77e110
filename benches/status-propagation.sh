#!/usr/bin/env bash
# How fast an incident opened through the API reaches another node's pages (BENCHMARKS.md).
#
#   benches/status-propagation.sh                       # SQLite, two nodes on one file
#   TOWNHALL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_prop benches/status-propagation.sh
#
# Starts two nodes on one database (a fresh one unless given), creates a `status` token
# with `townhall admin create-token`, then ROUNDS times: opens an incident on node A with
# curl and polls node B's home page (as a visitor: the cached page) until the banner names
# it, then resolves it and waits until the banner is gone. Prints the median and the worst
# time from the API's answer on A to the banner on B, both ways.
#
# Environment: ROUNDS=20, PORT_A=18181, PORT_B=18182, SKIP_BUILD=1 (use target/release as is).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/release/townhall
ROUNDS=${ROUNDS:-20}
PORT_A=${PORT_A:-18181}
PORT_B=${PORT_B:-18182}
SCRATCH=$ROOT/bench-data/propagation
mkdir -p "$SCRATCH"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
DB_URL=${TOWNHALL_DATABASE_URL:-sqlite://$SCRATCH/prop.db}
if [ -z "${TOWNHALL_DATABASE_URL:-}" ]; then rm -f "$SCRATCH"/prop.db*; fi
export TOWNHALL_DATABASE_URL=$DB_URL TOWNHALL_LOG=warn

"$BIN" migrate >/dev/null
TOKEN=$("$BIN" admin create-token --name "propagation bench" --scope status 2>/dev/null)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for port in "$PORT_A" "$PORT_B"; do
    TOWNHALL_BIND=127.0.0.1:$port TOWNHALL_DATA_DIR=$SCRATCH/data-$port "$BIN" serve >"$SCRATCH/node-$port.log" 2>&1 &
    PIDS+=($!)
done
for port in "$PORT_A" "$PORT_B"; do
    until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.05; done
done
A=http://127.0.0.1:$PORT_A
B=http://127.0.0.1:$PORT_B
now_ms() { date +%s%3N; }
# Waits until B's home page does (want=1) or does not (want=0) show $1; prints the ms taken.
wait_b() {
    local needle=$1 want=$2 start=$3 seen
    while :; do
        if curl -s "$B/" | grep -qF "$needle"; then seen=1; else seen=0; fi
        [ "$seen" = "$want" ] && break
        if [ $(( $(now_ms) - start )) -gt 10000 ]; then echo "timeout"; return; fi
        sleep 0.01
    done
    echo $(( $(now_ms) - start ))
}
# Node B's home page is read once first, so that it is in B's page cache (the case to beat).
curl -s -o /dev/null "$B/"
OPEN=()
CLOSE=()
for i in $(seq 1 "$ROUNDS"); do
    name="Propagation check $i"
    id=$(curl -sf -X POST "$A/api/status/incidents" -H "Authorization: Bearer $TOKEN" \
        -d "{\"incident\": {\"name\": \"$name\", \"status\": \"investigating\", \"body\": \"check\"}}" |
        grep -o '"id":"[0-9]*"' | head -1 | grep -o '[0-9]*')
    OPEN+=("$(wait_b "$name" 1 "$(now_ms)")")
    curl -sf -o /dev/null -X PATCH "$A/api/status/incidents/$id" -H "Authorization: Bearer $TOKEN" \
        -d '{"incident": {"status": "resolved", "body": "done"}}'
    CLOSE+=("$(wait_b "$name" 0 "$(now_ms)")")
    curl -s -o /dev/null "$B/"
    sleep 0.3
done
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %d ms, worst %d ms (%d rounds)", v[int((NR + 1) / 2)], v[NR], NR }'; }
BACKEND=sqlite
case "$DB_URL" in postgres*) BACKEND=postgres ;; esac
echo "## Status propagation, $(date -u '+%Y-%m-%d %H:%M UTC') ($BACKEND, two nodes, $(nproc) cores)"
echo
echo "- incident opened on node A (API) → banner on node B's cached home page: $(stats "${OPEN[@]}")"
echo "- incident resolved on node A → banner gone on node B: $(stats "${CLOSE[@]}")"
