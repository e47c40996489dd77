#!/usr/bin/env bash
# Run on a Debian 12 machine with network access: downloads, by package name, the
# Debian packages whose headers and libraries a CUDA machine without a package registry
# lacks (Boost.DLL/Filesystem, TOML++, fmt, spdlog, CLI11, SQLite, OpenSSL, stb,
# GoogleTest) and, with --data, Fashion-MNIST. tools/gpu/check.sh unpacks them there
# into a prefix of their own (never over /), so that machine's PyTorch supplies LibTorch.
#   bash tools/gpu/pack_deps.sh [--data] [DIR]   # DIR defaults to .gpu-deps (git-ignored)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=0
if [ "${1:-}" = --data ]; then data=1; shift; fi
dir=${1:-$root/.gpu-deps}
PACKAGES=(
  libboost1.74-dev libboost-filesystem1.74-dev libboost-filesystem1.74.0
  libboost-system1.74-dev libboost-system1.74.0
  libtomlplusplus-dev libtomlplusplus3 libfmt-dev libfmt9 libspdlog-dev libspdlog1.10
  libcli11-dev libsqlite3-dev libsqlite3-0 libssl-dev libssl3 zlib1g-dev zlib1g
  libstb-dev libstb0 libgtest-dev nlohmann-json3-dev
  libgloo-dev  # gloo headers: data-parallel (Gloo, and NCCL beside it on CUDA)
)
if [ "$data" = 1 ]; then PACKAGES+=(dataset-fashion-mnist); fi
mkdir -p "$dir"
cd "$dir"
rm -f ./*.deb
# apt warns that it downloads as root outside its sandbox: expected here, not news.
apt-get download "${PACKAGES[@]}" 2>&1 >/dev/null | { grep -v unsandboxed >&2 || true; }
echo "pack_deps: $(ls ./*.deb | wc -l) packages, $(du -sh . | cut -f1) in $dir"
