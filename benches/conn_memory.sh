#!/usr/bin/env bash
# Memory per idle keep-alive connection, and memory given back once connections close.
#
# Usage (from anywhere):
#
#   benches/conn_memory.sh [CONNECTIONS]      # default 10000
#
# What it does:
#   1. cargo build --release --bin restgate --example example_service (skip with NO_BUILD=1;
#      RESTGATE=PATH runs another gateway binary; PEER=1 runs grpc-gateway instead, built by
#      benches/peer/build.sh from Debian's packages, in front of the same example service);
#   2. raises this shell's open-file limit to what the connections need (ulimit -n; the hard limit
#      must allow it);
#   3. starts the example service and the gateway (restgate serve --access-log=false, its default
#      workers), sends one GET /v1/users/1 (so the upstream connection exists), waits 1 s and reads
#      the gateway's VmRSS: "idle";
#   4. a python3 client (benches/idle_clients.py) opens CONNECTIONS HTTP/1.1 connections (at most 500
#      connecting at once), sends GET /v1/users/1 on each, reads each 200 and keeps every connection
#      open and idle; VmRSS then is "open" (and VmHWM "peak"). MODE=h2c sends the GET over HTTP/2 with
#      prior knowledge instead, MODE=fresh sends nothing (connections accepted, never used);
#   5. the client closes them all; after SETTLE seconds (default 5) VmRSS is "closed".
#
# Output, one line:
#   mode M connections N idle I kB open O kB peak P kB closed C kB per-connection (O-I)/N kB closed/idle X
# The goals: per-connection <= 12 kB (half of grpc-gateway's ~23 kB), closed/idle <= 2.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-10000}
MODE=${MODE:-h1}
[[ $MODE =~ ^(h1|h2c|fresh)$ ]] || { echo "conn_memory.sh: MODE is h1, h2c or fresh, not '$MODE'" >&2; exit 2; }
[[ $N =~ ^[0-9]+$ ]] && (( N >= 1 && N <= 30000 )) || { echo "conn_memory.sh: 1..30000 connections, not '$N'" >&2; exit 2; }
gateway=${RESTGATE:-$rel/restgate}
backend=$rel/examples/example_service
BACKEND=127.0.0.1:${BACKEND_PORT:-50082}
ADDR=127.0.0.1:${PORT:-8082}
work=$(mktemp -d /tmp/restgate-conn-memory.XXXXXX)
removed_at_exit+=("$work")

command -v curl >/dev/null || { echo "conn_memory.sh: needs curl" >&2; exit 1; }
command -v python3 >/dev/null || { echo "conn_memory.sh: needs python3" >&2; exit 1; }
need=$((N + 1024))
if (( $(ulimit -n) < need )); then
  ulimit -n "$need" 2>/dev/null || { echo "conn_memory.sh: cannot raise the open-file limit to $need (hard limit $(ulimit -Hn))" >&2; exit 1; }
fi
build_release --locked --bin restgate --example example_service || exit 1
if [[ ${PEER:-0} == 1 ]]; then
  gateway=$(peer_gateway) || exit 1
fi
[[ -x $gateway && -x $backend ]] || { echo "conn_memory.sh: $gateway or $backend missing" >&2; exit 1; }

"$backend" "$BACKEND" >"$work/backend.log" 2>&1 &
pids+=($!)
wait_port "$BACKEND" || exit 1
if [[ ${PEER:-0} == 1 ]]; then
  "$gateway" "$BACKEND" "$ADDR" >"$work/gateway.log" 2>&1 &
else
  "$gateway" serve --upstream "http://$BACKEND" --listen "$ADDR" --access-log=false >"$work/gateway.log" 2>&1 &
fi
gw=$!
pids+=($gw)
wait_port "$ADDR" || exit 1
curl -s -m 5 -o /dev/null -X PUT -H 'content-type: application/json' --data '{"displayName":"idle"}' "http://$ADDR/v1/users/1"
curl -s -m 5 -o /dev/null "http://$ADDR/v1/users/1"
sleep 1
idle=$(status_kb "$gw" VmRSS)

mkfifo "$work/opened" "$work/close"
python3 "$root/benches/idle_clients.py" "$ADDR" "$N" "$MODE" "$work/opened" "$work/close" &
client=$!
pids+=($client)
opened=$(cat "$work/opened")
# Past the gateway's idle grace (1 s, src/serve/lifecycle/keep_alive.rs), and
# a turn of its trim thread (once a second) after that.
sleep 3
open=$(status_kb "$gw" VmRSS)
peak=$(status_kb "$gw" VmHWM)
echo close >"$work/close"
wait "$client"
sleep "${SETTLE:-5}"
closed=$(status_kb "$gw" VmRSS)
echo "# $(date -u +%FT%TZ) commit $(revision) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "mode $MODE connections $opened idle $idle kB open $open kB peak $peak kB closed $closed kB" \
  "per-connection $(awk -v o="$open" -v i="$idle" -v n="$opened" 'BEGIN {printf "%.1f", (o - i) / n}') kB" \
  "closed/idle $(awk -v c="$closed" -v i="$idle" 'BEGIN {printf "%.2f", c / i}')"
