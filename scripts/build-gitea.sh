#!/usr/bin/env bash
# Builds Gitea (the real forge the daemon's forge tests run against) from the
# Go module proxy, and caches it. Prints the directory holding `gitea` and
# `static-root` (the path Gitea's [server] STATIC_ROOT_PATH must name).
#
# Why the wrapper module: code.gitea.io/gitea's go.mod has `replace` lines,
# which `go install …@version` refuses. A module of our own requires it and
# copies those replace lines (none of them is local).
#
# Why STATIC_ROOT_PATH: without the `bindata` tag (which needs code
# generation) Gitea reads its locales, templates and static files from disk;
# the downloaded module directory has them.
#
# Cache: $TRANCHE_GITEA_CACHE (default ~/.cache/tranche-gitea)/<version>/;
# skipped when the binary is there. Version: scripts/versions.env.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
ROOT="${TRANCHE_GITEA_CACHE:-$HOME/.cache/tranche-gitea}"
OUT="$ROOT/$GITEA_VERSION"
log() { echo "[build-gitea] $*" >&2; }

ready() { [ -x "$OUT/gitea" ] && [ -s "$OUT/static-root" ] && [ -d "$(cat "$OUT/static-root")/options/locale" ]; }
if ready; then
  echo "$OUT"
  exit 0
fi

need=()
for p in gcc libc6-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (cgo, for sqlite)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${need[@]}" >&2
fi
command -v go >/dev/null || { log "go (≥ 1.25) is required on PATH"; exit 1; }

mkdir -p "$OUT"
# One build at a time per cache (tests, helpers and CI may call this together).
exec 9>"$ROOT/.build-gitea.lock"
flock 9
if ready; then
  echo "$OUT"
  exit 0
fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
export GOCACHE="${GOCACHE:-$ROOT/go-build}" GOMODCACHE="$ROOT/go-mod"

mod="$ROOT/wrap-gitea-$GITEA_VERSION"
mkdir -p "$mod"
log "resolving code.gitea.io/gitea@$GITEA_VERSION"
dir=$(cd "$mod" && go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
[ -f "$dir/go.mod" ] || { log "no go.mod for code.gitea.io/gitea@$GITEA_VERSION"; exit 1; }
if [ ! -f "$mod/.ready" ]; then
  {
    echo "module tranche.dev/gitea-wrapper"
    echo
    echo "go 1.26"
    echo
    echo "require code.gitea.io/gitea $GITEA_VERSION"
    echo
    # single-line `replace a => b v` and the lines of a `replace ( … )` block
    awk '
      /^replace[ \t]*\(/ { block = 1; next }
      block && /^\)/ { block = 0; next }
      block && /=>/ { print "replace " $0; next }
      /^replace[ \t]+[^(]/ { print; next }
    ' "$dir/go.mod" | sed 's/[ \t]*\/\/.*$//'
  } >"$mod/go.mod"
  if grep -E '=> *\.' "$mod/go.mod" >&2; then
    log "Gitea's go.mod has local replace lines: this recipe cannot build it"
    exit 1
  fi
  (cd "$mod" && go get "code.gitea.io/gitea@$GITEA_VERSION" >&2)
  touch "$mod/.ready"
fi

log "go build gitea $GITEA_VERSION (≈ 9 min cold on 2 cores)"
(cd "$mod" && CGO_ENABLED=1 go build -tags 'sqlite sqlite_unlock_notify' \
  -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -o "$OUT/gitea.tmp" code.gitea.io/gitea)
mv "$OUT/gitea.tmp" "$OUT/gitea"
echo "$dir" >"$OUT/static-root"
echo "$OUT"
