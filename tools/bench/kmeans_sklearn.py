"""scikit-learn's KMeans (lloyd, k-means++, n_init=1) on the same pixels and scaling
as tools/bench/kmeans_bench.cpp: the reference for the k-means palette benchmark.

usage: python3 kmeans_sklearn.py PIXELS.u8 K ITERATIONS
"""
import sys
import time

import numpy as np
from sklearn.cluster import KMeans


def main():
    path, k, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    x = np.fromfile(path, dtype=np.uint8).reshape(-1, 3).astype(np.float32) / 127.5 - 1.0
    km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=iterations, tol=0.0,
                algorithm="lloyd", random_state=0)
    t0 = time.perf_counter()
    km.fit(x)
    secs = time.perf_counter() - t0
    print(f"scikit-learn {__import__('sklearn').__version__} KMeans: {len(x)} pixels, k {k}, "
          f"{km.n_iter_} iterations: {secs:.3f} s, inertia {km.inertia_:.2f}")


if __name__ == "__main__":
    main()
