#!/usr/bin/env bash
# training.precision on the CPU: the workbench's training step (train_bench) in float32
# and under bfloat16 autocast, same model, same machine, one run, for each LibTorch
# build present (build/: Debian's 1.13; build-torch2/: PyPI's 2.x). bfloat16 pays only
# where the CPU multiplies bfloat16 in hardware (AVX512-BF16, AMX): the script prints
# which of those this CPU has. Default shape: experiments/beat_pixels.toml's model
# (4 layers, width 512, 8 heads, 14x14 = 196 tokens, 16 grey levels, batch 32).
#   bash bench/precision_cpu.sh [STEPS [LAYERS WIDTH HEADS TOKENS VOCAB BATCH]]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-5}
shift || true
shape=("${@:-4 512 8 196 16 32}")
read -r -a shape <<<"${shape[*]}"
echo "CPU bfloat16 units: $(grep -o -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
rate() { sed -E 's/.* ([0-9.]+) tokens\/s.*/\1/' <<<"$1"; }
for build in build build-torch2; do
  bench="$root/$build/bin/train_bench"
  [ -x "$bench" ] || continue
  f32=$("$bench" "${shape[@]}" "$steps" cpu float32 2>/dev/null | tail -1)
  bf16=$("$bench" "${shape[@]}" "$steps" cpu bfloat16 2>/dev/null | tail -1)
  echo "== $build: ${shape[*]} (layers width heads tokens vocab batch)"
  echo "float32:  $f32"
  echo "bfloat16: $bf16"
  python3 -c "print(f'bfloat16 / float32 tokens/s: {$(rate "$bf16") / $(rate "$f32"):.2f}x')"
done
