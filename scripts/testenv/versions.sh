# Pinned versions of the real control-plane parts the tests run against.
# Sourced by the other testenv scripts; change a version here and the cache key changes with it.
K8S_VERSION="${SERIN_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${SERIN_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${SERIN_KWOK_VERSION:-v0.8.0}"
# Binaries live outside the repo so a fresh clone reuses them and nothing large is ever committed.
SERIN_CACHE="${SERIN_CACHE:-$HOME/.cache/serin-testenv}"
BIN_DIR="$SERIN_CACHE/bin-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
# Istio's control plane (istiod = pilot-discovery, istioctl) from the Go module proxy, which serves
# istio.io/istio as pseudo-versions only; built by build-istio.sh with our xDS bridge in one module.
ISTIO_VERSION="${SERIN_ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
ISTIO_BIN_DIR="$SERIN_CACHE/bin-istio-$ISTIO_VERSION"
# The bridge is our own source: its binary name carries a hash of it, so an edit means a rebuild.
XDS_BRIDGE_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/test/mesh/xds-bridge/main.go"
XDS_BRIDGE_BIN="$ISTIO_BIN_DIR/serin-xds-bridge-$(sha256sum "$XDS_BRIDGE_SRC" | cut -c1-12)"
# Helm (the chart in charts/serin is rendered, linted and installed by the tests with it), built from
# the helm.sh/helm/v3 Go module by build-helm.sh; no release tarball.
HELM_VERSION="${SERIN_HELM_VERSION:-v3.22.0}"
HELM_BIN_DIR="$SERIN_CACHE/bin-helm-$HELM_VERSION"
