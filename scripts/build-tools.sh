#!/usr/bin/env bash
# Builds the renderers tranche calls for Kustomize and Helm apps — kustomize
# and helm — from the Go module proxy, and caches them. Prints the directory
# holding the binaries (`kustomize`, `helm`).
#
# tranche does not bundle them: users install their own and tranche finds them
# on PATH (or via $TRANCHE_KUSTOMIZE / $TRANCHE_HELM). The tests use these pinned builds.
#
# Cache: $TRANCHE_TOOLS_CACHE (default ~/.cache/tranche-tools)/<name>-<version>/;
# each binary is skipped when present. Versions: scripts/versions.env.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
ROOT="${TRANCHE_TOOLS_CACHE:-$HOME/.cache/tranche-tools}"
OUT="$ROOT/bin-kustomize-$KUSTOMIZE_VERSION-helm-$HELM_VERSION"
log() { echo "[build-tools] $*" >&2; }
mkdir -p "$OUT"
# One build at a time per cache (tests, helpers and CI may call this together).
exec 9>"$ROOT/.build-tools.lock"
flock 9
export GOTOOLCHAIN=local
export GOCACHE="${GOCACHE:-$ROOT/go-build}" GOMODCACHE="${GOMODCACHE:-$ROOT/go-mod}"

install_tool() { # name module@version [extra ldflags]
  local name=$1 pkg=$2 ld=${3:-}
  [ -x "$OUT/$name" ] && return 0
  command -v go >/dev/null || { log "Go is not on PATH (needed to build $name)"; exit 1; }
  log "go install $pkg"
  local bin="$ROOT/gobin-$name"
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS= go install -ldflags "-s -w $ld" "$pkg"
  mv "$bin/$name" "$OUT/$name.tmp"
  mv "$OUT/$name.tmp" "$OUT/$name"
}

install_tool kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
# helm's version is set by its release build's ldflags (else it says `v3.22`)
install_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
echo "$OUT"
