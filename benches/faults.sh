#!/usr/bin/env bash
# Fault tests anyone can rerun: the release gateway in front of the bundled example service
# (benches/example_service.rs), loaded by benches/fault_load.rs, all on 127.0.0.1, each bounded.
#
# Usage:
#
#   benches/faults.sh [SCENARIO...] [DURATION_S]     # default: all scenarios, 20 s each
#
# Scenarios:
#   restart    two cycles of `kill -9` of the backend and a restart 1 s later, under PUT load and
#              keyed-POST load (16 tasks each). Holds when no PUT is lost (every one answered 2xx
#              or 503), no keyed POST goes unanswered, every key is created in the end or keeps
#              the 502/504 of a call that may have reached the service (keys_kept_error: the
#              gateway never runs such a call again, so no retry can create a second resource),
#              and no key's replay names another Location than its create did.
#   sighup     five SIGHUPs, D/6 apart, under GET+PUT+POST load (16 tasks). Holds when every
#              request is answered 2xx and the gateway logged five reloads.
#   slowloris  GET at a fixed rate (RATE, default 1000/s) for D/2 s alone, then for D/2 s beside
#              SLOW (default 500) connections that send a header line every second and never end
#              their head. Holds when there are 0 errors and the p99 beside them is at most twice
#              the p99 alone plus 1 ms; the gateway's header-read timeout (10 s) closes them.
#
# One line per scenario: the load client's summaries (fault_load's key=value line) and
# PASS/FAIL; the exit status is 1 when any scenario failed. The gateway runs with its defaults;
# its log is kept without the access-log lines (in $logs).
#
# Environment: NO_BUILD=1 (skip `cargo build --release`), BACKEND_PORT (default 50261),
# PORT (default 8261), RATE, SLOW.
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

scenarios=()
D=20
for a in "$@"; do
  case $a in
    restart|sighup|slowloris) scenarios+=("$a") ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) D=$a ;;
  esac
