#!/usr/bin/env bash
# User-space instructions per request: restgate against the hand-written floor
# (benches/static_proxy.rs), both in front of the bundled example service, counted by callgrind
# over a fixed number of requests. Unlike CPU time, the count does not depend on how busy the
# machine is, so two builds can be compared on a machine shared with other work.
#
# Usage (from anywhere; Debian with a Rust toolchain):
#
#   benches/instructions.sh [REQUESTS]      # default 3000 requests per kind and target
#
# What it does:
#   1. installs valgrind, wrk and curl with apt-get when missing (sudo when not root);
#   2. builds the release binaries as benches/load.sh does (skip with NO_BUILD=1);
#   3. for each target and kind (post, put, get, as in benches/load.sh), with a fresh backend,
#      starts the gateway under `valgrind --tool=callgrind --instr-atstart=no`, seeds user 1,
#      warms up with 300 requests of the kind (wrk -t1 -c16, benches/load/count.lua), switches
#      counting on (callgrind_control -i on), drives REQUESTS more, switches it off, and divides
#      the instructions counted (every thread of the gateway) by the answers wrk counted.
#
# One line per target and kind:
#   NAME KIND instructions/req I  (N requests)
# and with CACHE_SIM=1 (callgrind's --cache-sim=yes --branch-sim=yes, about twice as slow) the
# simulated misses per request as well:
#   NAME KIND instructions/req I  I1-misses/req A  D1-read-misses/req B  D1-write-misses/req C
#   LL-misses/req D  mispredicts/req E  (N requests)
# What callgrind does not see: the kernel's share (syscalls, see benches/syscalls.sh), and what
# an instruction costs (cache misses, `rep movsb` counted once per byte). Under callgrind a
# gateway runs ~50 times slower, so fewer requests are ready at each turn of a worker than under
# benches/load.sh: compare targets within one run. `callgrind_annotate --inclusive=yes
# --tree=calling OUT` on a kept output (KEEP_LOGS=1) tells where the instructions go.
#
# Environment: CACHE_SIM=1, TARGETS (default "restgate static"; also restgate-nolog: --access-log=false, and
# before: the restgate binary $BEFORE, another commit's build, with its defaults),
# KINDS (default "post put get"), NO_BUILD=1, RESTGATE (the restgate binary; default the release
# build), KEEP_LOGS=1 (keep callgrind's outputs, otherwise removed at exit), BACKEND_PORT (default
# 50191), PORT (default 8191).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-${REQUESTS:-3000}}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 100 || N > 100000 )); then
  echo "instructions.sh: requests must be 100..100000, not '$N'" >&2; exit 2
fi
TARGETS=${TARGETS:-restgate static}
KINDS=${KINDS:-post put get}
BACKEND=127.0.0.1:${BACKEND_PORT:-50191}
ADDR=127.0.0.1:${PORT:-8191}
restgate=${RESTGATE:-$rel/restgate}
logs=$(mktemp -d /tmp/restgate-instructions.XXXXXX)
BODY='{"displayName":"bench","email":"b@example.com"}'
[[ ${KEEP_LOGS:-0} == 1 ]] || removed_at_exit+=("$logs")

need_commands valgrind wrk curl
simulate=()
[[ ${CACHE_SIM:-0} == 1 ]] && simulate=(--cache-sim=yes --branch-sim=yes)

# The same set as benches/load.sh, so that both share one build.
build_release --bin restgate --example static_proxy --example example_service --example in_process || exit 1
for bin in "$restgate" "$rel/examples/static_proxy" "$rel/examples/example_service"; do
  [[ -x $bin ]] || { echo "instructions.sh: $bin missing" >&2; exit 1; }
done

