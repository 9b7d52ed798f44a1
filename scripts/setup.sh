#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine, idempotently:
# npm packages, Debian's prometheus and openssl, and the control-plane binaries (built once, cached).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v openssl >/dev/null || need_apt+=(openssl)
# the dashboard's browser test (test/e2e/dashboard.test.ts) drives Debian's chromium
command -v chromium >/dev/null || need_apt+=(chromium)
if [[ ${#need_apt[@]} -gt 0 ]]; then
  echo "setup: installing ${need_apt[*]} from Debian"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Debian's package may start a system Prometheus on :9090; the tests run their own on random ports.

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

bash scripts/testenv/build-binaries.sh
# helm, to render, lint and install charts/serin in the tests (test/unit/chart, test/e2e/install).
bash scripts/testenv/build-helm.sh
# istiod (pilot-discovery), istioctl and the xDS bridge of the simulated sidecars (test/mesh/xds-bridge).
bash scripts/testenv/build-istio.sh
