#!/usr/bin/env bash
# Installs every build and run dependency of the workbench, by name: Debian's packages,
# then the engine (PyPI's torch wheel) in the virtual environment that
# tools/torch_env.sh names. Idempotent and cheap to re-run: what is present is kept.
#   bash tools/setup.sh           # build and run (tools/quickstart.sh)
#   bash tools/setup.sh --tests   # also what only the tests use (tools/test.sh)
#   bash tools/setup.sh --bench   # also the Python references of bench/ (in the same venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git clang-format
  # data-parallel `--nproc`: c10d's ProcessGroupGloo.hpp includes gloo's headers,
  # which the torch wheel does not ship (kernel/CMakeLists.txt)
  libgloo-dev
  # Boost.DLL is header-only but needs Boost.Filesystem on Boost 1.74
  libboost-dev libboost-filesystem-dev
  # config, formatting, logging, CLI, results store, images, compression
  libtomlplusplus-dev libfmt-dev libspdlog-dev libcli11-dev
  libsqlite3-dev sqlite3 libstb-dev zlib1g-dev libssl-dev
  # JSON: Hugging Face model folders (config.json, safetensors headers)
  nlohmann-json3-dev
  # tests
  libgtest-dev
  # `workbench report` draws its figures with matplotlib (tools/report.py)
  python3-matplotlib
  # `workbench serve`: the web server and the charts of its page
  libcpp-httplib-dev libjs-chart.js
  # the virtual environment that holds the engine
  python3-venv python3-pip
  # the embedded default dataset (IDX files in /usr/share/datasets/fashion-mnist)
  dataset-fashion-mnist
)
# The tests alone: a real browser loads `workbench serve`'s page (headless Chromium).
if [ "${1:-}" = "--tests" ] || [ "${1:-}" = "--bench" ]; then PACKAGES+=(chromium); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The engine. Debian's python, not a pyenv or conda one on PATH, so the venv outlives
# changes to the user's shell.
venv=$WB_TORCH_VENV
wants=("torch==$WB_TORCH_VERSION")
# The tests' references: transformers (the golden test of the igpt model), pillow
# (its image processor's reference tokens) and tensorboard (its reader checks the
# exported event files).
if [ "${1:-}" = "--tests" ] || [ "${1:-}" = "--bench" ]; then
  wants+=("transformers==$WB_TRANSFORMERS_VERSION" "pillow==$WB_PILLOW_VERSION"
    "tensorboard==$WB_TENSORBOARD_VERSION")
fi
# numpy and scikit-learn: the references of bench/ (k-means, logistic regression).
if [ "${1:-}" = "--bench" ]; then wants+=(numpy scikit-learn); fi
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
fi
# `pip install` of satisfied requirements is a no-op, but takes seconds to say so:
# ask the venv first.
have=$("$venv/bin/python" - "${wants[@]}" <<'PY' 2>/dev/null || true
import sys
from importlib.metadata import version, PackageNotFoundError
for want in sys.argv[1:]:
    name, _, pinned = want.partition("==")
    try:
        ok = not pinned or version(name) == pinned
    except PackageNotFoundError:
        ok = False
    print("ok" if ok else "missing", want)
PY
)
todo=$(awk '$1 != "ok" {print $2}' <<<"$have")
if [ -n "$todo" ]; then
  echo "setup: installing $(echo $todo) from PyPI into $venv (torch: about 5 GB, once per machine)"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install --quiet --disable-pip-version-check $todo
fi
echo "setup: engine torch $WB_TORCH_VERSION in $venv"
