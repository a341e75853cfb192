#!/usr/bin/env bash
# Instructions the gateway spends on one request, counted by callgrind: repeatable on a shared machine where
# wall-clock throughput is not. `bash benches/callgrind.sh` (from the repository root; needs valgrind, curl
# and jq). It builds the `nested` bench (release profile), serves the bench database under
# `valgrind --tool=callgrind --instr-atstart=no` (`PORTICO_BENCH_SERVE`), and for each query sends
# PORTICO_CALLGRIND_WARMUP requests (default 30) uninstrumented, then PORTICO_CALLGRIND_REQUESTS (default 50)
# on one keep-alive connection with instrumentation on, and prints instructions per request. Only the
# gateway's process is counted: PostgreSQL and curl run outside it. Background jobs that wake during the
# window count too; they are a few thousand instructions against hundreds of thousands per request.
set -euo pipefail

warmup=${PORTICO_CALLGRIND_WARMUP:-30}
requests=${PORTICO_CALLGRIND_REQUESTS:-50}
work=$(mktemp -d)
[ -n "${PORTICO_CALLGRIND_DEBUG:-}" ] && echo "working in $work" >&2
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${PORTICO_CALLGRIND_DEBUG:-}" ] || rm -rf "$work"' EXIT

bin=$(cargo bench --bench nested --no-run --message-format=json 2>/dev/null |
    jq -r 'select(.executable != null and .target.name == "nested") | .executable')

PORTICO_BENCH_SERVE="$work/info.json" valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$work/callgrind.out" "$bin" --bench >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -s "$work/info.json" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 1
done
endpoint=$(jq -r .endpoint "$work/info.json")
token=$(jq -r .token "$work/info.json")

nested='query Nested { works(first: 20) { edges { cursor node { id title coverUrl tags author { id username avatarUrl } collectionCount viewerHasCollected } } pageInfo { hasNextPage endCursor } } }'
policy='query PrivacyPolicy { privacyPolicy { version publishedAt purposes { key title description required dataCategories recipients } } }'

# Sends $2 requests of query $1 (with a bearer token when $3 is set) on one connection.
send() {
    local body urls=()
    body=$(jq -cn --arg q "$1" '{query: $q}')
    for _ in $(seq 1 "$2"); do urls+=("$endpoint"); done
    local auth=()
    [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
    curl -sf -H 'Content-Type: application/json' "${auth[@]}" -d "$body" "${urls[@]}" >/dev/null
}

# The instructions counted so far (the dump's summary line).
total() {
    callgrind_control -d "$pid" >/dev/null
    local last
    last=$(ls "$work"/callgrind.out.* | sort -t. -k3 -n | tail -1)
    grep -h '^totals:' "$last" | awk '{print $2}'
    [ -n "${PORTICO_CALLGRIND_KEEP:-}" ] && cp "$last" "$PORTICO_CALLGRIND_KEEP.$1" || true
}

measure() {
    local name=$1 query=$2 token=${3:-}
    send "$query" "$warmup" "$token"
    callgrind_control -z "$pid" >/dev/null
    callgrind_control -i on "$pid" >/dev/null
    send "$query" "$requests" "$token"
    callgrind_control -i off "$pid" >/dev/null
    local ir
    ir=$(total "${name%%,*}")
    printf '%-32s %12s instructions per request (%s requests)\n' "$name" $((ir / requests)) "$requests"
}

measure "nested feed, signed in" "$nested" "$token"
measure "nested feed, visitor" "$nested"
measure "privacyPolicy, visitor" "$policy"
