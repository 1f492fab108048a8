#!/usr/bin/env bash
# Load benchmark: restgate against the hand-written floor (benches/static_proxy.rs), both in front
# of the bundled example gRPC service (benches/example_service.rs), in one run on one machine.
#
# Usage (from anywhere; a fresh Debian machine with a Rust toolchain is enough):
#
#   benches/load.sh [DURATION_S]            # default 10 s per measurement
#   benches/load.sh --peer [DURATION_S]     # also measure grpc-gateway (same as PEER=1)
#
# What it does:
#   1. installs wrk and curl with apt-get when missing (sudo when not root);
#   2. cargo build --release --bin restgate --example static_proxy --example example_service
#      (skip with NO_BUILD=1);
#   3. for each target, with a fresh backend (example_service on $BACKEND) each time:
#        restgate  = target/release/restgate serve --upstream http://$BACKEND --listen 127.0.0.1:8071
#        static    = target/release/examples/static_proxy --upstream http://$BACKEND --listen 127.0.0.1:8072
#      seeds user 1 (PUT /v1/users/1), checks one request of each kind, then measures
#        post  POST /v1/users    body {"displayName":"bench","email":"b@example.com"}  (load/post.lua)
#        put   PUT  /v1/users/1  same body                                            (load/put.lua)
#        get   GET  /v1/users/1
#      each with `wrk -t1 -c16 -d${DURATION}s --latency` after a 2 s warm-up;
#   4. with PEER=1 / --peer: adds the target grpc-gateway, built by benches/peer/build.sh from
#      Debian's packages (grpc-gateway 1.6.4 on Go 1.19, generated from benches/peer/users.proto: the
#      example's UserService with google.api.http rules) and measured in front of the same example
#      service, the same way. grpc-gateway answers a create 200 where restgate answers 201.
#
# At the end, the same figures as a markdown table headed by the date, commit and command, with each
# target's cpu/req relative to the static floor and to grpc-gateway (a target measured in several
# rounds, as in TARGETS="restgate static restgate static", counts with its median; MARKDOWN=0 leaves
# it out):
# BENCHMARKS.md's load tables are pasted from it, never edited.
#
# One line per target and kind, as they are measured:
#   NAME KIND RPS rps  p50 X  p99 Y  cpu/req Z us  peakRSS R kB  non2xx N  [backend cpu/req B us]
# cpu/req is the gateway process's CPU time (utime+stime of all its threads, from /proc/PID/stat)
# during the measurement divided by the requests wrk completed: the fairest figure when wrk, the
# gateway and the backend share the cores. peakRSS is the gateway's VmHWM at the end of that kind.
# Compare figures only within one run: absolute values vary a lot between machines.
#
# Targets restgate-nolog (--access-log=false) and restgate-quiet (no access log, no metrics) show
# what observability costs per request beside the default restgate target.
# Target inprocess is the example service with REST served in process (benches/in_process.rs): its
# cpu/req includes the service's own work, so compare it with restgate's cpu/req plus the backend's.
# Targets restgate-compress and restgate-nocompress (--compress-responses=false) measure what reply
# compression costs: `GET /v1/users?pageSize=20` after seeding 20 users (a reply of about 5 KB, above
# the 1 KiB threshold), as kinds list (no Accept-Encoding), list-gzip, list-br and list-zstd (that
# Accept-Encoding); the bytes of one reply of each kind are printed before measuring:
#   TARGETS="restgate-compress restgate-nocompress" benches/load.sh
# Targets restgate-memory, restgate-file and restgate-redis measure keyed POSTs (a fresh
# Idempotency-Key per request, load/post_keyed.lua) against each idempotency store; the Redis one
# starts its own redis-server:
#   TARGETS="restgate-memory restgate-file restgate-redis" benches/load.sh
# A target `restgate@LABEL=BINARY` is the default restgate target served by another build (e.g. an
# older commit's release binary), so that two builds are compared in one run:
#   TARGETS="restgate@before=/tmp/restgate-before restgate restgate@before=/tmp/restgate-before restgate" benches/load.sh
#
# Targets before and before-nolog run the restgate binary $BEFORE (another commit's build) like
# restgate and restgate-nolog, so that two commits compare within one run.
#
# Environment: DURATION (seconds, 1..300, default 10), TARGETS (default "restgate static"),
# WORKERS (--workers of the static proxy; default its own: one per core), NO_BUILD=1, RESTGATE (the
# restgate binary of the restgate* targets; default the release build), BEFORE (the binary of the
# before* targets), PEER=1, BACKEND_PORT (default 50071), PORT_BASE (default 8071).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

