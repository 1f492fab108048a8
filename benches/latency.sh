#!/usr/bin/env bash
# Latency at a fixed offered load: restgate (its defaults), the hand-written floor
# (benches/static_proxy.rs) and grpc-gateway, each in front of the bundled example gRPC service
# (benches/example_service.rs), all driven at the same constant rate: half of the most requests per
# second grpc-gateway answered. wrk (benches/load.sh) measures throughput with a closed loop, where a
# slow answer delays the next request and hides its own cost; a constant-rate generator keeps
# sending on schedule, so what it reports is the latency a client at that load sees.
#
# Usage (from anywhere; a fresh Debian machine with a Rust toolchain is enough):
#
#   benches/latency.sh [DURATION_S]         # default 15 s per measurement
#
# What it does:
#   1. installs wrk and curl with apt-get when missing (sudo when not root), and oha (a Rust HTTP
#      load generator with a constant-rate mode) when target/tools/bin/oha is missing or another
#      version: `cargo install --locked oha@1.16.0 --root target/tools` (pinned, since the
#      generator decides the figures; 1.16.0 is the newest on crates.io when this was written and
#      builds with Rust 1.88 and later; it does not build without a TLS feature, so its default,
#      rustls, stays). OHA=PATH runs another oha binary;
#   2. cargo build --release as benches/load.sh does (skip with NO_BUILD=1), and grpc-gateway with
#      benches/peer/build.sh when target/peer/bin/grpc-gateway is missing (Debian's grpc-gateway
#      1.6.4 on Go 1.19, generated from benches/peer/users.proto);
#   3. the rate: grpc-gateway in front of a fresh example service, for each kind
#        post  POST /v1/users    body {"displayName":"bench","email":"b@example.com"}  (load/post.lua)
#        put   PUT  /v1/users/1  same body                                            (load/put.lua)
#        get   GET  /v1/users/1
#      (the kinds of benches/load.sh) `wrk -t1 -c16 -d${MAX_S}s` after a 2 s warm-up; half of its
#      requests/s is that kind's offered load (RATE=N sets one rate for every kind instead);
#   4. for each target, with a fresh example service each time: seeds user 1, checks one request of
#      each kind, then for each kind a 2 s warm-up at the rate and
#        oha --no-tui --output-format json --worker-threads 1 -c 16 -q RATE -z ${DURATION}s -w \
#            --latency-correction
#      The latency is counted from when each request was due to be sent, not from when it was sent
#      (--latency-correction): a target that falls behind the schedule is charged for the waiting,
#      as its clients would be. One generator thread, as wrk -t1 in benches/load.sh, so that the
#      generator takes the same share of the cores in front of every target; the requests still in
#      flight at the deadline are waited for and counted (-w).
#
# One line per target and kind, as they are measured:
#   NAME KIND rate R offered  A rps achieved  p50 X  p90 X  p99 X  p99.9 X (ms)  cpu/req C us  non2xx N  errors E
# cpu/req is the gateway process's CPU time during the measurement divided by the answers (as in
# benches/load.sh); errors are oha's connection and timeout errors (not answers).
# At the end, the same figures as a markdown table headed by the date, commit, command and rates,
# with each target's p99 relative to grpc-gateway's (MARKDOWN=0 leaves it out): BENCHMARKS.md's
# latency table is pasted from it, never edited. Compare figures only within one run.
#
# Targets: restgate (defaults: access log and metrics on), static, grpc-gateway, and
# restgate@LABEL=BINARY (another build of restgate with its defaults, e.g. an older commit's).
# ROUNDS=N (1..10, default 1) measures every target N times over, in turn (restgate, static,
# grpc-gateway, restgate, ...), so that a burst of other work on a shared machine spreads over all
# of them; the relative p99s are then the medians of each target's p99s (so they are too when a
# target is named twice in TARGETS).
# Environment: DURATION (seconds, 5..300, default 15), MAX_S (the wrk run that finds the rate,
# 2..60, default 10), RATE, CONNECTIONS (oha's and wrk's, default 16), TARGETS (default
# "restgate static grpc-gateway"), KINDS (default "post put get"), NO_BUILD=1, RESTGATE (the restgate
# binary; default the release build), OHA, BACKEND_PORT (default 50291), PORT_BASE (default 8291).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

OHA_VERSION=1.16.0
# The settings given in the environment, for the command line the table names.
given=
for v in TARGETS KINDS MAX_S RATE CONNECTIONS ROUNDS; do [[ -n ${!v:-} ]] && given+="$v=\"${!v}\" "; done
for a in "$@"; do
  case $a in -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
