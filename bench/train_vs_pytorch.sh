#!/usr/bin/env bash
# The training step and the feature pass, workbench against Python PyTorch 2.x (eager
# and torch.compile), both from the one engine's virtual environment; the table and
# the protocol are in bench/train_vs_pytorch.py. Needs the build (tools/build.sh).
# The full run (S1, S2, iGPT-S; float32, bfloat16; training and features; 3 repeats)
# takes about an hour on 2 cores, most of it torch.compile compiling.
#   bash bench/train_vs_pytorch.sh [--shapes S1,S2] [--precisions bfloat16] [--modes train]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"
exec "$WB_TORCH_VENV/bin/python" "$root/bench/train_vs_pytorch.py" "$@"
