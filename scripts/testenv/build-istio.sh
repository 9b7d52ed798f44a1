#!/usr/bin/env bash
# Builds Istio's control plane (pilot-discovery = istiod, and istioctl) from the Go module proxy, plus our
# own xDS bridge (test/mesh/xds-bridge: simulated sidecars that follow istiod's xDS with Istio's own
# client), all in one wrapper module, and caches them outside the repo like build-binaries.sh.
#
# istio.io/istio has no replace directives, so a plain wrapper module that requires it works; the bridge
# is compiled in the same module so it shares istiod's exact Envoy API and Istio versions.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"

missing=()
for b in "$ISTIO_BIN_DIR/istioctl" "$ISTIO_BIN_DIR/pilot-discovery" "$XDS_BRIDGE_BIN"; do
  [[ -x "$b" ]] || missing+=("$(basename "$b")")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "testenv: istio binaries cached in $ISTIO_BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "testenv: Go is required to build istiod (apt-get install golang or use the machine's Go)" >&2; exit 1; }

started=$(date +%s)
mkdir -p "$ISTIO_BIN_DIR"
dir="$SERIN_CACHE/build/istio-$ISTIO_VERSION"
mkdir -p "$dir/cmd/serin-xds-bridge"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=mod"

if [[ ! -f "$dir/go.mod" ]] || ! grep -q "istio.io/istio $ISTIO_VERSION" "$dir/go.mod"; then
  gomod="$(cd "$dir" && go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  goversion="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod")"
  printf 'module serin.dev/testenv/istio\n\ngo %s\n\nrequire istio.io/istio %s\n' "$goversion" "$ISTIO_VERSION" >"$dir/go.mod"
  rm -f "$dir/go.sum"
fi
cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
	_ "istio.io/istio/pilot/cmd/pilot-discovery"
)
GO
cp "$XDS_BRIDGE_SRC" "$dir/cmd/serin-xds-bridge/main.go"
(cd "$dir" && go mod tidy -e >"$dir/tidy.log" 2>&1 || true)

istio_dir="$(cd "$dir" && go list -m -f '{{.Dir}}' istio.io/istio)"
release="$(cat "$istio_dir/VERSION")-dev" # what istio's own Makefile stamps on a dev build, e.g. 1.31-dev
revision="${ISTIO_VERSION##*-}"
vflags="-X istio.io/istio/pkg/version.buildVersion=$release -X istio.io/istio/pkg/version.buildGitRevision=$revision -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$ISTIO_VERSION -X istio.io/istio/pkg/version.buildHub=serin-testenv"

for cmd in istioctl pilot-discovery; do
  [[ -x "$ISTIO_BIN_DIR/$cmd" ]] && continue
  pkg="istio.io/istio/pilot/cmd/$cmd"
  [[ $cmd == istioctl ]] && pkg="istio.io/istio/istioctl/cmd/istioctl"
  echo "testenv: building $cmd $release ($ISTIO_VERSION; first run only, ~4 min cold on 2 cores)"
  (cd "$dir" && go build -trimpath -ldflags "-s -w $vflags" -o "$ISTIO_BIN_DIR/$cmd.tmp" "$pkg")
  mv "$ISTIO_BIN_DIR/$cmd.tmp" "$ISTIO_BIN_DIR/$cmd"
done

if [[ ! -x "$XDS_BRIDGE_BIN" ]]; then
  echo "testenv: building $(basename "$XDS_BRIDGE_BIN") (test/mesh/xds-bridge/main.go changed or first run)"
  (cd "$dir" && go vet ./cmd/serin-xds-bridge)
  (cd "$dir" && go build -trimpath -ldflags "-s -w -X main.istioVersion=$release" -o "$XDS_BRIDGE_BIN.tmp" ./cmd/serin-xds-bridge)
  mv "$XDS_BRIDGE_BIN.tmp" "$XDS_BRIDGE_BIN"
  # Older builds of the bridge are dead weight (~40 MB each).
  for old in "$ISTIO_BIN_DIR"/serin-xds-bridge-*; do
    [[ "$old" == "$XDS_BRIDGE_BIN" ]] || rm -f "$old"
  done
fi
echo "testenv: built ${missing[*]} in $(( $(date +%s) - started ))s into $ISTIO_BIN_DIR"
