#!/usr/bin/env bash
# The second LibTorch the sources build against: the CUDA-enabled libtorch 2.x inside
# PyTorch's wheel from PyPI (it runs on the CPU too), installed in a virtual
# environment, .venv-torch2 by default. Idempotent: a matching install is kept.
# Prints the CMake prefix path of that libtorch on its last line: its CMake package
# folder and its install folder, so find_library finds its libraries before Debian's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TORCH2_VENV:-$root/.venv-torch2}
# Pinned versions, so every machine builds against the same headers and compares with
# the same reference (transformers: the golden test of the igpt model).
version=${TORCH2_VERSION:-2.15.0}
transformers=5.23.0
bash "$root/tools/setup.sh" >&2  # python3-venv and python3-pip come from Debian
if [ ! -x "$venv/bin/python" ]; then /usr/bin/python3 -m venv "$venv" >&2; fi
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(not torch.__version__.startswith('$version'))" 2>/dev/null; then
  echo "setup_torch2: installing torch==$version from PyPI into $venv (about 5 GB)" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==$version" >&2
fi
if ! "$venv/bin/python" -c "import transformers, sys; sys.exit(transformers.__version__ != '$transformers')" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "transformers==$transformers" >&2
fi
"$venv/bin/python" -c "import os, torch.utils; print(torch.utils.cmake_prefix_path + ';' + os.path.dirname(torch.__file__))" 2>/dev/null