# gateway NAME: sets cmd to the command of target NAME in front of $BACKEND, listening on $ADDR.
gateway() {
  local serve=(serve --upstream "http://$BACKEND" --listen "$ADDR")
  case $1 in
    restgate) cmd=("$restgate" "${serve[@]}") ;;
    restgate-nolog) cmd=("$restgate" "${serve[@]}" --access-log=false) ;;
    before) [[ -x ${BEFORE:-} ]] || die "target before needs BEFORE=<a restgate binary>"
            cmd=("$BEFORE" "${serve[@]}") ;;
    static) cmd=("$rel/examples/static_proxy" --upstream "http://$BACKEND" --listen "$ADDR") ;;
    *) die "unknown target '$1'" ;;
  esac
}

# drive COUNT METHOD URL [BODY]: wrk until COUNT answers arrived; prints the answers it counted.
drive() {
  local done=$logs/done out=$logs/wrk.out
  rm -f "$done"
  COUNT=$1 METHOD=$2 BODY=${4:-} DONE=$done \
    wrk -t1 -c16 -d300s -s "$here/load/count.lua" "$3" >"$out" 2>&1 &
  local w=$!
  while [[ ! -f $done ]] && kill -0 "$w" 2>/dev/null; do sleep 0.1; done
  kill -INT "$w" 2>/dev/null; wait "$w" 2>/dev/null
  grep -o '[0-9]* requests in' "$out" | awk '{print $1}'
}

for name in $TARGETS; do
  gateway "$name"
  for kind in $KINDS; do
    case $kind in
      post) method=POST url=http://$ADDR/v1/users body=$BODY ;;
      put) method=PUT url=http://$ADDR/v1/users/1 body=$BODY ;;
      get) method=GET url=http://$ADDR/v1/users/1 body= ;;
      *) die "unknown kind '$kind'" ;;
    esac
    start "backend-$name-$kind" "$BACKEND" "$rel/examples/example_service" "$BACKEND" || exit 1
    backend=$started
    out=$logs/callgrind.$name.$kind
    start "$name-$kind" "$ADDR" valgrind --tool=callgrind --instr-atstart=no \
      "${simulate[@]+"${simulate[@]}"}" --callgrind-out-file="$out" "${cmd[@]}" || exit 1
    vg=$started
    [[ $(status_of PUT "http://$ADDR/v1/users/1" "$BODY") =~ ^20[01]$ ]] || die "$name: seed PUT failed"
    drive 300 "$method" "$url" "$body" >/dev/null
    callgrind_control -i on "$vg" >/dev/null 2>&1
    answered=$(drive "$N" "$method" "$url" "$body")
    callgrind_control -i off "$vg" >/dev/null 2>&1
    kill -INT "$vg" 2>/dev/null; stop "$vg"; stop "$backend"
    (( ${answered:-0} > 0 )) || die "$name $kind: no answers counted"
    # The events' totals of every output file (one per process), per answer.
    cat "$out"* 2>/dev/null | awk -v n="$answered" -v name="$name" -v kind="$kind" '
      /^events:/ { for (i = 2; i <= NF; i++) event[i] = $i }
      /^totals:/ { for (i = 2; i <= NF; i++) total[event[i]] += $i }
      /^summary:/ { for (i = 2; i <= NF; i++) summary[event[i]] += $i }
      END {
        # A file may lack totals: (optional in the format); summary: is always there.
        if (!total["Ir"]) for (e in summary) total[e] = summary[e]
        line = sprintf("%s %s instructions/req %d", name, kind, total["Ir"] / n)
        if ("D1mr" in total)
          line = line sprintf("  I1-misses/req %.0f  D1-read-misses/req %.0f  D1-write-misses/req %.0f  LL-misses/req %.1f  mispredicts/req %.0f",
            total["I1mr"] / n, total["D1mr"] / n, total["D1mw"] / n,
            (total["ILmr"] + total["DLmr"] + total["DLmw"]) / n, (total["Bcm"] + total["Bim"]) / n)
        print line sprintf("  (%d requests)", n)
      }' 
  done
done
