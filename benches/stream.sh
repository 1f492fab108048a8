#!/usr/bin/env bash
# Streaming benchmark: the gateway's CPU per streamed message, in front of the
# bundled example gRPC service (benches/example_service.rs), whose
# descriptors the gateway loads by gRPC server reflection.
#
# Usage (from anywhere; needs curl and python3):
#
#   benches/stream.sh            # N=20000 users, M=20 streams of them
#   N=50000 M=5 benches/stream.sh
#
# What it does:
#   1. cargo build --release --bin restgate --example example_service
#      (skip with NO_BUILD=1);
#   2. starts example_service and `restgate serve --upstream URI --workers 1`
#      on free loopback ports;
#   3. imports N users in one client-streaming call (POST /v1/users:import,
#      an NDJSON body of N lines), then reads them all back M times as NDJSON
#      and M times as Server-Sent Events (GET /v1/users:stream);
#   4. prints the gateway's CPU time (utime + stime from /proc) per message
#      of each phase, and the wall time.
# Everything binds 127.0.0.1 and stops when the script ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$root"
N=${N:-20000}
M=${M:-20}
build_release --bin restgate --example example_service
bin=$rel
work=$(mktemp -d)
removed_at_exit+=("$work")

# Waits (at most 10 s) for "listening on ADDR" in $1 and prints ADDR.
listening() {
  for _ in $(seq 100); do
    addr=$(sed -n 's/^listening on \([^ ]*\).*/\1/p' "$1")
    if [ -n "$addr" ]; then echo "$addr"; return; fi
    sleep 0.1
  done
  echo "stream.sh: nothing listening (see $1)" >&2
  exit 1
}

"$bin/examples/example_service" 127.0.0.1:0 >"$work/example.out" &
pids+=($!)
backend=$(listening "$work/example.out")
"$bin/restgate" serve --upstream "http://$backend" --listen 127.0.0.1:0 --workers 1 \
  >"$work/gateway.out" 2>"$work/gateway.err" &
gateway=$!
pids+=("$gateway")
base=$(listening "$work/gateway.out")

cpu() { cpu_ticks "$gateway"; }
python3 -c "
import json
for i in range($N):
    print(json.dumps({'displayName': f'user {i}', 'email': f'u{i}@example.com', 'tags': ['a', 'b']}))
" >"$work/users.ndjson"

c0=$(cpu); t0=$(date +%s.%N)
curl -sS -o "$work/import.json" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$work/users.ndjson" "$base/v1/users:import"
c1=$(cpu); t1=$(date +%s.%N)
for _ in $(seq "$M"); do curl -sS -N "$base/v1/users:stream" >"$work/stream.ndjson"; done
c2=$(cpu); t2=$(date +%s.%N)
for _ in $(seq "$M"); do
  curl -sS -N -H 'Accept: text/event-stream' "$base/v1/users:stream" >"$work/stream.sse"
done
c3=$(cpu); t3=$(date +%s.%N)
lines=$(wc -l <"$work/stream.ndjson")

python3 -c "
hz, n, m, lines = $(getconf CLK_TCK), $N, $M, $lines
per = lambda ticks, count: ticks / hz * 1e6 / count
print(f'client stream (import): {n} messages, {per($c1 - $c0, n):.2f} us gateway CPU/message, {$t1 - $t0:.2f} s')
print(f'server stream NDJSON:   {m} x {lines} messages, {per($c2 - $c1, m * lines):.2f} us gateway CPU/message, {($t2 - $t1) / m:.3f} s/stream')
print(f'server stream SSE:      {m} x {lines} messages, {per($c3 - $c2, m * lines):.2f} us gateway CPU/message, {($t3 - $t2) / m:.3f} s/stream')
"
