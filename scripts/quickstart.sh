#!/usr/bin/env bash
# Quickstart: the daemon (`tranche run`) watching a temporary git copy of
# examples/repo-layout and deploying it to 12 directory clusters (no
# Kubernetes needed; kustomize and helm for two of its apps). Four commits, each followed in the terminal and in
# the web view: the first deploy, an image bump, a bad commit that is
# rolled back, and its `git revert`. Then the daemon is stopped (SIGTERM to
# the one PID this script started).
#
# Environment: TRANCHE_QUICKSTART_DIR (default .tranche/quickstart, emptied
# first), TRANCHE_QUICKSTART_PORT (default 8080), TRANCHE_BIN (use this
# binary instead of building target/release/tranche).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in pkg-config libssl-dev git curl; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "[quickstart] installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >&2
fi

if [ -n "${TRANCHE_BIN:-}" ]; then
  TRANCHE=$(realpath "$TRANCHE_BIN")
else
  cargo build --release --quiet
  TRANCHE=$PWD/target/release/tranche
fi
# The example's kustomize app (catalog) and Helm chart app (reviews) are
# rendered by the real tools, which tranche does not bundle: kustomize and
# helm on PATH (or $TRANCHE_KUSTOMIZE / $TRANCHE_HELM), else the pinned
# versions built by scripts/build-tools.sh (needs Go; cached under
# ~/.cache/tranche-tools, a few minutes the first time).
have() { [ -n "${2:-}" ] || command -v "$1" >/dev/null 2>&1; }
if ! have kustomize "${TRANCHE_KUSTOMIZE:-}" || ! have helm "${TRANCHE_HELM:-}"; then
  echo "[quickstart] kustomize or helm not on PATH: scripts/build-tools.sh" >&2
  TOOLS=$(bash scripts/build-tools.sh)
  export TRANCHE_KUSTOMIZE="${TRANCHE_KUSTOMIZE:-$TOOLS/kustomize}" TRANCHE_HELM="${TRANCHE_HELM:-$TOOLS/helm}"
fi
OUT=${TRANCHE_QUICKSTART_DIR:-.tranche/quickstart}
PORT=${TRANCHE_QUICKSTART_PORT:-8080}
URL=http://127.0.0.1:$PORT
rm -rf "$OUT" && mkdir -p "$OUT" && OUT=$(realpath "$OUT")
FLEET=$OUT/fleet
LOG=$OUT/daemon.log

# A git repository holding a copy of the example fleet.
cp -r examples/repo-layout "$FLEET"
git -C "$FLEET" init -q -b main
git -C "$FLEET" config user.name "Quick Start"
git -C "$FLEET" config user.email "quickstart@example.com"
commit() { git -C "$FLEET" add -A && git -C "$FLEET" commit -q -m "$1" && git -C "$FLEET" rev-parse HEAD; }
FIRST=$(commit "Fleet: 8 apps on 12 clusters")

echo "== tranche run: the daemon, watching $FLEET (branch main)"
"$TRANCHE" run --repo "$FLEET" --clusters-dir "$OUT/clusters" --state-dir "$OUT/state" \
  --listen "127.0.0.1:$PORT" --poll-interval 1s >"$LOG" 2>&1 &
PID=$!
echo "$PID" >"$OUT/daemon.pid"
stop() {
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" && wait "$PID" || true
    echo "== daemon stopped (pid $PID)"
  fi
}
trap stop EXIT
for _ in $(seq 100); do
  curl -fs "$URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG"; exit 2; }
  sleep 0.2
done
echo "   web view: $URL/   (status JSON: $URL/api/status)"

# Prints the daemon's log lines about the rollout of $1 until it has ended.
shown=0
follow() {
  local sha=$1 status
  for _ in $(seq 300); do
    status=$(curl -fs "$URL/api/status" || true)
    print_log
    if [[ $status == *"\"last\":{\"commit\":\"$sha\""* ]]; then print_log; return 0; fi
    sleep 0.2
  done
  echo "the rollout of $sha did not end in 60 s" >&2
  exit 1
}
print_log() {
  local lines
  lines=$(wc -l <"$LOG")
  if [ "$lines" -gt "$shown" ]; then
    sed -n "$((shown + 1)),${lines}p" "$LOG" | grep -v 'serving HTTP' | sed -E 's/^[0-9T:.Z-]+ +/   /'
    shown=$lines
  fi
}

echo
echo "== 1. the first commit: the whole fleet (8 apps on 12 clusters)"
follow "$FIRST"

echo
echo "== 2. storefront 1.42.0 -> 1.43.0"
sed -i 's/storefront:1.42.0/storefront:1.43.0/' "$FLEET/apps/storefront/manifests/storefront.yaml"
follow "$(commit "storefront 1.43.0")"

echo
echo "== 3. a bad commit"
# Someone created a ConfigMap by hand on prod-ap-south-2 (batch 2). This
# writes it into that directory cluster, as kubectl would on a real one.
HAND=$OUT/clusters/prod-ap-south-2/core/ConfigMap/shop-config/feature-flags.yaml
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-flags\n  namespace: shop-config\ndata:\n  new-checkout: "false"\n' >"$HAND"
echo "   (a ConfigMap shop-config/feature-flags made by hand on prod-ap-south-2)"
# The commit defines an object of that name: tranche never takes over an
# object it does not manage, so batch 2 fails and batches 1-2 go back.
cat >"$FLEET/apps/shop-config/manifests/feature-flags.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: feature-flags
  namespace: shop-config
data:
  new-checkout: "true"
EOF
sed -i 's/Spring sale: free shipping over 50/Summer sale: free shipping over 40/' "$FLEET/apps/shop-config/manifests/settings.yaml"
BAD=$(commit "shop-config: feature flags, summer banner")
follow "$BAD"

echo
echo "== 4. git revert of the bad commit (every cluster already runs the old state)"
git -C "$FLEET" revert --no-edit "$BAD" >/dev/null
follow "$(git -C "$FLEET" rev-parse HEAD)"

echo
echo "== the web view shows these rollouts at $URL/"
if [ -t 0 ] && [ -t 1 ]; then
  read -r -p "   press Enter to stop the daemon " _ || true
fi
stop
trap - EXIT
echo
echo "== tranche status (what the state directory remembers)"
"$TRANCHE" status --state-dir "$OUT/state"
echo
echo "Each cluster's objects are under $OUT/clusters/<cluster>/; the daemon's log is $LOG."
