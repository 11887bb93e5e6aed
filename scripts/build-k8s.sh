#!/usr/bin/env bash
# Builds the current Kubernetes release (kube-apiserver, kube-controller-manager,
# kube-scheduler), etcd 3.6 and kwok from the Go module proxy, and caches them.
# Prints the directory holding the binaries.
#
# Why the wrapper module: k8s.io/kubernetes' go.mod replaces its staging modules
# with ./staging paths, so `go install …@version` refuses it. A module of our
# own requires it and replaces each staging module with the published one of
# the same release (v1.MINOR.PATCH → v0.MINOR.PATCH).
#
# Cache: $TRANCHE_K8S_CACHE (default ~/.cache/tranche-k8s)/<version>/; each
# binary is skipped when present. Versions: scripts/versions.env.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
ROOT="${TRANCHE_K8S_CACHE:-$HOME/.cache/tranche-k8s}"
OUT="$ROOT/$K8S_CURRENT"
log() { echo "[build-k8s] $*" >&2; }
mkdir -p "$OUT"
# One build at a time per cache (tests, helpers and CI may call this together).
exec 9>"$ROOT/.build-k8s.lock"
flock 9
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
export GOCACHE="${GOCACHE:-$ROOT/go-build}" GOMODCACHE="${GOMODCACHE:-$ROOT/go-mod}"

have() { [ -x "$OUT/$1" ]; }

missing_any() {
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok; do have "$b" || return 0; done
  return 1
}
if missing_any; then
  command -v go >/dev/null || { log "Go (>= 1.26, k8s.io/kubernetes $K8S_CURRENT needs it) is not on PATH"; exit 1; }
fi

build_kubernetes() {
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler) missing=()
  for c in "${cmds[@]}"; do have "$c" || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local mod="$ROOT/wrap-kubernetes-$K8S_CURRENT"
  mkdir -p "$mod"
  if [ ! -f "$mod/.ready" ]; then
    log "resolving k8s.io/kubernetes@$K8S_CURRENT (module download ≈ 1 min)"
    local dir
    dir=$(cd "$mod" && go mod download -json "k8s.io/kubernetes@$K8S_CURRENT" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
    [ -f "$dir/go.mod" ] || { log "no go.mod for k8s.io/kubernetes@$K8S_CURRENT"; exit 1; }
    local pub="v0.${K8S_CURRENT#v1.}"
    {
      echo "module tranche.dev/k8s-wrapper"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes $K8S_CURRENT"
      echo
      # every `k8s.io/x => ./staging/src/k8s.io/x` becomes the published module
      grep -E '^\s*k8s\.io/[A-Za-z0-9._/-]+ => \./staging/' "$dir/go.mod" |
        awk -v v="$pub" '{print "replace " $1 " => " $1 " " v}'
    } >"$mod/go.mod"
    (cd "$mod" && for c in "${cmds[@]}"; do go get "k8s.io/kubernetes/cmd/$c@$K8S_CURRENT" >&2; done)
    touch "$mod/.ready"
  fi
  local minor=${K8S_CURRENT#v1.}; minor=${minor%%.*}
  local V=k8s.io/component-base/version
  local ld="-s -w -X $V.gitVersion=$K8S_CURRENT -X $V.gitMajor=1 -X $V.gitMinor=$minor"
  for c in "${missing[@]}"; do
    log "go build $c $K8S_CURRENT (kube-apiserver ≈ 12 min cold on 2 cores)"
    (cd "$mod" && go build -ldflags "$ld" -o "$OUT/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$OUT/$c.tmp" "$OUT/$c"
  done
}

build_etcd() {
  have etcd && return 0
  local mod="$ROOT/wrap-etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.mod" ]; then
    printf 'module tranche.dev/etcd-wrapper\n\ngo 1.26\n' >"$mod/go.mod"
    (cd "$mod" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2)
  fi
  log "go build etcd $ETCD_VERSION"
  (cd "$mod" && go build -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

build_kwok() {
  have kwok && return 0
  log "go install kwok $KWOK_VERSION"
  local bin="$ROOT/gobin-kwok"
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS= go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$bin/kwok" "$OUT/kwok"
}

build_etcd
build_kwok
build_kubernetes
echo "$OUT"
