# Pinned versions of the real control-plane parts the tests run against.
# Sourced by the other testenv scripts; change a version here and the cache key changes with it.
K8S_VERSION="${SERIN_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${SERIN_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${SERIN_KWOK_VERSION:-v0.8.0}"
# Binaries live outside the repo so a fresh clone reuses them and nothing large is ever committed.
SERIN_CACHE="${SERIN_CACHE:-$HOME/.cache/serin-testenv}"
BIN_DIR="$SERIN_CACHE/bin-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
