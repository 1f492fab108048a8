#!/usr/bin/env bash
# Peak memory per request body shape: how much the gateway's resident memory rises while it
# transcodes one large JSON body, for bodies of about 3 MB of different shapes.
#
# Usage (from anywhere):
#
#   benches/body_memory.sh
#
# What it does:
#   1. cargo build --release --bin restgate --example example_service (skip with NO_BUILD=1;
#      RESTGATE=PATH runs another gateway binary);
#   2. writes each body with python3 into a temporary directory (removed at the end);
#   3. for each shape, with a fresh gateway (restgate serve --workers 2 --access-log=false, the
#      example service behind it): one small PUT /v1/users/1 first (so the upstream connection and
#      everything made on first use exist), then reads VmRSS (the baseline), sends the body once as
#      PUT /v1/users/1 with curl, and reads VmHWM (the peak resident set) from /proc/PID/status;
#   4. "at-once": eight of the empty-string bodies sent at the same time, with the default
#      --max-in-flight-bytes (2 x max-body-bytes x workers = 16 MiB): some are refused with 503.
#
# One line per shape:
#   SHAPE bytes B status S baseline R kB peak H kB rise D kB rise/body X
# rise is peak minus baseline; rise/body is rise divided by the body's size (the goal: <= 4).
# The shapes:
#   empty-strings  {"tags":["","",...]}: one million empty strings (3 MB)
#   short-strings  {"tags":["abcdefgh",...]}: 270,000 eight-letter strings (3 MB)
#   long-string    {"displayName":"xxx..."}: one string of 3,000,000 letters
#   large-map      {"labels":{"k0000000":"v",...}}: 200,000 entries (3 MB)
#   deep-nesting   {"tags":[[[[...]]]]}: one million levels (2 MB); refused with 400 (the limit is 127
#                  levels), measured because it is read before it is refused
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

gateway=${RESTGATE:-$rel/restgate}
backend=$rel/examples/example_service
BACKEND=127.0.0.1:${BACKEND_PORT:-50081}
ADDR=127.0.0.1:${PORT:-8081}
work=$(mktemp -d /tmp/restgate-body-memory.XXXXXX)
removed_at_exit+=("$work")

command -v curl >/dev/null || { echo "body_memory.sh: needs curl" >&2; exit 1; }
command -v python3 >/dev/null || { echo "body_memory.sh: needs python3" >&2; exit 1; }
build_release --locked --bin restgate --example example_service || exit 1
[[ -x $gateway && -x $backend ]] || { echo "body_memory.sh: $gateway or $backend missing" >&2; exit 1; }

python3 - "$work" <<'EOF'
import json, sys
d = sys.argv[1]
shapes = {
    "empty-strings": {"tags": [""] * 1_000_000},
    "short-strings": {"tags": ["abcdefgh"] * 270_000},
    "long-string": {"displayName": "x" * 3_000_000},
    "large-map": {"labels": {f"k{i:07d}": "v" for i in range(200_000)}},
}
for name, body in shapes.items():
    with open(f"{d}/{name}.json", "w") as f:
        json.dump(body, f, separators=(",", ":"))
with open(f"{d}/deep-nesting.json", "w") as f:
    n = 1_000_000
    f.write('{"tags":' + "[" * n + "]" * n + "}")
with open(f"{d}/small.json", "w") as f:
    f.write('{"displayName":"warm"}')
EOF

"$backend" "$BACKEND" >"$work/backend.log" 2>&1 &
pids+=($!)
wait_port "$BACKEND" || exit 1

# start_gateway: a fresh gateway; sets $gw.
start_gateway() {
  "$gateway" serve --upstream "http://$BACKEND" --listen "$ADDR" --workers 2 --access-log=false \
    >"$work/gateway.log" 2>&1 &
  gw=$!
  pids+=($gw)
  wait_port "$ADDR" || exit 1
  put small.json >/dev/null
}
stop_gateway() { kill "$gw" 2>/dev/null; wait "$gw" 2>/dev/null; }
put() {
  curl -s -m 60 -o /dev/null -w '%{http_code}' -X PUT -H 'content-type: application/json' \
    --data-binary "@$work/$1" "http://$ADDR/v1/users/1"
}

echo "# $(date -u +%FT%TZ) commit $(revision) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for shape in empty-strings short-strings long-string large-map deep-nesting; do
  start_gateway
  bytes=$(stat -c %s "$work/$shape.json")
  base=$(status_kb "$gw" VmRSS)
  status=$(put "$shape.json")
  peak=$(status_kb "$gw" VmHWM)
  rise=$((peak - base))
  echo "$shape bytes $bytes status $status baseline $base kB peak $peak kB rise $rise kB rise/body $(awk -v r="$rise" -v b="$bytes" 'BEGIN {printf "%.1f", r * 1024 / b}')"
  stop_gateway
done

start_gateway
base=$(status_kb "$gw" VmRSS)
for i in $(seq 1 8); do put empty-strings.json >"$work/at-once.$i" & done
for job in $(jobs -p); do [[ " ${pids[*]} " == *" $job "* ]] || wait "$job"; done
peak=$(status_kb "$gw" VmHWM)
codes=$(for f in "$work"/at-once.*; do cat "$f"; echo; done | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')
echo "at-once 8×empty-strings statuses ${codes}baseline $base kB peak $peak kB rise $((peak - base)) kB"
stop_gateway
