#!/usr/bin/env bash
# Syscalls and runtime wake-ups per request: restgate against the hand-written floor
# (benches/static_proxy.rs), both in front of the bundled example service, counted with strace over
# a fixed number of requests.
#
# Usage (from anywhere; Debian with a Rust toolchain):
#
#   benches/syscalls.sh [REQUESTS]          # default 20000 requests per kind and target
#
# What it does:
#   1. installs strace, wrk and curl with apt-get when missing (sudo when not root);
#   2. builds the release binaries as benches/load.sh does (skip with NO_BUILD=1);
#   3. for each target (restgate with its defaults, access log and metrics on; the static floor),
#      with a fresh backend each time, seeds user 1 and warms up with 2 s of wrk, then for each
#      kind (post, put, get, as in benches/load.sh) runs `wrk -t1 -c16` until REQUESTS answers
#      arrived (benches/load/count.lua), twice, with strace attached to every thread of the
#      gateway:
#        pass 1: strace -f -c            every syscall, counted by name
#        pass 2: strace -f -y -e write   the writes, to tell eventfd writes (a tokio runtime
#                                        unparked through the OS: mio's Waker::wake) from others
#        pass 3: perf stat on uprobes of the C library's malloc, calloc, posix_memalign,
#                aligned_alloc (allocations) and realloc (reallocations); the probes are added
#                with `perf probe` when missing (skip with ALLOCATIONS=0). Counts what goes
#                through the C library's allocator, which is Rust's by default (a binary with
#                another global allocator is not counted)
#      and divides by the answers wrk counted.
#
# One line per target and kind:
#   NAME KIND syscalls/req S  eventfd-writes/req E  other-writes/req W  allocs/req A
#   reallocs/req R  (N requests)  top: CALL n ...
# strace slows the gateway down several times over, which changes how many requests a worker
# finds ready per turn (and so how many a syscall serves): compare targets within one run, not
# with figures taken without strace.
#
# Environment: TARGETS (default "restgate static"; also restgate-nolog: --access-log=false, and
# before: the restgate binary $BEFORE, another commit's build, with its defaults),
# KINDS (default "post put get"), NO_BUILD=1, RESTGATE (the restgate binary; default the release
# build: another build's, to compare two commits in one run), KEEP_LOGS=1 (keep the strace
# outputs and the gateways' logs, otherwise removed at exit), BACKEND_PORT (default 50181),
# PORT_BASE (default 8181).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

N=${1:-${REQUESTS:-20000}}
if ! [[ $N =~ ^[0-9]+$ ]] || (( N < 100 || N > 1000000 )); then
  echo "syscalls.sh: requests must be 100..1000000, not '$N'" >&2; exit 2
fi
TARGETS=${TARGETS:-restgate static}
KINDS=${KINDS:-post put get}
BACKEND=127.0.0.1:${BACKEND_PORT:-50181}
PORT_BASE=${PORT_BASE:-8181}
restgate=${RESTGATE:-$rel/restgate}
logs=$(mktemp -d /tmp/restgate-syscalls.XXXXXX)
BODY='{"displayName":"bench","email":"b@example.com"}'
[[ ${KEEP_LOGS:-0} == 1 ]] || removed_at_exit+=("$logs")

need_commands strace wrk curl

# The same set as benches/load.sh, so that both share one build.
build_release --bin restgate --example static_proxy --example example_service --example in_process || exit 1
for bin in "$restgate" "$rel/examples/static_proxy" "$rel/examples/example_service"; do
  [[ -x $bin ]] || { echo "syscalls.sh: $bin missing" >&2; exit 1; }
done

# watched TOOL PID OUT TOOL_ARGS... -- WRK_ARGS...: wrk until $N answers while TOOL (strace or
# perf) watches every thread of PID, writing to OUT; prints the answers wrk counted.
watched() {
  local tool=$1 pid=$2 out=$3; shift 3
  local targs=() wargs=()
  while (( $# )) && [[ $1 != -- ]]; do targs+=("$1"); shift; done
  shift; wargs=("$@")
  case $tool in
    strace) strace -f -qq "${targs[@]}" -o "$out" -p "$pid" 2>"$out.err" & ;;
    perf) perf stat -x, "${targs[@]}" -o "$out" -p "$pid" 2>"$out.err" & ;;
  esac
  local watcher=$! i
  # strace: until it has attached (it stops every thread once); perf: a moment to open its events.
  for i in $(seq 1 100); do
    [[ $tool == perf ]] && break
    [[ $(awk '/^TracerPid/{print $2}' "/proc/$pid/status" 2>/dev/null) == "$watcher" ]] && break
    sleep 0.05
  done
  sleep 0.3
  local done=$out.done
  rm -f "$done"
  COUNT=$N DONE=$done wrk -t1 -c16 -d600s -s "$here/load/count.lua" "${wargs[@]}" >"$out.wrk" 2>&1 &
  local loader=$!
  while [[ ! -e $done ]] && kill -0 "$loader" 2>/dev/null; do sleep 0.05; done
  kill -INT "$loader" 2>/dev/null; wait "$loader" 2>/dev/null
  kill -INT "$watcher"; wait "$watcher" 2>/dev/null
  awk '/requests in/{print $1}' "$out.wrk"
}

