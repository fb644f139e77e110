#!/usr/bin/env bash
# Townhall load suite (see BENCHMARKS.md).
#
#   benches/load.sh                      # SQLite: generates bench-data/…db on first use
#   TOWNHALL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/townhall_bench benches/load.sh
#   benches/load.sh sqlite://path/to/existing.db
#
# Builds the release binary, seeds the database with `townhall seed-bench` when it has no
# users, starts the server, measures start-up (exec to /healthz 200), runs wrk against the
# main pages at 1 and 64 connections and the write paths, and prints a markdown table that
# is also written to bench-results/latest.md.
#
# Environment (all optional):
#   DURATION=10            seconds per wrk run
#   CONNECTIONS="1 64"     connection counts for the read tests and login
#   WRITE_CONNECTIONS=8    connections for the reply test
#   BENCH_USERS=20000 BENCH_TOPICS=100000 BENCH_POSTS=1000000 BENCH_KB=5000 BENCH_INCIDENTS=500
#   BENCH_IDEAS=2000 BENCH_CHANGELOG=200 BENCH_SEED=42
#   VOTERS=1000            member sessions the idea-vote test spreads its votes over
#   BENCH_PAGE=1000        which category page to read through the keyset cursor
#   BENCH_PORT=18080       where the server listens (127.0.0.1 only)
#   ACCEPT_ENCODING=gzip   sent with every read request, as browsers do ("" for none)
#   TOWNHALL_LOG=warn      server log filter (info logs every request)
#   SKIP_BUILD=1           use target/release/townhall as it is
#   SETTLE=5               seconds to wait after start-up before measuring
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/target/release/townhall

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-"1 64"}
WRITE_CONNECTIONS=${WRITE_CONNECTIONS:-8}
BENCH_USERS=${BENCH_USERS:-20000}
BENCH_TOPICS=${BENCH_TOPICS:-100000}
BENCH_POSTS=${BENCH_POSTS:-1000000}
BENCH_KB=${BENCH_KB:-5000}
BENCH_INCIDENTS=${BENCH_INCIDENTS:-500}
BENCH_IDEAS=${BENCH_IDEAS:-2000}
BENCH_CHANGELOG=${BENCH_CHANGELOG:-200}
VOTERS=${VOTERS:-1000}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_PAGE=${BENCH_PAGE:-1000}
PORT=${BENCH_PORT:-18080}
ACCEPT_ENCODING=${ACCEPT_ENCODING-gzip}
RESULTS=$ROOT/bench-results # latest.md only; scratch (logs, raw wrk output) goes to bench-data
SCRATCH=$ROOT/bench-data
PASSWORD=bench-password
STAFF_USER=bench33 # every 33rd generated user is staff (see src/benchseed.rs)
MEMBER_USER=bench1

DEFAULT_DB="sqlite://bench-data/bench-u${BENCH_USERS}-t${BENCH_TOPICS}-p${BENCH_POSTS}-k${BENCH_KB}-i${BENCH_INCIDENTS}-d${BENCH_IDEAS}-c${BENCH_CHANGELOG}-s${BENCH_SEED}.db"
DB_URL=${1:-${TOWNHALL_DATABASE_URL:-$DEFAULT_DB}}
BASE=http://127.0.0.1:$PORT

log() { printf '%s\n' "$*" >&2; }
die() { log "load.sh: $*"; exit 1; }

# ---- tools ---------------------------------------------------------------------------
APT_UPDATED=
need() { # command package
    command -v "$1" >/dev/null 2>&1 && return
    log "installing $2 (apt-get)"
    if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
    apt-get install -y -qq "$2" >/dev/null || die "cannot install $2; install it and retry"
}
need wrk wrk
need curl curl
case $DB_URL in
    sqlite://*) BACKEND=sqlite; need sqlite3 sqlite3 ;;
    postgres://* | postgresql://*) BACKEND=postgres; need psql postgresql-client ;;
    *) die "TOWNHALL_DATABASE_URL must be sqlite://PATH or postgres://USER@HOST/DB, not $DB_URL" ;;
esac

# One query, one value per line, columns separated by '|'.
sql() {
    if [ "$BACKEND" = sqlite ]; then
        sqlite3 -batch -noheader "${DB_URL#sqlite://}" "$1"
    else
        psql "$DB_URL" -qAtX -v ON_ERROR_STOP=1 -c "$1"
    fi
}

mkdir -p "$RESULTS" "$SCRATCH/raw"
KEY=$(printf '%s' "$DB_URL" | tr -c 'A-Za-z0-9' '_' | cut -c1-80)
DATA_DIR=$SCRATCH/data-$KEY
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# ---- build ---------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
    log "building the release binary (cargo build --release)"
    cargo build --release >&2
