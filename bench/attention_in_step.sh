#!/usr/bin/env bash
# The training step with the model's own attention against the same step with
# LibTorch's (model.attention = own / libtorch), at the quickstart's shape, S1 and S2,
# in the precision given (default: what `auto` picks here). The two sides alternate
# within each round; the ratio reported is the median of the rounds' ratios.
#   bash bench/attention_in_step.sh [ROUNDS] [PRECISION]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/bin/train_bench
rounds=${1:-3}
precision=${2:-auto}
[ -x "$bench" ] || { echo "attention_in_step: build first (bash tools/build.sh)" >&2; exit 1; }
grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' |
  sed 's/^/CPU features: /'
echo "; precision $precision; $rounds rounds"
shapes=(
  "quickstart --layers 4 --width 64 --heads 4 --tokens 196 --vocab 16 --batch 32"
  "S1 --layers 4 --width 128 --heads 4 --tokens 784 --vocab 16 --batch 8"
  "S2 --layers 8 --width 256 --heads 8 --tokens 1024 --vocab 512 --batch 4"
)
ms() {  # the step's median milliseconds from train_bench's last line
  "$bench" "$@" --precision "$precision" --steps 5 2>&1 | tail -1 | sed -E 's/.*: ([0-9.]+) ms\/step.*/\1/'
}
printf '%-11s %10s %12s %8s\n' shape "own ms" "libtorch ms" ratio
for shape in "${shapes[@]}"; do
  name=${shape%% *}
  args=${shape#* }
  ratios=() owns=() libs=()
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086
    own=$(ms $args --attention own)
    # shellcheck disable=SC2086
    lib=$(ms $args --attention libtorch)
    owns+=("$own") libs+=("$lib")
    ratios+=("$(python3 -c "print($lib / $own)")")
  done
  median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
  printf '%-11s %10s %12s %7.2fx\n' "$name" "$(median "${owns[@]}")" "$(median "${libs[@]}")" \
    "$(median "${ratios[@]}")"
done
