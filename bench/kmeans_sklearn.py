"""scikit-learn's KMeans (lloyd, k-means++, n_init=1) on the same pixels and scaling
as bench/kmeans_bench.cpp, the reference of the k-means palette benchmark. Also scores
the workbench's palette on the same pixels with the same code, so the two inertias
compare like with like.

usage: python3 kmeans_sklearn.py PIXELS.u8 CHANNELS K ITERATIONS WORKBENCH_PALETTE.f32
"""
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans


def inertia(x, centres):
    """Sum of squared distances to the nearest centre, float64, in blocks."""
    c = centres.astype(np.float64)
    total = 0.0
    for i in range(0, len(x), 65536):
        xb = x[i:i + 65536].astype(np.float64)
        d = (xb * xb).sum(1)[:, None] - 2 * xb @ c.T + (c * c).sum(1)[None, :]
        total += np.maximum(d.min(1), 0).sum()
    return total


def main():
    path, channels, k, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    ours = np.fromfile(sys.argv[5], dtype=np.float32).reshape(k, channels)
    x = np.fromfile(path, dtype=np.uint8).reshape(-1, channels).astype(np.float32) / 127.5 - 1.0
    km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=iterations, tol=0.0,
                algorithm="lloyd", random_state=0)
    t0 = time.perf_counter()
    km.fit(x)
    fit_secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    km.predict(x)
    predict_secs = time.perf_counter() - t0
    print(f"scikit-learn {sklearn.__version__} KMeans: {len(x)} pixels x {channels} channels, "
          f"k {k}, {km.n_iter_} iterations: fit {fit_secs:.3f} s, "
          f"predict {len(x) / predict_secs:.3g} pixels/s")
    print(f"inertia (same code, same pixels): scikit-learn {inertia(x, km.cluster_centers_):.2f}, "
          f"workbench {inertia(x, ours):.2f}")


if __name__ == "__main__":
    main()