peer=${PEER:-0}
args=()
for a in "$@"; do
  case $a in
    --peer) peer=1 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$a") ;;
  esac
done
D=${args[0]:-${DURATION:-10}}
if ! [[ $D =~ ^[0-9]+$ ]] || (( D < 1 || D > 300 )); then
  echo "load.sh: duration must be 1..300 seconds, not '$D'" >&2; exit 2
fi
TARGETS=${TARGETS:-restgate static}
BACKEND=127.0.0.1:${BACKEND_PORT:-50071}
PORT_BASE=${PORT_BASE:-8071}
(( peer )) && [[ " $TARGETS " != *" grpc-gateway "* ]] && TARGETS="$TARGETS grpc-gateway"
restgate=${RESTGATE:-$rel/restgate}
logs=$(mktemp -d /tmp/restgate-load.XXXXXX)
BODY='{"displayName":"bench","email":"b@example.com"}'

# ---- tools ---------------------------------------------------------------------------------------
need_commands wrk curl

# ---- build ---------------------------------------------------------------------------------------
build_release --bin restgate --example static_proxy --example example_service --example in_process \
  || { note "building restgate failed; building the examples alone"
       build_release --example static_proxy --example example_service || exit 1; }
[[ -x $rel/examples/example_service ]] || { echo "load.sh: $rel/examples/example_service missing" >&2; exit 1; }
have_serve=0
[[ -x $restgate ]] && "$restgate" serve --help >/dev/null 2>&1 && have_serve=1

# ---- helpers -------------------------------------------------------------------------------------
# encoding_of KIND: the Accept-Encoding of a list kind (list-gzip: gzip; list: identity).
encoding_of() { case $1 in list-*) echo "${1#list-}" ;; *) echo identity ;; esac; }

# measure NAME GATEWAY_PID BACKEND_PID PORT KINDS
measure() {
  local name=$1 pid=$2 bpid=$3 port=$4 kinds=$5 kind
  local base=http://127.0.0.1:$port/v1/users
  # Seed user 1 and check one request of each kind before measuring.
  local s_put s_post s_get
  s_put=$(status_of PUT "$base/1" "$BODY"); s_post=$(status_of POST "$base" "$BODY"); s_get=$(status_of GET "$base/1")
  note "$name: seed PUT /v1/users/1 -> $s_put, POST /v1/users -> $s_post, GET /v1/users/1 -> $s_get"
  # The seed PUT creates user 1 (201) on a fresh backend; a replace answers 200.
  local created=201
  [[ $name == grpc-gateway ]] && created=200   # it answers a create 200, without Location
  if [[ ($s_put != 200 && $s_put != 201) || $s_post != "$created" || $s_get != 200 ]]; then
    note "$name: unexpected status (last body: $(head -c 300 "$logs/last-body")); measuring anyway"
  fi
  if [[ $kinds == *list* ]]; then
    local i sizes=
    for i in $(seq 2 20); do status_of PUT "$base/$i" "${BODY%\}},\"tags\":[\"bench-$i\",\"load\",\"compression\"]}" >/dev/null; done
    for kind in $kinds; do
      sizes+=" $kind $(curl -s -m 5 -o /dev/null -w '%{size_download}' -H "Accept-Encoding: $(encoding_of "$kind")" "$base?pageSize=20") B"
    done
    note "$name: one reply:$sizes"
  fi
  for kind in $kinds; do
    local wargs=() url=$base
    case $kind in
      list*) wargs=(-H "Accept-Encoding: $(encoding_of "$kind")"); url="$base?pageSize=20" ;;
      post) wargs=(-s "$here/load/post.lua") ;;
      keyed) wargs=(-s "$here/load/post_keyed.lua") ;;
      put) wargs=(-s "$here/load/put.lua"); url=$base/1 ;;
      get) url=$base/1 ;;
    esac
    timeout 30 wrk -t1 -c16 -d2s "${wargs[@]}" "$url" >/dev/null 2>&1   # warm-up
    local c0 b0 c1 b1 out
    c0=$(cpu_ticks "$pid"); b0=$(cpu_ticks "$bpid")
    out=$(timeout $((D + 30)) wrk -t1 -c16 -d"${D}s" --latency "${wargs[@]}" "$url" 2>&1)
    c1=$(cpu_ticks "$pid"); b1=$(cpu_ticks "$bpid")
    echo "$out" >"$logs/$name-$kind.wrk"
    local reqs rps p50 p99 non2xx sockerr rss cpu bcpu
    reqs=$(awk '/requests in/{print $1}' <<<"$out")
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    p50=$(awk '$1=="50%"{print $2}' <<<"$out")
    p99=$(awk '$1=="99%"{print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
    sockerr=$(awk -F': ' '/Socket errors/{print $2}' <<<"$out")
    rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="${reqs:-0}" 'BEGIN{printf "%.1f", (b-a)/t*1e6/(n>0?n:1)}')
    bcpu=$(awk -v a="$b0" -v b="$b1" -v t="$TCK" -v n="${reqs:-0}" 'BEGIN{printf "%.1f", (b-a)/t*1e6/(n>0?n:1)}')
    printf '%-14s %-4s %10s rps  p50 %-9s p99 %-9s cpu/req %7s us  peakRSS %6s kB  non2xx %s  [backend cpu/req %s us]%s\n' \
      "$name" "$kind" "${rps:-?}" "${p50:-?}" "${p99:-?}" "$cpu" "${rss:-?}" "${non2xx:-0}" "$bcpu" \
      "${sockerr:+  socket errors: $sockerr}"
    results+=("$name|$kind|${rps:-?}|${p50:-?}|${p99:-?}|$cpu|${rss:-?}|${non2xx:-0}")
  done
}

