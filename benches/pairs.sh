#!/usr/bin/env bash
# CPU per request of two gateways measured in alternating pairs: by default restgate (its defaults,
# access log and metrics on) and the hand-written floor (benches/static_proxy.rs), each in front of
# its own example gRPC service (benches/example_service.rs), both running for the whole run.
#
# Why: on a machine shared with other work, CPU per request drifts by ±20 % within a minute, and
# benches/load.sh measures one target's three kinds before the next target starts. Here each round
# measures both targets back to back, a few seconds apart, first one then the other in alternate
# rounds so that a steady drift favours neither; what is reported is the median over the rounds
# of each round's ratio, beside each target's median cpu/req.
#
# Usage (from anywhere; Debian with a Rust toolchain):
#
#   benches/pairs.sh [ROUNDS]               # default 15 rounds of 3 s per target and kind
#
# What it does:
#   1. installs wrk and curl with apt-get when missing (sudo when not root);
#   2. builds the release binaries as benches/load.sh does (skip with NO_BUILD=1);
#   3. starts both targets, each with a fresh example service, seeds user 1 through each, checks
#      one request of each kind, and warms each up for 2 s per kind;
#   4. for each kind (post, put, get, as in benches/load.sh) and round: `wrk -t1 -c16 -d${SECONDS}s`
#      against each target in turn, its CPU time read from /proc/PID/task/*/schedstat (nanoseconds,
#      every thread of the gateway) before and after, divided by the requests wrk completed.
#
# One line per round, kind and target as they are measured, then a markdown table headed by the
# date, commit and command (MARKDOWN=0 leaves it out). The user part of each cpu/req is its share
# of the process's user and system clock ticks (/proc/PID/stat) over the same measurement.
#
# Environment: ROUNDS (default 15), SECONDS_PER (seconds per measurement, 1..60, default 3), PAIR
# (the two targets, default "restgate static"; a target is restgate, restgate-nolog (no access
# log), restgate-quiet (no access log, no metrics), static, or restgate@LABEL=BINARY, another build
# of restgate), NO_BUILD=1, BACKEND_PORT (default 50081; the
# second target's service takes the next port), PORT_BASE (default 8081).
set -u -o pipefail
. "$(dirname "$0")/lib.sh"

case ${1:-} in -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
R=${1:-${ROUNDS:-15}}
S=${SECONDS_PER:-3}
[[ $R =~ ^[0-9]+$ ]] && (( R >= 1 && R <= 200 )) || die "rounds must be 1..200, not '$R'"
[[ $S =~ ^[0-9]+$ ]] && (( S >= 1 && S <= 60 )) || die "SECONDS_PER must be 1..60, not '$S'"
PAIR=${PAIR:-restgate static}
read -r -a targets <<<"$PAIR"
(( ${#targets[@]} == 2 )) || die "PAIR names two targets, not '$PAIR'"
backend_port=${BACKEND_PORT:-50081}
port_base=${PORT_BASE:-8081}
logs=$(mktemp -d /tmp/restgate-pairs.XXXXXX)
log_filter=restgate::access
BODY='{"displayName":"bench","email":"b@example.com"}'

need_commands wrk curl
build_release --bin restgate --example static_proxy --example example_service || exit 1

# cpu_ns PID: the CPU time of every thread of PID so far, in nanoseconds.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
# user_sys PID: the process's user and system time so far, in clock ticks ("U S").
user_sys() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }

# wrk_args KIND PORT: the wrk arguments and URL of one kind.
wrk_args() {
  local base=http://127.0.0.1:$2/v1/users
  case $1 in
    post) echo "-s $here/load/post.lua $base" ;;
    put) echo "-s $here/load/put.lua $base/1" ;;
    get) echo "$base/1" ;;
  esac
}

names=() gw_pids=() ports=()
for i in 0 1; do
  t=${targets[$i]} port=$((port_base + i)) backend=127.0.0.1:$((backend_port + i)) bin=$rel/restgate
  name=$t
  if [[ $t == restgate@*=* ]]; then bin=${t#*=}; name=${t%%=*}; t=restgate; fi
  case $t in
    restgate) cmd=("$bin" serve --upstream "http://$backend" --listen "127.0.0.1:$port") ;;
    # What observability costs, as in benches/load.sh.
    restgate-nolog) cmd=("$bin" serve --upstream "http://$backend" --listen "127.0.0.1:$port" --access-log=false) ;;
    restgate-quiet) cmd=("$bin" serve --upstream "http://$backend" --listen "127.0.0.1:$port" --access-log=false --metrics=false) ;;
    static) cmd=("$rel/examples/static_proxy" --upstream "http://$backend" --listen "127.0.0.1:$port") ;;
    *) die "unknown target '$t' (known: restgate restgate-nolog restgate-quiet static restgate@LABEL=BINARY)" ;;
  esac
  start "backend-$name" "$backend" "$rel/examples/example_service" "$backend" || exit 1
  start "$name" "127.0.0.1:$port" "${cmd[@]}" || exit 1
  names+=("$name"); gw_pids+=("$started"); ports+=("$port")
  base=http://127.0.0.1:$port/v1/users
  note "$name: ${cmd[*]#"$root"/}; seed PUT -> $(status_of PUT "$base/1" "$BODY"), POST -> $(status_of POST "$base" "$BODY"), GET -> $(status_of GET "$base/1")"