done
D=${1:-${DURATION:-15}}
MAX_S=${MAX_S:-10}
C=${CONNECTIONS:-16}
[[ $D =~ ^[0-9]+$ ]] && (( D >= 5 && D <= 300 )) || { echo "$bench: duration must be 5..300 seconds, not '$D'" >&2; exit 2; }
[[ $MAX_S =~ ^[0-9]+$ ]] && (( MAX_S >= 2 && MAX_S <= 60 )) || { echo "$bench: MAX_S must be 2..60 seconds" >&2; exit 2; }
ROUNDS=${ROUNDS:-1}
[[ $ROUNDS =~ ^[0-9]+$ ]] && (( ROUNDS >= 1 && ROUNDS <= 10 )) || { echo "$bench: ROUNDS must be 1..10" >&2; exit 2; }
[[ $C =~ ^[0-9]+$ ]] && (( C >= 1 && C <= 1000 )) || { echo "$bench: CONNECTIONS must be 1..1000" >&2; exit 2; }
[[ -z ${RATE:-} || ( $RATE =~ ^[0-9]+$ && $RATE -ge 1 ) ]] || { echo "$bench: RATE must be a positive number of requests/s" >&2; exit 2; }
TARGETS=${TARGETS:-restgate static grpc-gateway}
KINDS=${KINDS:-post put get}
BACKEND=127.0.0.1:${BACKEND_PORT:-50291}
PORT_BASE=${PORT_BASE:-8291}
restgate=${RESTGATE:-$rel/restgate}
logs=$(mktemp -d /tmp/restgate-latency.XXXXXX)
BODY='{"displayName":"bench","email":"b@example.com"}'

# ---- tools and build -----------------------------------------------------------------------------
need_commands wrk curl python3
oha=${OHA:-$root/target/tools/bin/oha}
if [[ -z ${OHA:-} ]] && ! "$oha" --version 2>/dev/null | grep -qF " $OHA_VERSION"; then
  note "installing oha $OHA_VERSION into target/tools/bin"
  nice -n 10 cargo install --locked --quiet "oha@$OHA_VERSION" --root "$root/target/tools" \
    || die "cargo install oha@$OHA_VERSION failed"
fi
[[ -x $oha ]] || die "$oha is not an executable"
build_release --bin restgate --example static_proxy --example example_service || exit 1
for b in "$restgate" "$rel/examples/static_proxy" "$rel/examples/example_service"; do
  [[ -x $b ]] || die "$b missing (build it, or drop NO_BUILD)"
done

# ---- helpers -------------------------------------------------------------------------------------
# request KIND BASE: sets url, method and lua (the wrk script) of a kind.
request() {
  url=$2 method=GET lua=
  case $1 in
    post) method=POST lua=$here/load/post.lua ;;
    put) method=PUT lua=$here/load/put.lua url=$2/1 ;;
    get) url=$2/1 ;;
    *) die "unknown kind '$1' (known: post put get)" ;;
  esac
}

# target_cmd NAME PORT: sets cmd, the command line of a target listening on 127.0.0.1:PORT.
target_cmd() {
  local bin
  case $1 in
    restgate) cmd=("$restgate" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$2") ;;
    restgate@*=*)
      bin=${1#*=}
      [[ -x $bin ]] || { note "$1: skipped ($bin is not an executable)"; return 1; }
      cmd=("$bin" serve --upstream "http://$BACKEND" --listen "127.0.0.1:$2") ;;
    static) cmd=("$rel/examples/static_proxy" --upstream "http://$BACKEND" --listen "127.0.0.1:$2") ;;
    grpc-gateway)
      bin=$(peer_gateway) || { note "$1: skipped (benches/peer/build.sh failed)"; return 1; }
      cmd=("$bin" "$BACKEND" "127.0.0.1:$2") ;;
    *) note "unknown target '$1' (known: restgate static grpc-gateway restgate@LABEL=BINARY)"; return 1 ;;
  esac
}