# markdown: the run's figures as the table BENCHMARKS.md shows, then, for each kind, the cpu/req of
# every target relative to the static floor and to grpc-gateway when they ran.
markdown() {
  local r name kind rps p50 p99 cpu rss non2xx
  echo
  echo "Run of $run_date (restgate ${rev:-?}), \`$invocation\`, ${D} s per measurement:"
  echo
  echo "| target | kind | req/s | p50 | p99 | cpu/req | peak RSS | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name kind rps p50 p99 cpu rss non2xx <<<"$r"
    printf '| %s | %s | %s | %s | %s | %s µs | %s MB | %s |\n' "$name" "$kind" "$rps" "$p50" "$p99" "$cpu" \
      "$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')" "$non2xx"
  done
  local base
  for base in static grpc-gateway; do
    printf '%s\n' "${results[@]}" | awk -F'|' -v base="$base" '
      { k = $1 "|" $2; vals[k, ++count[k]] = $6; if (!seen[$1]++) order[++n] = $1 }
      END {
        # A target measured in several rounds counts with its median cpu/req.
        for (k in count) {
          m = count[k]
          for (i = 1; i <= m; i++) v[i] = vals[k, i] + 0
          for (i = 2; i <= m; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
          cpu[k] = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
          if (m > 1) rounds = 1
        }
        line = ""
        for (i = 1; i <= n; i++) {
          t = order[i]; if (t == base) continue
          part = ""
          split("post put get keyed", kinds, " ")
          for (k = 1; k <= 4; k++) {
            kk = kinds[k]
            if ((t "|" kk) in cpu && (base "|" kk) in cpu && cpu[base "|" kk] > 0)
              part = part sprintf(" %s %.2f×", toupper(kk), cpu[t "|" kk] / cpu[base "|" kk])
          }
          if (part != "") line = line sprintf("\n- %s:%s", t, part)
        }
        if (line != "") printf "\ncpu/req%s relative to %s:%s\n", rounds ? " (each target'"'"'s median over its rounds)" : "", base, line
      }'
  done
}

