#!/usr/bin/env bash
# Where an idle connection's memory goes: live heap per connection, and what holds it.
#
# Usage (from anywhere; a release build as benches/conn_memory.sh makes it, NO_BUILD=1 implied):
#
#   MODE=h1|h2c|fresh benches/conn_heap.sh [CONNECTIONS]      # default h1, 2000
#
# What it does: starts the example service and the gateway (RESTGATE=PATH for another binary) under
# heaptrack, opens CONNECTIONS idle connections with benches/idle_clients.py one at a time (so the
# heap's peak is the moment they are all open and idle, with no request in flight), reads glibc's
# bytes in use (malloc_stats, called in the gateway through gdb) before and after, then prints the
# live heap per connection and heaptrack's peak allocations by call site, per connection.
# Needs Debian's heaptrack and gdb.
set -u -o pipefail

N=${1:-2000}
MODE=${MODE:-h1}
[[ $N =~ ^[0-9]+$ ]] && (( N >= 1 && N <= 30000 )) || { echo "conn_heap.sh: 1..30000 connections, not '$N'" >&2; exit 2; }
[[ $MODE =~ ^(h1|h2c|fresh)$ ]] || { echo "conn_heap.sh: MODE is h1, h2c or fresh, not '$MODE'" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"

gateway=${RESTGATE:-$rel/restgate}
backend=$rel/examples/example_service
BACKEND=127.0.0.1:${BACKEND_PORT:-50083}
ADDR=127.0.0.1:${PORT:-8083}
for tool in heaptrack heaptrack_print gdb python3 curl; do
  command -v $tool >/dev/null || { echo "conn_heap.sh: needs $tool (Debian: apt-get install heaptrack gdb)" >&2; exit 1; }
done
[[ -x $gateway && -x $backend ]] || { echo "conn_heap.sh: $gateway or $backend missing (build: see benches/conn_memory.sh)" >&2; exit 1; }
ulimit -n $((N + 1024)) 2>/dev/null || { echo "conn_heap.sh: cannot raise the open-file limit" >&2; exit 1; }
work=$(mktemp -d /tmp/restgate-conn-heap.XXXXXX)
removed_at_exit+=("$work")

"$backend" "$BACKEND" >"$work/backend.log" 2>&1 &
pids+=($!)
wait_port "$BACKEND" || exit 1
heaptrack -o "$work/heap" "$gateway" serve --upstream "http://$BACKEND" --listen "$ADDR" --access-log=false \
  >"$work/gateway.log" 2>&1 &
tracked=$!
pids+=($tracked)
wait_port "$ADDR" || exit 1
gw=$(pgrep -n -f -- "serve --upstream http://$BACKEND --listen $ADDR")
curl -s -m 5 -o /dev/null -X PUT -H 'content-type: application/json' --data '{"displayName":"idle"}' "http://$ADDR/v1/users/1"
curl -s -m 5 -o /dev/null "http://$ADDR/v1/users/1"
sleep 1
# glibc's total bytes in use, from malloc_stats() run in the gateway (it writes to the gateway's stderr).
in_use() {
  gdb -p "$gw" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1
  sleep 0.3
  awk '/^in use bytes/ {v = $NF} END {print v}' "$work/gateway.log"
}
before=$(in_use)
mkfifo "$work/opened" "$work/close"
GATE=1 python3 "$root/benches/idle_clients.py" "$ADDR" "$N" "$MODE" "$work/opened" "$work/close" &
client=$!
pids+=($client)
opened=$(cat "$work/opened")
after=$(in_use)
echo close >"$work/close"
wait "$client"
kill "$gw"
wait "$tracked" 2>/dev/null
note "$(date -u +%FT%TZ) commit $(revision) gateway $gateway"
echo "mode $MODE connections $opened heap in use before $before after $after" \
  "per-connection $(( (after - before) / opened )) bytes"
echo "peak heap by call site, bytes per connection (innermost frames outside the allocator):"
heaptrack_print -f "$work/heap.zst" --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 \
  --flamegraph-cost-type peak -F "$work/peak.txt" >/dev/null 2>&1
python3 - "$work/peak.txt" "$opened" <<'PY'
import collections, re, sys
skip = re.compile(r"(^_R|^alloc::|raw_vec|^core::|malloc|^std::|__rust|_rdl_|<unresolved|^0x|^bytes::bytes_mut::BytesMut::(reserve|reserve_inner|with_capacity))")
sites = collections.Counter()
for line in open(sys.argv[1]):
    stack, cost = line.rsplit(" ", 1)
    frames = [re.sub(r"::h[0-9a-f]{16}", "", f.split(" (")[0]) for f in stack.split(";")]
    inner = [f for f in reversed(frames) if not skip.search(f)][:3]
    sites[" <- ".join(f[:90] for f in inner)] += int(cost)
n = int(sys.argv[2])
for site, cost in sites.most_common(8):
    if cost / n >= 16:
        print(f"{cost / n:8.0f}  {site}")
PY