# with_target NAME PORT FUNCTION: a fresh example service, the target in front of it with user 1
# seeded, then FUNCTION NAME GATEWAY_PID BASE_URL; both stopped afterwards.
with_target() {
  local name=$1 port=$2 fn=$3 bpid gpid rc=1
  target_cmd "$name" "$port" || return 1
  start "backend-${name%%=*}" "$BACKEND" "$rel/examples/example_service" "$BACKEND" || return 1
  bpid=$started
  if start "${name%%=*}" "127.0.0.1:$port" "${cmd[@]}"; then
    gpid=$started
    local base=http://127.0.0.1:$port/v1/users s_put s_post s_get
    s_put=$(status_of PUT "$base/1" "$BODY"); s_post=$(status_of POST "$base" "$BODY"); s_get=$(status_of GET "$base/1")
    note "${name%%=*}: ${cmd[*]#"$root"/}; seed PUT /v1/users/1 -> $s_put, POST /v1/users -> $s_post, GET /v1/users/1 -> $s_get"
    [[ $s_put == 20[01] && $s_post == 20[01] && $s_get == 200 ]] \
      || note "${name%%=*}: unexpected status (last body: $(head -c 300 "$logs/last-body")); measuring anyway"
    "$fn" "${name%%=*}" "$gpid" "$base"; rc=$?
    stop "$gpid"
  fi
  stop "$bpid"
  return $rc
}

# max_rps NAME PID BASE: each kind's most requests/s by wrk, half of it into rate[KIND].
declare -A rate max
max_rps() {
  local base=$3 kind out
  for kind in $KINDS; do
    request "$kind" "$base"
    local wargs=(-t1 "-c$C"); [[ -n $lua ]] && wargs+=(-s "$lua")
    timeout 30 wrk "${wargs[@]}" -d2s "$url" >/dev/null 2>&1   # warm-up
    out=$(timeout $((MAX_S + 30)) wrk "${wargs[@]}" -d"${MAX_S}s" "$url" 2>&1)
    echo "$out" >"$logs/max-$kind.wrk"
    max[$kind]=$(awk '/Requests\/sec/{printf "%d", $2}' <<<"$out")
    (( ${max[$kind]:-0} > 1 )) || { echo "$bench: grpc-gateway answered no $kind in the max-rate run ($logs/max-$kind.wrk)" >&2; return 1; }
    rate[$kind]=$(( max[$kind] / 2 ))
    note "grpc-gateway $kind: at most ${max[$kind]} rps (wrk -t1 -c$C -d${MAX_S}s); offered load ${rate[$kind]} rps"
  done
}

# oha_run KIND BASE SECONDS OUT: oha at rate[KIND] for SECONDS, its JSON report in OUT.
oha_run() {
  request "$1" "$2"
  local args=(--no-tui --output-format json --worker-threads 1 -c "$C" -q "${rate[$1]}" -z "${3}s" -w
    --latency-correction -m "$method")
  [[ $method != GET ]] && args+=(-T application/json -d "$BODY")
  timeout $(( $3 + 30 )) "$oha" "${args[@]}" "$url" >"$4" 2>"$4.err"
}

# summary JSON: "p50 p90 p99 p99.9 (ms) achieved-rps answers non2xx errors" of an oha report.
summary() {
  python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
p = r["latencyPercentiles"]
ms = lambda k: "%.2f" % (p[k] * 1e3) if p.get(k) is not None else "?"
codes = r.get("statusCodeDistribution", {})
answers = sum(codes.values())
non2xx = sum(n for c, n in codes.items() if not c.startswith("2"))
errors = sum(n for e, n in r.get("errorDistribution", {}).items() if "deadline" not in e)
print(ms("p50"), ms("p90"), ms("p99"), ms("p99.9"), "%.0f" % r["summary"]["requestsPerSec"], answers, non2xx, errors)
EOF
}

# measure NAME PID BASE: each kind at its rate, one line each.
measure() {
  local name=$1 pid=$2 base=$3 kind
  for kind in $KINDS; do
    local out=$logs/$name-$kind.json
    oha_run "$kind" "$base" 2 "$logs/$name-$kind.warm.json"   # warm-up
    local c0 c1
    c0=$(cpu_ticks "$pid")
    oha_run "$kind" "$base" "$D" "$out" || { note "$name $kind: oha failed: $(head -c 300 "$out.err")"; continue; }
    c1=$(cpu_ticks "$pid")
    local p50 p90 p99 p999 rps answers non2xx errors cpu
    read -r p50 p90 p99 p999 rps answers non2xx errors < <(summary "$out") \
      || { note "$name $kind: no oha report ($out)"; continue; }
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="$answers" 'BEGIN{printf "%.1f", (b-a)/t*1e6/(n>0?n:1)}')
    printf '%s%-14s %-4s rate %6s offered %7s rps achieved  p50 %6s  p90 %6s  p99 %6s  p99.9 %6s (ms)  cpu/req %6s us  non2xx %s  errors %s\n' \
      "${round_label:+$round_label }" "$name" "$kind" "${rate[$kind]}" "$rps" "$p50" "$p90" "$p99" "$p999" "$cpu" "$non2xx" "$errors"
    results+=("$name|$kind|${rate[$kind]}|$rps|$p50|$p90|$p99|$p999|$cpu|$non2xx|$errors|$round")
  done
}

