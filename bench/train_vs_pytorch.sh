#!/usr/bin/env bash
# The training-step benchmark of issue 4: the workbench's step (train_bench: the igpt and
# ar plugins, wb::Trainer::train_step) against the same model and step written in
# Python PyTorch (train_step_torch.py, Debian's python3-torch: the same LibTorch 1.13),
# same machine, same threads, one run, at the issue's two sizes:
#   1. 4 layers, width 128, 4 heads, 784 tokens, vocabulary 16, batch 8;
#   2. 8 layers, width 256, 8 heads, 1024 tokens, vocabulary 512, batch 4.
# Python gets the OpenBLAS kernels the workbench selects (OPENBLAS_CORETYPE, see
# kernel/src/blas_kernel.hpp) so that both use the same BLAS code; it is also run a
# second time with the allocator settings the workbench makes (kernel/src/allocator.hpp)
# through glibc's environment variables, to show how much of the gap they are.
# Needs the build (tools/build.sh) and the reference (tools/setup.sh --bench).
#   bash bench/train_vs_pytorch.sh [STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-5}
py=/usr/bin/python3
threads=$(nproc)
coretype=${OPENBLAS_CORETYPE:-}
if [ -z "$coretype" ]; then
  if grep -q avx512f /proc/cpuinfo; then coretype=SkylakeX; elif grep -q avx2 /proc/cpuinfo; then coretype=Haswell; fi
fi

rate() { sed -E 's/.* ([0-9.]+) tokens\/s.*/\1/' <<<"$1"; }

compare() {  # LAYERS WIDTH HEADS TOKENS VOCAB BATCH
  local ours theirs tuned
  echo "== $1 layers, width $2, $3 heads, $4 tokens, vocabulary $5, batch $6"
  ours=$("$root/build/bin/train_bench" "$@" "$steps" 2>/dev/null)
  theirs=$(OPENBLAS_CORETYPE=$coretype "$py" "$root/bench/train_step_torch.py" "$@" "$steps" "$threads")
  tuned=$(OPENBLAS_CORETYPE=$coretype MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
    "$py" "$root/bench/train_step_torch.py" "$@" "$steps" "$threads")
  echo "$ours"
  echo "$theirs"
  echo "$tuned (with the workbench's malloc settings)"
  "$py" -c "print(f'tokens/s ratio (workbench / Python): {$(rate "$(tail -1 <<<"$ours")") / $(rate "$theirs"):.2f}x; with its malloc settings: {$(rate "$(tail -1 <<<"$ours")") / $(rate "$tuned"):.2f}x')"
  echo
}
compare 4 128 4 784 16 8
compare 8 256 8 1024 512 4

# The same with LibTorch 2.x when its build and virtual environment exist
# (tools/setup_torch2.sh, TORCH=pypi tools/build.sh): build-torch2's train_bench against
# the venv's PyTorch, whose reference step then uses its fused attention.
if [ -x "$root/build-torch2/bin/train_bench" ] && [ -x "$root/.venv-torch2/bin/python" ]; then
  for size in "4 128 4 784 16 8" "8 256 8 1024 512 4"; do
    set -- $size
    echo "== LibTorch 2.x: $1 layers, width $2, $3 heads, $4 tokens, vocabulary $5, batch $6"
    ours=$("$root/build-torch2/bin/train_bench" "$@" "$steps" 2>/dev/null)
    theirs=$("$root/.venv-torch2/bin/python" "$root/bench/train_step_torch.py" "$@" "$steps" "$threads")
    echo "$ours"
    echo "$theirs"
    "$py" -c "print(f'tokens/s ratio (workbench / Python): {$(rate "$(tail -1 <<<"$ours")") / $(rate "$theirs"):.2f}x')"
    echo
  done
fi
