#!/usr/bin/env bash
# The linear-probe benchmark of issue 5: the workbench's probe fit (L-BFGS on
# standardised features, plugins/evaluators/common) against scikit-learn's
# LogisticRegression(lbfgs) on the same features with the same objective, same
# machine, one run. Features: 20,000 training and 5,000 test vectors of 256
# dimensions in 10 seeded Gaussian classes (about the shape of a probe on iGPT-S-like
# widths), L2 1e-3, at most 200 iterations.
# Needs the build (tools/build.sh) and the references (tools/setup.sh --bench).
#   bash bench/probe_vs_sklearn.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/tools/torch_env.sh"
py=$WB_TORCH_VENV/bin/python  # numpy, scikit-learn: tools/setup.sh --bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=("$tmp" 20000 5000 256 10 1e-3 200)  # dir, train, test, dimensions, classes, L2, iterations

"$py" - "$tmp" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
means = rng.normal(0, 1, (10, 256)) * 0.2
for name, n in (("train", 20000), ("test", 5000)):
    y = rng.integers(0, 10, n)
    x = (means[y] + rng.normal(0, 1, (n, 256))).astype(np.float32)
    x.tofile(f"{d}/x_{name}.f32")
    y.astype(np.int64).tofile(f"{d}/y_{name}.i64")
PY
theirs=$("$py" "$root/bench/probe_sklearn.py" "${args[@]}")
echo "$theirs"
t_theirs=$(sed -E 's/.*fit ([0-9.]+) s.*/\1/' <<<"$theirs")
a_theirs=$(sed -E 's/.*accuracy ([0-9.]+)%.*/\1/' <<<"$theirs")
# The workbench at linear_probe's default tolerance (1e-6) and at scikit-learn's (1e-4).
for tol in 1e-6 1e-4; do
  ours=$("$root/build/bin/probe_bench" "${args[@]}" "$tol" 2>/dev/null | tail -1)
  echo "$ours"
  t_ours=$(sed -E 's/.*fit ([0-9.]+) s.*/\1/' <<<"$ours")
  a_ours=$(sed -E 's/.*accuracy ([0-9.]+)%.*/\1/' <<<"$ours")
  "$py" -c "print(f'  fit speed ratio (scikit-learn time / workbench time): {$t_theirs / $t_ours:.2f}x; accuracy difference {$a_ours - $a_theirs:+.2f} points')"
done