# markdown: the run's figures as BENCHMARKS.md shows them, then each target's p99 relative to
# grpc-gateway's (the median of each one's p99s when a target and kind was measured more than once).
markdown() {
  local r name kind offered rps p50 p90 p99 p999 cpu non2xx errors round col= sep=
  (( ROUNDS > 1 )) && col="round | " sep="---|"
  echo
  echo "Run of $run_date (restgate $rev), \`$invocation\`, ${D} s per measurement, oha $OHA_VERSION" \
    "\`--worker-threads 1 -c $C -q RATE -w --latency-correction\`; RATE $rate_source:$rates."
  echo
  echo "| ${col}target | kind | offered req/s | achieved req/s | p50 | p90 | p99 | p99.9 | cpu/req | non-2xx | errors |"
  echo "|${sep}---|---|---|---|---|---|---|---|---|---|---|"
  for r in "${results[@]}"; do
    IFS='|' read -r name kind offered rps p50 p90 p99 p999 cpu non2xx errors round <<<"$r"
    (( ROUNDS > 1 )) && printf '| %s ' "$round"
    printf '| %s | %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s µs | %s | %s |\n' \
      "$name" "$kind" "$offered" "$rps" "$p50" "$p90" "$p99" "$p999" "$cpu" "$non2xx" "$errors"
  done
  printf '%s\n' "${results[@]}" | awk -F'|' '
    { key = $1 "|" $2; all[key, ++count[key]] = $7; if (!seen[$1]++) order[++n] = $1 }
    END {
      # the median of each target and kind p99s (insertion sort: a few values each)
      for (key in count) {
        m = count[key]
        for (i = 1; i <= m; i++) v[i] = all[key, i]
        for (i = 2; i <= m; i++) { x = v[i]; j = i - 1; while (j > 0 && v[j] + 0 > x + 0) { v[j + 1] = v[j]; j-- } v[j + 1] = x }
        p99[key] = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        if (m > 1) several = 1
      }
      line = ""
      for (i = 1; i <= n; i++) {
        t = order[i]; if (t == "grpc-gateway") continue
        part = ""
        split("post put get", kinds, " ")
        for (k = 1; k <= 3; k++) {
          kk = kinds[k]
          if ((t "|" kk) in p99 && ("grpc-gateway|" kk) in p99 && p99["grpc-gateway|" kk] > 0)
            part = part sprintf(" %s %.2f×", toupper(kk), p99[t "|" kk] / p99["grpc-gateway|" kk])
        }
        if (part != "") line = line sprintf("\n- %s:%s", t, part)
      }
      if (line != "") printf "\np99%s relative to grpc-gateway%s:%s\n", several ? " (median)" : "", several ? "\x27s median" : "", line
    }'
}

# ---- run -----------------------------------------------------------------------------------------
results=()
run_date=$(date -u '+%Y-%m-%d %H:%MZ')
invocation="${given//"$root/"/}benches/latency.sh $D"   # paths inside the repository relative to it
rev=$(revision)
cpu_model=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)
note "$(date -u +%FT%TZ) $(nproc) cores (${cpu_model:-unknown CPU}), $(uname -sr); restgate $rev; $("$oha" --version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
note "logs in $logs"

if [[ -n ${RATE:-} ]]; then
  for kind in $KINDS; do rate[$kind]=$RATE; done
  note "offered load $RATE rps for every kind (RATE)"
  rate_source="set by RATE"
else
  with_target grpc-gateway "$PORT_BASE" max_rps || die "could not measure grpc-gateway's most requests/s (set RATE to skip it)"
  rate_source="is half of grpc-gateway's most requests/s (wrk -t1 -c$C, ${MAX_S} s)"
fi
rates=
for kind in $KINDS; do rates+="${rates:+,} ${kind^^} ${rate[$kind]}"; done

port=$((PORT_BASE + 1))
for round in $(seq 1 "$ROUNDS"); do
  round_label=; (( ROUNDS > 1 )) && round_label="[round $round]"
  for t in $TARGETS; do
    with_target "$t" "$port" measure
    port=$((port + 1))
  done
done

[[ ${MARKDOWN:-1} == 1 ]] && markdown
note "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