fi
[ -x "$BIN" ] || die "$BIN is missing"

# ---- database ------------------------------------------------------------------------
export TOWNHALL_DATABASE_URL=$DB_URL
if [ "$BACKEND" = postgres ]; then
    DB_NAME=${DB_URL##*/}
    DB_NAME=${DB_NAME%%\?*}
    ADMIN_URL=${DB_URL%/*}/postgres
    if [ -z "$(psql "$ADMIN_URL" -qAtX -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
        log "creating PostgreSQL database $DB_NAME"
        psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
    fi
fi
# Short CLI commands against PostgreSQL sometimes die with SIGSEGV (exit 139) at exit, after
# their work is done: OpenSSL's exit handler races the connection pool's background thread
# (see BENCHMARKS.md, "Known problems"). Retry those, and judge seed-bench by its output.
cli_retry() {
    local try rc
    for try in 1 2 3; do
        rc=0
        "$BIN" "$@" || rc=$?
        [ "$rc" = 139 ] || return "$rc"
        log "townhall $1 crashed at exit (SIGSEGV); retrying"
    done
    return "$rc"
}
cli_retry migrate >/dev/null
USERS_NOW=$(sql "SELECT COUNT(*) FROM users")
if [ "$USERS_NOW" = 0 ]; then
    log "seeding: $BENCH_USERS users, $BENCH_TOPICS topics, $BENCH_POSTS posts, $BENCH_KB articles, $BENCH_INCIDENTS incidents, $BENCH_IDEAS ideas, $BENCH_CHANGELOG changelog posts (seed $BENCH_SEED)"
    "$BIN" seed-bench --users "$BENCH_USERS" --topics "$BENCH_TOPICS" \
        --posts "$BENCH_POSTS" --kb "$BENCH_KB" --incidents "$BENCH_INCIDENTS" \
        --ideas "$BENCH_IDEAS" --changelog "$BENCH_CHANGELOG" --seed "$BENCH_SEED" | tee "$SCRATCH/seed-$KEY.log" >&2 || true
    grep -q '^seed-bench done' "$SCRATCH/seed-$KEY.log" || die "seed-bench failed; see $SCRATCH/seed-$KEY.log"
    rm -rf "$DATA_DIR" # a new database needs a new search index
fi
export TOWNHALL_DATA_DIR=$DATA_DIR
mkdir -p "$DATA_DIR"
# Build the search index up front (when this build has one) so that the server does not
# index a million posts in the background while it is being measured.
if "$BIN" --help 2>/dev/null | grep '^ *reindex' >/dev/null && [ ! -d "$DATA_DIR/search" ]; then
    log "building the search index (townhall reindex)"
    cli_retry reindex >&2
fi

# ---- server --------------------------------------------------------------------------
if curl -s -o /dev/null "$BASE/healthz"; then
    die "something already listens on 127.0.0.1:$PORT; set BENCH_PORT"
fi
export TOWNHALL_BIND=127.0.0.1:$PORT
# The login test sends each request from its own client address (X-Forwarded-For), as many
# real visitors behind a proxy would; otherwise it would measure the per-address limit.
export TOWNHALL_TRUST_PROXY=true
export TOWNHALL_LOG=${TOWNHALL_LOG:-warn}
SERVER_LOG=$SCRATCH/server.log
START_NS=$(date +%s%N)
"$BIN" serve >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200 ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$SERVER_LOG" >&2; die "the server exited"; }
    if [ $(( ($(date +%s%N) - START_NS) / 1000000000 )) -gt 300 ]; then die "no /healthz after 300 s"; fi
    sleep 0.005
done
STARTUP_MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
log "server up in $STARTUP_MS ms (pid $SERVER_PID)"
# Let the event followers (notifications, search) catch up with whatever the last run wrote.
sleep "${SETTLE:-5}"
# "Related solved topics" are derived in the background (src/search/related.rs); a new
# database needs every topic's list before topic pages are measured as they will be served.
if [ -n "$(sql "SELECT 1 FROM follower_cursors LIMIT 1" 2>/dev/null || true)" ] &&
    sql "SELECT COUNT(*) FROM related_computed" >/dev/null 2>&1; then
    RELATED_START=$(date +%s)
    while :; do
        BEHIND=$(sql "SELECT (SELECT COUNT(*) FROM events WHERE id > COALESCE((SELECT last_event_id FROM follower_cursors WHERE name = 'related_topics'), 0)) + (SELECT COUNT(*) FROM related_computed WHERE computed_at < '1971-01-01')")
        [ "$BEHIND" = 0 ] && break
        if [ $(( $(date +%s) - RELATED_START )) -gt 1800 ]; then die "related topics not derived after 30 min"; fi
        log "related topics: $BEHIND events or lists to go"
        sleep 10
    done
    log "related topics derived in $(( $(date +%s) - RELATED_START )) s (after start-up and settle)"
fi

# ---- what to request -----------------------------------------------------------------
if [ "$BACKEND" = sqlite ]; then
    MICROS="CAST(strftime('%s', bumped_at) AS INTEGER) * 1000000 + CASE WHEN instr(bumped_at, '.') > 0 THEN CAST(substr(substr(bumped_at, instr(bumped_at, '.') + 1) || '000000', 1, 6) AS INTEGER) ELSE 0 END"
else
    MICROS="(EXTRACT(EPOCH FROM bumped_at) * 1000000)::bigint"
fi
LISTED="deleted_at IS NULL AND NOT pinned AND NOT unlisted"
STYLE=$(curl -s "$BASE/" | grep -o '/assets/[^"]*\.css' | awk 'NR == 1')
[ -n "$STYLE" ] || die "no stylesheet link on the home page"
IFS='|' read -r LONG LONG_REPLIES <<<"$(sql "SELECT '/t/' || slug || '/' || id, reply_count FROM topics WHERE reply_count >= 1000 AND deleted_at IS NULL ORDER BY reply_count = 1249 DESC, reply_count, id LIMIT 1")"
FIFTY=$(sql "SELECT '/t/' || slug || '/' || id FROM topics WHERE reply_count = 50 AND deleted_at IS NULL ORDER BY id LIMIT 1")
[ -n "$LONG" ] || die "no topic with 1,000+ replies (seed with more posts)"
[ -n "$FIFTY" ] || die "no topic with 50 replies (seed with more posts)"
IFS='|' read -r CAT_ID CAT_SLUG CAT_TOPICS <<<"$(sql "SELECT category_id, (SELECT slug FROM categories c WHERE c.id = category_id), COUNT(*) FROM topics WHERE $LISTED GROUP BY category_id ORDER BY COUNT(*) DESC LIMIT 1")"
CAT_PAGES=$(( (CAT_TOPICS + 29) / 30 ))
PAGE=$BENCH_PAGE
if [ "$PAGE" -gt "$CAT_PAGES" ]; then
    log "category /c/$CAT_SLUG has only $CAT_PAGES pages: reading page $CAT_PAGES instead of $PAGE"
    PAGE=$CAT_PAGES
fi
if [ "$PAGE" -gt 1 ]; then
    # The ?before= cursor of page N is the (bumped_at, id) of the last topic on page N-1.
    CURSOR=$(sql "SELECT ($MICROS) || '-' || id FROM topics WHERE category_id = $CAT_ID AND $LISTED ORDER BY bumped_at DESC, id DESC LIMIT 1 OFFSET $(( (PAGE - 1) * 30 - 1 ))")
    CAT_DEEP="/c/$CAT_SLUG?before=$CURSOR"
else
    CAT_DEEP="/c/$CAT_SLUG"
fi
# Every listed topic, for the random-topic test (crawlers and old links: mostly not cached).
sql "SELECT '/t/' || slug || '/' || id FROM topics WHERE deleted_at IS NULL AND NOT unlisted" >"$WORK/topics.txt"
# Published knowledge-base articles (none on a database seeded before the KB existed).
sql "SELECT '/kb/' || slug FROM kb_articles WHERE status = 'published' ORDER BY id" >"$WORK/articles.txt" 2>/dev/null || : >"$WORK/articles.txt"
ARTICLE=$(sql "SELECT '/kb/' || slug FROM kb_articles WHERE status = 'published' ORDER BY views DESC, id LIMIT 1" 2>/dev/null || true)
REPLY_TOPICS=$(sql "SELECT id FROM topics WHERE deleted_at IS NULL AND NOT locked AND reply_count < 40 ORDER BY bumped_at DESC, id DESC LIMIT 200" | tr '\n' ' ')

# ---- sessions ------------------------------------------------------------------------
# Logs in through the form like a browser; prints the session cookie value. With N, from
# client address 10.99.x.y of its own (the per-address login limit would otherwise make
# hundreds of logins take minutes) and with a cookie jar of its own.
login() { # username [N]
    local jar=$WORK/jar-$1${2:+-v$2} page=$WORK/login-$1${2:+-v$2}.html csrf status
    local from=()
    [ -n "${2:-}" ] && from=(-H "X-Forwarded-For: 10.99.$(( $2 / 256 % 256 )).$(( $2 % 256 ))")
    curl -s -c "$jar" -b "$jar" -o "$page" "${from[@]}" "$BASE/login"
    csrf=$(grep -o 'name="csrf" value="[^"]*"' "$page" | awk 'NR == 1' | sed 's/.*value="//; s/"$//')
    status=$(curl -s -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}' "${from[@]}" \
        --data-urlencode "csrf=$csrf" --data-urlencode "username=$1" \
        --data-urlencode "password=$PASSWORD" --data-urlencode "next=/" "$BASE/login")
    [ "$status" = 303 ] || die "logging in as $1 answered $status"
    awk '$6 == "townhall_session" { print $7 }' "$jar"
}
MEMBER_SESSION=$(login "$MEMBER_USER")
STAFF_SESSION=$(login "$STAFF_USER")
STAFF_CSRF=$(curl -s -b "townhall_session=$STAFF_SESSION" "$BASE$FIFTY" |
    grep -o 'name="csrf" value="[^"]*"' | awk 'NR == 1' | sed 's/.*value="//; s/"$//')
[ -n "$STAFF_CSRF" ] || die "no CSRF token on the topic page for $STAFF_USER"
# The anonymous CSRF token for the login test: cookie and form field must match.
ANON_CSRF=$(curl -s -D - -o /dev/null "$BASE/login" | tr -d '\r' |
    sed -n 's/^[Ss]et-[Cc]ookie: townhall_csrf=\([^;]*\).*/\1/p' | awk 'NR == 1')
[ -n "$ANON_CSRF" ] || die "no anonymous CSRF cookie from /login"

cat >"$WORK/login.lua" <<'LUA'
-- POST /login as a different bench user each time, from a different client address.
local next_id = 0
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end
function init(args)
   csrf, first, last = args[1], tonumber(args[2]), tonumber(args[3])
   counter = id * 7919
end
function request()
   counter = counter + 1
   local n = first + counter % (last - first)
   local ip = string.format("10.%d.%d.%d", math.floor(counter / 65536) % 256,
      math.floor(counter / 256) % 256, counter % 256)
   return wrk.format("POST", "/login", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "townhall_csrf=" .. csrf,
      ["X-Forwarded-For"] = ip,
   }, "csrf=" .. csrf .. "&username=bench" .. n .. "&password=bench-password&next=%2F")
end
LUA
cat >"$WORK/random.lua" <<'LUA'
-- GET a topic page picked at random among all topics (paths in the file given).
local next_id = 0
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end
function init(args)
   paths = {}
   for line in io.lines(args[1]) do paths[#paths + 1] = line end
   math.randomseed(7919 * (id + 1))
   headers = {}
   if args[2] and args[2] ~= "" then headers["Accept-Encoding"] = args[2] end
end
function request()
   return wrk.format("GET", paths[math.random(#paths)], headers)
end
LUA
cat >"$WORK/reply.lua" <<'LUA'
-- POST a reply (with the session's CSRF token) to one of the given topics, round robin.
local next_id = 0
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end
function init(args)
   csrf, cookie = args[1], args[2]
   topics = {}
   for i = 3, #args do topics[#topics + 1] = args[i] end
   counter = id * 7919
end
local text = "Thanks+for+the+report.+We+restarted+the+%60nginx%60+worker+on+your+server+and+"
   .. "flushed+the+DNS+cache%3A%0A%0A1.+Clear+your+browser+cache%0A2.+Reload+the+page%0A3.+"
   .. "Check+that+the+SSL+certificate+shows+the+new+expiry+date%0A%0AIf+the+timeout+comes+"
   .. "back%2C+send+us+the+exact+time.+Reference+"
function request()
   counter = counter + 1
   local topic = topics[counter % #topics + 1]
   return wrk.format("POST", "/t/" .. topic .. "/reply", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = cookie,
   }, "csrf=" .. csrf .. "&raw=" .. text .. counter .. ".")
end
LUA
cat >"$WORK/vote.lua" <<'LUA'
-- POST "was this helpful?" (three in four yes) on a random article (paths in the file given),
-- as a new visitor each time (no voter cookie), so that every request is a vote to store.
local next_id = 0
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end
function init(args)
   paths = {}
   for line in io.lines(args[1]) do paths[#paths + 1] = line end
   math.randomseed(104729 * (id + 1))
end
function request()
   local answer = "yes"
   if math.random(4) == 1 then answer = "no" end
   return wrk.format("POST", paths[math.random(#paths)] .. "/vote", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
   }, "helpful=" .. answer)
end
LUA

cat >"$WORK/idea-vote.lua" <<'LUA'
-- POST an idea vote as one of many members: each line of the file given is
-- "cookie csrf"; ideas follow. A connection alternates vote and withdraw on one
-- (member, idea) pair at a time, so that most requests change something.
local next_id = 0
function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end
function init(args)
   sessions = {}
   for line in io.lines(args[1]) do
      local cookie, csrf = line:match("^(%S+) (%S+)$")
      if cookie then sessions[#sessions + 1] = { cookie = cookie, csrf = csrf } end
   end
   ideas = {}
   for i = 2, #args do ideas[#ideas + 1] = args[i] end
   counter = id * 7919
end
function request()
   counter = counter + 1
   local pair = math.floor(counter / 2)
   local s = sessions[pair % #sessions + 1]
   local idea = ideas[math.floor(pair / #sessions) % #ideas + 1]
   local value = (counter % 2 == 0) and "1" or "0"
   return wrk.format("POST", "/t/" .. idea .. "/vote", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "townhall_session=" .. s.cookie,
   }, "csrf=" .. s.csrf .. "&vote=" .. value .. "&next=%2Fc%2Fideas")
end
LUA

# ---- measuring -----------------------------------------------------------------------
ROWS=()
declare -A STATIC_RPS=()
declare -A CHECKED=()

# Fails loudly when a page does not answer 200 before it is measured.
check_page() { # path [cookie]
    local key="$1|${2:-}" code
    [ -n "${CHECKED[$key]:-}" ] && return
    code=$(curl -s -o /dev/null -w '%{http_code}' ${2:+-b "$2"} "$BASE$1")
    [ "$code" = 200 ] || die "GET $1 answered $code; see $SERVER_LOG"
    CHECKED[$key]=1
}

# run_wrk LABEL KIND CONNECTIONS URL [wrk args...]; KIND is static, page or write.
run_wrk() {
    local label=$1 kind=$2 conns=$3 url=$4
    shift 4
    local threads=$(( conns < 2 ? 1 : 2 ))
    local file
    file=$SCRATCH/raw/$(printf '%s-c%s' "$label" "$conns" | tr -c 'A-Za-z0-9-' '_').txt
    log "wrk: $label, $conns connection(s), ${DURATION}s"
    # wrk takes options after the URL too; script arguments follow "--" at the very end.
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 10s --latency "$url" "$@" >"$file" 2>&1 || true
    local rps p50 p99 non sock
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
    p50=$(awk '$1 == "50%" { print $2 }' "$file")
    p99=$(awk '$1 == "99%" { print $2 }' "$file")
    non=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
    sock=$(awk '/Socket errors/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i } END { print s + 0 }' "$file")
    rps=${rps:-0}
    if [ "$kind" = static ]; then STATIC_RPS[$conns]=$rps; fi
    ROWS+=("$label|$conns|$rps|${p50:--}|${p99:--}|$(( ${non:-0} + ${sock:-0} ))|$kind")
}

read_test() { # label path [cookie]
    local label=$1 path=$2 cookie=${3:-} c
    check_page "$path" "$cookie"
    for c in $CONNECTIONS; do
        local args=()
        [ -n "$ACCEPT_ENCODING" ] && args+=(-H "Accept-Encoding: $ACCEPT_ENCODING")
        [ -n "$cookie" ] && args+=(-H "Cookie: $cookie")
        run_wrk "$label" page "$c" "$BASE$path" "${args[@]}"
    done
}

vm() { awk -v k="$1:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

for c in $CONNECTIONS $WRITE_CONNECTIONS; do
    [ -n "${STATIC_RPS[$c]:-}" ] || run_wrk "static asset (baseline)" static "$c" "$BASE$STYLE"
done
read_test "/healthz" /healthz
read_test "/ (home)" /
read_test "/latest" /latest
read_test "/c/$CAT_SLUG page 1" "/c/$CAT_SLUG"
read_test "/c/$CAT_SLUG page $PAGE (keyset)" "$CAT_DEEP"
read_test "topic, 50 replies" "$FIFTY"
read_test "topic, 50 replies, logged in" "$FIFTY" "townhall_session=$MEMBER_SESSION"
read_test "topic, $LONG_REPLIES replies, page 1" "$LONG"
read_test "topic, same, ?page=last" "$LONG?page=last"
for c in $CONNECTIONS; do
    run_wrk "random topic of $(wc -l <"$WORK/topics.txt")" page "$c" "$BASE" -s "$WORK/random.lua" -- "$WORK/topics.txt" "$ACCEPT_ENCODING"
done
if [ -n "$ARTICLE" ]; then
    read_test "/kb" /kb
    read_test "/kb, logged in (uncached)" /kb "townhall_session=$MEMBER_SESSION"
    read_test "article" "$ARTICLE"
    read_test "article, logged in (uncached)" "$ARTICLE" "townhall_session=$MEMBER_SESSION"
    for c in $CONNECTIONS; do
        run_wrk "random article of $(wc -l <"$WORK/articles.txt")" page "$c" "$BASE" -s "$WORK/random.lua" -- "$WORK/articles.txt" "$ACCEPT_ENCODING"
    done
    read_test "staff: /staff/kb/candidates" /staff/kb/candidates "townhall_session=$STAFF_SESSION"
fi
if [ "$(sql "SELECT COUNT(*) FROM status_components" 2>/dev/null || echo 0)" -gt 0 ]; then
    # Read from the per-node status snapshot: no query per request (cached pages or not).
    read_test "/api/v2/summary.json" /api/v2/summary.json
    read_test "/status" /status
    read_test "/status, logged in (snapshot, uncached)" /status "townhall_session=$MEMBER_SESSION"
    read_test "/status/history" /status/history
fi
HAS_IDEAS=$(sql "SELECT COUNT(*) FROM ideas" 2>/dev/null || echo 0)
if [ "$HAS_IDEAS" -gt 0 ]; then
    CHANGE=$(sql "SELECT '/changelog/' || slug FROM changelog_posts WHERE status = 'published' ORDER BY published_on DESC, id DESC LIMIT 1")
    IDEAS_CAT=$(sql "SELECT '/c/' || slug FROM categories WHERE kind = 'ideas' ORDER BY id LIMIT 1")
    read_test "/c/ideas (by votes)" "$IDEAS_CAT"
    read_test "/c/ideas, logged in (uncached)" "$IDEAS_CAT" "townhall_session=$MEMBER_SESSION"
    read_test "/roadmap" /roadmap
    read_test "/roadmap, logged in (uncached)" /roadmap "townhall_session=$MEMBER_SESSION"
    read_test "/changelog" /changelog
    read_test "/changelog, logged in (uncached)" /changelog "townhall_session=$MEMBER_SESSION"
    [ -n "$CHANGE" ] && read_test "changelog post" "$CHANGE"
fi
READ_HWM=$(vm VmHWM)

for c in $CONNECTIONS; do
    run_wrk "POST /login (argon2)" write "$c" "$BASE" -s "$WORK/login.lua" -- "$ANON_CSRF" 100 "$BENCH_USERS"
done
LOCKED_BEFORE=$(grep -ci 'database is locked' "$SERVER_LOG" || true)
POSTS_BEFORE=$(sql "SELECT COUNT(*) FROM posts")
run_wrk "POST reply ($STAFF_USER, staff)" write "$WRITE_CONNECTIONS" "$BASE" -s "$WORK/reply.lua" -- \
    "$STAFF_CSRF" "townhall_session=$STAFF_SESSION" $REPLY_TOPICS
POSTS_AFTER=$(sql "SELECT COUNT(*) FROM posts")
VOTES_STORED=0
if [ -n "$ARTICLE" ]; then
    VOTES_BEFORE=$(sql "SELECT COUNT(*) FROM kb_votes")
    run_wrk "POST helpful vote (new visitor each)" write "$WRITE_CONNECTIONS" "$BASE" -s "$WORK/vote.lua" -- "$WORK/articles.txt"
    VOTES_STORED=$(( $(sql "SELECT COUNT(*) FROM kb_votes") - VOTES_BEFORE ))
fi
# Eight writers replying in the background while one long write happens: start_writers LOG
# SECONDS starts them (and gives them 2 s to get going); after `wait "$WRITERS_PID"` (in this
# shell: a command substitution cannot wait for them), writers_summary says how they fared.
start_writers() {
    WRITERS_LOG=$1
    wrk -t2 -c"$WRITE_CONNECTIONS" -d"$2s" --timeout 10s --latency "$BASE" -s "$WORK/reply.lua" -- \
        "$STAFF_CSRF" "townhall_session=$STAFF_SESSION" $REPLY_TOPICS >"$WRITERS_LOG" 2>&1 &
    WRITERS_PID=$!
    sleep 2
}
writers_summary() {
    printf 'meanwhile %s writers replied at %s/s, p99 %s, max %s' "$WRITE_CONNECTIONS" \
        "$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WRITERS_LOG")" \
        "$(awk '$1 == "99%" { print $2 }' "$WRITERS_LOG")" \
        "$(awk '/Latency/ { print $4; exit }' "$WRITERS_LOG")"
}
IDEA_VOTES_STORED=0
PUBLISH_NOTE="no ideas in this database"
MERGE_NOTE=$PUBLISH_NOTE
if [ "$HAS_IDEAS" -gt 0 ]; then
    # Sessions of VOTERS members (not staff: staff are not rate-limited), with their CSRF tokens.
    log "logging in $VOTERS members for the idea-vote test"
    : >"$WORK/voters.txt"
    i=0
    for n in $(sql "SELECT username FROM users WHERE role = 'member' ORDER BY id LIMIT $VOTERS"); do
        i=$(( i + 1 ))
        cookie=$(login "$n" "$i")
        csrf=$(curl -s -b "townhall_session=$cookie" "$BASE/roadmap" | grep -o 'name="csrf" value="[^"]*"' | awk 'NR == 1' | sed 's/.*value="//; s/"$//')
        [ -n "$csrf" ] && printf '%s %s\n' "$cookie" "$csrf" >>"$WORK/voters.txt"
    done
    VOTE_IDEAS=$(sql "SELECT topic_id FROM ideas WHERE merged_into IS NULL ORDER BY vote_count DESC, topic_id LIMIT 300 OFFSET 1" | tr '\n' ' ')
    VOTES_EVENTS_BEFORE=$(sql "SELECT COUNT(*) FROM events WHERE kind = 'idea.voted'")
    run_wrk "POST idea vote ($VOTERS members)" write "$WRITE_CONNECTIONS" "$BASE" -s "$WORK/idea-vote.lua" -- "$WORK/voters.txt" $VOTE_IDEAS
    IDEA_VOTES_STORED=$(( $(sql "SELECT COUNT(*) FROM events WHERE kind = 'idea.voted'") - VOTES_EVENTS_BEFORE ))

    # Publishing a post that ships the idea with the most voters, while 8 writers reply:
    # the publish request's time, the time until every voter's notification exists, and the
    # writers' latency meanwhile (the notifier writes in 500-recipient transactions).
    IFS='|' read -r BIG_IDEA BIG_VOTERS <<<"$(sql "SELECT topic_id, vote_count FROM ideas WHERE status = 'open' AND merged_into IS NULL ORDER BY vote_count DESC LIMIT 1")"
    SLUG="bench-ships-$BIG_IDEA-$(date +%s)"
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "townhall_session=$STAFF_SESSION" \
        --data-urlencode "csrf=$STAFF_CSRF" --data-urlencode "title=Shipped: idea $BIG_IDEA" \
        --data-urlencode "slug=$SLUG" --data-urlencode "raw=This shipped because $BIG_VOTERS of you voted for it." \
        --data-urlencode "label_new=on" --data-urlencode "links=/t/$BIG_IDEA" --data-urlencode "status=draft" \
        "$BASE/changelog/new")
    [ "$code" = 303 ] || die "creating the benchmark changelog draft answered $code"
    POST_ID=$(sql "SELECT id FROM changelog_posts WHERE slug = '$SLUG'")
    start_writers "$SCRATCH/raw/publish-writers.txt" $(( DURATION + 10 ))
    T0=$(date +%s%N)
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "townhall_session=$STAFF_SESSION" \
        --data-urlencode "csrf=$STAFF_CSRF" "$BASE/changelog/$SLUG/publish")
    T1=$(date +%s%N)
    [ "$code" = 303 ] || die "publishing answered $code"
    WANT=$(sql "SELECT COUNT(DISTINCT u) FROM (SELECT user_id AS u FROM idea_votes WHERE topic_id = $BIG_IDEA UNION SELECT user_id FROM posts WHERE topic_id = $BIG_IDEA) x WHERE u NOT IN (SELECT id FROM users WHERE role <> 'member')")
    while :; do
        GOT=$(sql "SELECT COUNT(*) FROM notifications WHERE kind = 'shipped' AND subject_id = $POST_ID")
        [ "$GOT" -ge "$WANT" ] && break
        [ $(( ($(date +%s%N) - T0) / 1000000000 )) -gt 120 ] && break
        sleep 0.05
    done
    T2=$(date +%s%N)
    wait "$WRITERS_PID" || true
    PUBLISH_NOTE="idea $BIG_IDEA with $BIG_VOTERS votes: publish request $(( (T1 - T0) / 1000000 )) ms; $GOT of $WANT notifications after $(( (T2 - T0) / 1000000 )) ms; $(writers_summary)"

    # Merging the most-voted idea into the next one, while 8 writers reply: its votes move
    # 1,000 per transaction, the longest writes an idea can cause.
    IFS='|' read -r M_FROM M_VOTES <<<"$(sql "SELECT topic_id, vote_count FROM ideas WHERE merged_into IS NULL ORDER BY vote_count DESC, topic_id LIMIT 1")"
    M_INTO=$(sql "SELECT topic_id FROM ideas WHERE merged_into IS NULL AND topic_id <> $M_FROM ORDER BY vote_count DESC, topic_id LIMIT 1")
    start_writers "$SCRATCH/raw/merge-writers.txt" $(( DURATION + 4 ))
    T0=$(date +%s%N)
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "townhall_session=$STAFF_SESSION" \
        --data-urlencode "csrf=$STAFF_CSRF" --data-urlencode "into=$M_INTO" "$BASE/t/$M_FROM/merge-idea")
    T1=$(date +%s%N)
    [ "$code" = 303 ] || die "merging answered $code"
    wait "$WRITERS_PID" || true
    MERGE_NOTE="idea $M_FROM with $M_VOTES votes into $M_INTO (now $(sql "SELECT vote_count FROM ideas WHERE topic_id = $M_INTO") votes): merge request $(( (T1 - T0) / 1000000 )) ms; $(writers_summary)"
fi
LOCKED=$(( $(grep -ci 'database is locked' "$SERVER_LOG" || true) - LOCKED_BEFORE ))
SERVER_ERRORS=$(grep -ci ' ERROR ' "$SERVER_LOG" || true)
END_HWM=$(vm VmHWM)
END_RSS=$(vm VmRSS)

# ---- report --------------------------------------------------------------------------
if [ "$BACKEND" = sqlite ]; then
    DB_SIZE=$(du -h "${DB_URL#sqlite://}" | cut -f1)
else
    DB_SIZE=$(sql "SELECT pg_size_pretty(pg_database_size(current_database()))")
fi
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
RAM=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
    echo "## Load test, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores ($CPU), $RAM RAM; wrk runs on the same cores as the server"
    echo "- database: $BACKEND ($(printf '%s' "$DB_URL" | sed 's#//[^@/]*@#//#')), $DB_SIZE;" \
        "$(sql "SELECT COUNT(*) FROM users") users, $(sql "SELECT COUNT(*) FROM topics") topics, $POSTS_AFTER posts"
    echo "- ${DURATION} s per run; read requests send Accept-Encoding: ${ACCEPT_ENCODING:-none}; server log level $TOWNHALL_LOG"
    echo "- start-up (exec to /healthz 200): $STARTUP_MS ms"
    echo "- peak RSS (VmHWM): $READ_HWM MiB after the read tests, $END_HWM MiB at the end (RSS now $END_RSS MiB)"
    echo "- knowledge base: $(sql "SELECT COUNT(*) FROM kb_articles" 2>/dev/null || echo 0) articles; vote test: $VOTES_STORED votes stored"
    echo "- status page: $(sql "SELECT COUNT(*) FROM status_components" 2>/dev/null || echo 0) components, $(sql "SELECT COUNT(*) FROM status_incidents" 2>/dev/null || echo 0) incidents and maintenances"
    echo "- ideas: $HAS_IDEAS ideas, $(sql "SELECT COUNT(*) FROM idea_votes" 2>/dev/null || echo 0) votes, $(sql "SELECT COUNT(*) FROM changelog_posts" 2>/dev/null || echo 0) changelog posts; idea-vote test: $IDEA_VOTES_STORED votes and withdrawals stored"
    echo "- publishing to many voters: $PUBLISH_NOTE"
    echo "- merging the most-voted idea: $MERGE_NOTE"
    echo "- reply test: $(( POSTS_AFTER - POSTS_BEFORE )) replies stored; 'database is locked' in the server log: $LOCKED; ERROR lines in the log: $SERVER_ERRORS"
    echo
    echo "| endpoint | conns | req/s | p50 | p99 | errors | vs static |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r label conns rps p50 p99 errors kind <<<"$row"
        static=${STATIC_RPS[$conns]:-}
        if [ "$kind" = static ] || [ -z "$static" ] || [ "$static" = 0 ]; then
            ratio="—"
        else
            ratio=$(awk -v a="$rps" -v b="$static" 'BEGIN { printf "%.3f", a / b }')
        fi
        rps=$(awk -v r="$rps" 'BEGIN { printf "%.0f", r }')
        echo "| $label | $conns | $rps | $p50 | $p99 | $errors | $ratio |"
    done
    echo
    echo "errors = non-2xx/3xx responses + socket errors; vs static = req/s divided by the static"
    echo "asset's req/s at the same connection count. Raw wrk output: bench-data/raw/."
} | tee "$RESULTS/latest.md"
