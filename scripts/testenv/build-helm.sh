#!/usr/bin/env bash
# Builds `helm` from the helm.sh/helm/v3 Go module (the module proxy, no release tarball) and caches it
# outside the repo like build-binaries.sh. The tests render, lint and install charts/serin with it.
#
# helm.sh/helm/v3 has no replace directives, so a wrapper module that requires it is enough. The -X
# flags are the ones Helm's own Makefile sets: the version `helm version` prints, and the Kubernetes
# version `helm template`/`helm lint` assume without a cluster (.Capabilities.KubeVersion), derived
# there from the client-go it builds with (major + 1, minor: client-go v0.35 -> Kubernetes 1.35).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"

if [[ -x "$HELM_BIN_DIR/helm" ]]; then
  echo "testenv: helm cached in $HELM_BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "testenv: Go is required to build helm (apt-get install golang or use the machine's Go)" >&2; exit 1; }

started=$(date +%s)
mkdir -p "$HELM_BIN_DIR"
dir="$SERIN_CACHE/build/helm-$HELM_VERSION"
mkdir -p "$dir"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=mod"

if [[ ! -f "$dir/go.mod" ]]; then
  gomod="$(cd "$dir" && go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  goversion="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod")"
  printf 'module serin.dev/testenv/helm\n\ngo %s\n\nrequire helm.sh/helm/v3 %s\n' "$goversion" "$HELM_VERSION" >"$dir/go.mod"
fi
printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' >"$dir/tools.go"
(cd "$dir" && go mod tidy -e >"$dir/tidy.log" 2>&1 || true)

client_go="$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/client-go)" # e.g. v0.35.1
kube_minor="$(echo "$client_go" | cut -d. -f2)"
kube_major=$(( $(echo "${client_go#v}" | cut -d. -f1) + 1 ))
vflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
vflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kube_major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor"
vflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kube_major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor"

echo "testenv: building helm $HELM_VERSION (first run only; a few minutes on 2 cores)"
(cd "$dir" && go build -trimpath -ldflags "-s -w $vflags" -o "$HELM_BIN_DIR/helm.tmp" helm.sh/helm/v3/cmd/helm)
mv "$HELM_BIN_DIR/helm.tmp" "$HELM_BIN_DIR/helm"
echo "testenv: built helm in $(( $(date +%s) - started ))s into $HELM_BIN_DIR"
