# Helpers shared by the bench scripts (benches/*.sh), sourced as `. "$(dirname "$0")/lib.sh"`
# after `set -u -o pipefail`. Sourcing it sets:
#   bench   the script's name, for messages ("load.sh: ...")
#   root    the repository; here: benches/; rel: the release build directory
#   pids    the background processes `start` started; `cleanup` stops them all, and so does the
#           EXIT trap, which then removes the directories listed in `removed_at_exit`
# Every function is safe under `set -e`. Everything a script starts binds 127.0.0.1.

bench=$(basename "$0")
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$root/benches
rel=${CARGO_TARGET_DIR:-$root/target}/release
TCK=$(getconf CLK_TCK)

pids=()
removed_at_exit=()
# cleanup: stops every process `start` started (or the script added to pids) and waits for them.
cleanup() {
  local p
  for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null || :; done
  for p in "${pids[@]+"${pids[@]}"}"; do wait "$p" 2>/dev/null || :; done
  pids=()
}
bench_exit() {
  cleanup
  local d
  for d in "${removed_at_exit[@]+"${removed_at_exit[@]}"}"; do rm -rf "$d"; done
}
trap bench_exit EXIT
trap 'exit 130' INT TERM

# stop PID: stops one process and forgets it.
stop() {
  kill "$1" 2>/dev/null || :
  wait "$1" 2>/dev/null || :
  local keep=() p
  for p in "${pids[@]+"${pids[@]}"}"; do [[ $p != "$1" ]] && keep+=("$p"); done
  pids=("${keep[@]+"${keep[@]}"}")
}

note() { echo "# $*"; }
die() { echo "$bench: $*" >&2; exit 1; }

# need_commands CMD...: installs the Debian packages of the same names with apt-get when any of the
# commands is missing (sudo when not root).
need_commands() {
  local missing=() c sudo=
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  (( ${#missing[@]} )) || return 0
  (( EUID == 0 )) || sudo=sudo
  command -v apt-get >/dev/null || die "install ${missing[*]} (no apt-get here)"
  note "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# build_release CARGO_BUILD_ARGS...: `cargo build --release` of the repository at low priority,
# unless NO_BUILD=1.
build_release() {
  [[ ${NO_BUILD:-0} == 1 ]] && return 0
  (cd "$root" && nice -n 10 cargo build --release "$@")
}

# revision: the repository's short commit, "+dirty" when the work tree differs from it.
revision() {
  local r
  r=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null) || r='?'
  (cd "$root" && git diff --quiet HEAD 2>/dev/null) || r+=+dirty
  echo "$r"
}

port_open() { (echo >"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

# wait_port ADDR: until ADDR accepts connections, at most 15 s.
wait_port() {
  local i
  for i in $(seq 1 150); do port_open "$1" && return 0; sleep 0.1; done
  echo "$bench: nothing listening on $1 after 15 s" >&2; return 1
}

# wait_ready PID ADDR LOG: until ADDR accepts connections (at most 15 s), or the process dies.
wait_ready() {
  local i
  for i in $(seq 1 150); do
    kill -0 "$1" 2>/dev/null || { echo "$bench: process exited; its log ($3):" >&2; tail -20 "$3" >&2; return 1; }
    port_open "$2" && return 0
    sleep 0.1
  done
  echo "$bench: nothing listening on $2 after 15 s; log ($3):" >&2; tail -20 "$3" >&2; return 1
}

# start NAME ADDR CMD...: starts CMD in the background, its output in $logs/NAME.log (appended;
# without the lines matching $log_filter when that is set, e.g. log_filter=restgate::access), until
# ADDR accepts connections; sets $started (the process id, also added to pids).
start() {
  local name=$1 addr=$2; shift 2
  if port_open "$addr"; then echo "$bench: $addr is already in use" >&2; return 1; fi
  if [[ -n ${log_filter:-} ]]; then
    "$@" > >(grep --line-buffered -v "$log_filter" >>"$logs/$name.log") 2>&1 &
  else
    "$@" >>"$logs/$name.log" 2>&1 &
  fi
  started=$!; pids+=("$started")
  wait_ready "$started" "$addr" "$logs/$name.log"
}

# cpu_ticks PID: the process's CPU time in clock ticks (utime+stime of all its threads); $TCK a second.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12+$13}'; }
# status_kb PID FIELD: a /proc/PID/status figure in kB (VmRSS, VmHWM).
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# field NAME LINE: the value of NAME=... in a key=value summary line (0 when absent).
field() { local v; v=$(grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2); echo "${v:-0}"; }

# status_of METHOD URL [BODY]: the HTTP status code of one request (a JSON BODY when given); the
# reply's body is left in $logs/last-body.
status_of() {
  local data=()
  [[ -n ${3:-} ]] && data=(-H 'Content-Type: application/json' --data-raw "$3")
  curl -s -m 5 -o "$logs/last-body" -w '%{http_code}' -X "$1" "${data[@]+"${data[@]}"}" "$2"
}

# peer_gateway: the path of grpc-gateway built by benches/peer/build.sh (building it when missing).
peer_gateway() {
  local bin=$root/target/peer/bin/grpc-gateway
  [[ -x $bin ]] || bash "$here/peer/build.sh" >&2 || return 1
  echo "$bin"
}
