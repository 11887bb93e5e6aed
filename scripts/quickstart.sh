#!/usr/bin/env bash
# Quickstart: a one-shot staged rollout of the example fleet
# (examples/repo-layout, read from this repository's HEAD commit) onto
# directory clusters — the embedded default, no Kubernetes needed.
# Then shows what each cluster got and what the state store remembers.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in pkg-config libssl-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "[quickstart] installing ${need[*]} (needed to build git2)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >&2
fi

cargo build --release --quiet
TRANCHE=target/release/tranche
OUT=${TRANCHE_QUICKSTART_DIR:-.tranche/quickstart}
mkdir -p "$OUT"

echo "== tranche validate examples/repo-layout"
$TRANCHE validate examples/repo-layout
echo
echo "== tranche plan (directory clusters under $OUT/clusters)"
set +e
$TRANCHE plan examples/repo-layout --clusters-dir "$OUT/clusters" | tail -n 15
set -e
echo
echo "== tranche apply: staged 1:2:7 rollout"
$TRANCHE apply examples/repo-layout --clusters-dir "$OUT/clusters" --state-dir "$OUT/state"
echo
echo "== tranche status"
$TRANCHE status --state-dir "$OUT/state"
echo
echo "Each cluster's applied objects are under $OUT/clusters/<cluster>/."
echo "Run the apply again: nothing changes (every cluster already runs this commit)."
