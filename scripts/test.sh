#!/usr/bin/env bash
# The test command: installs what the tests need (system packages, the real
# kube-apiserver build — cached after the first run), then runs every test.
# Tests that touch clusters start their own etcd + kube-apiservers on
# loopback (tests/support) and stop them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for p in pkg-config libssl-dev git openssl curl chromium chromium-driver; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "[test] installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >&2
fi

# Real kube-apiserver v1.20 from Debian's source package (see the script).
TRANCHE_KUBE_APISERVER=$(bash scripts/build-apiserver.sh)
export TRANCHE_KUBE_APISERVER

# Real Gitea for the forge tests (tests/gitea.rs): built from the Go module
# proxy on the first run (≈ 9 min on 2 cores, cached under ~/.cache/tranche-gitea).
TRANCHE_GITEA=$(bash scripts/build-gitea.sh)
export TRANCHE_GITEA

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
  # nextest does not run doctests
  cargo test --doc --quiet
else
  cargo test --no-fail-fast "$@"
fi