# The C library's allocation functions, as perf uprobes (added once; left for later runs).
ALLOCATORS="malloc calloc realloc posix_memalign aligned_alloc"
libc=$(ldconfig -p 2>/dev/null | awk '/libc\.so\.6 .*x86-64|libc\.so\.6 \(libc6,x86-64/{print $NF; exit}')
probes=()
if [[ ${ALLOCATIONS:-1} == 1 ]] && command -v perf >/dev/null && [[ -n $libc ]]; then
  for f in $ALLOCATORS; do
    perf probe -l 2>/dev/null | grep -q "probe_libc:$f " || perf probe -q -x "$libc" --add "$f" 2>/dev/null
    perf probe -l 2>/dev/null | grep -q "probe_libc:$f " && probes+=(-e "probe_libc:$f")
  done
fi

# measure NAME PID PORT
measure() {
  local name=$1 pid=$2 port=$3 kind
  local base=http://127.0.0.1:$port/v1/users
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/json' --data-raw "$BODY" "$base/1"
  timeout 30 wrk -t1 -c16 -d2s "$base/1" >/dev/null 2>&1   # warm-up: connections, caches
  for kind in $KINDS; do
    local url=$base method=GET body=
    case $kind in
      post) method=POST; body=$BODY ;;
      put) method=PUT; body=$BODY; url=$base/1 ;;
      get) url=$base/1 ;;
    esac
    local counted=$logs/$name-$kind.count writes=$logs/$name-$kind.writes allocs=$logs/$name-$kind.allocs
    local n1 n2 n3=0
    n1=$(METHOD=$method BODY=$body watched strace "$pid" "$counted" -c -- "$url")
    n2=$(METHOD=$method BODY=$body watched strace "$pid" "$writes" -y -e trace=write -e signal=none -- "$url")
    : >"$allocs"
    if (( ${#probes[@]} )); then
      n3=$(METHOD=$method BODY=$body watched perf "$pid" "$allocs" "${probes[@]}" -- "$url")
    fi
    # strace -c's table: calls in column 4 (column 5 holds errors when there are any).
    awk -v n="${n1:-0}" -v name="$name" -v kind="$kind" -v wf="$writes" -v n2="${n2:-0}" \
        -v af="$allocs" -v n3="${n3:-0}" '
      $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls[$NF] = $4; total += $4 }
      END {
        while ((getline line < wf) > 0) {
          if (line ~ /eventfd/) ev++; else if (line ~ /write\(/) other++
        }
        # perf stat -x, lines: COUNT,,EVENT,...
        while ((getline line < af) > 0) {
          split(line, f, ",")
          if (f[3] ~ /realloc/) re += f[1]; else if (f[3] ~ /probe_libc/) al += f[1]
        }
        m = n > 0 ? n : 1; m2 = n2 > 0 ? n2 : 1; m3 = n3 > 0 ? n3 : 1
        allocs = n3 > 0 ? sprintf("allocs/req %6.1f  reallocs/req %5.1f", al / m3, re / m3) : "allocs/req -"
        top = ""
        for (k = 0; k < 6; k++) {
          best = ""; bv = -1
          for (c in calls) if (calls[c] > bv) { bv = calls[c]; best = c }
          if (best == "") break
          top = top sprintf(" %s %.2f", best, bv / m); delete calls[best]
        }
        printf "%-15s %-4s syscalls/req %6.2f  eventfd-writes/req %5.3f  other-writes/req %5.2f  %s  (%d requests)  top:%s\n",
          name, kind, total / m, ev / m2, other / m2, allocs, n, top
      }' "$counted"
  done
}

rev=$(revision)
note "$(date -u +%FT%TZ) $(nproc) cores, $(uname -sr); restgate ${rev:-?}; $(strace -V | head -1)"
note "wrk -t1 -c16 until $N answers per kind (benches/load/count.lua), under strace -f; load average $(cut -d' ' -f1-3 /proc/loadavg)"

port=$PORT_BASE
for t in $TARGETS; do
  case $t in
    restgate) cmd=("$restgate" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port") ;;
    restgate-nolog) cmd=("$restgate" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port" --access-log=false) ;;
    before) [[ -x ${BEFORE:-} ]] || { note "before: skipped (set BEFORE to another build's restgate binary)"; continue; }
      cmd=("$BEFORE" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port") ;;
    static) cmd=("$rel/examples/static_proxy" --upstream "http://$BACKEND" --listen "127.0.0.1:$port") ;;
    *) note "unknown target '$t' (known: restgate restgate-nolog before static)"; continue ;;
  esac
  if start "backend-$t" "$BACKEND" "$rel/examples/example_service" "$BACKEND"; then
    bpid=$started
    if start "$t" "127.0.0.1:$port" "${cmd[@]}"; then
      note "$t: ${cmd[*]#"$root"/} (threads: $(ls "/proc/$started/task" | wc -l))"
      measure "$t" "$started" "$port"
      stop "$started"
    fi
    stop "$bpid"
  fi
  port=$((port + 1))
done
