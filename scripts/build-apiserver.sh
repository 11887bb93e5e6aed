#!/usr/bin/env bash
# Builds a REAL kube-apiserver (v1.20.2) offline from Debian bookworm's
# `kubernetes` source package, and caches it. Prints the binary's path.
#
# Why: no container images or release binaries can be fetched on these
# machines, but Debian ships the full Kubernetes tree with vendor/ and Go.
# v1.20 is the oldest supported release: the tests of what differs there
# (tests/versions.rs) run against this binary, with the etcd 3.6 that
# scripts/build-k8s.sh builds. Its /version reports no version (the ldflags
# do not reach Debian's tree), which tranche's driver handles.
#
# Cache: $TRANCHE_K8S_CACHE (default ~/.cache/tranche-k8s/<version>/).
set -euo pipefail

. "$(dirname "$0")/versions.env"
VERSION="$K8S_OLDEST_DEB"
CACHE="${TRANCHE_K8S_CACHE:-$HOME/.cache/tranche-k8s}/${VERSION}"
BIN="$CACHE/kube-apiserver"
log() { echo "[build-apiserver] $*" >&2; }

need_pkgs=()
for p in golang-1.19-go rsync golang-github-modern-go-reflect2-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
# One build at a time (tests and CI may call this together); the winner builds.
exec 9>"$CACHE/.build.lock"
flock 9
if [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tranche-k8s-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. Source package (deb-src entry mirroring the machine's Debian source).
SRCLIST=/etc/apt/sources.list.d/tranche-deb-src.sources
if ! grep -rqs "deb-src" /etc/apt/sources.list.d/ /etc/apt/sources.list; then
  src=$(ls /etc/apt/sources.list.d/*.sources | head -1)
  log "adding deb-src entry from $src"
  awk 'BEGIN{RS="";ORS="\n\n"} /Suites: bookworm( |$)/ {sub(/Types: deb/,"Types: deb-src"); print}' "$src" > "$SRCLIST"
  apt-get update -qq >&2
fi
cd "$WORK"
log "downloading source package kubernetes=$VERSION"
apt-get source --download-only "kubernetes=$VERSION" >&2
tar xf kubernetes_*.orig.tar.* >&2
TREE=$(find "$WORK" -maxdepth 1 -mindepth 1 -type d -name 'kubernetes*' | head -1)
[ -d "$TREE/vendor" ] || { log "unexpected source layout in $WORK"; exit 1; }

# 2. Go >= 1.18 needs reflect2 1.0.2 (vendored 1.0.1 crashes in mapiternext).
R2=$(dpkg -L golang-github-modern-go-reflect2-dev | grep '/reflect2.go$' | head -1 | xargs dirname)
rm -rf "$TREE/vendor/github.com/modern-go/reflect2"
mkdir -p "$TREE/vendor/github.com/modern-go/reflect2"
find "$R2" -maxdepth 1 -type f -name '*.go' ! -name '*_test.go' -exec cp {} "$TREE/vendor/github.com/modern-go/reflect2/" \;
find "$R2" -maxdepth 1 -type f -name '*.s' -exec cp {} "$TREE/vendor/github.com/modern-go/reflect2/" \; || true

# 3. GOPATH-style build.
export GOPATH="$WORK/gopath"
mkdir -p "$GOPATH/src/k8s.io"
ln -s "$TREE" "$GOPATH/src/k8s.io/kubernetes"
export PATH="/usr/lib/go-1.19/bin:$PATH"
export GO111MODULE=off GOFLAGS= GOCACHE="$WORK/gocache"
cd "$GOPATH/src/k8s.io/kubernetes"
log "make gen_openapi"
make gen_openapi >&2
V=k8s.io/kubernetes/vendor/k8s.io/component-base/version
log "go build kube-apiserver (several minutes on 2 cores)"
go build -o "$WORK/kube-apiserver" \
  -ldflags "-X $V.gitVersion=v1.20.2 -X $V.gitMajor=1 -X $V.gitMinor=20" \
  k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$WORK/kube-apiserver" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
log "built $BIN"
echo "$BIN"