done

rev=$(revision)
run_date=$(date -u '+%Y-%m-%d %H:%MZ')
invocation="${PAIR:+PAIR=\"$PAIR\" }SECONDS_PER=$S benches/pairs.sh $R"
note "$(date -u +%FT%TZ) $(nproc) cores, $(uname -sr); restgate $rev; $R rounds of wrk -t1 -c16 -d${S}s per target and kind; logs in $logs"

rows=()
for kind in post put get; do
  for i in 0 1; do
    # shellcheck disable=SC2046 # wrk_args is split on purpose
    timeout 30 wrk -t1 -c16 -d2s $(wrk_args "$kind" "${ports[$i]}") >/dev/null 2>&1
  done
  for r in $(seq 1 "$R"); do
    order="0 1"; (( r % 2 == 0 )) && order="1 0"
    per=() user=()
    for i in $order; do
      c0=$(cpu_ns "${gw_pids[$i]}"); t0=$(user_sys "${gw_pids[$i]}")
      # shellcheck disable=SC2046
      out=$(timeout $((S + 30)) wrk -t1 -c16 -d"${S}s" $(wrk_args "$kind" "${ports[$i]}") 2>&1)
      c1=$(cpu_ns "${gw_pids[$i]}"); t1=$(user_sys "${gw_pids[$i]}")
      reqs=$(awk '/requests in/{print $1}' <<<"$out")
      non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
      per[$i]=$(awk -v a="$c0" -v b="$c1" -v n="${reqs:-0}" 'BEGIN{printf "%.2f", (b-a)/1000/(n>0?n:1)}')
      # The user share of that time, from the (coarser) tick counts.
      user[$i]=$(awk -v t0="$t0" -v t1="$t1" -v c="${per[$i]}" 'BEGIN{split(t0, a, " "); split(t1, b, " ");
        u = b[1] - a[1]; k = b[2] - a[2]; printf "%.2f", (u + k > 0) ? c * u / (u + k) : 0}')
      printf '%-3s round %-3s %-16s %9s requests  cpu/req %7s us (user %6s)  non2xx %s\n' \
        "$kind" "$r" "${names[$i]}" "${reqs:-?}" "${per[$i]}" "${user[$i]}" "${non2xx:-0}"
    done
    rows+=("$kind ${per[0]} ${per[1]} ${user[0]} ${user[1]}")
  done
done

[[ ${MARKDOWN:-1} == 1 ]] || exit 0
echo
echo "Run of $run_date (restgate $rev), \`$invocation\`, ${S} s per measurement, $R rounds:"
echo
echo "| kind | ${names[0]} cpu/req (median) | ${names[1]} cpu/req (median) | ${names[0]} / ${names[1]}, median of the rounds' ratios | lowest–highest round | user time per request (medians) |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}" | awk '
  function median(list, m,   i, j, x) {
    for (i = 2; i <= m; i++) { x = list[i]; for (j = i - 1; j >= 1 && list[j] > x; j--) list[j + 1] = list[j]; list[j + 1] = x }
    return (m % 2) ? list[(m + 1) / 2] : (list[m / 2] + list[m / 2 + 1]) / 2
  }
  { k = $1; n = ++count[k]; a[k, n] = $2; b[k, n] = $3; ua[k, n] = $4; ub[k, n] = $5
    q[k, n] = ($3 > 0) ? $2 / $3 : 0; if (n == 1) order[++kinds] = k }
  END {
    for (o = 1; o <= kinds; o++) {
      k = order[o]; m = count[k]
      lo = 1e9; hi = 0
      for (i = 1; i <= m; i++) {
        x[i] = a[k, i]; y[i] = b[k, i]; z[i] = q[k, i]; v[i] = ua[k, i]; w[i] = ub[k, i]
        if (z[i] < lo) lo = z[i]; if (z[i] > hi) hi = z[i]
      }
      printf "| %s | %.1f µs | %.1f µs | %.2f× | %.2f–%.2f× | %.1f / %.1f µs |\n", toupper(k), median(x, m), median(y, m), median(z, m), lo, hi, median(v, m), median(w, m)
    }
  }'
