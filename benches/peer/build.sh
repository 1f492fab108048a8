#!/usr/bin/env bash
# Builds the peer the load benchmark compares restgate with: grpc-gateway as Debian packages it
# (grpc-gateway 1.6.4, Go 1.19, Go's protobuf 1.3, gRPC 1.33), generated from
# benches/peer/users.proto, into target/peer/bin/grpc-gateway. Offline: the Go sources come from
# Debian's packages (GOPATH mode, no module downloads).
#
# Usage: benches/peer/build.sh     (installs the Debian packages when missing; sudo when not root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${PEER_BUILD:-$root/target/peer}
packages=(golang-go protobuf-compiler golang-goprotobuf-dev golang-google-protobuf-dev golang-google-grpc-dev
          golang-google-genproto-dev golang-grpc-gateway golang-github-grpc-ecosystem-grpc-gateway-dev)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
  sudo=(); (( EUID == 0 )) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
googleapis=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
gopath=$out/gopath
rm -rf "$gopath/src/peerpb"
mkdir -p "$gopath/src/peerpb" "$out/bin"
protoc -I "$here" -I "$googleapis" -I /usr/include \
  --go_out=plugins=grpc:"$gopath/src/peerpb" \
  --grpc-gateway_out=logtostderr=true:"$gopath/src/peerpb" \
  "$here/users.proto"
export GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$out/gocache"
(cd "$here/gateway" && go build -o "$out/bin/grpc-gateway" .)
echo "built $out/bin/grpc-gateway ($(go version | awk '{print $3}'), grpc-gateway $(dpkg-query -W -f='${Version}' golang-github-grpc-ecosystem-grpc-gateway-dev))"
