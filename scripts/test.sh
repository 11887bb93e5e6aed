#!/usr/bin/env bash
# The test command: installs what the tests need (system packages, real
# Kubernetes builds — cached after the first run), then runs every test.
# Tests that touch clusters start their own etcd + control planes on
# loopback (tests/support) and stop them at the end.
#
# Kubernetes: the current release (scripts/build-k8s.sh: kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd 3.6, kwok) always; v1.20's
# kube-apiserver (scripts/build-apiserver.sh) when TRANCHE_K8S selects it
# (default: all; TRANCHE_K8S=current skips the 1.20 tests and that build).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# prometheus: Debian's package, started on loopback by the analysis tests (tests/analysis.rs).
for p in pkg-config libssl-dev git openssl curl chromium chromium-driver prometheus; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "[test] installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >&2
fi

started=$SECONDS
TRANCHE_K8S_BIN=$(bash scripts/build-k8s.sh)
export TRANCHE_K8S_BIN
case ",${TRANCHE_K8S:-all}," in
  *,all,* | *,1.20,* | *,v1.20,* | *,v1.20.2,* | *,oldest,*)
    TRANCHE_KUBE_APISERVER=$(bash scripts/build-apiserver.sh)
    export TRANCHE_KUBE_APISERVER
    ;;
esac
echo "[test] Kubernetes binaries ready in $((SECONDS - started)) s" >&2

# kustomize and helm for the Kustomize and Helm app tests (tests/kustomize.rs):
# built from the Go module proxy on the first run (cached under
# ~/.cache/tranche-tools; versions in scripts/versions.env).
TRANCHE_TOOLS_BIN=$(bash scripts/build-tools.sh)
export TRANCHE_TOOLS_BIN

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
