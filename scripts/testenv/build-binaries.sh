#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok from the
# Go module proxy (no Docker, no release downloads) and caches them outside the repo.
#
# Kubernetes is not meant to be a Go dependency: its go.mod replaces every k8s.io/<staging> module
# with ./staging/src/... and those replaces are ignored when it is required from another module.
# The standard workaround is a wrapper module that requires k8s.io/kubernetes and replaces each
# staging module with its published v0.Y.Z twin; we derive that list from Kubernetes' own go.mod.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.sh"

need=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwok-stages.yaml)
missing=()
for b in "${need[@]}"; do [[ -e "$BIN_DIR/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "testenv: binaries cached in $BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "testenv: Go is required to build the control plane (apt-get install golang or use the machine's Go)" >&2; exit 1; }

mkdir -p "$BIN_DIR"
work="$SERIN_CACHE/build"
mkdir -p "$work"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=mod"
ldflags_common="-s -w"
started=$(date +%s)

build_kubernetes() {
  local dir="$work/kubernetes-$K8S_VERSION"
  mkdir -p "$dir"
  local staging_version="v0.${K8S_VERSION#v1.}"
  local gomod
  gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local goversion
  goversion="$(sed -n 's/^go \(.*\)$/\1/p' "$gomod")"
  {
    echo "module serin.dev/testenv/kubernetes"
    echo
    echo "go $goversion"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  local major="${K8S_VERSION#v}"; major="${major%%.*}"
  local minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  local vflags="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=$major -X k8s.io/client-go/pkg/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$BIN_DIR/$cmd" ]] && continue
    echo "testenv: building $cmd $K8S_VERSION (first run only; several minutes)"
    (cd "$dir" && go build -trimpath -ldflags "$ldflags_common $vflags" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
    mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
  done
}

build_etcd() {
  [[ -x "$BIN_DIR/etcd" ]] && return
  local dir="$work/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  printf 'module serin.dev/testenv/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  echo "testenv: building etcd $ETCD_VERSION"
  (cd "$dir" && go build -trimpath -ldflags "$ldflags_common" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
}

build_kwok() {
  [[ -x "$BIN_DIR/kwok" ]] && return
  local dir="$work/kwok-$KWOK_VERSION"
  mkdir -p "$dir"
  printf 'module serin.dev/testenv/kwok\n\ngo 1.24\n\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION" >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
  echo "testenv: building kwok $KWOK_VERSION"
  (cd "$dir" && go build -trimpath -ldflags "$ldflags_common" -o "$BIN_DIR/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok)
  mv "$BIN_DIR/kwok.tmp" "$BIN_DIR/kwok"
}

# kwok does nothing without Stage configs; use the "fast" set shipped in the same pinned module:
# nodes become Ready at once and keep a lease, pods become Running/Ready as soon as they are scheduled.
kwok_stages() {
  [[ -e "$BIN_DIR/kwok-stages.yaml" ]] && return
  local dir="$work/kwok-$KWOK_VERSION"
  local src
  src="$(cd "$dir" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
  {
    for f in "$src"/node/fast/node-initialize.yaml "$src"/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      "$src"/pod/fast/pod-ready.yaml "$src"/pod/fast/pod-complete.yaml "$src"/pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$f"
    done
  } >"$BIN_DIR/kwok-stages.yaml.tmp"
  mv "$BIN_DIR/kwok-stages.yaml.tmp" "$BIN_DIR/kwok-stages.yaml"
}

build_etcd
build_kwok
kwok_stages
build_kubernetes
echo "testenv: built ${missing[*]} in $(( $(date +%s) - started ))s into $BIN_DIR"
