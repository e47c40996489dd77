#!/usr/bin/env bash
# The k-means palette benchmark of issue 3, the workbench's `kmeans` plugin against
# scikit-learn's KMeans on the same pixels, same machine, one run:
#   1. 1,000,000 RGB pixels (64 seeded Gaussian colour blobs), k = 512, 10 iterations;
#   2. every Fashion-MNIST training pixel (47M grey), k = 16, 10 iterations.
# Needs the build (tools/build.sh) and the references (tools/setup.sh --bench).
#   bash bench/kmeans_vs_sklearn.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"
py=$WB_TORCH_VENV/bin/python  # numpy, scikit-learn: tools/setup.sh --bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$py" - "$tmp/rgb.u8" 1000000 <<'PY'
import sys, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
centres = rng.uniform(0, 255, size=(64, 3))
which = rng.integers(0, 64, size=n)
pixels = np.clip(centres[which] + rng.normal(0, 24, size=(n, 3)), 0, 255).astype(np.uint8)
pixels.tofile(path)
PY
"$py" - "$tmp/fmnist.u8" <<'PY'
import gzip, sys, numpy as np
raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
np.frombuffer(raw, dtype=np.uint8, offset=16).tofile(sys.argv[1])
PY

compare() {  # FILE CHANNELS K ITERATIONS
  local ours theirs t_ours t_theirs
  ours=$("$root/build/bin/kmeans_bench" "$1" "$2" "$3" "$4" "$tmp/palette.f32" 2>/dev/null | tail -1)
  theirs=$("$py" "$root/bench/kmeans_sklearn.py" "$1" "$2" "$3" "$4" "$tmp/palette.f32")
  echo "$ours"
  echo "$theirs"
  t_ours=$(sed -E 's/.*fit ([0-9.]+) s.*/\1/' <<<"$ours")
  t_theirs=$(head -1 <<<"$theirs" | sed -E 's/.*fit ([0-9.]+) s.*/\1/')
  "$py" -c "print(f'fit speed ratio (scikit-learn time / workbench time): {$t_theirs / $t_ours:.2f}x')"
  echo
}
compare "$tmp/rgb.u8" 3 512 10
compare "$tmp/fmnist.u8" 1 16 10
