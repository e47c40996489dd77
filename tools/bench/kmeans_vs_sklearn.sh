#!/usr/bin/env bash
# The k-means palette benchmark of issue 3: 1,000,000 RGB pixels, k = 512, 10 Lloyd
# iterations, the workbench's `kmeans` plugin against scikit-learn's KMeans on the same
# file, same machine, one run. Needs the build (tools/build.sh) and, for the
# reference, `pip install scikit-learn numpy`.
#   bash tools/bench/kmeans_vs_sklearn.sh [PIXELS] [K] [ITERATIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000000} k=${2:-512} iters=${3:-10}
data=$(mktemp --suffix=.u8)
trap 'rm -f "$data"' EXIT
# Pixels with the structure of natural colours: 64 seeded Gaussian blobs in RGB.
python3 - "$data" "$n" <<'PY'
import sys, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
centres = rng.uniform(0, 255, size=(64, 3))
which = rng.integers(0, 64, size=n)
pixels = np.clip(centres[which] + rng.normal(0, 24, size=(n, 3)), 0, 255).astype(np.uint8)
pixels.tofile(path)
PY
ours=$("$root/build/bin/kmeans_bench" "$data" "$k" "$iters" 2>/dev/null | tail -1)
theirs=$(python3 "$root/tools/bench/kmeans_sklearn.py" "$data" "$k" "$iters")
echo "$ours"
echo "$theirs"
t_ours=$(sed -E 's/.*: ([0-9.]+) s,.*/\1/' <<<"$ours")
t_theirs=$(sed -E 's/.*: ([0-9.]+) s,.*/\1/' <<<"$theirs")
python3 -c "print(f'speed ratio (scikit-learn time / workbench time): {$t_theirs / $t_ours:.2f}x')"