# ---- run -----------------------------------------------------------------------------------------
results=()
run_date=$(date -u '+%Y-%m-%d %H:%MZ')
invocation="${TARGETS:+TARGETS=\"$TARGETS\" }benches/load.sh $D"
cpu_model=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
rev=$(revision)
note "$(date -u +%FT%TZ) $(nproc) cores (${cpu_model:-unknown CPU}), $(uname -sr); restgate ${rev:-?}; $(rustc --version 2>/dev/null)"
note "wrk -t1 -c16 -d${D}s --latency (2 s warm-up); backend: examples/example_service, restarted for each target; logs in $logs"

port=$PORT_BASE
for t in $TARGETS; do
  kinds="post put get"
  bin=$restgate
  if [[ $t == restgate@*=* ]]; then
    bin=${t#*=}; t=${t%%=*}
    [[ -x $bin ]] || { note "$t: skipped ($bin is not an executable)"; port=$((port + 1)); continue; }
  fi
  case $t in
    restgate@*)
      cmd=("$bin" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port") ;;
    before|before-nolog)
      # Another build of restgate ($BEFORE), measured in the same run as this one.
      [[ -x ${BEFORE:-} ]] || { note "$t: skipped (set BEFORE to another build's restgate binary)"; port=$((port + 1)); continue; }
      cmd=("$BEFORE" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port")
      [[ $t == before-nolog ]] && cmd+=(--access-log=false) ;;
    restgate|restgate-quiet|restgate-nolog|restgate-memory|restgate-file|restgate-redis|restgate-compress|restgate-nocompress)
      if (( ! have_serve )); then note "$t: skipped ('restgate serve' is not available in this build)"; port=$((port + 1)); continue; fi
      cmd=("$restgate" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$port")
      case $t in
        # The cost of observability: without access logs, and without logs and metrics.
        restgate-nolog) cmd+=(--access-log=false) ;;
        restgate-quiet) cmd+=(--access-log=false --metrics=false) ;;
        # What reply compression costs: the same list reply, compressed or not.
        restgate-compress) kinds="list list-gzip list-br list-zstd" ;;
        restgate-nocompress) kinds="list list-gzip"; cmd+=(--compress-responses=false) ;;
        # Keyed POSTs (a fresh Idempotency-Key each) against each idempotency store.
        restgate-memory) kinds="post keyed" ;;
        restgate-file) kinds="keyed"; cmd+=(--idempotency "file:$logs/keys.redb") ;;
        restgate-redis)
          kinds="keyed"
          command -v redis-server >/dev/null || { note "$t: skipped (no redis-server; apt-get install redis-server)"; continue; }
          redis_port=$((port + 1000))
          start redis "127.0.0.1:$redis_port" redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no || continue
          cmd+=(--idempotency "redis://127.0.0.1:$redis_port") ;;
      esac ;;
    inprocess)
      # REST in process: no backend hop; its CPU includes the service's own.
      cmd=("$rel/examples/in_process" --listen "127.0.0.1:$port") ;;
    grpc-gateway)
      # The incumbent, built from Debian's packages by benches/peer/build.sh.
      peer_bin=$(peer_gateway) || { note "$t: skipped (benches/peer/build.sh failed)"; port=$((port + 1)); continue; }
      cmd=("$peer_bin" "$BACKEND" "127.0.0.1:$port") ;;
    static)
      cmd=("$rel/examples/static_proxy" --upstream "http://$BACKEND" --listen "127.0.0.1:$port")
      [[ -n ${WORKERS:-} ]] && cmd+=(--workers "$WORKERS") ;;
    *) note "unknown target '$t' (known: grpc-gateway restgate restgate-nolog restgate-quiet restgate-compress restgate-nocompress before before-nolog static inprocess restgate-memory restgate-file restgate-redis restgate@LABEL=BINARY)"; continue ;;
  esac
  if start backend-$t "$BACKEND" "$rel/examples/example_service" "$BACKEND"; then
    bpid=$started
    if start "$t" "127.0.0.1:$port" "${cmd[@]}"; then
      note "$t: ${cmd[*]#"$root"/} (threads: $(ls "/proc/$started/task" | wc -l))"
      measure "$t" "$started" "$bpid" "$port" "$kinds"
      stop "$started"
    fi
    stop "$bpid"
  fi
  port=$((port + 1))
done

[[ ${MARKDOWN:-1} == 1 ]] && markdown
exit 0
