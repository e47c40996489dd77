#!/usr/bin/env bash
# Installs every build and run dependency of the workbench from Debian's packages,
# by name. Idempotent: packages already present are skipped, so re-running is cheap.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format
  # LibTorch (CPU, 1.13) and the BLAS that makes it fast: without
  # libopenblas0-pthread apt picks the reference BLAS, ~70x slower matmuls.
  libtorch-dev libopenblas0-pthread
  # c10d's Gloo process group (data-parallel `--nproc`): ProcessGroupGloo.hpp
  # includes gloo's headers; libtorch 1.13 links the same libgloo0
  libgloo-dev
  # Boost.DLL is header-only but needs Boost.Filesystem on Boost 1.74
  libboost-dev libboost-filesystem-dev
  # config, formatting, logging, CLI, results store, images, compression
  libtomlplusplus-dev libfmt-dev libspdlog-dev libcli11-dev
  libsqlite3-dev sqlite3 libstb-dev zlib1g-dev
  # tests
  libgtest-dev
  # `workbench report` draws its figures with matplotlib (tools/report.py)
  python3-matplotlib
  # the virtual environment holding PyPI's libtorch 2.x (tools/setup_torch2.sh)
  python3-venv python3-pip
  # the embedded default dataset (IDX files in /usr/share/datasets/fashion-mnist)
  dataset-fashion-mnist
)
# `setup.sh --bench`: also the Python references the benchmarks in bench/ compare with.
if [ "${1:-}" = "--bench" ]; then PACKAGES+=(python3-sklearn python3-numpy python3-torch); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Pin OpenBLAS (pthread flavour) as the BLAS alternative, whatever apt chose.
for lib in libblas.so.3 liblapack.so.3; do
  alt=$(update-alternatives --list "${lib}-x86_64-linux-gnu" 2>/dev/null | grep openblas-pthread || true)
  if [ -n "$alt" ]; then $SUDO update-alternatives --set "${lib}-x86_64-linux-gnu" "$alt" >/dev/null; fi
done
echo "setup: done"