done
(( ${#scenarios[@]} )) || scenarios=(restart sighup slowloris)
if ! [[ $D =~ ^[0-9]+$ ]] || (( D < 6 || D > 600 )); then
  echo "faults.sh: duration must be 6..600 seconds, not '$D'" >&2; exit 2
fi
BACKEND=127.0.0.1:${BACKEND_PORT:-50261}
GW=127.0.0.1:${PORT:-8261}
RATE=${RATE:-1000}
SLOW=${SLOW:-500}
logs=$(mktemp -d /tmp/restgate-faults.XXXXXX)

log_filter=restgate::access   # the gateway's log is kept without its access-log lines

build_release --bin restgate --example example_service --example fault_load || exit 1
for b in restgate examples/example_service examples/fault_load; do
  [[ -x $rel/$b ]] || { echo "faults.sh: $rel/$b missing (build it, or drop NO_BUILD)" >&2; exit 1; }
done

# gateway: starts the gateway and seeds user 1 (what GET asks for).
gateway() {
  start gateway "$GW" "$rel/restgate" serve --upstream "http://$BACKEND" --listen "$GW" || return 1
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' \
    --data-raw '{"displayName":"bench"}' "http://$GW/v1/users/1"
}
load() { "$rel/examples/fault_load" --base "http://$GW" "$@"; }
# statuses_other_than LINE CODES...: how many answers had another status.
statuses_other_than() {
  local line=$1 n=0 s; shift
  for s in $(grep -o '\bs[0-9]\{3\}=[0-9]*' <<<"$line"); do
    local code=${s:1:3} count=${s#*=} ok=0 c
    for c in "$@"; do [[ $code == "$c" ]] && ok=1; done
    (( ok )) || n=$((n + count))
  done
  echo "$n"
}
verdict() { if [[ $1 == 0 ]]; then echo "PASS"; else echo "FAIL ($2)"; failed=1; fi; }

scenario_restart() {
  start backend "$BACKEND" "$rel/examples/example_service" "$BACKEND" && bpid=$started || return 1
  gateway || return 1; local gpid=$started
  load --mix put --concurrency 16 --duration "$D" >"$logs/put.out" &
  local put=$!
  load --mix keyed --concurrency 16 --duration "$D" >"$logs/keyed.out" &
  local keyed=$!
  local cycle
  for cycle in 1 2; do
    sleep $((D / 3))
    kill -9 "$bpid"; wait "$bpid" 2>/dev/null
    note "restart: kill -9 of the backend (cycle $cycle)"
    sleep 1
    start backend "$BACKEND" "$rel/examples/example_service" "$BACKEND" && bpid=$started || return 1
  done
  wait "$put" "$keyed"
  local p k
  p=$(cat "$logs/put.out"); k=$(cat "$logs/keyed.out")
  echo "restart put:   $p"
  echo "restart keyed: $k"
  local lost_puts bad_keyed
  lost_puts=$(( $(field errors "$p") + $(statuses_other_than "$p" 200 201 503) ))
  bad_keyed=$(( $(field errors "$k") + $(field keys_never_created "$k") + $(field two_locations "$k") ))
  echo -n "restart: lost PUTs $lost_puts, keyed POSTs unanswered/never created/two Locations $bad_keyed: "
  verdict $((lost_puts + bad_keyed)) "see above"
  stop "$gpid"; stop "$bpid"
}

scenario_sighup() {
  start backend "$BACKEND" "$rel/examples/example_service" "$BACKEND" && local bpid=$started || return 1
  gateway || return 1; local gpid=$started
  load --mix get,put,post --concurrency 16 --duration "$D" >"$logs/sighup.out" &
  local l=$! i
  for i in 1 2 3 4 5; do sleep $((D / 6)); kill -HUP "$gpid"; done
  wait "$l"
  local out reloads bad
  out=$(cat "$logs/sighup.out")
  reloads=$(grep -c 'reloaded' "$logs/gateway.log")
  echo "sighup: $out"
  bad=$(( $(field errors "$out") + $(statuses_other_than "$out" 200 201) ))
  echo -n "sighup: 5 SIGHUPs, $reloads reloads logged, $bad requests not 2xx: "
  verdict $((bad + (reloads != 5))) "see above"
  stop "$gpid"; stop "$bpid"
}

scenario_slowloris() {
  start backend "$BACKEND" "$rel/examples/example_service" "$BACKEND" && local bpid=$started || return 1
  gateway || return 1; local gpid=$started
  local half=$((D / 2)) alone beside slow
  alone=$(load --mix get --concurrency 8 --rate "$RATE" --duration "$half")
  load --slowloris "$SLOW" --duration $((half + 2)) >"$logs/slow.out" &
  slow=$!
  sleep 1
  beside=$(load --mix get --concurrency 8 --rate "$RATE" --duration "$half")
  wait "$slow"
  echo "slowloris alone:  $alone"
  echo "slowloris beside: $beside"
  echo "slowloris held:   $(cat "$logs/slow.out")"
  local p0 p1 bad
  p0=$(field p99_ms "$alone"); p1=$(field p99_ms "$beside")
  bad=$(( $(field errors "$alone") + $(field errors "$beside") + $(statuses_other_than "$beside" 200) ))
  bad=$(( bad + $(awk -v a="$p0" -v b="$p1" 'BEGIN{print (b > 2*a + 1) ? 1 : 0}') ))
  echo -n "slowloris: p99 $p0 ms alone, $p1 ms beside $SLOW slow connections: "
  verdict "$bad" "errors, or p99 more than 2x+1ms"
  stop "$gpid"; stop "$bpid"
}

rev=$(revision)
note "$(date -u +%FT%TZ) $(nproc) cores, $(uname -sr); restgate ${rev:-?}; scenarios ${scenarios[*]}, ${D} s each; logs in $logs"
failed=0
for s in "${scenarios[@]}"; do
  "scenario_$s" || { echo "$s: FAIL (could not run)"; failed=1; }
  cleanup
done
exit $failed
