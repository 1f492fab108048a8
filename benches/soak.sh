#!/usr/bin/env bash
# Soak test anyone can rerun: the release gateway (defaults) in front of the bundled example
# service, loaded with GET+PUT+POST by benches/fault_load.rs at 70 % of the most it answered,
# on 127.0.0.1, for a bounded time.
#
# Usage:
#
#   benches/soak.sh [DURATION_S]        # default 600 (10 minutes), 10..7200
#
# What it does:
#   1. builds restgate, the example service and fault_load in release (skip with NO_BUILD=1);
#   2. finds the most requests per second: fault_load --mix get,put,post --concurrency 16,
#      as fast as it goes, for MAX_S seconds (default 10); that also warms the gateway up;
#   3. runs the same mix at 70 % of that rate (--rate) for DURATION_S seconds, sampling the
#      gateway's RSS (VmRSS) at the start and every tenth of the run;
#   4. holds when every request was answered 2xx (0 errors) and the RSS at the end is less than
#      5 % above the RSS at the start of the soak.
#
# Prints the max-rate run's and the soak's fault_load summaries, the RSS samples (kB) and
# PASS/FAIL; the exit status is 1 on FAIL. The gateway's log is kept without its access-log
# lines (in $logs). Environment: NO_BUILD=1, MAX_S, BACKEND_PORT (default 50271), PORT (8271).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

D=${1:-600}
if ! [[ $D =~ ^[0-9]+$ ]] || (( D < 10 || D > 7200 )); then
  echo "soak.sh: duration must be 10..7200 seconds, not '$D'" >&2; exit 2
fi
MAX_S=${MAX_S:-10}
BACKEND=127.0.0.1:${BACKEND_PORT:-50271}
GW=127.0.0.1:${PORT:-8271}
logs=$(mktemp -d /tmp/restgate-soak.XXXXXX)

log_filter=restgate::access   # the gateway's log is kept without its access-log lines

build_release --bin restgate --example example_service --example fault_load || exit 1
for b in restgate examples/example_service examples/fault_load; do
  [[ -x $rel/$b ]] || { echo "soak.sh: $rel/$b missing (build it, or drop NO_BUILD)" >&2; exit 1; }
done

rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
load() { "$rel/examples/fault_load" --base "http://$GW" --mix get,put,post --concurrency 16 "$@"; }

rev=$(revision)
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -sr); restgate ${rev:-?}; soak ${D} s; logs in $logs"
start backend "$BACKEND" "$rel/examples/example_service" "$BACKEND" || exit 1
start gateway "$GW" "$rel/restgate" serve --upstream "http://$BACKEND" --listen "$GW" || exit 1
gpid=$started
curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' \
  --data-raw '{"displayName":"bench"}' "http://$GW/v1/users/1"

max=$(load --duration "$MAX_S")
max_rps=$(( $(field sent "$max") / MAX_S ))
rate=$(( max_rps * 7 / 10 ))
echo "max:  $max"
echo "# most: $max_rps rps; soak at $rate rps (70 %)"
(( rate > 0 )) || { echo "soak.sh: no request answered in the max-rate run" >&2; exit 1; }

load --rate "$rate" --duration "$D" >"$logs/soak.out" &
soak=$!
sleep 1
first=$(rss "$gpid"); samples=("$first")
step=$(( D / 10 )); (( step > 0 )) || step=1
while kill -0 "$soak" 2>/dev/null; do
  for _ in $(seq 1 "$step"); do kill -0 "$soak" 2>/dev/null && sleep 1; done
  kill -0 "$gpid" 2>/dev/null || { echo "soak.sh: the gateway died" >&2; exit 1; }
  samples+=("$(rss "$gpid")")
done
wait "$soak"
out=$(cat "$logs/soak.out")
last=${samples[-1]}
echo "soak: $out"
echo "# RSS kB: ${samples[*]}"
answered=$(field sent "$out")
ok=$(( $(field s200 "$out") + $(field s201 "$out") ))
errors=$(( $(field errors "$out") + answered - ok ))
growth=$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2f", (b-a)*100/a}')
echo -n "soak: ${D} s at $rate rps asked ($(( answered / D )) rps done), $answered requests, $errors not 2xx or unanswered, RSS $first -> $last kB (${growth} %): "
if (( errors == 0 )) && awk -v g="$growth" 'BEGIN{exit !(g < 5)}'; then
  echo PASS
else
  echo FAIL; exit 1
fi
