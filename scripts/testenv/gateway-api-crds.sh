#!/usr/bin/env bash
# Regenerates test/fixtures/gateway-api/crds.yaml: the Kubernetes Gateway API's real CRDs (standard
# channel: GatewayClass, Gateway, HTTPRoute, ReferenceGrant), at the version of sigs.k8s.io/gateway-api
# that the Istio of scripts/testenv/versions.sh requires in its go.mod, so istiod and the CRDs agree.
#
# Source: the sigs.k8s.io/gateway-api Go module (config/crd/standard), fetched with `go mod download`
# through the module proxy like the Istio CRDs (istio-crds.sh). The standard channel is what Serin
# writes (no experimental fields such as HTTPRoute retry or sessionPersistence). The channel's
# ValidatingAdmissionPolicy (safe upgrades) is not a CRD and is left out. Rerun after bumping Istio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/versions.sh"

out="${1:-$repo/test/fixtures/gateway-api/crds.yaml}"
kinds="gatewayclasses gateways httproutes referencegrants"

command -v go >/dev/null || { echo "gateway-api-crds: Go is required (go mod download)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p"; }

gomod="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "istio.io/istio@$ISTIO_VERSION" | json_field GoMod)"
version="${SERIN_GATEWAY_API_VERSION:-$(awk '$1 == "sigs.k8s.io/gateway-api" { print $2; exit }' "$gomod")}"
[[ -n "$version" ]] || { echo "gateway-api-crds: no sigs.k8s.io/gateway-api in $gomod" >&2; exit 1; }
dir="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$version" | json_field Dir)"

mkdir -p "$(dirname "$out")"
{
  echo "# Gateway API CRDs (standard channel): $kinds."
  echo "# Source: Go module sigs.k8s.io/gateway-api@$version, config/crd/standard (Apache-2.0), the version"
  echo "# istio.io/istio@$ISTIO_VERSION requires. DO NOT EDIT: regenerate with scripts/testenv/gateway-api-crds.sh"
  first=1
  for kind in $kinds; do
    src="$dir/config/crd/standard/gateway.networking.k8s.io_$kind.yaml"
    [[ -f "$src" ]] || { echo "gateway-api-crds: $src missing" >&2; exit 1; }
    [[ $first -eq 1 ]] || echo "---"
    first=0
    # Drop the file's leading comments and document separator; keep the CRD as it is.
    sed -e '/^#/d' -e '/^---[[:space:]]*$/d' "$src"
  done
} >"$out.tmp"
for kind in $kinds; do
  grep -q "^  name: $kind.gateway.networking.k8s.io\$" "$out.tmp" ||
    { echo "gateway-api-crds: $kind missing from the output" >&2; rm -f "$out.tmp"; exit 1; }
done
mv "$out.tmp" "$out"
if [[ -x "$repo/node_modules/.bin/biome" ]]; then
  (cd "$repo" && node_modules/.bin/biome format --write "$out" >/dev/null 2>&1) ||
    echo "gateway-api-crds: warning: biome could not format $out" >&2
fi
echo "gateway-api-crds: wrote $out from sigs.k8s.io/gateway-api@$version"
