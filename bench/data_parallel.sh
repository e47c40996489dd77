#!/usr/bin/env bash
# Data-parallel pretraining throughput on this machine: the quickstart's model and
# data (steps cut to STEPS, one probe layer) as one process with the default threads
# (one per core), one process with one thread, and --nproc N workers (one thread
# each on N cores), all in the same invocation. Prints each run's training tokens/s
# (train/tokens_per_s at the last step, global tokens for --nproc) and its final
# loss, which must agree: the global batch is the same.
#   bash bench/data_parallel.sh [STEPS] [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=${1:-100}
nproc=${2:-$(nproc)}
wb="$root/build/bin/workbench"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--set "training.steps=$steps" --set "training.val_every=$steps" --set "evaluators.0.layers=[4]")

measure() {  # label, extra args...
  local label=$1 dir="$tmp/$1"
  shift
  mkdir -p "$dir"
  "$wb" run "$root/experiments/quickstart.toml" "${common[@]}" --db "$dir/r.db" "$@" >"$dir/log" 2>&1 ||
    { cat "$dir/log"; exit 1; }
  sqlite3 "$dir/r.db" "SELECT (SELECT value FROM metrics WHERE name = 'train/tokens_per_s' ORDER BY step DESC LIMIT 1),
                              (SELECT value FROM metrics WHERE name = 'train/loss' ORDER BY step DESC LIMIT 1)"
}
IFS='|' read -r base base_loss <<<"$(measure threads_default)"
IFS='|' read -r one one_loss <<<"$(measure threads_1 --set experiment.threads=1)"
IFS='|' read -r dp dp_loss <<<"$(measure nproc_$nproc --nproc "$nproc")"
printf '%-34s %10.0f tokens/s  loss %.4f\n' "1 process, threads = one per core" "$base" "$base_loss"
printf '%-34s %10.0f tokens/s  loss %.4f\n' "1 process, 1 thread" "$one" "$one_loss"
printf '%-34s %10.0f tokens/s  loss %.4f\n' "--nproc $nproc (1 thread each)" "$dp" "$dp_loss"
awk -v a="$dp" -v b="$base" -v c="$one" 'BEGIN { printf "speed-up: %.2fx over the default process, %.2fx over one thread\n", a / b, a / c }'
